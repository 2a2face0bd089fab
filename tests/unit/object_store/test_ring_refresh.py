"""The ring refresh: a process adopts only newer rings, from the database (proxy) or a fetch (agent)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from onestack.core.db import Database
from onestack.object_store import models
from onestack.object_store.ring import refresh, store
from onestack.object_store.ring.builder import build_ring
from onestack.object_store.ring.ring import Device, Ring
from onestack.object_store.state import RingHolder


@pytest.fixture
def db() -> Iterator[Database]:
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    models.Base.metadata.create_all(engine)
    yield Database(engine)
    engine.dispose()


def ring(version: int, devices: int = 1) -> Ring:
    return build_ring([Device(id=i, host="h", device=f"d{i}", zone=i) for i in range(1, devices + 1)], 1, 4, "s",
                      version=version)


def test_adopt_takes_newer_only() -> None:
    holder = RingHolder(ring(2))
    assert not refresh.adopt(holder, ring(1))
    assert not refresh.adopt(holder, ring(2, devices=2).to_dict())
    assert not refresh.adopt(holder, None)
    assert holder.ring.version == 2 and len(holder.ring.devices) == 1
    assert refresh.adopt(holder, ring(3, devices=2).to_dict())
    assert holder.ring.version == 3 and len(holder.ring.devices) == 2


def test_proxy_picks_up_a_ring_rebuilt_elsewhere(db: Database) -> None:
    asyncio.run(_picks_up(db))


async def _picks_up(db: Database) -> None:
    first = db.run_sync(lambda s: (store.add_device(s, "h1", "d1", zone=1), store.rebuild(s, 1, 4, "salt"))[1])
    holder = RingHolder(first)
    refresher = refresh.from_database(db, holder, interval=3600)
    assert not await refresher.refresh()
    # another process records a new device and rebuilds
    db.run_sync(lambda s: (store.add_device(s, "h2", "d1", zone=2), store.rebuild(s, 1, 4))[1])
    seen: list[int] = []
    refresher.on_change = lambda r: seen.append(r.version)
    assert await refresher.refresh()
    assert holder.ring.version == first.version + 1 and seen == [holder.ring.version]
    assert {d.host for d in holder.ring.devices} == {"h1", "h2"}
    assert holder.ring.hash_path_suffix == "salt"  # the placement salt never changes


def test_a_failing_fetch_keeps_the_ring_and_the_loop_runs() -> None:
    asyncio.run(_failing_fetch())


async def _failing_fetch() -> None:
    holder = RingHolder(ring(1))
    calls = 0

    async def fetch() -> Ring:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("bus down")
        return ring(5)

    refresher = refresh.PeriodicRefresh(holder, fetch, interval=0.01)
    await refresher.start()
    try:
        deadline = asyncio.get_running_loop().time() + 5
        while holder.ring.version != 5:
            assert asyncio.get_running_loop().time() < deadline, "the refresh loop never adopted the new ring"
            await asyncio.sleep(0.01)
    finally:
        await refresher.stop()
    assert calls >= 2
