"""A typed bus declaration for tests: a routed API, its implementation and a registered error."""

# The declarations have no bodies, as in onestack's rpcapi modules: core.rpc sends the message instead.
# mypy: disable-error-code="empty-body"

from __future__ import annotations

import asyncio
from typing import Any

from onestack.core.rpc import RpcAPI, call, cast, remote_error


@remote_error
class OutOfPaint(Exception):
    def __init__(self, colour: str) -> None:  # a constructor of its own: rebuilt without calling it
        super().__init__(f"no {colour} paint left")


class PainterAPI(RpcAPI):
    topic = "painter"
    version = "1.2"
    route_by = "host"

    @call
    async def paint(self, host: str, wall: str, colour: str = "white") -> dict[str, Any]: ...

    @cast
    async def tidy(self, host: str, rooms: list[str]) -> None: ...


class Painter:
    def __init__(self, name: str) -> None:
        self.name = name
        self.tidied: asyncio.Queue[list[str]] = asyncio.Queue()

    async def paint(self, wall: str, colour: str) -> dict[str, Any]:
        if colour == "purple":
            raise OutOfPaint(colour)
        if colour == "boom":
            raise KeyError("unregistered")
        return {"by": self.name, "wall": wall, "colour": colour}

    async def tidy(self, rooms: list[str]) -> None:
        await self.tidied.put(rooms)
