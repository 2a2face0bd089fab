"""A service's lifecycle: what it declares, and how a process runs the services it was given.

Each service declares itself once (its ``app.py`` holds a ``ServiceDefinition``): its name,
the migrations it owns, the catalog entries it serves, its default policies, and a ``build``
function that, given the process it runs in, returns what runs: the HTTP API to mount (if
any) and the workers to start and stop. ``server.py`` keeps the one list of definitions and
loops over the enabled ones — ``onestack up`` runs them all, ``onestack serve NAME…`` the
named ones — so adding a service is one registration.

``P`` is the process context a build receives (``onestack.process.Process``: configuration,
database, bus, the clients of services running elsewhere). Core does not know its shape.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import MetaData

from onestack.core.api.app import Service

log = logging.getLogger("onestack.service")
P = TypeVar("P")


@dataclass(frozen=True)
class Migrations:
    """An Alembic tree and the metadata it builds; versions live in ``alembic_version_<name>``."""

    name: str
    location: Path
    metadata: MetaData


@dataclass(frozen=True)
class CatalogEntry:
    """One catalog service: its type, name and the path below the process's base URL."""

    type: str
    name: str
    path: str


class Worker(Protocol):
    """Something a service runs beside its API: consumers, periodic loops, agents."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` or until ``event`` is set, as workers' loops pause between passes; True
    when the event was set. asyncio.timeout, not wait_for: on 3.11 wait_for may lose a cancel."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


@dataclass
class Running:
    """What one service built in this process."""

    name: str
    api: Service | None = None
    workers: list[Worker] = field(default_factory=list)
    # Handles the composition root may give other services of the same process (in-process clients).
    state: Any = None


@dataclass(frozen=True)
class ServiceDefinition(Generic[P]):
    name: str
    summary: str
    build: Callable[[P], Running]
    migrations: tuple[Migrations, ...] = ()
    catalog: tuple[CatalogEntry, ...] = ()
    policies: Mapping[str, str] = field(default_factory=dict)
    needs_database: bool = True


def select_services(known: Sequence[ServiceDefinition[P]], names: Sequence[str]) -> list[ServiceDefinition[P]]:
    """The named definitions in registration order (which is build order); unknown names are an error."""
    by_name = {d.name: d for d in known}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown service {', '.join(unknown)}; known: {', '.join(by_name)}")
    wanted = set(names)
    return [d for d in known if d.name in wanted]


class Lifecycle:
    """Starts the workers of the running services in build order and stops them in reverse."""

    def __init__(self, running: Sequence[Running]) -> None:
        self.running = list(running)
        self._started: list[tuple[str, Worker]] = []

    @property
    def apis(self) -> list[Service]:
        return [r.api for r in self.running if r.api is not None]

    async def start(self) -> None:
        for r in self.running:
            for worker in r.workers:
                await worker.start()
                self._started.append((r.name, worker))

    async def stop(self) -> None:
        while self._started:
            name, worker = self._started.pop()
            try:
                await worker.stop()
            except asyncio.CancelledError:
                raise
            except Exception:  # one failing stop must not leave the others running
                log.exception("stopping a worker of %s failed", name)
