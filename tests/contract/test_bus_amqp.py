"""The AMQP transport beyond the shared contract: connections as processes, the broker's part.

Runs against the local RabbitMQ in this run's own vhost (tests/contract/conftest.py); skips
without a broker unless ONESTACK_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from onestack.core.amqp import AmqpTransport
from onestack.core.bus import BusTimeout, Message, RemoteError, Transport
from tests.contract.bus_kit import Kit, handlers, recorder, until
from tests.services import RABBIT_HOST, RABBIT_PORT

ROOT = Path(__file__).resolve().parents[2]


CONSUMER = """
import asyncio, sys
from onestack.core.amqp import AmqpTransport

async def main(url, topic):
    async def dispatch(message):
        print("took", message.args["n"], flush=True)
        await asyncio.Event().wait()  # never finishes: the message stays unacknowledged

    await AmqpTransport(url).serve(topic, dispatch)
    print("serving", flush=True)
    await asyncio.Event().wait()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_a_message_taken_by_a_consumer_that_dies_goes_to_another(amqp: Kit, rabbit_url: str) -> None:
    topic = amqp.topic("compute")

    async def scenario(t: Transport) -> dict[str, Any]:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", CONSUMER, rabbit_url, topic,
                                                    stdout=asyncio.subprocess.PIPE, env=env)
        assert proc.stdout is not None
        try:
            assert await asyncio.wait_for(proc.stdout.readline(), 20) == b"serving\n"
            await t.cast(topic, Message("build", {"n": 7}))
            assert await asyncio.wait_for(proc.stdout.readline(), 10) == b"took 7\n"
            got: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

            async def build(**kwargs: Any) -> None:
                got.set_result(kwargs)

            await t.serve(topic, handlers(build=build))
            assert not got.done()  # the dying process still holds it
            proc.kill()
            return await asyncio.wait_for(got, 10)
        finally:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()

    assert amqp.run(scenario) == {"n": 7}


def test_a_message_that_is_not_a_bus_message_is_dropped(amqp: Kit, rabbit_url: str,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    import aio_pika

    topic = amqp.topic("compute")

    async def scenario(t: Transport) -> list[Any]:
        seen, note = recorder()
        await t.serve(topic, handlers(note=note))
        connection = await aio_pika.connect(rabbit_url.replace("rabbit://", "amqp://", 1))  # a foreign sender
        async with connection:
            channel = await connection.channel()
            await channel.default_exchange.publish(aio_pika.Message(b"\xffnot json"), routing_key=topic)
            await channel.default_exchange.publish(aio_pika.Message(json.dumps([1]).encode()),
                                                   routing_key=topic)
        await t.cast(topic, Message("note", {"what": "after"}))
        await until(lambda: seen, what="the good message")
        return seen

    with caplog.at_level(logging.WARNING, logger="onestack.bus"):
        seen = amqp.run(scenario, prefetch=1)  # one at a time: a requeued bad message would come first
    assert seen == ["after"]
    assert caplog.text.count("not a bus message") == 2


def test_close_fails_pending_calls(amqp: Kit) -> None:
    topic = amqp.topic("agent")

    async def scenario(t: Transport) -> str:
        started = asyncio.Event()

        async def stuck() -> None:
            started.set()
            await asyncio.Event().wait()

        await amqp.new().serve(topic, handlers(stuck=stuck))
        pending = asyncio.ensure_future(t.call(topic, Message("stuck", {}), 30))
        await asyncio.wait_for(started.wait(), 5)
        await t.close()
        with pytest.raises(BusTimeout) as info:
            await asyncio.wait_for(pending, 5)
        return str(info.value)

    assert amqp.run(scenario) == f"{topic}.stuck: the transport closed before a reply came"


class BrokerProxy:
    """A TCP relay to the broker that can drop every connection and refuse new ones: a broker
    outage for this test's connections only (the broker itself is shared)."""

    def __init__(self) -> None:
        self.up = True
        self.refused = 0
        self._links: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            self.refused += 1
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(RABBIT_HOST, RABBIT_PORT)
        self._links += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def drop(self) -> None:
        self.up = False
        for writer in self._links:
            writer.transport.abort()
        self._links.clear()

    async def close(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()


async def behind_proxy(amqp: Kit, rabbit_url: str) -> tuple[BrokerProxy, Transport]:
    """A transport whose connections go through a BrokerProxy of its own (closed with the Kit)."""
    proxy = BrokerProxy()
    port = await proxy.start()
    vhost = rabbit_url.rsplit("/", 1)[1]
    t = amqp.new(url=f"rabbit://guest:guest@127.0.0.1:{port}/{vhost}")
    amqp.on_close(proxy.close)
    return proxy, t


def proxied(t: Transport) -> str:
    """The URL ``t`` (from ``behind_proxy``) connects with: another transport behind the same proxy."""
    assert isinstance(t, AmqpTransport)
    return f"rabbit://guest:guest@127.0.0.1:{t.address.port}/{t.address.virtualhost}"


def test_a_call_to_a_topic_served_here_skips_the_broker(amqp: Kit, rabbit_url: str) -> None:
    """Answered in this process even while the broker is away, as a JSON copy, failing as a
    remote call does; a peer serving the same topic gets none of this process's calls."""
    topic = amqp.topic("scheduler")

    async def scenario(_: Transport) -> tuple[Any, str, list[str]]:
        proxy, t = await behind_proxy(amqp, rabbit_url)
        sent = {"items": [1]}
        peer_seen: list[str] = []

        async def grow(items: list[int]) -> list[int]:
            items.append(2)
            return items

        async def fail() -> None:
            raise ValueError("no room")

        async def peer_grow(items: list[int]) -> list[int]:
            peer_seen.append("grow")
            return []

        await amqp.new().serve(topic, handlers(grow=peer_grow))
        await t.serve(topic, handlers(grow=grow, fail=fail))
        proxy.drop()
        answers = [await t.call(topic, Message("grow", sent), 5) for _ in range(4)]
        assert answers == [[1, 2]] * 4 and sent == {"items": [1]}
        with pytest.raises(RemoteError) as info:
            await t.call(topic, Message("fail", {}), 5)
        return answers[0], str(info.value), peer_seen

    assert amqp.run(scenario) == ([1, 2], "ValueError: no room", [])


def test_calls_answered_here_are_bounded_by_the_prefetch(amqp: Kit) -> None:
    """No more in-process dispatches of a topic run at once than the broker would deliver
    (``prefetch``); the others wait their turn within their timeout, and one that waits too long
    times out without ever running."""
    topic = amqp.topic("scheduler")

    async def scenario(t: Transport) -> tuple[int, list[Any], str, list[int]]:
        running: list[int] = []
        ran: list[int] = []
        most = 0
        release = asyncio.Event()

        async def hold(n: int) -> int:
            nonlocal most
            running.append(n)
            ran.append(n)
            most = max(most, len(running))
            await release.wait()
            running.remove(n)
            return n

        await t.serve(topic, handlers(hold=hold))
        calls = [asyncio.ensure_future(t.call(topic, Message("hold", {"n": n}), 10)) for n in range(5)]
        await until(lambda: len(running) == 2, what="two dispatches running")
        with pytest.raises(BusTimeout) as info:  # waits behind the two, and gives up
            await t.call(topic, Message("hold", {"n": 99}), 0.2)
        assert len(running) == 2  # still: the others wait
        release.set()
        answers = await asyncio.wait_for(asyncio.gather(*calls), 10)
        return most, answers, str(info.value), ran

    most, answers, timed_out, ran = amqp.run(scenario, prefetch=2)
    assert most == 2 and answers == [0, 1, 2, 3, 4]
    assert timed_out == f"{topic}.hold timed out after 0.2s" and 99 not in ran


def test_sends_wait_out_a_broker_outage_and_consumers_come_back(amqp: Kit, rabbit_url: str) -> None:
    topic = amqp.topic("scheduler")

    async def scenario(_: Transport) -> tuple[Any, list[Any]]:
        proxy, t = await behind_proxy(amqp, rabbit_url)
        seen, note = recorder()

        async def ping() -> str:
            return "pong"

        await t.serve(topic, handlers(note=note, ping=ping))
        # The sender serves nothing (a call to a topic its own process serves skips the broker).
        sender = amqp.new(url=proxied(t))
        assert await sender.call(topic, Message("ping", {}), 5) == "pong"
        proxy.drop()
        cast = asyncio.ensure_future(sender.cast(topic, Message("note", {"what": "sent while away"})))
        call = asyncio.ensure_future(sender.call(topic, Message("ping", {}), 20))
        await until(lambda: proxy.refused >= 1, what="a refused reconnection attempt")
        assert not cast.done() and not call.done()  # waiting, not failed
        proxy.up = True
        await asyncio.wait_for(cast, 20)
        answer = await asyncio.wait_for(call, 20)
        await until(lambda: seen, what="the cast to be delivered")  # by the restored consumer
        return answer, seen

    assert amqp.run(scenario) == ("pong", ["sent while away"])


def test_calls_that_waited_for_their_consumers_are_answered_when_they_come_back(amqp: Kit,
                                                                                rabbit_url: str) -> None:
    """The consumers' side of an outage: the calls wait in the queue, and each consumer, once
    restored, takes them and replies. Several consumers, since aio-pika restores a connection's
    channels in no set order: a reply once went on a channel of its own, which a consumer could
    use before it was back, leaving the call unanswered and unacknowledged."""
    topic = amqp.topic("conductor")

    async def scenario(t: Transport) -> list[Any]:
        proxy = BrokerProxy()
        port = await proxy.start()
        amqp.on_close(proxy.close)
        vhost = rabbit_url.rsplit("/", 1)[1]

        async def ping() -> str:
            return "pong"

        for _ in range(4):
            consumer = amqp.new(url=f"rabbit://guest:guest@127.0.0.1:{port}/{vhost}", prefetch=2)
            await consumer.serve(topic, handlers(ping=ping))
        assert await t.call(topic, Message("ping", {}), 5) == "pong"
        proxy.drop()
        await until(lambda: proxy.refused >= 1, what="a refused reconnection attempt")
        calls = [asyncio.ensure_future(t.call(topic, Message("ping", {}), 20)) for _ in range(8)]
        proxy.up = True
        return list(await asyncio.wait_for(asyncio.gather(*calls), 25))

    assert amqp.run(scenario) == ["pong"] * 8


def test_a_call_sent_as_the_connection_comes_back_waits_for_its_reply_queue(amqp: Kit,
                                                                          rabbit_url: str) -> None:
    """A caller whose connection is being restored publishes only once its reply queue is back;
    before, a call could go out while the channel still re-declared what it had declared (here
    many fanout exchanges, which come before the reply queue), and the reply went nowhere."""
    topic = amqp.topic("scheduler")

    async def scenario(consumer: Transport) -> Any:
        proxy, t = await behind_proxy(amqp, rabbit_url)

        async def ping() -> str:
            return "pong"

        await consumer.serve(topic, handlers(ping=ping))  # straight to the broker: never away
        await asyncio.gather(*(t.fanout(amqp.topic(f"cell{n}"), Message("hello", {})) for n in range(300)))
        assert await t.call(topic, Message("ping", {}), 5) == "pong"
        proxy.drop()
        call = asyncio.ensure_future(t.call(topic, Message("ping", {}), 20))
        await until(lambda: proxy.refused >= 1, what="a refused reconnection attempt")
        proxy.up = True
        return await asyncio.wait_for(call, 25)

    assert amqp.run(scenario) == "pong"


def test_close_during_a_broker_outage_is_prompt(amqp: Kit, rabbit_url: str) -> None:
    topic = amqp.topic("agent")

    async def scenario(_: Transport) -> list[str]:
        proxy, t = await behind_proxy(amqp, rabbit_url)
        started, cancelled = asyncio.Event(), asyncio.Event()

        async def stuck() -> None:
            started.set()
            try:
                await asyncio.Event().wait()
            finally:
                cancelled.set()

        await t.serve(topic, handlers(stuck=stuck))
        sender = amqp.new(url=proxied(t))  # serves nothing: its calls go through the broker
        waiting = asyncio.ensure_future(sender.call(topic, Message("stuck", {}), 30))  # taken, never answered
        await asyncio.wait_for(started.wait(), 5)
        proxy.drop()
        sending = asyncio.ensure_future(sender.call(topic, Message("stuck", {}), 30))  # cannot even be sent
        await until(lambda: proxy.refused >= 1, what="a refused reconnection attempt")
        await asyncio.wait_for(asyncio.gather(t.close(), sender.close()), 5)
        assert cancelled.is_set()
        errors = []
        for call in (waiting, sending):
            with pytest.raises(BusTimeout) as info:
                await asyncio.wait_for(call, 5)
            errors.append(str(info.value))
        return errors

    assert amqp.run(scenario) == [f"{topic}.stuck: the transport closed before a reply came"] * 2
