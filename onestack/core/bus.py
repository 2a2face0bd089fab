"""The message bus: call (request/reply with a timeout), cast (fire and forget), fanout.

Services address each other by topic (``compute.host-1``, ``scheduler``); the transport
moves the messages. ``MemoryTransport`` serves ``onestack up`` (one process); an AMQP
transport with the same interface serves many hosts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger("onestack.bus")

Endpoint = Callable[..., Awaitable[Any]]


class BusTimeout(TimeoutError):
    """No reply came within the call's timeout."""


class RemoteError(RuntimeError):
    """The endpoint raised; carries the remote exception's type name and message."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class NoSuchMethod(RemoteError):
    pass


class Transport(Protocol):
    async def call(self, topic: str, method: str, kwargs: dict[str, Any], timeout: float) -> Any:
        """Deliver to one consumer of ``topic`` and return its reply; BusTimeout if none comes."""
        ...

    async def cast(self, topic: str, method: str, kwargs: dict[str, Any]) -> None:
        """Deliver to one consumer of ``topic``; return without waiting."""
        ...

    async def fanout(self, topic: str, method: str, kwargs: dict[str, Any]) -> None:
        """Deliver to every consumer of ``topic``."""
        ...

    async def serve(self, topic: str, endpoints: dict[str, Endpoint]) -> None:
        """Start consuming ``topic``, dispatching by method name."""
        ...

    async def close(self) -> None: ...


@dataclass
class _Consumer:
    endpoints: dict[str, Endpoint]


class MemoryTransport:
    """In-process transport: consumers of a topic take turns (round-robin), as on a queue."""

    def __init__(self) -> None:
        self._consumers: dict[str, list[_Consumer]] = {}
        self._turn: dict[str, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def _pick(self, topic: str) -> _Consumer | None:
        consumers = self._consumers.get(topic)
        if not consumers:
            return None
        turn = self._turn.get(topic, 0)
        self._turn[topic] = turn + 1
        return consumers[turn % len(consumers)]

    @staticmethod
    async def _dispatch(consumer: _Consumer, method: str, kwargs: dict[str, Any]) -> Any:
        fn = consumer.endpoints.get(method)
        if fn is None:
            raise NoSuchMethod("NoSuchMethod", method)
        try:
            return await fn(**kwargs)
        except Exception as exc:  # the caller sees the remote failure, as over AMQP
            raise RemoteError(type(exc).__name__, str(exc)) from exc

    async def call(self, topic: str, method: str, kwargs: dict[str, Any], timeout: float) -> Any:
        consumer = self._pick(topic)
        if consumer is None:
            await asyncio.sleep(0)
            raise BusTimeout(f"no consumer for topic {topic!r}")
        try:
            return await asyncio.wait_for(self._dispatch(consumer, method, kwargs), timeout)
        except TimeoutError:
            raise BusTimeout(f"{topic}.{method} timed out after {timeout}s") from None

    def _spawn(self, consumer: _Consumer, method: str, kwargs: dict[str, Any]) -> None:
        async def run() -> None:
            try:
                await self._dispatch(consumer, method, kwargs)
            except RemoteError as exc:
                log.warning("cast %s failed: %s", method, exc)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cast(self, topic: str, method: str, kwargs: dict[str, Any]) -> None:
        consumer = self._pick(topic)
        if consumer is None:
            log.warning("cast to %s.%s dropped: no consumer", topic, method)
            return
        self._spawn(consumer, method, kwargs)

    async def fanout(self, topic: str, method: str, kwargs: dict[str, Any]) -> None:
        for consumer in list(self._consumers.get(topic, [])):
            self._spawn(consumer, method, kwargs)

    async def serve(self, topic: str, endpoints: dict[str, Endpoint]) -> None:
        self._consumers.setdefault(topic, []).append(_Consumer(endpoints))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._consumers.clear()


class Bus:
    """What services hold: a transport plus default timeouts."""

    def __init__(self, transport: Transport, default_timeout: float = 60.0) -> None:
        self.transport = transport
        self.default_timeout = default_timeout

    async def call(self, topic: str, method: str, timeout: float | None = None, **kwargs: Any) -> Any:
        return await self.transport.call(topic, method, kwargs, timeout or self.default_timeout)

    async def cast(self, topic: str, method: str, **kwargs: Any) -> None:
        await self.transport.cast(topic, method, kwargs)

    async def fanout(self, topic: str, method: str, **kwargs: Any) -> None:
        await self.transport.fanout(topic, method, kwargs)

    async def serve(self, topic: str, endpoints: dict[str, Endpoint]) -> None:
        await self.transport.serve(topic, endpoints)

    async def close(self) -> None:
        await self.transport.close()
