"""The contract both bus transports keep (the list in onestack/core/bus.py), one suite over both.

Each test runs over ``MemoryTransport`` and ``AmqpTransport``; the AMQP cases use the local
RabbitMQ in a vhost of this run's own (tests/contract/conftest.py) and skip without a broker,
unless ONESTACK_REQUIRE_SERVICES=1. AMQP-only behaviour (connections as processes, redelivery,
the broker dropping us) is in test_bus_amqp.py.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections import Counter
from typing import Any

import pytest

from onestack.core.bus import Bus, BusTimeout, Message, RemoteError, Transport
from onestack.core.rpc import dispatcher, serve
from tests.contract.bus_kit import Kit, handlers, recorder, until
from tests.unit.core.painter import OutOfPaint, Painter, PainterAPI

# --- call -------------------------------------------------------------------------------------


def test_call_returns_the_reply(kit: Kit) -> None:
    topic = kit.topic("scheduler")

    async def scenario(t: Transport) -> Any:
        async def add(a: int, b: int) -> dict[str, int]:
            return {"sum": a + b}

        await t.serve(topic, handlers(add=add))
        return await t.call(topic, Message("add", {"a": 2, "b": 3}), 5)

    assert kit.run(scenario) == {"sum": 5}


def test_arguments_and_replies_cross_as_json_copies(kit: Kit) -> None:
    topic = kit.topic("conductor")
    sent = {"items": [1, 2], "pair": (3, 4)}

    async def scenario(t: Transport) -> Any:
        async def grow(items: list[int], pair: list[int]) -> dict[str, Any]:
            items.append(99)  # the callee's own copy
            return {"items": items, "pair": pair}

        await t.serve(topic, handlers(grow=grow))
        return await t.call(topic, Message("grow", sent), 5)

    assert kit.run(scenario) == {"items": [1, 2, 99], "pair": [3, 4]}
    assert sent["items"] == [1, 2]


def test_consumers_of_a_topic_share_its_calls(kit: Kit) -> None:
    topic = kit.topic("conductor")
    n = 20

    async def scenario(t: Transport) -> tuple[Counter[str], list[int]]:
        handled: list[int] = []
        for name in ("one", "two"):
            async def who(i: int, name: str = name) -> str:
                handled.append(i)
                return name

            # Over AMQP each consumer has a connection of its own, as two processes would.
            await kit.peer(t).serve(topic, handlers(who=who))
        replies = Counter([await t.call(topic, Message("who", {"i": i}), 5) for i in range(n)])
        return replies, handled

    replies, handled = kit.run(scenario)
    assert sorted(handled) == list(range(n)), handled  # each call handled exactly once
    assert set(replies) == {"one", "two"} and sum(replies.values()) == n, replies


def test_call_with_no_consumer_times_out_and_is_never_delivered_late(kit: Kit) -> None:
    topic = kit.topic("nobody")

    async def scenario(t: Transport) -> tuple[str, float, list[str]]:
        started = time.monotonic()
        with pytest.raises(BusTimeout) as info:
            await t.call(topic, Message("hello", {}), 0.2)
        waited = time.monotonic() - started
        seen: list[str] = []

        async def hello() -> None:
            seen.append("hello")

        async def marker() -> None:
            seen.append("marker")

        await t.serve(topic, handlers(hello=hello, marker=marker))
        # The marker was sent after the expired call: once it is answered, a late delivery would have come first.
        await t.call(topic, Message("marker", {}), 5)
        return str(info.value), waited, seen

    message, waited, seen = kit.run(scenario)
    assert message == f"{topic}.hello timed out after 0.2s"
    assert 0.2 <= waited < 2
    assert seen == ["marker"]


def test_call_times_out_when_the_endpoint_is_slow(kit: Kit) -> None:
    topic = kit.topic("agent")

    async def scenario(t: Transport) -> None:
        async def stuck() -> None:
            await asyncio.Event().wait()

        await t.serve(topic, handlers(stuck=stuck))
        await t.call(topic, Message("stuck", {}), 0.2)

    with pytest.raises(BusTimeout, match=rf"^{topic}\.stuck timed out after 0\.2s$"):
        kit.run(scenario)


def test_a_caller_that_gives_up_leaves_no_error_unretrieved(kit: Kit, caplog: pytest.LogCaptureFixture) -> None:
    """A caller cancelled while its call runs (an agent's task stopped by a delete): the error the
    call ends in goes to no one, and asyncio must not log it as "never retrieved" (an ERROR in the
    cloud's log, which CI reads)."""
    topic = kit.topic("conductor")

    async def scenario(t: Transport) -> None:
        release, started, ended = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def late_failure() -> None:
            started.set()
            await release.wait()
            try:
                raise LookupError("the instance is gone")
            finally:
                ended.set()

        await t.serve(topic, handlers(late_failure=late_failure))
        caller = asyncio.create_task(t.call(topic, Message("late_failure", {}), 10))
        await asyncio.wait_for(started.wait(), 10)
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        release.set()
        await asyncio.wait_for(ended.wait(), 10)

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        kit.run(scenario)
        gc.collect()
    assert not [r.getMessage() for r in caplog.records if "never retrieved" in r.getMessage()]


def test_remote_error_carries_kind_and_message(kit: Kit) -> None:
    topic = kit.topic("compute")

    async def scenario(t: Transport) -> list[RemoteError]:
        async def fail(flavor: str) -> None:
            raise LookupError(f"flavor {flavor} not found")

        async def relay() -> None:  # an endpoint passing on what another service answered
            raise RemoteError("NoValidHost", "no host fits")

        await t.serve(topic, handlers(fail=fail, relay=relay))
        errors = []
        for message in (Message("fail", {"flavor": "m1.tiny"}), Message("relay", {})):
            with pytest.raises(RemoteError) as info:
                await t.call(topic, message, 5)
            errors.append(info.value)
        return errors

    failed, relayed = kit.run(scenario)
    assert (failed.kind, failed.message) == ("LookupError", "flavor m1.tiny not found")
    assert (relayed.kind, relayed.message) == ("NoValidHost", "no host fits")
    assert not isinstance(failed, BusTimeout)


def test_a_reply_that_is_not_json_safe_comes_back_as_an_error(kit: Kit) -> None:
    topic = kit.topic("compute")

    async def scenario(t: Transport) -> None:
        async def odd() -> Any:
            return {"when": object()}

        await t.serve(topic, handlers(odd=odd))
        await t.call(topic, Message("odd", {}), 5)

    with pytest.raises(RemoteError) as info:
        kit.run(scenario)
    assert info.value.kind == "TypeError"
    assert not isinstance(info.value, BusTimeout)


# --- typed declarations (core/rpc.py) over the transport -----------------------------------


def test_a_routed_declaration_with_a_registered_error_works_end_to_end(kit: Kit) -> None:
    host = kit.topic("host")

    async def scenario(t: Transport) -> tuple[Any, Any, BaseException]:
        bus = Bus(t, default_timeout=5)
        painter = Painter("a")
        await serve(bus, PainterAPI, painter, route=host)
        api = PainterAPI(bus)
        painted = await api.paint(host, "north")
        await api.tidy(host, ["hall"])
        tidied = await asyncio.wait_for(painter.tidied.get(), 5)
        with pytest.raises(OutOfPaint) as info:
            await api.paint(host, "east", colour="purple")
        return painted, tidied, info.value

    painted, tidied, error = kit.run(scenario)
    assert painted == {"by": "a", "wall": "north", "colour": "white"}
    assert tidied == ["hall"]
    assert isinstance(error, RemoteError) and str(error) == "no purple paint left"


def test_an_unknown_method_is_no_such_method(kit: Kit) -> None:
    topic = PainterAPI.topic_for(kit.topic("host"))

    async def scenario(t: Transport) -> None:
        await t.serve(topic, dispatcher(PainterAPI, Painter("a")))
        await t.call(topic, Message("repaint", {}), 5)

    with pytest.raises(RemoteError) as info:
        kit.run(scenario)
    assert info.value.kind == "NoSuchMethod"
    assert "'repaint'" in info.value.message


# --- cast ---------------------------------------------------------------------------------------


def test_cast_returns_without_waiting_for_the_handler(kit: Kit) -> None:
    topic = kit.topic("compute")

    async def scenario(t: Transport) -> dict[str, Any]:
        got: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        release = asyncio.Event()

        async def build(**kwargs: Any) -> None:
            got.set_result(kwargs)
            await release.wait()

        await t.serve(topic, handlers(build=build))
        await t.cast(topic, Message("build", {"instance": "i-1"}))  # returns though build blocks
        result = await asyncio.wait_for(got, 5)
        release.set()
        return result

    assert kit.run(scenario) == {"instance": "i-1"}


def test_each_cast_goes_to_exactly_one_consumer(kit: Kit) -> None:
    topic = kit.topic("conductor")
    n = 30

    async def scenario(t: Transport) -> list[int]:
        handled: list[int] = []

        async def note(i: int) -> None:
            handled.append(i)

        for _ in range(2):
            await t.serve(topic, handlers(note=note))
        for i in range(n):
            await t.cast(topic, Message("note", {"i": i}))
        await until(lambda: len(handled) >= n, what=f"{n} casts")
        await t.call(topic, Message("note", {"i": -1}), 5)  # anything duplicated was dispatched by now
        return handled

    assert sorted(kit.run(scenario)) == [-1, *range(n)]


def test_cast_waits_for_a_consumer_that_starts_later(kit: Kit) -> None:
    topic = kit.topic("later")

    async def scenario(t: Transport) -> dict[str, Any]:
        got: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        await t.cast(topic, Message("build", {"n": 1}))

        async def build(**kwargs: Any) -> None:
            got.set_result(kwargs)

        await t.serve(topic, handlers(build=build))
        return await asyncio.wait_for(got, 5)

    assert kit.run(scenario) == {"n": 1}


def test_a_failed_cast_is_logged_and_not_redelivered(kit: Kit, caplog: pytest.LogCaptureFixture) -> None:
    topic = kit.topic("agent")

    async def scenario(t: Transport) -> list[str]:
        seen: list[str] = []

        async def boom() -> None:
            seen.append("boom")
            raise RuntimeError("kaput")

        async def marker() -> None:
            seen.append("marker")

        await t.serve(topic, handlers(boom=boom, marker=marker))
        await t.cast(topic, Message("boom", {}))
        await until(lambda: "kaput" in caplog.text, what="the failure to be logged")
        # One message at a time (prefetch 1): a requeued boom would come back before the marker.
        await t.cast(topic, Message("marker", {}))
        await until(lambda: "marker" in seen, what="the marker")
        return seen

    with caplog.at_level(logging.WARNING, logger="onestack.bus"):
        seen = kit.run(scenario, prefetch=1)
    assert seen == ["boom", "marker"]
    assert f"cast {topic}.boom failed: RuntimeError: kaput" in caplog.text


def test_arguments_that_are_not_json_safe_are_refused_at_the_sender(kit: Kit) -> None:
    topic = kit.topic("agent")

    async def scenario(t: Transport) -> list[str]:
        seen, note = recorder()
        await t.serve(topic, handlers(note=note))
        with pytest.raises(TypeError):
            await t.cast(topic, Message("note", {"what": {"a set"}}))
        with pytest.raises(ValueError):
            await t.fanout(topic, Message("note", {"what": float("nan")}))
        with pytest.raises(TypeError):
            await t.call(topic, Message("note", {"what": object()}), 5)
        await t.call(topic, Message("note", {"what": "fine"}), 5)
        return seen

    assert kit.run(scenario) == ["fine"]


# --- fanout, stop, close ------------------------------------------------------------------------


def test_fanout_reaches_every_consumer(kit: Kit) -> None:
    topic = kit.topic("agents")

    async def scenario(t: Transport) -> list[str]:
        seen: list[str] = []
        for name in ("a", "b", "c"):
            async def refresh(what: str, name: str = name) -> None:
                seen.append(f"{name}:{what}")

            await t.serve(topic, handlers(refresh=refresh))
        await t.fanout(topic, Message("refresh", {"what": "cache"}))
        await until(lambda: len(seen) >= 3, what="three copies")
        return sorted(seen)

    assert kit.run(scenario) == ["a:cache", "b:cache", "c:cache"]


def test_fanout_to_nobody_is_a_no_op(kit: Kit) -> None:
    async def scenario(t: Transport) -> None:
        await t.fanout(kit.topic("nobody"), Message("refresh", {}))

    kit.run(scenario)


def test_a_stopped_subscription_takes_nothing_more(kit: Kit) -> None:
    topic = kit.topic("compute")

    async def scenario(t: Transport) -> tuple[list[str], str]:
        first: list[str] = []

        async def old(what: str) -> str:
            first.append(what)
            return "old"

        async def new(what: str) -> str:
            return "new"

        subscription = await t.serve(topic, handlers(work=old))
        assert await t.call(topic, Message("work", {"what": "before"}), 5) == "old"
        await subscription.stop()
        await t.cast(topic, Message("work", {"what": "queued"}))
        await t.fanout(topic, Message("work", {"what": "fanned"}))
        await t.serve(topic, handlers(work=new))
        return first, await t.call(topic, Message("work", {"what": "after"}), 5)

    first, answer = kit.run(scenario)
    assert answer == "new"
    assert first == ["before"]


def test_close_cancels_casts_in_flight(kit: Kit) -> None:
    topic = kit.topic("agent")

    async def scenario(t: Transport) -> None:
        started = asyncio.Event()
        cancelled = asyncio.Event()

        async def forever() -> None:
            started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise

        await t.serve(topic, handlers(forever=forever))
        await t.cast(topic, Message("forever", {}))
        await asyncio.wait_for(started.wait(), 5)
        await t.close()
        await asyncio.wait_for(cancelled.wait(), 5)

    kit.run(scenario)
