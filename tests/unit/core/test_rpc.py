"""Typed bus messages: declarations, serving, routing, versions and remote error classes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import pytest

from onestack.core.bus import Bus, MemoryTransport, Message, RemoteError
from onestack.core.rpc import IncompatibleVersion, endpoints, serve
from tests.unit.core.painter import OutOfPaint, Painter, PainterAPI


def run(fn: Callable[[Bus], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        bus = Bus(MemoryTransport(), default_timeout=2)
        try:
            return await fn(bus)
        finally:
            await bus.close()

    return asyncio.run(main())


def test_call_goes_to_the_routed_topic_with_defaults() -> None:
    async def scenario(bus: Bus) -> Any:
        await serve(bus, PainterAPI, Painter("a"), route="host-a")
        await serve(bus, PainterAPI, Painter("b"), route="host-b")
        api = PainterAPI(bus)
        return [await api.paint("host-b", "north"), await api.paint("host-a", wall="south", colour="red")]

    assert run(scenario) == [{"by": "b", "wall": "north", "colour": "white"},
                             {"by": "a", "wall": "south", "colour": "red"}]


def test_cast_delivers_without_the_routing_argument() -> None:
    async def scenario(bus: Bus) -> Any:
        painter = Painter("a")
        await serve(bus, PainterAPI, painter, route="h")
        await PainterAPI(bus).tidy("h", ["hall"])
        return await asyncio.wait_for(painter.tidied.get(), 2)

    assert run(scenario) == ["hall"]


def test_registered_errors_come_back_as_their_class() -> None:
    async def scenario(bus: Bus) -> Any:
        await serve(bus, PainterAPI, Painter("a"), route="h")
        await PainterAPI(bus).paint("h", "east", colour="purple")

    with pytest.raises(OutOfPaint) as info:
        run(scenario)
    assert isinstance(info.value, RemoteError)
    assert str(info.value) == "no purple paint left"


def test_unregistered_errors_stay_remote_errors() -> None:
    async def scenario(bus: Bus) -> Any:
        await serve(bus, PainterAPI, Painter("a"), route="h")
        await PainterAPI(bus).paint("h", "east", colour="boom")

    with pytest.raises(RemoteError) as info:
        run(scenario)
    assert info.value.kind == "KeyError"
    assert not isinstance(info.value, OutOfPaint)


def test_a_missing_implementation_fails_at_serve_time() -> None:
    class Lazy:
        async def paint(self, wall: str, colour: str) -> dict[str, Any]:
            return {}

    with pytest.raises(TypeError, match="nothing implements PainterAPI.tidy"):
        endpoints(PainterAPI, Lazy())


def test_an_implementation_missing_an_argument_fails_at_serve_time() -> None:
    class Old:
        async def paint(self, wall: str) -> dict[str, Any]:
            return {}

        async def tidy(self, rooms: list[str]) -> None:
            return None

    with pytest.raises(TypeError, match="does not take colour"):
        endpoints(PainterAPI, Old())


def test_newer_minor_or_other_major_versions_are_refused() -> None:
    async def scenario(bus: Bus, version: str) -> Any:
        await serve(bus, PainterAPI, Painter("a"), route="h")
        from onestack.core import rpc

        try:
            return await bus.call("painter.h", Message("paint", {"wall": "w", "colour": "red"}, version))
        except RemoteError as exc:
            raise rpc.rebuild(exc) from None

    assert run(lambda bus: scenario(bus, "1.0"))["colour"] == "red"
    for version in ("1.3", "2.0"):
        with pytest.raises(IncompatibleVersion):
            run(partial(scenario, version=version))


def test_arguments_that_are_not_json_safe_are_refused_at_the_sender() -> None:
    async def scenario(bus: Bus) -> Any:
        await serve(bus, PainterAPI, Painter("a"), route="h")
        await PainterAPI(bus).tidy("h", {"a set"})  # type: ignore[arg-type]

    with pytest.raises(TypeError):
        run(scenario)
