"""The volume agent (agent/host.py + agent/reconcile.py) with a real file backend, the real server
side (server_rpc over an in-memory database) and an in-memory bus: casts become disks and
statuses; work accepted before a crash is done again; lost requests, deletes while away, stray
disks and leftovers are settled by the reconcile pass."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from onestack.core.bus import Bus, MemoryTransport
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.volume import models
from onestack.volume.agent.file import FileDriver
from onestack.volume.agent.host import VolumeAgent
from onestack.volume.rpcapi import SourceSpec, VolumeAgentAPI
from onestack.volume.server_rpc import VolumeServer
from onestack.volume.service.common import now
from onestack.volume.service.specs import volume_spec
from tests.unit.volume.dbhelpers import db, volume

__all__ = ["db"]

HOST = "h1"
POOL = f"{HOST}@be#be"


def config(tmp_path: Path) -> Config:
    c = Config()
    c.server.data_dir = str(tmp_path / "data")
    c.volume.reconcile_interval, c.volume.report_interval = 0.05, 3600.0
    return c


def status(db: Database, volume_id: str) -> str | None:
    return db.run_sync(lambda s: getattr(s.get(models.Volume, volume_id), "status", None))


async def until(what: str, check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def with_agent(db: Database, tmp_path: Path, scenario: Callable[[VolumeAgent, FileDriver, Bus], Awaitable[None]],
               grace: float = 5.0) -> None:
    async def run() -> None:
        bus = Bus(MemoryTransport())
        server = VolumeServer(db, bus)
        await server.start()
        c = config(tmp_path)
        driver = FileDriver(c.data_dir / "volumes" / HOST / "be", "be", fmt="raw", host=HOST)
        agent = VolumeAgent(c, HOST, [driver], bus)
        agent.grace = grace
        await agent.start()
        try:
            await scenario(agent, driver, bus)
        finally:
            await agent.stop()
            await server.stop()
            await bus.close()
    asyncio.run(run())


def test_a_cast_makes_the_disk_and_the_volume_available_then_a_delete_removes_both(
        db: Database, tmp_path: Path) -> None:
    vid = db.run_sync(lambda s: volume(s, host=POOL).id)
    spec = db.run_sync(lambda s: volume_spec(s, s.get(models.Volume, vid)))

    async def scenario(agent: VolumeAgent, driver: FileDriver, bus: Bus) -> None:
        api = VolumeAgentAPI(bus)
        await api.create_volume(host=HOST, volume=spec, source=SourceSpec())
        await until("available", lambda: status(db, vid) == "available")
        assert driver.volume_path(vid).stat().st_size == 1024 ** 3
        assert db.run_sync(lambda s: s.get(models.Volume, vid).provider_location) == str(driver.volume_path(vid))
        db.run_sync(lambda s: setattr(s.get(models.Volume, vid), "status", "deleting"))
        await api.delete_volume(host=HOST, volume={**spec, "status": "deleting"})
        await until("row gone", lambda: status(db, vid) is None)
        assert not driver.volume_path(vid).exists()
        await until("journal empty", lambda: os.listdir(agent.journal_dir) == [])

    with_agent(db, tmp_path, scenario)


def test_work_accepted_before_a_crash_is_done_on_the_next_start(db: Database, tmp_path: Path) -> None:
    vid = db.run_sync(lambda s: volume(s, host=POOL, size=2).id)
    spec = db.run_sync(lambda s: volume_spec(s, s.get(models.Volume, vid)))
    # The agent that crashed: it journalled the create, made half a disk, and died.
    crashed = VolumeAgent(config(tmp_path), HOST, [], Bus(MemoryTransport()))
    crashed._write_journal(vid, "create_volume", {"volume": spec, "source": {}})
    # ... and was killed writing another entry, before its rename.
    torn = crashed.journal_dir / f"{vid}.create_backup.tmp"
    torn.write_text('{"id": ')
    backend = config(tmp_path).data_dir / "volumes" / HOST / "be"
    backend.mkdir(parents=True)
    (backend / f".tmp-{vid}-0badc0de").write_bytes(b"half")

    async def scenario(agent: VolumeAgent, driver: FileDriver, bus: Bus) -> None:
        await until("available", lambda: status(db, vid) == "available")
        assert driver.volume_path(vid).stat().st_size == 2 * 1024 ** 3
        await until("leftover removed", lambda: sorted(os.listdir(backend)) == [f"volume-{vid}"])
        assert agent.journal() == []
        assert not torn.exists()

    with_agent(db, tmp_path, scenario)


def test_a_lost_request_errors_the_volume_and_a_delete_while_away_is_done(db: Database, tmp_path: Path) -> None:
    lost = db.run_sync(lambda s: volume(s, host=POOL).id)
    doomed = db.run_sync(lambda s: volume(s, host=POOL, status="deleting").id)
    backend = config(tmp_path).data_dir / "volumes" / HOST / "be"
    backend.mkdir(parents=True)
    (backend / f"volume-{doomed}").write_bytes(b"disk")

    async def scenario(agent: VolumeAgent, driver: FileDriver, bus: Bus) -> None:
        await until("doomed gone", lambda: status(db, doomed) is None)
        assert not (backend / f"volume-{doomed}").exists()
        await until("lost in error", lambda: status(db, lost) == "error")
        detail = db.run_sync(lambda s: [m.detail_id for m in s.scalars(
            select(models.Message).where(models.Message.resource_uuid == lost))])
        assert detail, "a user message says why"

    with_agent(db, tmp_path, scenario, grace=0.3)


def test_a_snapshot_reset_to_deleting_waits_the_grace_period_before_it_is_deleted(
        db: Database, tmp_path: Path) -> None:
    """An admin's os-reset_status to ``deleting`` is followed by os-force_delete (Tempest does it
    at once); the pass must not delete the snapshot under it. A lost delete is still done later."""
    vid = db.run_sync(lambda s: volume(s, host=POOL, status="available").id)

    def add_snapshot(s: Any) -> str:
        snap = models.Snapshot(id="5a000000-0000-4000-8000-000000000001", volume_id=vid, project_id="p",
                               user_id="u", status="deleting", volume_size=1, host=POOL, created_at=now())
        s.add(snap)
        return snap.id
    sid = db.run_sync(add_snapshot)
    backend = config(tmp_path).data_dir / "volumes" / HOST / "be"
    backend.mkdir(parents=True)
    (backend / f"volume-{vid}").write_bytes(b"disk")
    (backend / f"snapshot-{sid}").write_bytes(b"snap")

    def snapshot_status() -> str | None:
        return db.run_sync(lambda s: getattr(s.get(models.Snapshot, sid), "status", None))

    async def scenario(agent: VolumeAgent, driver: FileDriver, bus: Bus) -> None:
        start = agent.passes
        await until("several passes", lambda: agent.passes >= start + 5)
        assert snapshot_status() == "deleting", "deleted within the grace period"
        await until("deleted after the grace period", lambda: snapshot_status() is None)
        assert not (backend / f"snapshot-{sid}").exists()

    with_agent(db, tmp_path, scenario, grace=1.5)


def test_a_lost_reimage_errors_the_volume_and_keeps_its_data(db: Database, tmp_path: Path) -> None:
    vid = db.run_sync(lambda s: volume(s, host=POOL, status="downloading").id)
    db.run_sync(lambda s: setattr(s.get(models.Volume, vid), "previous_status", "available"))
    backend = config(tmp_path).data_dir / "volumes" / HOST / "be"
    backend.mkdir(parents=True)
    (backend / f"volume-{vid}").write_bytes(b"data")

    async def scenario(agent: VolumeAgent, driver: FileDriver, bus: Bus) -> None:
        await until("in error", lambda: status(db, vid) == "error")
        assert (backend / f"volume-{vid}").read_bytes() == b"data"

    with_agent(db, tmp_path, scenario, grace=0.3)


def test_a_disk_no_volume_owns_stays_unless_its_create_was_journalled(db: Database, tmp_path: Path) -> None:
    """What os-unmanage leaves (or an operator puts there) is kept for a later manage; only the disk
    the agent made for a volume deleted meanwhile (its create journalled) goes."""
    kept = db.run_sync(lambda s: volume(s, host=POOL, status="available").id)
    managing = db.run_sync(lambda s: volume(s, host=POOL, status="managing").id)
    backend = config(tmp_path).data_dir / "volumes" / HOST / "be"
    backend.mkdir(parents=True)
    abandoned = "0badc0de-0000-4000-8000-000000000001"
    for name in (f"volume-{kept}", "volume-unmanaged", "snapshot-unmanaged", f"volume-{abandoned}"):
        (backend / name).write_bytes(b"disk")
        os.utime(backend / name, (time.time() - 3600, time.time() - 3600))
    spec = {"id": abandoned, "size": 1, "host": POOL, "status": "creating", "provider_location": None,
            "volume_type_id": "t", "extra_specs": {}, "multiattach": False}
    journal = backend.parent / ".journal"
    journal.mkdir(parents=True)
    (journal / f"{abandoned}.create_volume.json").write_text(json.dumps(
        {"id": abandoned, "method": "create_volume", "kwargs": {"volume": spec, "source": {}}}))

    async def scenario(agent: VolumeAgent, driver: FileDriver, bus: Bus) -> None:
        await until("the abandoned disk removed", lambda: not (backend / f"volume-{abandoned}").exists())
        assert agent.journal() == []
        await until("managing with no work in error_managing", lambda: status(db, managing) == "error_managing")
        start, passes = time.monotonic(), agent.passes
        await until("passes past the grace period",
                    lambda: agent.passes > passes + 3 and time.monotonic() - start > 1.0)
        assert sorted(os.listdir(backend)) == sorted(
            [f"volume-{kept}", "volume-unmanaged", "snapshot-unmanaged"])
        assert status(db, kept) == "available"

    with_agent(db, tmp_path, scenario, grace=0.3)


def test_a_managed_disk_is_renamed_and_the_volume_available_with_its_size(db: Database, tmp_path: Path) -> None:
    new = db.run_sync(lambda s: volume(s, host=POOL, status="managing", size=0).id)
    missing = db.run_sync(lambda s: volume(s, host=POOL, status="managing", size=0).id)
    backend = config(tmp_path).data_dir / "volumes" / HOST / "be"
    backend.mkdir(parents=True)
    with open(backend / "volume-old", "wb") as f:
        f.truncate(3 * 1024 ** 3 - 5)

    async def scenario(agent: VolumeAgent, driver: FileDriver, bus: Bus) -> None:
        api = VolumeAgentAPI(bus)
        for vid, name in ((new, "volume-old"), (missing, "volume-nothing")):
            spec = db.run_sync(lambda s, v=vid: volume_spec(s, s.get(models.Volume, v)))
            await api.manage_existing(host=HOST, volume=spec, ref={"source-name": name})
        await until("managed", lambda: status(db, new) == "available")
        assert db.run_sync(lambda s: s.get(models.Volume, new).size) == 3
        assert sorted(os.listdir(backend)) == [f"volume-{new}"]
        await until("the missing one in error_managing", lambda: status(db, missing) == "error_managing")

    with_agent(db, tmp_path, scenario)
