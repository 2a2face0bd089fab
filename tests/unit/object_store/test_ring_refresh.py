"""The ring refresh: a process adopts only newer rings, from the database (proxy) or a fetch (agent)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
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


def test_only_the_newest_ring_versions_are_kept(db: Database) -> None:
    asyncio.run(_pruned(db))


async def _pruned(db: Database) -> None:
    first = db.run_sync(lambda s: (store.add_device(s, "h1", "d1", zone=1), store.rebuild(s, 1, 4, "salt"))[1])
    holder = RingHolder(first)  # a process that keeps the first version while many are built
    for n in range(2, 9):
        db.run_sync(lambda s, n=n: (store.add_device(s, f"h{n}", "d1", zone=n), store.rebuild(s, 1, 4))[1])
    versions = db.run_sync(lambda s: sorted(s.scalars(select(models.Ring.version)).all()))
    assert versions == list(range(9 - store.KEEP_RING_VERSIONS, 9))
    # the holder of a version long pruned simply reloads the newest
    refresher = refresh.from_database(db, holder, interval=3600)
    assert await refresher.refresh()
    assert holder.ring.version == 8 and len(holder.ring.devices) == 8
    assert holder.ring.hash_path_suffix == "salt"


def test_a_heartbeat_writes_last_seen_only_when_it_ages_and_liveness_holds(db: Database) -> None:
    interval = 10.0
    refresh_after = store.heartbeat_refresh(interval)
    window = store.liveness_window(interval)
    assert 0 < refresh_after + interval < window  # a device reporting on time never looks dead
    start = datetime(2026, 1, 1)

    def report(seconds: float) -> datetime | None:
        def go(s: Session) -> datetime | None:
            store.add_device(s, "h1", "d1", zone=1, refresh_after=refresh_after, now=start + timedelta(seconds=seconds))
            return s.scalars(select(models.RingDevice.last_seen)).one()
        return db.run_sync(go)

    def alive(seconds: float) -> bool:
        return ("h1", "d1") in db.run_sync(
            lambda s: store.alive_devices(s, interval, now=start + timedelta(seconds=seconds)))

    assert report(0) == start
    written = {0.0}
    for t in range(10, 200, 10):  # a report every interval for a while
        if report(t) != start + timedelta(seconds=max(written)):
            written.add(float(t))
        assert alive(t) and alive(t + interval)
    # 20 reports, a write only every other one (refresh_after is two intervals)
    assert len(written) == 10 and all(b - a >= refresh_after for a, b in zip(sorted(written), sorted(written)[1:]))
    last = max(written)
    assert alive(last + window - 1) and not alive(last + window)  # silent past the window: down
    # a changed address is written at once, whatever the age
    db.run_sync(lambda s: store.add_device(s, "h1", "d1", zone=1, port=6201, refresh_after=refresh_after,
                                           now=start + timedelta(seconds=last + 1)))
    assert db.run_sync(lambda s: s.scalars(select(models.RingDevice.last_seen)).one()) == start + timedelta(seconds=last + 1)
