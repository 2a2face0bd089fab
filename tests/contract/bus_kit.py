"""What the bus transport tests share: a dispatcher over plain functions, polling, the Kit."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from onestack.core.bus import Message, Transport

T = TypeVar("T")
Handler = Callable[..., Awaitable[Any]]


def handlers(**table: Handler) -> Callable[[Message], Awaitable[Any]]:
    """A dispatcher over plain coroutine functions, keyed by method name."""
    async def dispatch(message: Message) -> Any:
        return await table[message.method](**message.args)

    return dispatch


def recorder() -> tuple[list[Any], Handler]:
    """A handler ``note(what)`` and the list of what it was given, in order."""
    seen: list[Any] = []

    async def note(what: Any) -> None:
        seen.append(what)

    return seen, note


async def until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``predicate`` on the loop until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class Kit:
    """Makes the transports of one test (for AMQP each one is a connection of its own) and closes them.

    Topics carry a per-test suffix: AMQP queues are durable, so a test must not meet another's leftovers.
    """

    def __init__(self, name: str, make: Callable[..., Transport], one_process: bool = False) -> None:
        self.name = name
        self._make = make
        self._one_process = one_process
        self._suffix = uuid.uuid4().hex[:8]
        self._open: list[Transport] = []
        self._cleanups: list[Callable[[], Awaitable[None]]] = []

    def topic(self, base: str) -> str:
        return f"{base}.{self._suffix}"

    def new(self, **options: Any) -> Transport:
        transport = self._make(**options)
        self._open.append(transport)
        return transport

    def on_close(self, cleanup: Callable[[], Awaitable[None]]) -> None:
        """Run ``cleanup`` after the transports are closed."""
        self._cleanups.append(cleanup)

    def peer(self, transport: Transport) -> Transport:
        """What another process would hold: its own connection, or (in-process bus) the same transport."""
        return transport if self._one_process else self.new()

    def run(self, scenario: Callable[[Transport], Awaitable[T]], **options: Any) -> T:
        async def main() -> T:
            try:
                return await scenario(self.new(**options))
            finally:
                for transport in reversed(self._open):
                    await transport.close()
                for cleanup in self._cleanups:
                    await cleanup()

        return asyncio.run(main())



def amqp_transport(url: str, **options: Any) -> Transport:
    from onestack.core.amqp import AmqpTransport

    return AmqpTransport(url, **options)
