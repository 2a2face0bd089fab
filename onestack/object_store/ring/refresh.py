"""Keeping a process's ring current (Swift's ring reload).

A proxy reads the newest ring from the database every ``ring_check_interval`` seconds: another
proxy process, or an agent's device report answered there, may have rebuilt it. An object agent
has no database: it gets the ring back with each device report, or asks ``get_ring`` on the bus.
Either way the ring is replaced as a whole and only by a newer version, so a reader keeps a
consistent copy and an out-of-order answer never rolls the ring back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from onestack.core.db import Database
from onestack.object_store.daemon import Periodic
from onestack.object_store.ring import store
from onestack.object_store.ring.ring import Ring
from onestack.object_store.state import RingHolder

log = logging.getLogger("onestack.object_store.ring")


def adopt(holder: RingHolder, ring: Ring | dict[str, Any] | None) -> bool:
    """Put ``ring`` in ``holder`` when it is newer than the one there; True when it was."""
    if ring is None:
        return False
    if isinstance(ring, dict):
        ring = Ring.from_dict(ring)
    if ring.version <= holder.ring.version:
        return False
    log.info("object ring version %d (was %d): %d devices", ring.version, holder.ring.version, len(ring.devices))
    holder.ring = ring
    return True


class PeriodicRefresh(Periodic):
    """Calls ``fetch`` every ``interval`` seconds and adopts what it answers; failures are logged
    and retried at the next tick (a ring a little old is still a valid ring)."""

    task_name = "object-ring-refresh"
    wait_first = True  # the caller has just loaded the ring
    failure_level = logging.WARNING  # a database or bus hiccup: keep the ring, try again

    def __init__(self, holder: RingHolder, fetch: Callable[[], Awaitable[Ring | dict[str, Any] | None]],
                 interval: float, on_change: Callable[[Ring], None] | None = None) -> None:
        self.holder = holder
        self.fetch = fetch
        self.interval = interval
        self.on_change = on_change

    async def refresh(self) -> bool:
        changed = adopt(self.holder, await self.fetch())
        if changed and self.on_change is not None:
            self.on_change(self.holder.ring)
        return changed

    async def tick(self) -> None:
        await self.refresh()

    async def start(self) -> None:
        if self.interval > 0:  # 0: the ring is only replaced by what the caller adopts
            await super().start()


def from_database(db: Database, holder: RingHolder, interval: float) -> PeriodicRefresh:
    """The proxy's refresher: the newest ``object_rings`` row, its body read only when its version
    is newer than the ring held (a ring of a high part power is megabytes of JSON)."""

    async def fetch() -> Ring | None:
        return await db.read(store.load_newer_ring, holder.ring.version)

    return PeriodicRefresh(holder, fetch, interval)
