"""service/create_flow.py against a real database and a real bus client: a failure at any
step leaves no row; the scheduler cast failing (the broker unreachable) reverts the insert."""

from __future__ import annotations

import asyncio
import socket

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestack.core.amqp import BrokerUnreachable
from onestack.core.bus import Bus, transport_from_url
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.volume import models
from onestack.volume.errors import (
    InvalidAvailabilityZone,
    InvalidTypeAvailabilityZones,
    VolumeLimitExceeded,
    VolumeTypeNotFoundByName,
)
from onestack.volume.rpcapi import VolumeSchedulerAPI
from onestack.volume.service import create_flow
from onestack.volume.service.common import Caller, new_id, now
from onestack.volume.state import VolumeState
from tests.unit.volume.dbhelpers import db  # noqa: F401 - the fixture

CALLER = Caller(project_id="p1", user_id="u1", is_admin=False)


def _state(database: Database, scheduler_url: str | None = None) -> VolumeState:
    config = Config()
    config.volume.default_volume_type = "t"
    state = VolumeState(config, database)
    if scheduler_url is not None:
        state.scheduler = VolumeSchedulerAPI(Bus(transport_from_url(scheduler_url)), timeout=1)
    return state


def _count(database: Database) -> int:
    return database.run_sync(lambda s: s.scalar(select(func.count()).select_from(models.Volume)), write=False) or 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once closed


def test_creates_the_row_in_creating(db: Database) -> None:  # noqa: F811
    state = _state(db)
    request = create_flow.CreateRequest(size=2, name="v", metadata={"k": "v"})
    volume_id = asyncio.run(create_flow.create(state, db, CALLER, request))
    row = db.run_sync(lambda s: s.get(models.Volume, volume_id), write=False)
    assert row is not None and row.status == "creating" and row.size == 2 and row.availability_zone == "nova"
    meta = db.run_sync(lambda s: [(m.key, m.value) for m in s.scalars(select(models.VolumeMetadata))], write=False)
    assert meta == [("k", "v")]


def test_scheduler_unreachable_reverts_the_insert(db: Database) -> None:  # noqa: F811
    state = _state(db, f"rabbit://guest:guest@127.0.0.1:{_closed_port()}/")
    with pytest.raises(BrokerUnreachable):
        asyncio.run(create_flow.create(state, db, CALLER, create_flow.CreateRequest(size=1, metadata={"a": "b"})))
    assert _count(db) == 0
    assert db.run_sync(lambda s: s.scalar(select(func.count()).select_from(models.VolumeMetadata)),
                       write=False) == 0


@pytest.mark.parametrize(("request_", "error"), [
    (create_flow.CreateRequest(size=1, volume_type="nope"), VolumeTypeNotFoundByName),
    (create_flow.CreateRequest(size=1, availability_zone="elsewhere"), InvalidAvailabilityZone),
    (create_flow.CreateRequest(size=11), None),  # within limits: made
])
def test_extract_failures_leave_nothing(db: Database, request_: create_flow.CreateRequest,  # noqa: F811
                                        error: type[Exception] | None) -> None:
    state = _state(db)
    if error is None:
        asyncio.run(create_flow.create(state, db, CALLER, request_))
        assert _count(db) == 1
        return
    with pytest.raises(error):
        asyncio.run(create_flow.create(state, db, CALLER, request_))
    assert _count(db) == 0


def test_quota_exceeded_leaves_nothing(db: Database) -> None:  # noqa: F811
    state = _state(db)
    db.run_sync(lambda s: s.add(models.Quota(project_id="p1", resource="volumes", hard_limit=1)))
    asyncio.run(create_flow.create(state, db, CALLER, create_flow.CreateRequest(size=1)))
    with pytest.raises(VolumeLimitExceeded):
        asyncio.run(create_flow.create(state, db, CALLER, create_flow.CreateRequest(size=1)))
    assert _count(db) == 1


def _zoned_type(db: Database, zones: str) -> str:  # noqa: F811
    """A type restricted to ``zones``, with volume services known in zones nova and az2."""
    name = f"zoned-{new_id()[:8]}"

    def add(s: Session) -> None:
        for i, zone in enumerate(("nova", "az2")):
            s.add(models.VolumeService(id=100 + i, host=f"h{i}@file-1", binary="cinder-volume",
                                       availability_zone=zone, disabled=False, created_at=now()))
        type_id = new_id()
        s.add(models.VolumeType(id=type_id, name=name, is_public=True, created_at=now()))
        s.flush()
        s.add(models.VolumeTypeExtraSpec(volume_type_id=type_id, key="RESKEY:availability_zones", value=zones))
    db.run_sync(add)
    return name


@pytest.mark.parametrize(("zones", "asked", "outcome"), [
    ("az2", "nova", InvalidAvailabilityZone),           # a known zone the type does not allow
    ("az2", None, "az2"),                               # no zone asked: the type's (known) zone
    ("nova, az2", "az2", "az2"),                        # allowed and known
    ("nova,az2", None, "nova"),                         # the storage zone when the type allows it
    ("az9", None, InvalidTypeAvailabilityZones),        # the type's zones are all unknown
    ("az9, az2", "az9", InvalidAvailabilityZone),       # allowed by the type, but no such zone
])
def test_type_availability_zones(db: Database, zones: str, asked: str | None,  # noqa: F811
                                 outcome: str | type[Exception]) -> None:
    """Cinder's API checks ``RESKEY:availability_zones`` of the type at create (400s, no row)."""
    state = _state(db)
    request = create_flow.CreateRequest(size=1, volume_type=_zoned_type(db, zones), availability_zone=asked)
    if isinstance(outcome, str):
        volume_id = asyncio.run(create_flow.create(state, db, CALLER, request))
        row = db.run_sync(lambda s: s.get(models.Volume, volume_id), write=False)
        assert row is not None and row.availability_zone == outcome
        return
    with pytest.raises(outcome) as caught:
        asyncio.run(create_flow.create(state, db, CALLER, request))
    assert _count(db) == 0
    if outcome is InvalidTypeAvailabilityZones:
        assert isinstance(caught.value, InvalidTypeAvailabilityZones)
        assert str(caught.value.message) == "Volume type is only supported in these availability zones: ['az9']"
