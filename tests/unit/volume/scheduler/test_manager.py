"""Placing volumes with the database: live pools only, compare-and-set, no pool → error and a
user message, retype in place, lost requests placed again — and the cast to the pool's agent
over a real (in-memory) bus."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.bus import Bus, MemoryTransport
from onestack.core.config import Config, load_config
from onestack.core.db import Database
from onestack.core.rpc import endpoints
from onestack.volume import models
from onestack.volume.rpcapi import (
    ModelUpdate,
    RequestSpec,
    SourceSpec,
    VolumeAgentAPI,
    VolumeSchedulerAPI,
    VolumeSpec,
)
from onestack.volume.scheduler import manager, registry
from onestack.volume.scheduler.worker import VolumeSchedulerWorker
from onestack.volume.service import completions, heartbeats
from onestack.volume.service.common import now
from onestack.volume.service.user_messages import user_message
from tests.unit.volume.dbhelpers import TYPE_ID, backend, db, pool_report, volume

__all__ = ["db"]
FILTERS = registry.build_filters("AvailabilityZoneFilter,CapacityFilter,CapabilitiesFilter")
WEIGHERS = registry.build_weighers("CapacityWeigher")


def spec(v: models.Volume, **kw: Any) -> RequestSpec:
    values: dict[str, Any] = {"volume_id": v.id, "size": v.size, "volume_type_id": TYPE_ID, "extra_specs": {},
                              "availability_zone": v.availability_zone, "multiattach": False,
                              "same_backend_as": None, "source": {}}
    values.update(kw)
    return cast(RequestSpec, values)  # unchecked: kw may be any field


def two_backends(db: Database) -> None:
    db.run_sync(heartbeats.report_state, "h1", [backend("h1@a", pool_report("h1@a#a", 10.0, 10.0)),
                                                backend("h1@b", pool_report("h1@b#b", 1000.0, 1000.0))])


def place(db: Database, rspec: RequestSpec) -> manager.Placed | None:
    return db.run_sync(manager.place, rspec, FILTERS, WEIGHERS, 60)


def test_places_on_the_best_pool_and_counts_it(db: Database) -> None:
    two_backends(db)
    v = db.run_sync(lambda s: volume(s, size=5))
    placed = place(db, spec(v))
    assert placed is not None and placed.agent_host == "h1" and placed.volume["host"] == "h1@b#b"
    row = db.run_sync(lambda s: (s.get(models.Volume, v.id).host, s.get(models.Pool, "h1@b#b").allocated_capacity_gb))
    assert row == ("h1@b#b", 5.0)
    assert place(db, spec(v)) is None  # placed once: a second request changes nothing


def test_type_pins_the_backend_and_same_backend_restricts(db: Database) -> None:
    two_backends(db)
    v1, v2 = db.run_sync(lambda s: (volume(s), volume(s)))
    p1 = place(db, spec(v1, extra_specs={"volume_backend_name": "a"}))
    p2 = place(db, spec(v2, same_backend_as="h1@a#a"))
    assert p1 is not None and p1.volume["host"] == "h1@a#a"
    assert p2 is not None and p2.volume["host"] == "h1@a#a"


def test_no_pool_is_error_with_cinders_message(db: Database) -> None:
    two_backends(db)
    v = db.run_sync(lambda s: volume(s, availability_zone="elsewhere"))
    assert place(db, spec(v)) is None

    def read(s: Session) -> tuple[str, list[tuple[str | None, str | None, str]]]:
        msgs = s.scalars(select(models.Message).where(models.Message.resource_uuid == v.id))
        row = s.get(models.Volume, v.id)
        assert row is not None
        return row.status, [(m.action_id, m.detail_id, m.event_id) for m in msgs]

    status, msgs = db.run_sync(read)
    assert status == "error"
    assert msgs == [("001", "003", "VOLUME_VOLUME_001_003")]
    message = db.run_sync(lambda s: s.scalar(select(models.Message)))
    assert user_message(message) == "schedule allocate volume: Could not find any available weighted backend."


def test_down_and_disabled_services_have_no_pools(db: Database) -> None:
    two_backends(db)

    def age(s: Session) -> None:
        down = s.get(models.VolumeService, ("h1@b", "cinder-volume"))
        disabled = s.get(models.VolumeService, ("h1@a", "cinder-volume"))
        assert down is not None and disabled is not None
        down.updated_at = now() - timedelta(seconds=120)
        disabled.disabled = True

    db.run_sync(age)
    v = db.run_sync(lambda s: volume(s))
    assert place(db, spec(v)) is None
    assert db.run_sync(lambda s: s.get(models.Volume, v.id).status) == "error"


def test_only_a_creating_unplaced_volume_is_placed(db: Database) -> None:
    two_backends(db)
    v = db.run_sync(lambda s: volume(s, status="deleting"))
    assert place(db, spec(v)) is None
    assert db.run_sync(lambda s: s.get(models.Volume, v.id).host) is None


def test_retype_in_place_migrate_or_back_to_previous_status(db: Database) -> None:
    two_backends(db)

    def setup(s: Session) -> dict[str, str]:
        s.add(models.VolumeType(id="fits", name="fits", created_at=now()))
        s.add(models.VolumeType(id="elsewhere", name="elsewhere", created_at=now()))
        s.add(models.VolumeTypeExtraSpec(volume_type_id="fits", key="volume_backend_name", value="a"))
        s.add(models.VolumeTypeExtraSpec(volume_type_id="elsewhere", key="volume_backend_name", value="b"))
        big = volume(s, host="h1@a#a", status="retyping", previous_status="available", size=50)
        attached = volume(s, host="h1@a#a", status="retyping", previous_status="in-use", attach_status="attached")
        never = volume(s, host="h1@a#a", status="retyping", previous_status="available")
        moves = volume(s, host="h1@a#a", status="retyping", previous_status="available", size=2,
                       provider_location="/a/x")
        return {"big": big.id, "attached": attached.id, "never": never.id, "moves": moves.id}

    ids = db.run_sync(setup)

    def retype(key: str, new_type: str, policy: str) -> manager.Migration | None:
        return db.run_sync(manager.retype, ids[key], new_type, policy, FILTERS, WEIGHERS, 60)

    def row(key: str) -> tuple[str, str, str | None, str | None]:
        v = db.run_sync(lambda s: s.get(models.Volume, ids[key]))
        return v.status, v.volume_type_id, v.host, v.migration_status

    # 50 GiB on a 10 GiB pool: it is already there, so no new space is needed.
    assert retype("big", "fits", "never") is None
    assert row("big") == ("available", "fits", "h1@a#a", None)
    # Attached: Cinder's target volume of the new type on the other pool, for compute to swap onto.
    swapping = retype("attached", "elsewhere", "on-demand")
    assert swapping is not None and swapping.volume["id"] != ids["attached"]
    assert (swapping.volume["host"], swapping.volume["volume_type_id"]) == ("h1@b#b", "elsewhere")
    assert swapping.source["volume"]["id"] == ids["attached"]
    assert row("attached") == ("retyping", TYPE_ID, "h1@a#a", "migrating")
    target = db.run_sync(lambda s: s.get(models.Volume, swapping.volume["id"]))
    assert (target.status, target.migration_status, target.use_quota) == (
        "creating", f"target:{ids['attached']}", False)
    assert retype("never", "elsewhere", "never") is None
    assert row("never") == ("available", TYPE_ID, "h1@a#a", None)

    moving = retype("moves", "elsewhere", "on-demand")
    assert moving is not None and moving.agent_host == "h1"
    assert (moving.volume["id"], moving.volume["host"], moving.volume["volume_type_id"]) == (
        ids["moves"], "h1@b#b", "elsewhere")
    assert moving.source["volume"]["host"] == "h1@a#a" and moving.source["volume"]["provider_location"] == "/a/x"
    assert row("moves") == ("retyping", TYPE_ID, "h1@a#a", "migrating")
    old = db.run_sync(completions.created_or_migrated, ids["moves"], ModelUpdate(provider_location="/b/x"), None)
    assert old is not None and (old["host"], old["status"], old["provider_location"]) == ("h1@a#a", "deleting", "/a/x")
    assert row("moves") == ("available", "elsewhere", "h1@b#b", "success")
    hidden = db.run_sync(lambda s: list(s.scalars(select(models.VolumeAdminMetadata))))
    assert hidden == []


def test_a_failed_migration_leaves_the_volume_where_it_was(db: Database) -> None:
    two_backends(db)

    def setup(s: Session) -> str:
        s.add(models.VolumeType(id="elsewhere", name="elsewhere", created_at=now()))
        s.add(models.VolumeTypeExtraSpec(volume_type_id="elsewhere", key="volume_backend_name", value="b"))
        return volume(s, host="h1@a#a", status="retyping", previous_status="available").id

    vid = db.run_sync(setup)
    assert db.run_sync(manager.retype, vid, "elsewhere", "on-demand", FILTERS, WEIGHERS, 60) is not None
    assert db.run_sync(completions.created_or_migrated, vid, ModelUpdate(), "copy failed") is None
    v = db.run_sync(lambda s: s.get(models.Volume, vid))
    assert (v.status, v.volume_type_id, v.host, v.migration_status) == ("available", TYPE_ID, "h1@a#a", "error")


def test_the_manager_serves_every_scheduler_method(db: Database, tmp_path: Path) -> None:
    bus = Bus(MemoryTransport())
    served = endpoints(VolumeSchedulerAPI, manager.VolumeSchedulerManager(_config(tmp_path), db, VolumeAgentAPI(bus)))
    assert set(served) == set(VolumeSchedulerAPI.methods())


def test_request_spec_rebuilt_from_a_clone(db: Database) -> None:
    def setup(s: Session) -> str:
        src = volume(s, host="h1@a#a", status="available")
        return volume(s, source_volid=src.id).id

    vid = db.run_sync(setup)
    rspec = db.run_sync(lambda s: manager.request_spec(s, s.get(models.Volume, vid)))
    assert rspec["same_backend_as"] == "h1@a#a" and rspec["source"]["volume"]["host"] == "h1@a#a"


class RecordingAgent:
    """Stands in for the volume agent of ``host`` on the bus: records what it is sent."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.created: list[tuple[str, VolumeSpec, SourceSpec]] = []
        self.event = asyncio.Event()

    async def __call__(self, message: Any) -> None:
        assert message.method == "create_volume"
        self.created.append((self.host, message.args["volume"], message.args["source"]))
        self.event.set()


def _config(tmp_path: Path) -> Config:
    return load_config(None, overrides={"server.data_dir": str(tmp_path), "volume.rpc_timeout": 5})


def test_cast_reaches_the_pools_agent_and_lost_requests_are_placed_again(db: Database, tmp_path: Path) -> None:
    two_backends(db)
    fresh = db.run_sync(lambda s: volume(s, size=2))
    lost = db.run_sync(lambda s: volume(s, age=600, image_id="img-1"))

    async def scenario() -> RecordingAgent:
        bus = Bus(MemoryTransport(), default_timeout=5)
        agent = RecordingAgent("h1")
        subs = [await bus.serve(VolumeAgentAPI.topic_for(agent.host), agent)]
        worker = VolumeSchedulerWorker(_config(tmp_path), db, bus, reschedule_after=60)
        await worker.start()
        await VolumeSchedulerAPI(bus).create_volume(spec(fresh))
        await asyncio.wait_for(agent.event.wait(), 5)
        assert await worker.manager.reschedule(60) == 1  # the old one only
        await worker.stop()
        for sub in subs:
            await sub.stop()
        await bus.close()
        return agent

    agent = asyncio.run(scenario())
    assert [(h, v["id"], v["host"]) for h, v, _ in agent.created] == [
        ("h1", fresh.id, "h1@b#b"), ("h1", lost.id, "h1@b#b")]
    assert agent.created[1][2] == {"image_id": "img-1"}
    rows = db.run_sync(lambda s: [(r.binary, r.availability_zone) for r in s.scalars(
        select(models.VolumeService).where(models.VolumeService.binary == "cinder-scheduler"))])
    assert rows == [("cinder-scheduler", "nova")]
