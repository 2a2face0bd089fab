"""Agents' reports of finished work → the row transitions, user messages on failures, and
nothing at all for a report about a row that moved on."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.bus import Bus, MemoryTransport
from onestack.core.db import Database
from onestack.core.rpc import endpoints
from onestack.volume import models
from onestack.volume.rpcapi import ModelUpdate, VolumeServerAPI
from onestack.volume.server_rpc import VolumeServer, notify_extended
from onestack.volume.service import completions
from onestack.volume.service.common import now
from tests.unit.volume.dbhelpers import db, volume

__all__ = ["db"]


def messages(db: Database) -> list[tuple[str | None, str | None, str | None, str | None]]:
    return db.run_sync(lambda s: [(m.resource_type, m.resource_uuid, m.action_id, m.detail_id) for m in s.scalars(
        select(models.Message).order_by(models.Message.created_at, models.Message.id))])


def status(db: Database, model: Any, key: str) -> str | None:
    return db.run_sync(lambda s: getattr(s.get(model, key), "status", None))


def test_created_available_with_the_update_and_source_properties(db: Database) -> None:
    def setup(s: Session) -> tuple[str, str]:
        src = volume(s, status="available", bootable=True, host="h@a#a")
        s.add(models.VolumeImageMetadata(volume_id=src.id, key="image_name", value="cirros"))
        return src.id, volume(s, source_volid=src.id, host="h@a#a").id

    _src, clone = db.run_sync(setup)
    assert db.run_sync(completions.volume_created, clone, ModelUpdate(provider_location="/x/v"), None)
    row = db.run_sync(lambda s: s.get(models.Volume, clone))
    assert (row.status, row.provider_location, row.bootable, row.launched_at is not None) == (
        "available", "/x/v", True, True)
    meta = db.run_sync(lambda s: {m.key: m.value for m in s.scalars(
        select(models.VolumeImageMetadata).where(models.VolumeImageMetadata.volume_id == clone))})
    assert meta == {"image_name": "cirros"}
    assert not db.run_sync(completions.volume_created, clone, ModelUpdate(), "late duplicate")
    assert status(db, models.Volume, clone) == "available"


def test_created_error_records_a_message(db: Database) -> None:
    plain, from_image = db.run_sync(lambda s: (volume(s).id, volume(s, image_id="img").id))
    db.run_sync(completions.volume_created, plain, ModelUpdate(), "disk full")
    db.run_sync(completions.volume_created, from_image, ModelUpdate(), "download failed")
    assert status(db, models.Volume, plain) == status(db, models.Volume, from_image) == "error"
    assert sorted(messages(db)) == sorted([("VOLUME", plain, "008", "012"), ("VOLUME", from_image, "005", "001")])


def test_deleted_removes_the_row_and_its_children_or_error_deleting(db: Database) -> None:
    def setup(s: Session) -> tuple[str, str]:
        gone = volume(s, status="deleting", host="h@a#a")
        s.add(models.VolumeMetadata(volume_id=gone.id, key="k", value="v"))
        return gone.id, volume(s, status="deleting").id

    gone, stuck = db.run_sync(setup)
    db.run_sync(completions.volume_deleted, gone, None)
    db.run_sync(completions.volume_deleted, stuck, "busy")
    assert status(db, models.Volume, gone) is None
    assert db.run_sync(lambda s: list(s.scalars(select(models.VolumeMetadata)))) == []
    assert status(db, models.Volume, stuck) == "error_deleting"


def test_extended_attached_names_the_servers(db: Database) -> None:
    def setup(s: Session) -> tuple[str, str]:
        attached = volume(s, status="extending", previous_status="in-use", attach_status="attached", size=1)
        s.add(models.Attachment(id="a1", volume_id=attached.id, instance_uuid="srv-1", attach_status="attached",
                                created_at=now()))
        return attached.id, volume(s, status="extending", size=1).id

    attached, broken = db.run_sync(setup)
    done = db.run_sync(completions.volume_extended, attached, 3, None)
    assert done is not None and done.servers == ["srv-1"]
    row = db.run_sync(lambda s: s.get(models.Volume, attached))
    assert (row.size, row.status) == (3, "in-use")
    db.run_sync(completions.volume_extended, broken, 3, "no space")
    assert status(db, models.Volume, broken) == "error_extending"
    assert messages(db) == [("VOLUME", broken, "007", "010")]


def test_snapshots_and_backups(db: Database) -> None:
    def setup(s: Session) -> str:
        v = volume(s, status="backing-up", previous_status="available")
        for sid, st in (("s-ok", "creating"), ("s-bad", "creating"), ("s-del", "deleting")):
            s.add(models.Snapshot(id=sid, volume_id=v.id, project_id="p1", user_id="u1", status=st, volume_size=1,
                                  created_at=now()))
        s.add(models.Backup(id="b1", volume_id=v.id, project_id="p1", user_id="u1", status="creating", size=1,
                            created_at=now()))
        return v.id

    vid = db.run_sync(setup)
    db.run_sync(completions.snapshot_created, "s-ok", ModelUpdate(provider_location="/s"), None)
    db.run_sync(completions.snapshot_created, "s-bad", ModelUpdate(), "boom")
    db.run_sync(completions.snapshot_deleted, "s-del", None)
    db.run_sync(completions.backup_created, "b1", ModelUpdate(object_count=4, container="c"), None)
    snap = db.run_sync(lambda s: s.get(models.Snapshot, "s-ok"))
    assert (snap.status, snap.progress, snap.provider_location) == ("available", "100%", "/s")
    assert status(db, models.Snapshot, "s-bad") == "error"
    assert status(db, models.Snapshot, "s-del") is None
    backup = db.run_sync(lambda s: s.get(models.Backup, "b1"))
    assert (backup.status, backup.object_count, backup.container) == ("available", 4, "c")
    assert status(db, models.Volume, vid) == "available"
    assert messages(db) == [("VOLUME_SNAPSHOT", "s-bad", "009", "013")]


def test_restore_failure_and_backup_delete_failure(db: Database) -> None:
    def setup(s: Session) -> str:
        v = volume(s, status="restoring-backup")
        s.add(models.Backup(id="b1", volume_id=v.id, project_id="p1", user_id="u1", status="restoring", size=1,
                            created_at=now()))
        s.add(models.Backup(id="b2", volume_id=v.id, project_id="p1", user_id="u1", status="deleting", size=1,
                            created_at=now()))
        return v.id

    vid = db.run_sync(setup)
    db.run_sync(completions.backup_restored, "b1", vid, "corrupt")
    db.run_sync(completions.backup_deleted, "b2", "store away")
    assert (status(db, models.Volume, vid), status(db, models.Backup, "b1"), status(db, models.Backup, "b2")) == (
        "error_restoring", "available", "error")
    assert db.run_sync(lambda s: s.get(models.Backup, "b2").fail_reason) == "store away"


def test_image_upload_returns_to_the_previous_status(db: Database) -> None:
    vid = db.run_sync(lambda s: volume(s, status="uploading", previous_status="in-use", attach_status="attached").id)
    assert db.run_sync(completions.image_uploaded, vid, "img", "glance away") is True
    assert status(db, models.Volume, vid) == "in-use"
    assert messages(db) == [("VOLUME", vid, "003", "004")]


def test_the_server_serves_every_declared_method(db: Database) -> None:
    server = VolumeServer(db, Bus(MemoryTransport()))
    assert set(endpoints(VolumeServerAPI, server)) == set(VolumeServerAPI.methods())


class Compute:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str, Any]] = []

    async def request(self, method: str, path: str, *, service: str, **kwargs: Any) -> Any:
        self.requests.append((method, path, service, kwargs))

        class Resp:
            status_code, text = 200, ""
        return Resp()


def test_volume_extended_event_body() -> None:
    compute = Compute()
    asyncio.run(notify_extended(compute, "vol-1", ["srv-1", "srv-2"]))
    [(method, path, service, kwargs)] = compute.requests
    assert (method, path, service) == ("POST", "/os-server-external-events", "compute")
    assert kwargs["json"] == {"events": [{"name": "volume-extended", "server_uuid": "srv-1", "tag": "vol-1"},
                                         {"name": "volume-extended", "server_uuid": "srv-2", "tag": "vol-1"}]}
    assert kwargs["headers"]["OpenStack-API-Version"] == "compute 2.51"
