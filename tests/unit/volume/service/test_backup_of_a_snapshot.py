"""A backup taken of a snapshot puts the snapshot (not the volume) in backing-up; its completion,
good or bad, gives the snapshot back."""

from __future__ import annotations

from sqlalchemy.orm import Session

from onestack.core.db import Database
from onestack.volume import models
from onestack.volume.rpcapi import ModelUpdate
from onestack.volume.service import completions
from onestack.volume.service.common import now
from tests.unit.volume.dbhelpers import db, volume

__all__ = ["db"]


def _setup(s: Session) -> str:
    v = volume(s, status="available")
    for sid in ("s1", "s2"):
        s.add(models.Snapshot(id=sid, volume_id=v.id, project_id="p1", user_id="u1", status="backing-up",
                              volume_size=1, created_at=now()))
    for bid, sid in (("b1", "s1"), ("b2", "s2")):
        s.add(models.Backup(id=bid, volume_id=v.id, snapshot_id=sid, project_id="p1", user_id="u1",
                            status="creating", size=1, created_at=now()))
    return v.id


def test_the_snapshot_comes_back_either_way(db: Database) -> None:
    vid = db.run_sync(_setup)
    assert db.run_sync(completions.backup_created, "b1", ModelUpdate(), None)
    assert db.run_sync(completions.backup_created, "b2", ModelUpdate(), "store full")
    statuses = db.run_sync(lambda s: [(s.get(models.Backup, b).status, s.get(models.Snapshot, sn).status)
                                      for b, sn in (("b1", "s1"), ("b2", "s2"))])
    assert statuses == [("available", "available"), ("error", "available")]
    assert db.run_sync(lambda s: s.get(models.Volume, vid).status) == "available"
