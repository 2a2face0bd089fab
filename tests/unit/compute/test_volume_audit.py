"""Which volume mappings the conductor's pass takes for an attach or detach a crash cut off, or
for a stale attachment id (a swap cut short), and the conditional adoption of the new id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from onestack.compute import states
from onestack.compute.conductor.volume_audit import attached, unfinished
from onestack.compute.models import BlockDeviceMapping, Instance
from onestack.compute.service import block_devices
from onestack.core.ids import utcnow

OLD = utcnow() - timedelta(hours=1)


@pytest.fixture
def s() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Instance.metadata.create_all(engine, tables=[Instance.__table__, BlockDeviceMapping.__table__])  # type: ignore[list-item]
    with Session(engine) as session:
        yield session


def server(s: Session, uuid: str, **values: Any) -> None:
    s.add(Instance(uuid=uuid, project_id="p", user_id="u", **{"host": "h", "vm_state": states.ACTIVE, **values}))


def mapping(s: Session, uuid: str, instance: str, **values: Any) -> None:
    s.add(BlockDeviceMapping(uuid=uuid, instance_uuid=instance, destination_type="volume", volume_id=f"v-{uuid}",
                             **{"created_at": OLD, **values}))


def test_unconnected_mappings_of_servers_at_rest_only(s: Session) -> None:
    server(s, "rest")
    server(s, "busy", task_state="rebooting")
    server(s, "offloaded", host=None, vm_state=states.SHELVED_OFFLOADED)
    server(s, "failed", vm_state=states.ERROR)
    mapping(s, "never-connected", "rest")
    mapping(s, "connected", "rest", connection_info={"driver_volume_type": "file"})
    mapping(s, "cleared", "rest", connection_info={"driver_volume_type": "file"})
    mapping(s, "fresh", "rest", created_at=utcnow())  # an attach under way
    mapping(s, "root", "rest", boot_index=0)
    for other in ("busy", "offloaded", "failed"):
        mapping(s, f"of-{other}", other)
    s.flush()
    # A detach clears the info: None in a JSON column is stored as JSON null, not SQL NULL.
    s.query(BlockDeviceMapping).filter_by(uuid="cleared").one().connection_info = None
    s.flush()
    assert sorted(r["uuid"] for r in unfinished(s, timedelta(seconds=10))) == ["cleared", "never-connected"]


def test_attached_mappings_of_servers_without_a_task(s: Session) -> None:
    server(s, "rest")
    server(s, "offloaded", host=None, vm_state=states.SHELVED_OFFLOADED)
    server(s, "busy", task_state="rebooting")
    server(s, "gone", deleted=True)
    mapping(s, "on-rest", "rest", attachment_id="a1")
    mapping(s, "unattached", "rest")
    mapping(s, "on-offloaded", "offloaded", attachment_id="a2")
    mapping(s, "on-busy", "busy", attachment_id="a3")
    mapping(s, "on-gone", "gone", attachment_id="a4")
    s.flush()
    assert sorted((r["uuid"], r["host"]) for r in attached(s)) == [("on-offloaded", None), ("on-rest", "h")]


def test_adopt_only_replaces_the_stale_id(s: Session) -> None:
    server(s, "rest")
    mapping(s, "m", "rest", attachment_id="stale", connection_info={"old": True})
    s.flush()
    assert not block_devices.adopt(s, "m", "other", "new", {"new": True})  # changed meanwhile: left as it is
    assert s.query(BlockDeviceMapping).filter_by(uuid="m").one().attachment_id == "stale"
    assert block_devices.adopt(s, "m", "stale", "new", {"new": True})
    s.flush()
    row = s.query(BlockDeviceMapping).filter_by(uuid="m").one()
    assert (row.attachment_id, row.connection_info) == ("new", {"new": True})
