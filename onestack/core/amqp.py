"""The AMQP transport: the bus over RabbitMQ (aio-pika), for services in many processes.

Layout on the broker (one vhost per cloud):

- topic ``T`` is a durable queue named ``T``; casts (persistent) and calls go there, and every
  consumer of ``T`` consumes it, so RabbitMQ gives each message to one of them;
- fanouts go to the durable fanout exchange ``T_fanout``; each ``serve`` binds an exclusive,
  auto-delete queue of its own to it, so every consumer serving at that moment gets a copy;
- each transport has one exclusive, auto-delete reply queue ``reply_<id>``; a call carries
  ``reply_to`` and ``correlation_id``, and an ``expiration`` equal to the time its caller
  still waits, so a call nobody took in time is dropped by the broker rather than delivered late.

Bodies are the bus's JSON: a request is ``Message.encode()``; a reply is ``{"result": value}``
or ``{"error": {"kind": ..., "message": ...}}`` (wrapped, so a result that is itself a dict
with an ``error`` key stays a result).

Delivery is at least once. A consumer acknowledges a message after its dispatch finished
(success or exception) and, for a call, after the reply was sent; a process that dies
mid-message leaves it unacknowledged and the broker gives it to another consumer (or to the
same one once it is back). Acknowledging on receipt instead would lose such a message for
good: a build nobody finishes, a row nobody writes. The price is that a message can be handled
twice, so handlers must be idempotent (the compute agent, for one, skips a build already
running on its host, and its row updates name the states they expect). A cast whose handler
raises is logged and acknowledged, not redelivered: redelivering a failure that will recur
would loop. A message that is not a bus message is logged and rejected without requeue, for
the same reason.

A consumer replies on the channel the request came in on, so a reply and the ack behind it
share one fate: if that channel is gone the broker has already requeued the request (to be
answered again), and if it is alive both go out. (Replies once went on a channel of their own;
after a reconnect a restored consumer could take a call before that channel was back, fail to
reply and leave the request unacknowledged on a live channel, never redelivered.)

A call to a topic this transport serves itself is answered in the process, without the broker
(``_call_here``): caller and consumer share one fate, so the broker would keep nothing for it.
Casts and fanouts always cross the broker, which keeps them past this process.

Between the broker going away and aio-pika's robust connection coming back (it retries every
``RECONNECT_INTERVAL``) queues, bindings and consumers are restored channel by channel, in no
set order. A send waits meanwhile, retrying: a call within its timeout, a cast or fanout for up
to ``SEND_PATIENCE``. It publishes only once the sending channel is wholly restored, the reply
queue re-declared and consumed again, so no reply to a call arrives before its queue exists.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)

from onestack.core.bus import (
    BusTimeout,
    Dispatcher,
    Message,
    RemoteError,
    Subscription,
    dispatch_here,
    dumps,
    error_kind,
    error_message,
)

log = logging.getLogger("onestack.bus")

CONNECT_TIMEOUT = 10.0
RECONNECT_INTERVAL = 1.0  # seconds between attempts after the broker went away
CANCEL_TIMEOUT = 5.0  # stop() must not hang on a broker that went away
SEND_PATIENCE = 30.0  # how long a cast or fanout waits for a lost connection to come back
RETRY_INTERVAL = 0.1  # between publish attempts while it is being restored
# What talking to the broker raises when the connection or channel went away under us.
_LOST = (aio_pika.exceptions.AMQPError, aio_pika.exceptions.ChannelInvalidStateError, ConnectionError)
_CLOSED = "the transport closed before a reply came"


class BrokerUnreachable(ConnectionError):
    """The first connection to the broker failed, or a send outlived ``SEND_PATIENCE`` without it."""


class TransportClosed(RuntimeError):
    """Used after ``close()``."""


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    login: str
    password: str
    virtualhost: str
    ssl: bool

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """``rabbit://user:pass@host:port/vhost`` (also ``amqp://``, ``amqps://``); vhost defaults to ``/``."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("rabbit", "amqp", "amqps"):
            raise ValueError(f"not an AMQP URL: {url!r}")
        if "," in parts.netloc:
            raise ValueError(f"one broker per URL, got {parts.netloc!r}")
        ssl = scheme == "amqps"
        return cls(host=parts.hostname or "127.0.0.1", port=parts.port or (5671 if ssl else 5672),
                   login=unquote(parts.username or "guest"), password=unquote(parts.password or "guest"),
                   virtualhost=unquote(parts.path[1:]) or "/", ssl=ssl)

    def __str__(self) -> str:  # for messages: never the password
        return f"{'amqps' if self.ssl else 'rabbit'}://{self.login}@{self.host}:{self.port}/{self.virtualhost}"


@dataclass(eq=False)
class _Consumer:
    """One ``serve``: its channel, its two consumers (topic queue, own fanout queue), its work."""

    transport: AmqpTransport
    topic: str
    channel: AbstractChannel  # consumes, acks, and carries the replies to the calls it takes
    dispatch: Dispatcher
    consumers: list[tuple[AbstractQueue, str]] = field(default_factory=list)
    inflight: set[asyncio.Task[Any]] = field(default_factory=set)
    stopped: bool = False
    # Calls answered in this process take a permit for as long as their dispatch runs, as a
    # delivery holds one of the channel's prefetch slots until it is acknowledged: the broker
    # never has more than ``prefetch`` of them running here, so neither does ``_call_here``.
    here: asyncio.Semaphore = field(default_factory=asyncio.Semaphore)

    async def stop(self) -> None:
        """Cancel the consumers now; the channel closes once the messages already taken finish."""
        if self.stopped:
            return
        self.stopped = True
        await self._cancel()
        self.transport._subscriptions.discard(self)
        self.transport._spawn(self._close_when_idle())

    async def _cancel(self) -> None:
        for queue, tag in self.consumers:
            try:
                # Bounded: during a broker outage the cancel waits for the connection to come back
                # (aio-pika no longer restores the consumer either way).
                await asyncio.wait_for(queue.cancel(tag), CANCEL_TIMEOUT)
            except (*_LOST, TimeoutError) as exc:
                log.debug("cancelling %s on %s: %s", tag, self.topic, exc)

    async def _close_when_idle(self) -> None:
        # Acks go over this channel, so it stays open until the dispatches it started end.
        while self.inflight:
            await asyncio.gather(*list(self.inflight), return_exceptions=True)
        await self.channel.close()


class AmqpTransport:
    """The ``Transport`` over RabbitMQ; connects on first use and reconnects after losses."""

    def __init__(self, url: str, prefetch: int = 64) -> None:
        self.address = BrokerAddress.parse(url)
        self.prefetch = prefetch
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None  # requests (publisher confirms), replies in
        self._reply_queue = f"reply_{uuid.uuid4().hex}"
        self._connect_lock = asyncio.Lock()
        self._declared: set[str] = set()
        self._fanouts: dict[str, AbstractExchange] = {}
        self._pending: dict[str, tuple[asyncio.Future[Any], str]] = {}
        self._subscriptions: set[_Consumer] = set()
        self._background: set[asyncio.Task[Any]] = set()
        self._closed = False

    # --- connection -------------------------------------------------------------------------

    async def _ready(self) -> AbstractRobustChannel:
        if self._closed:
            raise TransportClosed(f"the AMQP transport to {self.address} is closed")
        if self._channel is not None:
            return self._channel
        async with self._connect_lock:
            if self._channel is None:
                self._channel = await self._connect()
        return self._channel

    async def _connect(self) -> AbstractRobustChannel:
        a = self.address
        try:
            connection = await aio_pika.connect_robust(
                host=a.host, port=a.port, login=a.login, password=a.password,
                virtualhost=a.virtualhost, ssl=a.ssl, timeout=CONNECT_TIMEOUT,
                reconnect_interval=RECONNECT_INTERVAL)
        except (TimeoutError, OSError, aio_pika.exceptions.AMQPError) as exc:
            raise BrokerUnreachable(f"cannot reach the message broker at {a}: {exc}") from exc
        try:
            channel = await connection.channel(publisher_confirms=True)
            replies = await channel.declare_queue(self._reply_queue, exclusive=True, auto_delete=True)
            await replies.consume(self._on_reply, no_ack=True)
        except BaseException:
            await connection.close()  # not left reconnecting in the background
            raise
        self._connection = connection
        return channel

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _queue(self, channel: AbstractChannel, topic: str) -> None:
        if topic not in self._declared:
            # Declared by the sender too, so a cast sent before any consumer exists waits in it.
            await channel.declare_queue(topic, durable=True)
            self._declared.add(topic)

    async def _fanout_exchange(self, channel: AbstractChannel, topic: str) -> AbstractExchange:
        exchange = self._fanouts.get(topic)
        if exchange is None:
            exchange = self._fanouts[topic] = await _declare_fanout(channel, topic)
        return exchange

    # --- sending ----------------------------------------------------------------------------

    async def _send(self, publish: Callable[[AbstractChannel], Awaitable[None]], patience: float | None) -> None:
        """Run ``publish`` on the sending channel. While aio-pika restores a lost connection
        publishing fails at once, so retry, for ``patience`` seconds (None: until cancelled, as a
        call's timeout does); a broker restart then delays a send instead of failing it."""
        loop = asyncio.get_running_loop()
        give_up = None if patience is None else loop.time() + patience
        while True:
            channel = await self._ready()  # raises once close() was called
            try:
                # A channel being restored would take a call before its reply queue is back (the
                # reply then goes nowhere): wait until all of it is, a slice at a time so a close()
                # is noticed. Once it is back this returns at once. The timer costs ~10 µs a send
                # (`bench/bus.py --send-wait`, docs/performance.md) against the ~0.7-1 ms of a
                # confirmed publish, and is cancel-safe: asyncio.timeout (3.11.3+) turns only its
                # own expiry into TimeoutError; a caller's cancel or a call's deadline passes through.
                async with asyncio.timeout(RETRY_INTERVAL):
                    await channel.ready()
            except TimeoutError:
                if give_up is not None and loop.time() >= give_up:
                    raise BrokerUnreachable(f"lost the message broker at {self.address}: "
                                            f"not back after {patience}s") from None
                continue
            try:
                await publish(channel)
                return
            except _LOST as exc:
                if give_up is not None and loop.time() >= give_up:
                    raise BrokerUnreachable(f"lost the message broker at {self.address}: {exc}") from exc
                log.debug("publishing to %s failed (%s); retrying", self.address, exc)
            await asyncio.sleep(RETRY_INTERVAL)

    async def call(self, topic: str, message: Message, timeout: float) -> Any:
        here = next((c for c in self._subscriptions if c.topic == topic and not c.stopped), None)
        if here is not None:
            return await self._call_here(here, message, timeout)
        body = message.encode()  # refuses what is not JSON-safe, before anything is sent
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        correlation_id = uuid.uuid4().hex
        reply: asyncio.Future[Any] = loop.create_future()

        async def publish(channel: AbstractChannel) -> None:
            await self._queue(channel, topic)
            # Expires when the caller stops waiting (not a full timeout after the publish), so a
            # consumer that starts after the caller gave up never sees it.
            expiration = max(deadline - loop.time(), 0.001)
            await channel.default_exchange.publish(
                aio_pika.Message(body, content_type="application/json", correlation_id=correlation_id,
                                 reply_to=self._reply_queue, expiration=expiration),
                routing_key=topic)

        await self._ready()  # connecting is not part of the timeout: an unreachable broker says so
        self._pending[correlation_id] = (reply, f"{topic}.{message.method}")
        try:
            async with asyncio.timeout_at(deadline):
                await self._send(publish, None)
                return await reply
        except BusTimeout:
            raise  # set by close(): not this call's own timeout
        except TransportClosed:  # closed while still sending: the same answer as while waiting
            raise BusTimeout(f"{topic}.{message.method}: {_CLOSED}") from None
        except TimeoutError:
            raise BusTimeout(f"{topic}.{message.method} timed out after {timeout}s") from None
        finally:
            self._pending.pop(correlation_id, None)

    async def _call_here(self, consumer: _Consumer, message: Message, timeout: float) -> Any:
        """A call to a topic this process serves is answered here, without the broker: four AMQP
        frames and a publisher confirm saved (the conductor's call to the scheduler beside it, once
        per boot). Caller and consumer live and die together, so nothing the broker would keep is
        lost; it crosses JSON both ways and fails as a remote call would (``dispatch_here``).
        At most ``prefetch`` of them run at once per topic, as the broker would deliver; the
        others wait their turn within their timeout. Casts still go through the broker: they
        must outlive this process."""
        label = f"{consumer.topic}.{message.method}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if consumer.here.locked():  # ``prefetch`` dispatches running: wait, as in the queue, within the timeout
            try:
                async with asyncio.timeout_at(deadline):
                    await consumer.here.acquire()
            except TimeoutError:
                raise BusTimeout(f"{label} timed out after {timeout}s") from None
            if self._closed:
                consumer.here.release()
                raise BusTimeout(f"{label}: {_CLOSED}")
            if consumer.stopped:  # stopped meanwhile: as if this call had never picked it
                consumer.here.release()
                return await self.call(consumer.topic, message, max(deadline - loop.time(), 0.001))
        else:
            await consumer.here.acquire()  # free: returns at once
        task = loop.create_task(dispatch_here(consumer.dispatch, message))
        consumer.inflight.add(task)  # close() and stop() see it as a dispatch in flight
        task.add_done_callback(consumer.inflight.discard)
        task.add_done_callback(lambda _: consumer.here.release())  # when it ends, not when the caller gives up
        try:
            return await asyncio.wait_for(asyncio.shield(task), deadline - loop.time())
        except TimeoutError:
            task.add_done_callback(_retrieve)  # the dispatch runs on; its error goes to no one
            raise BusTimeout(f"{label} timed out after {timeout}s") from None
        except asyncio.CancelledError:
            task.add_done_callback(_retrieve)
            me = asyncio.current_task()
            if task.cancelled() and (me is None or not me.cancelling()):  # close() cancelled the dispatch
                raise BusTimeout(f"{label}: {_CLOSED}") from None
            raise

    async def cast(self, topic: str, message: Message) -> None:
        body = message.encode()

        async def publish(channel: AbstractChannel) -> None:
            await self._queue(channel, topic)
            # Returns once the broker confirmed it (publisher confirms): it is in a durable queue.
            await channel.default_exchange.publish(
                aio_pika.Message(body, content_type="application/json",
                                 delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=topic)

        await self._send(publish, SEND_PATIENCE)

    async def fanout(self, topic: str, message: Message) -> None:
        body = message.encode()

        async def publish(channel: AbstractChannel) -> None:
            exchange = await self._fanout_exchange(channel, topic)
            # Not mandatory: with nobody serving the topic the message simply goes nowhere.
            await exchange.publish(aio_pika.Message(body, content_type="application/json"),
                                   routing_key="", mandatory=False)

        await self._send(publish, SEND_PATIENCE)

    async def _on_reply(self, incoming: AbstractIncomingMessage) -> None:
        pending = self._pending.get(incoming.correlation_id or "")
        if pending is not None and not pending[0].done():  # else a late reply to a call that timed out
            _settle(pending[0], incoming.body)

    # --- serving ----------------------------------------------------------------------------

    async def serve(self, topic: str, dispatch: Dispatcher) -> Subscription:
        await self._ready()
        assert self._connection is not None
        # A channel per serve: its own prefetch, and stop() can close it without touching the rest.
        channel = await self._connection.channel(publisher_confirms=False)  # consumes and acks only
        consumer = _Consumer(self, topic, channel, dispatch, here=asyncio.Semaphore(self.prefetch))
        handle = self._handler(consumer, dispatch)
        try:
            await channel.set_qos(prefetch_count=self.prefetch)
            queue = await channel.declare_queue(topic, durable=True)
            exchange = await _declare_fanout(channel, topic)
            copies = await channel.declare_queue(f"{topic}_fanout_{uuid.uuid4().hex}", exclusive=True,
                                                 auto_delete=True)
            await copies.bind(exchange)
            consumer.consumers.append((queue, await queue.consume(handle)))
            consumer.consumers.append((copies, await copies.consume(handle)))
        except BaseException:
            await channel.close()  # a half-made consumer must not be restored after a reconnect
            raise
        self._subscriptions.add(consumer)
        return consumer

    def _handler(self, consumer: _Consumer,
                 dispatch: Dispatcher) -> Callable[[AbstractIncomingMessage], Awaitable[None]]:
        async def handle(incoming: AbstractIncomingMessage) -> None:
            if self._closed:
                return  # closing: left unacknowledged, so the broker gives it to another consumer
            # aio-pika runs each delivery in a task of its own: that task is the dispatch.
            task = asyncio.current_task()
            assert task is not None
            consumer.inflight.add(task)
            try:
                await self._handle(consumer, incoming, dispatch)
            except asyncio.CancelledError:
                raise  # not acknowledged: the broker requeues it when the channel closes
            except _LOST as exc:  # the consumer's channel went away while replying or acking
                log.warning("%s: could not settle a message (%s); the broker will redeliver it",
                            consumer.topic, exc)
            finally:
                consumer.inflight.discard(task)

        return handle

    async def _handle(self, consumer: _Consumer, incoming: AbstractIncomingMessage, dispatch: Dispatcher) -> None:
        topic = consumer.topic
        try:
            message = Message.decode(incoming.body)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("%s: dropping a message that is not a bus message: %s", topic, exc)
            await incoming.reject(requeue=False)
            return
        try:
            reply = dumps({"result": await dispatch(message)})
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the caller sees the remote failure; a cast's is logged
            if incoming.reply_to is None:
                log.warning("cast %s.%s failed: %s: %s", topic, message.method, error_kind(exc),
                            error_message(exc))
            reply = dumps({"error": {"kind": error_kind(exc), "message": error_message(exc)}})
        if incoming.reply_to is not None:
            # On the channel the request came in on, not confirmed (a broker round trip per
            # reply saved): a reply that channel loses goes with the ack behind it, so the
            # request is redelivered and answered again. Not mandatory: a caller that is gone
            # (its reply queue with it) loses nothing.
            await consumer.channel.default_exchange.publish(
                aio_pika.Message(reply, content_type="application/json",
                                 correlation_id=incoming.correlation_id),
                routing_key=incoming.reply_to, mandatory=False)
        await incoming.ack()

    # --- closing ----------------------------------------------------------------------------

    async def close(self) -> None:
        """Cancel dispatches in flight, fail pending calls, close the connection.

        No per-consumer cancel round trips (they would wait out a broker outage): deliveries
        arriving from now on are left unacknowledged, and closing the connection hands them and
        the cancelled dispatches' messages back to their queues for other consumers."""
        if self._closed:
            return
        self._closed = True
        subscriptions = list(self._subscriptions)
        self._subscriptions.clear()
        for consumer in subscriptions:
            consumer.stopped = True
        tasks = [t for c in subscriptions for t in c.inflight] + list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for reply, label in list(self._pending.values()):
            if not reply.done():
                reply.set_exception(BusTimeout(f"{label}: {_CLOSED}"))
                reply.exception()  # the call may still be sending, not awaiting it: no "never retrieved"
        if self._connection is not None:
            await self._connection.close()
        self._connection = None
        self._channel = None


async def _declare_fanout(channel: AbstractChannel, topic: str) -> AbstractExchange:
    # Durable and never auto-deleted: a sender's cached declaration must stay valid while nobody serves.
    return await channel.declare_exchange(f"{topic}_fanout", aio_pika.ExchangeType.FANOUT, durable=True)


def _settle(reply: asyncio.Future[Any], body: bytes) -> None:
    try:
        doc = json.loads(body)
        if "error" in doc:
            error = doc["error"]
            reply.set_exception(RemoteError(str(error["kind"]), str(error["message"])))
        else:
            reply.set_result(doc["result"])
    except (ValueError, KeyError, TypeError) as exc:
        reply.set_exception(RemoteError("MalformedReply", f"the reply could not be read: {exc}"))


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Take the outcome of a dispatch whose caller stopped waiting, so asyncio does not log its
    error as "never retrieved" (the caller's timeout or cancellation already said what matters)."""
    if not task.cancelled():
        task.exception()
