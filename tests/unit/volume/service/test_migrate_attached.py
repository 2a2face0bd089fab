"""The repair of an attached volume's migration after a crash (``migrate_attached.stalled``):
which migrations it takes for dead, and the direction it takes each, on a real (in-memory)
database. The kill test in tests/functional/test_volume_migrate.py drives it end to end; the
states here are the ones a kill rarely lands in (the swap's and the completion's windows)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from onestack.core.db import Database
from onestack.volume import models
from onestack.volume.rpcapi import ModelUpdate
from onestack.volume.service import migrate_attached
from onestack.volume.service.common import new_id, now
from tests.unit.volume.dbhelpers import TYPE_ID, db, volume

__all__ = ["db"]
OTHER_TYPE = "00000000-0000-4000-8000-00000000bbbb"
OLD = 60.0


def attach(s: Session, v: models.Volume, status: str, age: float = OLD) -> models.Attachment:
    at = now() - timedelta(seconds=age)
    a = models.Attachment(id=new_id(), volume_id=v.id, instance_uuid="server-1", attach_status=status,
                          created_at=at, updated_at=at)
    s.add(a)
    s.flush()
    return a


def migrating(s: Session, target_status: str = "available", age: float = OLD,
              type_id: str = TYPE_ID) -> tuple[models.Volume, models.Volume]:
    at = now() - timedelta(seconds=age)
    vol = volume(s, status="in-use", attach_status="attached", host="h1@a#a", migration_status="migrating",
                 updated_at=at, age=age)
    temp = volume(s, status=target_status, host="h1@b#b", migration_status=f"target:{vol.id}", use_quota=False,
                  volume_type_id=type_id, updated_at=at, age=age)
    return vol, temp


def stalled(db: Database) -> list[migrate_attached.Repair]:
    return db.run_sync(migrate_attached.stalled, 30.0)


def test_a_copied_target_never_swapped_rolls_back(db: Database) -> None:
    vol, temp = db.run_sync(lambda s: migrating(s))
    db.run_sync(lambda s: attach(s, s.get(models.Volume, vol.id), "attached"))
    repair, = stalled(db)
    assert repair.rename is None and repair.delete is not None and repair.delete["id"] == temp.id
    v, t = db.run_sync(lambda s: (s.get(models.Volume, vol.id), s.get(models.Volume, temp.id)))
    assert (v.migration_status, v.status, v.host) == ("error", "in-use", "h1@a#a")
    assert (t.status, t.migration_status) == ("deleting", None)
    assert stalled(db) == []  # repaired once: the next pass finds nothing


def test_a_swap_under_way_is_not_touched(db: Database) -> None:
    vol, temp = db.run_sync(lambda s: migrating(s))
    db.run_sync(lambda s: attach(s, s.get(models.Volume, temp.id), "attaching", age=1.0))  # compute just moved
    assert stalled(db) == []
    db.run_sync(lambda s: migrating(s, target_status="creating"))  # the copy is the target agent's to drive
    assert stalled(db) == []
    assert db.run_sync(lambda s: s.get(models.Volume, vol.id).migration_status) == "migrating"


def test_a_half_made_swap_rolls_back_while_the_volume_keeps_its_attachment(db: Database) -> None:
    vol, temp = db.run_sync(lambda s: migrating(s))
    db.run_sync(lambda s: (attach(s, s.get(models.Volume, vol.id), "attached"),
                           attach(s, s.get(models.Volume, temp.id), "attached")))
    repair, = stalled(db)
    assert repair.rename is None and repair.delete is not None


def test_servers_on_the_target_only_roll_forward(db: Database) -> None:
    vol, temp = db.run_sync(lambda s: migrating(s, type_id=OTHER_TYPE))
    db.run_sync(lambda s: s.add(models.VolumeType(id=OTHER_TYPE, name="other", created_at=now())))
    on_target = db.run_sync(lambda s: attach(s, s.get(models.Volume, temp.id), "attached"))
    repair, = stalled(db)
    assert repair.delete is None and repair.rename is not None
    moved, target = repair.rename
    assert (moved["id"], moved["host"], target["id"]) == (vol.id, "h1@b#b", temp.id)
    old = db.run_sync(migrate_attached.finish, vol.id, temp.id, ModelUpdate(provider_location="/b/volume-x"))
    assert old is not None and old["host"] == "h1@a#a"
    v = db.run_sync(lambda s: s.get(models.Volume, vol.id))
    # A retype's target carries the new type: the volume takes it.
    assert (v.migration_status, v.status, v.host, v.volume_type_id) == ("success", "in-use", "h1@b#b", OTHER_TYPE)
    assert db.run_sync(lambda s: s.get(models.Volume, temp.id)) is None
    assert db.run_sync(lambda s: s.get(models.Attachment, on_target.id).volume_id) == vol.id


def test_a_begun_completion_rolls_forward(db: Database) -> None:
    vol, temp = db.run_sync(lambda s: migrating(s))
    db.run_sync(lambda s: setattr(s.get(models.Volume, vol.id), "migration_status", "completing"))
    db.run_sync(lambda s: setattr(s.get(models.Volume, vol.id), "updated_at", now() - timedelta(seconds=OLD)))
    repair, = stalled(db)
    assert repair.rename is not None
    # The rename failed (the disk was not there): the repair rolls back instead, the target goes.
    gone = db.run_sync(migrate_attached.failed, vol.id, temp.id)
    assert gone is not None and gone["id"] == temp.id
    assert db.run_sync(lambda s: s.get(models.Volume, vol.id).migration_status) == "error"


def test_an_admins_reset_is_left_alone(db: Database) -> None:
    vol, _ = db.run_sync(lambda s: migrating(s))
    db.run_sync(lambda s: setattr(s.get(models.Volume, vol.id), "migration_status", None))
    assert stalled(db) == []


def test_only_the_report_that_ends_the_targets_create_asks_for_the_swap(db: Database) -> None:
    from onestack.volume.service import completions

    vol, temp = db.run_sync(lambda s: migrating(s, target_status="creating", age=1.0))
    db.run_sync(lambda s: attach(s, s.get(models.Volume, vol.id), "attached"))
    first = db.run_sync(completions.volume_created_report, temp.id, ModelUpdate(), None)
    assert first.swap is not None and (first.swap.old_id, first.swap.new_id, first.swap.servers) == (
        vol.id, temp.id, ["server-1"])
    # The agent's pass ran the create again and reported it again: no second swap (two swaps
    # gave the server two attachments of the volume).
    again = db.run_sync(completions.volume_created_report, temp.id, ModelUpdate(), None)
    assert again.swap is None and again.old is None
