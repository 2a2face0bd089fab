"""What the object-server unit and contract tests share: a container updater that records the
updates (or fails while told to), a free port, and an object server served over HTTP by uvicorn."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from onestack.object_store.obj.http import make_http_server
from onestack.object_store.obj.server import ObjectServer
from onestack.object_store.rpcapi import ContainerUpdate


class Listing:
    """A ContainerUpdater that records updates (or fails while ``failing``)."""

    def __init__(self) -> None:
        self.updates: list[ContainerUpdate] = []
        self.failing = False

    async def update_container(self, update: ContainerUpdate) -> None:
        if self.failing:
            raise ConnectionError("container service down")
        self.updates.append(update)


def free_port(first: int = 21100, last: int = 21999) -> int:
    """A free port in the object-store tests' range (modules use different ``first`` values so
    that two running at once rarely race for the same port)."""
    for port in range(first, last):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


@asynccontextmanager
async def http_served(server: ObjectServer, port: int) -> AsyncIterator[None]:
    """``server`` behind uvicorn on 127.0.0.1:``port`` until the block ends."""
    web = make_http_server(server, "127.0.0.1", port)
    task = asyncio.create_task(web.serve())
    deadline = time.monotonic() + 10
    while not web.started:
        if task.done() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        web.should_exit = True
        await task
