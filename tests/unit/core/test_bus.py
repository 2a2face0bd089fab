"""The in-process message bus: call, cast, fanout, timeouts and remote errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from onestack.core.bus import (
    Bus,
    BusTimeout,
    Dispatcher,
    MemoryTransport,
    Message,
    NoSuchMethod,
    RemoteError,
)


def dict_dispatcher(table: dict[str, Callable[..., Awaitable[Any]]]) -> Dispatcher:
    """Raw messages to plain functions by name (services use core/rpc's typed declarations)."""
    async def dispatch(message: Message) -> Any:
        fn = table.get(message.method)
        if fn is None:
            raise NoSuchMethod("NoSuchMethod", message.method)
        return await fn(**message.args)

    return dispatch



def run(fn: Callable[[Bus], Awaitable[Any]], default_timeout: float = 5.0) -> Any:
    async def main() -> Any:
        bus = Bus(MemoryTransport(), default_timeout=default_timeout)
        try:
            return await fn(bus)
        finally:
            await bus.close()

    return asyncio.run(main())


def test_call_returns_the_reply() -> None:
    async def scenario(bus: Bus) -> Any:
        async def add(a: int, b: int) -> int:
            return a + b

        await bus.serve("scheduler", dict_dispatcher({"add": add}))
        return await bus.call("scheduler", Message("add", {"a": 2, "b": 3}))

    assert run(scenario) == 5


def test_call_round_robins_between_consumers() -> None:
    async def scenario(bus: Bus) -> list[str]:
        for name in ("one", "two"):
            async def who(name: str = name) -> str:
                return name

            await bus.serve("conductor", dict_dispatcher({"who": who}))
        return [await bus.call("conductor", Message("who", {})) for _ in range(4)]

    assert run(scenario) == ["one", "two", "one", "two"]


def test_call_with_no_consumer_waits_for_its_timeout() -> None:
    async def scenario(bus: Bus) -> None:
        await bus.call("nobody", Message("hello", {}), timeout=0.05)

    with pytest.raises(BusTimeout, match=r"nobody\.hello timed out"):
        run(scenario)


def test_call_times_out_when_the_endpoint_is_slow() -> None:
    async def scenario(bus: Bus) -> None:
        never = asyncio.Event()

        async def stuck() -> None:
            await never.wait()

        await bus.serve("agent", dict_dispatcher({"stuck": stuck}))
        await bus.call("agent", Message("stuck", {}), timeout=0.05)

    with pytest.raises(BusTimeout, match=r"agent\.stuck timed out"):
        run(scenario)


def test_default_timeout_applies() -> None:
    async def scenario(bus: Bus) -> None:
        async def stuck() -> None:
            await asyncio.Event().wait()

        await bus.serve("agent", dict_dispatcher({"stuck": stuck}))
        await bus.call("agent", Message("stuck", {}))

    with pytest.raises(BusTimeout):
        run(scenario, default_timeout=0.05)


def test_remote_error_carries_kind_and_message() -> None:
    async def scenario(bus: Bus) -> None:
        async def fail(flavor: str) -> None:
            raise LookupError(f"flavor {flavor} not found")

        await bus.serve("compute", dict_dispatcher({"fail": fail}))
        await bus.call("compute", Message("fail", {"flavor": "m1.tiny"}))

    with pytest.raises(RemoteError) as info:
        run(scenario)
    assert info.value.kind == "LookupError"
    assert info.value.message == "flavor m1.tiny not found"
    assert not isinstance(info.value, BusTimeout)


def test_unknown_method() -> None:
    async def scenario(bus: Bus) -> None:
        async def ping() -> str:
            return "pong"

        await bus.serve("compute", dict_dispatcher({"ping": ping}))
        await bus.call("compute", Message("pong", {}))

    with pytest.raises(RemoteError) as info:
        run(scenario)
    assert info.value.kind == "NoSuchMethod"


def test_cast_delivers_without_waiting() -> None:
    async def scenario(bus: Bus) -> dict[str, Any]:
        got: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        release = asyncio.Event()

        async def build(**kwargs: Any) -> None:
            got.set_result(kwargs)
            await release.wait()

        await bus.serve("compute.host1", dict_dispatcher({"build": build}))
        await bus.cast("compute.host1", Message("build", {"instance": "i-1"}))  # returns though build blocks
        result = await asyncio.wait_for(got, 5)
        release.set()
        return result

    assert run(scenario) == {"instance": "i-1"}


def test_cast_failure_and_missing_consumer_do_not_raise(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(bus: Bus) -> None:
        done = asyncio.Event()

        async def boom() -> None:
            done.set()
            raise RuntimeError("kaput")

        await bus.serve("agent", dict_dispatcher({"boom": boom}))
        await bus.cast("agent", Message("boom", {}))
        await asyncio.wait_for(done.wait(), 5)
        for _ in range(10):  # let the failed task finish and log
            await asyncio.sleep(0)

    with caplog.at_level("WARNING", logger="onestack.bus"):
        run(scenario)
    text = caplog.text
    assert "kaput" in text


def test_cast_waits_for_a_consumer() -> None:
    async def scenario(bus: Bus) -> dict[str, Any]:
        got: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        await bus.cast("later", Message("build", {"n": 1}))

        async def build(**kwargs: Any) -> None:
            got.set_result(kwargs)

        await bus.serve("later", dict_dispatcher({"build": build}))
        return await asyncio.wait_for(got, 5)

    assert run(scenario) == {"n": 1}


def test_fanout_reaches_every_consumer() -> None:
    async def scenario(bus: Bus) -> list[str]:
        seen: list[str] = []
        all_done = asyncio.Event()

        for name in ("a", "b", "c"):
            async def refresh(name: str = name, **kwargs: Any) -> None:
                seen.append(f"{name}:{kwargs['what']}")
                if len(seen) == 3:
                    all_done.set()

            await bus.serve("agents", dict_dispatcher({"refresh": refresh}))
        await bus.fanout("agents", Message("refresh", {"what": "cache"}))
        await asyncio.wait_for(all_done.wait(), 5)
        return sorted(seen)

    assert run(scenario) == ["a:cache", "b:cache", "c:cache"]


def test_fanout_to_nobody_is_a_no_op() -> None:
    async def scenario(bus: Bus) -> None:
        await bus.fanout("nobody", Message("refresh", {}))

    run(scenario)


def test_close_cancels_casts_in_flight() -> None:
    async def scenario(bus: Bus) -> bool:
        started = asyncio.Event()
        cancelled = asyncio.Event()

        async def forever() -> None:
            started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise

        await bus.serve("agent", dict_dispatcher({"forever": forever}))
        await bus.cast("agent", Message("forever", {}))
        await asyncio.wait_for(started.wait(), 5)
        await bus.close()
        await asyncio.wait_for(cancelled.wait(), 5)
        return cancelled.is_set()

    assert run(scenario)
