"""The message bus: call (request/reply with a timeout), cast (to one consumer), fanout (to all).

Services address each other by topic (``conductor``, ``scheduler``, ``compute.host-1``); a
transport moves JSON messages between them. Two transports implement the same semantics:

- ``MemoryTransport`` (``memory://``) serves one process (``onestack up``);
- ``AmqpTransport`` (``rabbit://``, ``core/amqp.py``) serves many processes on many hosts.

Semantics both keep (``tests/contract/test_bus_transports.py`` runs one suite over both):

- consumers of a topic share its messages (each message goes to one of them);
- a cast waits in the topic's queue until a consumer takes it, as on a durable queue;
- a call with no consumer waits for one until its timeout, then ``BusTimeout``; a call that
  timed out is dropped rather than delivered late;
- an endpoint's exception comes back to the caller as ``RemoteError`` carrying the exception's
  kind and message (``core/rpc.py`` turns registered kinds back into their classes);
- a fanout reaches every consumer of the topic serving at that moment (nobody: dropped);
- ``Subscription.stop()`` ends a consumer's deliveries; ``close()`` cancels dispatches in flight;
- arguments and replies cross as JSON, so nothing is shared between caller and callee; what is
  not JSON-safe is refused at the sender (arguments) or comes back as a ``RemoteError`` (replies).

Over AMQP delivery is at least once (a message whose consumer died mid-dispatch goes to another
consumer), so handlers are idempotent; ``core/amqp.py`` says why.

Messages are plain (method, args, version) envelopes; which methods exist and what they carry
is declared once per topic in the owning service's ``rpcapi`` (see ``core/rpc.py``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger("onestack.bus")


class BusTimeout(TimeoutError):
    """No reply came within the call's timeout."""


class RemoteError(RuntimeError):
    """The endpoint raised; carries the remote exception's kind (class name) and message."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class NoSuchMethod(RemoteError):
    def __init__(self, kind: str = "NoSuchMethod", message: str = "") -> None:
        super().__init__(kind, message)


def error_kind(exc: BaseException) -> str:
    """The name an exception travels under: a relayed remote error keeps its original kind."""
    if isinstance(exc, RemoteError):
        return exc.kind
    return type(exc).__name__


def error_message(exc: BaseException) -> str:
    return exc.message if isinstance(exc, RemoteError) else str(exc)


@dataclass(frozen=True)
class Message:
    """One message on the bus: which method, its JSON-safe arguments, the sender's API version."""

    method: str
    args: dict[str, Any] = field(default_factory=dict)
    version: str = "1.0"

    def encode(self) -> bytes:
        return dumps({"method": self.method, "args": self.args, "version": self.version})

    @classmethod
    def decode(cls, data: bytes) -> Message:
        doc = json.loads(data)
        return cls(method=str(doc["method"]), args=dict(doc.get("args") or {}), version=str(doc.get("version", "1.0")))


def dumps(value: Any) -> bytes:
    """JSON for the wire; anything not JSON-safe is a programming error at the sender."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("utf-8")


Dispatcher = Callable[[Message], Awaitable[Any]]


class Subscription(Protocol):
    async def stop(self) -> None:
        """Stop taking messages; messages already taken finish."""
        ...


class Transport(Protocol):
    async def call(self, topic: str, message: Message, timeout: float) -> Any:
        """Deliver to one consumer of ``topic`` and return its reply; BusTimeout if none comes in time."""
        ...

    async def cast(self, topic: str, message: Message) -> None:
        """Queue for one consumer of ``topic``; returns without waiting for it."""
        ...

    async def fanout(self, topic: str, message: Message) -> None:
        """Deliver to every consumer of ``topic`` serving now."""
        ...

    async def serve(self, topic: str, dispatch: Dispatcher) -> Subscription:
        """Start consuming ``topic`` (its queue and its fanouts)."""
        ...

    async def close(self) -> None: ...


async def dispatch_here(dispatch: Dispatcher, message: Message) -> Any:
    """Run ``message`` on a consumer of this process as if it had crossed a wire: through JSON
    both ways (the callee gets its own copy, a reply that is not JSON-safe is the endpoint's
    failure) and with the endpoint's exception turned into the ``RemoteError`` a caller sees."""
    wired = Message.decode(message.encode())
    try:
        return json.loads(dumps(await dispatch(wired)))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the caller sees the remote failure, as over AMQP
        raise RemoteError(error_kind(exc), error_message(exc)) from exc


# --- the in-process transport -----------------------------------------------------------------


@dataclass(eq=False)
class _Consumer:
    topic: str
    dispatch: Dispatcher
    transport: MemoryTransport

    async def stop(self) -> None:
        self.transport._remove(self)


@dataclass(eq=False)
class _Pending:
    message: Message
    reply: asyncio.Future[Any] | None  # None for a cast


class MemoryTransport:
    """In-process transport: consumers of a topic take turns; messages wait for a consumer."""

    def __init__(self) -> None:
        self._consumers: dict[str, list[_Consumer]] = {}
        self._turn: dict[str, int] = {}
        self._queued: dict[str, deque[_Pending]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def _pick(self, topic: str) -> _Consumer | None:
        consumers = self._consumers.get(topic)
        if not consumers:
            return None
        turn = self._turn.get(topic, 0)
        self._turn[topic] = turn + 1
        return consumers[turn % len(consumers)]

    @staticmethod
    async def _run(consumer: _Consumer, message: Message) -> Any:
        return await dispatch_here(consumer.dispatch, message)

    def _start(self, consumer: _Consumer, pending: _Pending) -> None:
        async def run() -> None:
            try:
                result = await self._run(consumer, pending.message)
            except RemoteError as exc:
                if pending.reply is None:
                    log.warning("cast %s.%s failed: %s", consumer.topic, pending.message.method, exc)
                elif not pending.reply.done():
                    pending.reply.set_exception(exc)
                return
            except asyncio.CancelledError:
                if pending.reply is not None and not pending.reply.done():
                    pending.reply.cancel()
                raise
            if pending.reply is not None and not pending.reply.done():
                pending.reply.set_result(result)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _deliver(self, topic: str, pending: _Pending) -> None:
        consumer = self._pick(topic)
        if consumer is None:
            self._queued.setdefault(topic, deque()).append(pending)
        else:
            self._start(consumer, pending)

    async def call(self, topic: str, message: Message, timeout: float) -> Any:
        dumps(message.args)  # refuse what could not cross a real wire, at the sender
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        pending = _Pending(message, reply)
        self._deliver(topic, pending)
        try:
            return await asyncio.wait_for(asyncio.shield(reply), timeout)
        except TimeoutError:
            queue = self._queued.get(topic)
            if queue is not None and pending in queue:
                queue.remove(pending)  # expired before anyone took it: never delivered late
            reply.cancel()
            raise BusTimeout(f"{topic}.{message.method} timed out after {timeout}s") from None
        except asyncio.CancelledError:
            # The caller gave up (its task was cancelled): the reply goes to no one, as a late
            # reply on a real wire does, and an error in it is not left "never retrieved".
            reply.cancel()
            raise

    async def cast(self, topic: str, message: Message) -> None:
        dumps(message.args)  # refuse what could not cross a real wire, at the sender
        self._deliver(topic, _Pending(message, None))

    async def fanout(self, topic: str, message: Message) -> None:
        dumps(message.args)
        for consumer in list(self._consumers.get(topic, [])):
            self._start(consumer, _Pending(message, None))

    async def serve(self, topic: str, dispatch: Dispatcher) -> Subscription:
        consumer = _Consumer(topic, dispatch, self)
        self._consumers.setdefault(topic, []).append(consumer)
        queued = self._queued.pop(topic, deque())
        while queued:
            pending = queued.popleft()
            if pending.reply is None or not pending.reply.done():
                self._deliver(topic, pending)
        return consumer

    def _remove(self, consumer: _Consumer) -> None:
        consumers = self._consumers.get(consumer.topic, [])
        if consumer in consumers:
            consumers.remove(consumer)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._consumers.clear()
        self._queued.clear()


class Bus:
    """What services hold: a transport plus the default call timeout."""

    def __init__(self, transport: Transport, default_timeout: float = 60.0) -> None:
        self.transport = transport
        self.default_timeout = default_timeout

    async def call(self, topic: str, message: Message, timeout: float | None = None) -> Any:
        return await self.transport.call(topic, message, timeout or self.default_timeout)

    async def cast(self, topic: str, message: Message) -> None:
        await self.transport.cast(topic, message)

    async def fanout(self, topic: str, message: Message) -> None:
        await self.transport.fanout(topic, message)

    async def serve(self, topic: str, dispatch: Dispatcher) -> Subscription:
        return await self.transport.serve(topic, dispatch)

    async def close(self) -> None:
        await self.transport.close()


def transport_from_url(url: str, prefetch: int = 64) -> Transport:
    """``memory://`` (default) or ``rabbit://user:pass@host:port/vhost`` (also ``amqp://``).

    ``prefetch`` (``[messaging] prefetch``) is how many messages one AMQP consumer holds at once.
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else url.lower()
    if scheme in ("", "memory"):
        return MemoryTransport()
    if scheme in ("rabbit", "amqp", "amqps"):
        from onestack.core.amqp import AmqpTransport

        transport: Transport = AmqpTransport(url, prefetch=prefetch)
        return transport
    raise ValueError(f"unknown transport URL {url!r}: use memory:// or rabbit://user:pass@host:port/vhost")
