"""The end of an agent's work, as ``VolumeServerAPI`` reports it: the row transitions of the
contracts (``creating → available | error``, ``deleting → gone | error_deleting``...) and, on a
failure the user should hear of, a user message (service/messages.py).

Each function runs in one write transaction and is idempotent: a report about a row that is
gone, or no longer in the state the work started from, changes nothing (the agent's
reconcile pass may report twice; an admin may have reset the status meanwhile).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.rpcapi import ModelUpdate, VolumeSpec
from onestack.volume.service import group_snapshots, heartbeats, migrate_attached, migration
from onestack.volume.service.common import now
from onestack.volume.service.messages import (
    VOLUME,
    VOLUME_BACKUP,
    VOLUME_SNAPSHOT,
    Action,
    Detail,
    record,
)

log = logging.getLogger("onestack.volume.server_rpc")

AVAILABLE, IN_USE, ERROR = "available", "in-use", "error"


def _settled(v: models.Volume) -> str:
    """Where a volume returns after work that kept it usable: in-use when attached."""
    if v.previous_status in (AVAILABLE, IN_USE):
        return v.previous_status
    return IN_USE if v.attach_status == "attached" else AVAILABLE


def _short(error: str) -> str:
    return error[:255]


# --- volumes -------------------------------------------------------------------------------------

def created_or_migrated(s: Session, volume_id: str, update: ModelUpdate, error: str | None) -> VolumeSpec | None:
    """A volume made (``volume_created``), or a migration's copy made: then the old disk to delete."""
    v = s.get(models.Volume, volume_id)
    if v is not None and migration.is_migrating(v):
        return migration.finish(s, v, update, error)
    volume_created(s, volume_id, update, error)
    return None


@dataclass
class Created:
    """What the API side does after a ``volume_created`` report's commit: delete a migrated
    volume's old disk (``old``), ask compute to swap servers onto a migration target (``swap``)."""

    old: VolumeSpec | None = None
    swap: migrate_attached.Swap | None = None


def volume_created_report(s: Session, volume_id: str, update: ModelUpdate, error: str | None) -> Created:
    """``created_or_migrated`` and, in the same transaction, ``migrate_attached.swap_request``
    (it reads the row this one just wrote; a read transaction of its own cost every create a
    thread hop and a query). The swap is asked for only by the report that ends the target's
    ``creating``: a create run again by the agent's pass reports twice, and two swaps gave the
    server two attachments of the volume. The row is locked so two such reports take turns."""
    v = s.get(models.Volume, volume_id, with_for_update=True)
    if v is not None and migration.is_migrating(v):
        return Created(migration.finish(s, v, update, error))
    made = volume_created(s, volume_id, update, error)
    return Created(None, migrate_attached.swap_request(s, volume_id) if made else None)


def volume_created(s: Session, volume_id: str, update: ModelUpdate, error: str | None) -> bool:
    """``creating`` → ``available`` (with the agent's update) or ``error`` with a user message."""
    v = s.get(models.Volume, volume_id)
    if v is None or v.status != "creating":
        return False
    stamp = now()
    v.updated_at = stamp
    if error:
        v.status = ERROR
        action = Action.COPY_IMAGE_TO_VOLUME if v.image_id else Action.CREATE_VOLUME_FROM_BACKEND
        detail = Detail.UNKNOWN_ERROR if v.image_id else Detail.DRIVER_FAILED_CREATE
        record(s, v.project_id, VOLUME, v.id, action, detail)
        log.warning("volume %s failed to create: %s", v.id, error)
        return True
    v.status = AVAILABLE
    v.launched_at = stamp
    if "provider_location" in update:
        v.provider_location = update["provider_location"]
    if "size" in update:
        v.size = int(update["size"])
    image_metadata = dict(update.get("image_metadata") or {})
    source = _source_volume(s, v)
    if source is not None:
        # A clone or a volume from a snapshot is what its source was: bootable, image properties.
        v.bootable = v.bootable or source.bootable
        if not image_metadata:
            image_metadata = {r.key: r.value for r in s.scalars(
                select(models.VolumeImageMetadata).where(models.VolumeImageMetadata.volume_id == source.id))}
    if "bootable" in update:
        v.bootable = bool(update["bootable"])
    if image_metadata:
        s.execute(delete(models.VolumeImageMetadata).where(models.VolumeImageMetadata.volume_id == v.id))
        s.add_all(models.VolumeImageMetadata(volume_id=v.id, key=k, value=str(val))
                  for k, val in sorted(image_metadata.items()))
    return True


def _source_volume(s: Session, v: models.Volume) -> models.Volume | None:
    if v.source_volid:
        return s.get(models.Volume, v.source_volid)
    if v.snapshot_id:
        snap = s.get(models.Snapshot, v.snapshot_id)
        return s.get(models.Volume, snap.volume_id) if snap is not None else None
    return None


_V = models.Volume
# A delete's report runs these on every volume deleted: built once, plain statements (no ORM
# load and unit of work for a row that is about to go).
_DELETING = select(_V.status, _V.host, _V.size).where(_V.id == bindparam("volume_id"))
_DELETE_FAILED = update(_V).where(_V.id == bindparam("volume_id")).values(
    status="error_deleting", updated_at=bindparam("stamp")).execution_options(synchronize_session=False)
_DELETE_ROWS = tuple(
    delete(model).where(model.volume_id == bindparam("volume_id"))
    .execution_options(synchronize_session=False)
    for model in (models.VolumeMetadata, models.VolumeAdminMetadata, models.VolumeImageMetadata, models.Attachment))
_DELETE_VOLUME = delete(_V).where(_V.id == bindparam("volume_id")).execution_options(synchronize_session=False)


def volume_deleted(s: Session, volume_id: str, error: str | None) -> bool:
    """``deleting`` → the row (and its metadata, attachments) gone, or ``error_deleting``."""
    key = {"volume_id": volume_id}
    row = s.execute(_DELETING, key).one_or_none()
    if row is None or row.status != "deleting":
        return False
    if error:
        s.execute(_DELETE_FAILED, {**key, "stamp": now()})
        log.warning("volume %s failed to delete: %s", volume_id, error)
        return True
    for statement in _DELETE_ROWS:
        s.execute(statement, key)
    heartbeats.release(s, row.host, row.size)
    s.execute(_DELETE_VOLUME, key)
    return True


@dataclass
class Extended:
    """What the API side tells compute after the commit: the servers the volume is attached to."""

    servers: list[str] = field(default_factory=list)


def volume_extended(s: Session, volume_id: str, new_size: int, error: str | None) -> Extended | None:
    """``extending`` → the new size and back to available / in-use, or ``error_extending``."""
    v = s.get(models.Volume, volume_id)
    if v is None or v.status != "extending":
        return None
    v.updated_at = now()
    if error:
        v.status = "error_extending"
        record(s, v.project_id, VOLUME, v.id, Action.EXTEND_VOLUME, Detail.DRIVER_FAILED_EXTEND)
        log.warning("volume %s failed to extend: %s", v.id, error)
        return Extended()
    grown = int(new_size) - v.size
    v.size = int(new_size)
    v.status = _settled(v)
    if v.host and grown > 0:
        heartbeats.consume(s, v.host, grown)
    servers = sorted({a.instance_uuid for a in s.scalars(
        select(models.Attachment).where(models.Attachment.volume_id == v.id,
                                        models.Attachment.attach_status == "attached")) if a.instance_uuid})
    return Extended(servers if v.status == IN_USE else [])


def volume_reverted(s: Session, volume_id: str, snapshot_id: str, error: str | None) -> bool:
    """``reverting`` volume and ``restoring`` snapshot → both available; a failure leaves the
    volume in ``error`` (its data is in doubt) and the snapshot available."""
    v = s.get(models.Volume, volume_id)
    snap = s.get(models.Snapshot, snapshot_id)
    stamp = now()
    if snap is not None and snap.status != "available":
        snap.status, snap.updated_at = "available", stamp
    if v is None or v.status != "reverting":
        return False
    v.updated_at = stamp
    if error:
        v.status = ERROR
        log.warning("volume %s failed to revert to snapshot %s: %s", v.id, snapshot_id, error)
        return True
    v.status = AVAILABLE
    if snap is not None and snap.volume_size > v.size:
        v.size = snap.volume_size
    return True


def image_uploaded(s: Session, volume_id: str, image_id: str, error: str | None) -> bool:
    """``uploading`` → its previous status; a failure is also a user message. True when the
    upload failed (the caller deletes the image)."""
    v = s.get(models.Volume, volume_id)
    if v is None:
        return bool(error)
    if v.status == "uploading":
        v.status, v.updated_at = _settled(v), now()
    if error:
        record(s, v.project_id, VOLUME, v.id, Action.COPY_VOLUME_TO_IMAGE, Detail.FAILED_TO_UPLOAD_VOLUME)
        log.warning("volume %s failed to upload to image %s: %s", v.id, image_id, error)
        return True
    return False


def volume_managed(s: Session, volume_id: str, update: ModelUpdate, error: str | None) -> bool:
    """``managing`` → ``available`` with the adopted disk's size, or ``error_managing``."""
    v = s.get(models.Volume, volume_id)
    if v is None or v.status != "managing":
        return False
    v.updated_at = now()
    if error:
        v.status = "error_managing"
        log.warning("volume %s failed to manage: %s", v.id, error)
        return True
    v.status, v.launched_at = AVAILABLE, v.updated_at
    if "size" in update:
        v.size = int(update["size"])
    if "provider_location" in update:
        v.provider_location = update["provider_location"]
    return True


# --- snapshots -----------------------------------------------------------------------------------

def snapshot_created(s: Session, snapshot_id: str, update: ModelUpdate, error: str | None) -> bool:
    snap = s.get(models.Snapshot, snapshot_id)
    if snap is None or snap.status != "creating":
        return False
    snap.updated_at = now()
    if error:
        snap.status = ERROR
        record(s, snap.project_id, VOLUME_SNAPSHOT, snap.id, Action.SNAPSHOT_CREATE, Detail.SNAPSHOT_CREATE_ERROR)
        log.warning("snapshot %s failed to create: %s", snap.id, error)
    else:
        snap.status, snap.progress = AVAILABLE, "100%"
        if "provider_location" in update:
            snap.provider_location = update["provider_location"]
    if snap.group_snapshot_id:
        s.flush()
        group_snapshots.settle(s, snap.group_snapshot_id)
    return True


def snapshot_managed(s: Session, snapshot_id: str, update: ModelUpdate, error: str | None) -> bool:
    """``managing`` → ``available`` and 100% with the adopted snapshot's size, or ``error_managing``."""
    snap = s.get(models.Snapshot, snapshot_id)
    if snap is None or snap.status != "managing":
        return False
    snap.updated_at = now()
    if error:
        snap.status = "error_managing"
        log.warning("snapshot %s failed to manage: %s", snap.id, error)
        return True
    snap.status, snap.progress = AVAILABLE, "100%"
    if "size" in update:
        snap.volume_size = int(update["size"])
    if "provider_location" in update:
        snap.provider_location = update["provider_location"]
    return True


def snapshot_deleted(s: Session, snapshot_id: str, error: str | None) -> bool:
    snap = s.get(models.Snapshot, snapshot_id)
    if snap is None or snap.status != "deleting":
        return False
    if error:
        snap.status, snap.updated_at = "error_deleting", now()
        record(s, snap.project_id, VOLUME_SNAPSHOT, snap.id, Action.SNAPSHOT_DELETE, Detail.SNAPSHOT_DELETE_ERROR)
        log.warning("snapshot %s failed to delete: %s", snap.id, error)
        return True
    s.execute(delete(models.SnapshotMetadata).where(models.SnapshotMetadata.snapshot_id == snap.id))
    s.delete(snap)
    return True


# --- backups -------------------------------------------------------------------------------------

def _volume_back(s: Session, volume_id: str | None, from_status: str) -> None:
    v = s.get(models.Volume, volume_id) if volume_id else None
    if v is not None and v.status == from_status:
        v.status, v.updated_at = _settled(v), now()


def backup_created(s: Session, backup_id: str, update: ModelUpdate, error: str | None) -> bool:
    """``creating`` → ``available`` (or ``error`` with fail_reason); the volume (or the snapshot
    the backup was taken of) leaves ``backing-up``."""
    b = s.get(models.Backup, backup_id)
    if b is None or b.status != "creating":
        return False
    stamp = now()
    b.updated_at = stamp
    _volume_back(s, b.volume_id, "backing-up")
    snap = s.get(models.Snapshot, b.snapshot_id) if b.snapshot_id else None
    if snap is not None and snap.status == "backing-up":
        snap.status, snap.updated_at = AVAILABLE, stamp
    if error:
        b.status, b.fail_reason = ERROR, _short(error)
        record(s, b.project_id, VOLUME_BACKUP, b.id, Action.BACKUP_CREATE, Detail.BACKUP_CREATE_DRIVER_ERROR)
        log.warning("backup %s failed: %s", b.id, error)
        return True
    b.status = AVAILABLE
    if "object_count" in update:
        b.object_count = int(update["object_count"])
    if "container" in update:
        b.container = update["container"]
    if b.data_timestamp is None:
        b.data_timestamp = b.created_at
    return True


def backup_restored(s: Session, backup_id: str, volume_id: str, error: str | None) -> bool:
    """``restoring`` backup → available; the ``restoring-backup`` volume → available, or
    ``error_restoring`` with a user message."""
    b = s.get(models.Backup, backup_id)
    stamp = now()
    changed = False
    if b is not None and b.status == "restoring":
        b.status, b.restore_volume_id, b.updated_at = AVAILABLE, None, stamp
        changed = True
    v = s.get(models.Volume, volume_id)
    if v is None or v.status != "restoring-backup":
        return changed
    v.updated_at = stamp
    if error:
        v.status = "error_restoring"
        record(s, v.project_id, VOLUME_BACKUP, backup_id, Action.BACKUP_RESTORE, Detail.BACKUP_RESTORE_ERROR)
        log.warning("backup %s failed to restore into volume %s: %s", backup_id, volume_id, error)
        return True
    v.status = AVAILABLE
    return True


def backup_deleted(s: Session, backup_id: str, error: str | None) -> bool:
    """``deleting`` → the row gone; a failure puts it in ``error`` with fail_reason (Cinder's
    backup manager does so) and a user message."""
    b = s.get(models.Backup, backup_id)
    if b is None or b.status != "deleting":
        return False
    if error:
        b.status, b.fail_reason, b.updated_at = ERROR, _short(error), now()
        record(s, b.project_id, VOLUME_BACKUP, b.id, Action.BACKUP_DELETE, Detail.BACKUP_DELETE_DRIVER_ERROR)
        log.warning("backup %s failed to delete: %s", b.id, error)
        return True
    s.execute(delete(models.BackupMetadata).where(models.BackupMetadata.backup_id == b.id))
    s.delete(b)
    return True
