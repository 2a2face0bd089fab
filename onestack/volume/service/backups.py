"""Backups: create (full or incremental, of a volume or one of its snapshots), list, show,
update, delete, restore, export/import of the record, and the admin actions.

A backup is made and restored by the volume agent that holds the volume's disk, into and out of
the backup store (the agent's); the row remembers that agent (``host``) and where the store put
the data (``container``), which is all a restore or an imported record needs.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.errors import (
    BackupNotFound,
    InvalidBackup,
    InvalidInput,
    InvalidSnapshot,
    InvalidVolume,
    SnapshotNotFound,
    VolumeNotFound,
)
from onestack.volume.rpcapi import BackupSpec, VolumeSpec
from onestack.volume.service import quotas
from onestack.volume.service.common import (
    Caller,
    ListQuery,
    created,
    get_visible,
    list_rows,
    new_id,
    now,
    visible,
)
from onestack.volume.service.specs import agent_host, backup_spec, volume_spec

B = models.Backup
COLUMNS = {"name": B.name, "status": B.status, "volume_id": B.volume_id, "project_id": B.project_id,
           "created_at": B.created_at, "updated_at": B.updated_at, "size": B.size, "description": B.description,
           "availability_zone": B.availability_zone, "container": B.container, "parent_id": B.parent_id,
           "snapshot_id": B.snapshot_id, "data_timestamp": B.data_timestamp}
# What export_record names as the store (Tempest checks the ``cinder.backup.drivers`` prefix).
SERVICE = "cinder.backup.drivers.posix.PosixBackupDriver"
RESET_STATUSES = ("available", "error")
INT_MAX = 2147483647
_EXPORTED = ("id", "volume_id", "snapshot_id", "user_id", "project_id", "name", "description", "status", "size",
             "object_count", "container", "availability_zone", "fail_reason", "is_incremental", "parent_id",
             "host", "service", "encryption_key_id")


@dataclass
class BackupBundle:
    row: models.Backup
    metadata: dict[str, str] = field(default_factory=dict)
    has_dependents: bool = False


@dataclass(frozen=True)
class BackupCast:
    host: str
    backup: BackupSpec
    volume: VolumeSpec | None = None


def _bundles(s: Session, rows: list[models.Backup]) -> list[BackupBundle]:
    ids = [r.id for r in rows]
    meta: dict[str, dict[str, str]] = {i: {} for i in ids}
    parents: set[str] = set()
    if ids:
        m = models.BackupMetadata
        for mrow in s.scalars(select(m).where(m.backup_id.in_(ids)).order_by(m.backup_id, m.key)):
            meta[mrow.backup_id][mrow.key] = mrow.value
        parents = set(s.scalars(select(B.parent_id).where(B.parent_id.in_(ids))))
    return [BackupBundle(r, meta[r.id], r.id in parents) for r in rows]


def _row(s: Session, backup_id: str, caller: Caller) -> models.Backup:
    return get_visible(s, B, backup_id, caller, BackupNotFound)


def load(s: Session, backup_id: str, caller: Caller) -> BackupBundle:
    return _bundles(s, [_row(s, backup_id, caller)])[0]


def list_backups(s: Session, caller: Caller, lq: ListQuery) -> tuple[list[BackupBundle], int | None]:
    listing = list_rows(s, visible(select(B), B, caller, lq), B, lq, COLUMNS)
    return _bundles(s, listing.rows), listing.count


@dataclass(frozen=True)
class NewBackup:
    volume_id: str
    name: str | None = None
    description: str | None = None
    container: str | None = None
    incremental: bool = False
    force: bool = False
    snapshot_id: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    availability_zone: str | None = None


def _latest(s: Session, volume_id: str, project_id: str, before: datetime | None) -> models.Backup | None:
    stmt = select(B).where(B.volume_id == volume_id, B.project_id == project_id)
    if before is not None:
        stmt = stmt.where(B.data_timestamp < before)
    return s.scalar(stmt.order_by(B.data_timestamp.desc(), B.created_at.desc(), B.id.desc()).limit(1))


def create(s: Session, caller: Caller, new: NewBackup) -> tuple[BackupBundle, BackupCast | None]:
    volume = get_visible(s, models.Volume, new.volume_id, caller, VolumeNotFound)
    snapshot = None
    if new.snapshot_id:
        snapshot = get_visible(s, models.Snapshot, new.snapshot_id, caller, SnapshotNotFound)
        if snapshot.volume_id != volume.id:
            raise InvalidVolume(f"Volume {volume.id} does not match with snapshot.volume_id {snapshot.volume_id}.")
        if snapshot.status != "available":
            raise InvalidSnapshot(f'Snapshot to be backed up must be available, but the current status is '
                                  f'"{snapshot.status}".')
    elif volume.status not in ("available", "in-use"):
        raise InvalidVolume(f'Volume to be backed up must be available or in-use, but the current status is '
                            f'"{volume.status}".')
    elif volume.status == "in-use" and not new.force:
        raise InvalidVolume("Backing up an in-use volume must use the force flag.")
    quotas.check(s, caller.project_id, {"backups": 1, "backup_gigabytes": volume.size})
    parent = None
    if new.incremental:
        parent = _latest(s, volume.id, caller.project_id, snapshot.created_at if snapshot else None)
        if parent is None:
            raise InvalidBackup("No backups available to do an incremental backup.")
        if parent.status != "available":
            raise InvalidBackup("The parent backup must be available for incremental backup.")
    stamp = now()
    host = agent_host(volume.host)
    backup = B(id=new_id(), volume_id=volume.id, snapshot_id=snapshot.id if snapshot else None,
               project_id=caller.project_id, user_id=caller.user_id, name=new.name, description=new.description,
               status="creating", size=volume.size, object_count=0, container=new.container,
               availability_zone=new.availability_zone or volume.availability_zone,
               is_incremental=parent is not None, parent_id=parent.id if parent else None,
               data_timestamp=snapshot.created_at if snapshot else stamp, host=host, service=SERVICE,
               created_at=created())
    s.add(backup)
    for key, value in new.metadata.items():
        s.add(models.BackupMetadata(backup_id=backup.id, key=key, value=value))
    if snapshot is not None:
        snapshot.status = "backing-up"
        snapshot.updated_at = stamp
    else:
        volume.previous_status = volume.status
        volume.status = "backing-up"
        volume.updated_at = stamp
    s.flush()
    cast = BackupCast(host, backup_spec(backup), volume_spec(s, volume)) if host else None
    if cast is None:
        backup.status = "error"
        backup.fail_reason = "The volume is on no host."
    return _bundles(s, [backup])[0], cast


def update(s: Session, caller: Caller, backup_id: str, changes: Mapping[str, Any],
           metadata: Mapping[str, str] | None) -> BackupBundle:
    row = _row(s, backup_id, caller)
    for key, value in changes.items():
        setattr(row, key, value)
    if metadata is not None:
        m = models.BackupMetadata
        s.execute(delete(m).where(m.backup_id == row.id))
        s.flush()
        for key, value in metadata.items():
            s.add(m(backup_id=row.id, key=key, value=value))
    row.updated_at = now()
    s.flush()
    return _bundles(s, [row])[0]


def delete_backup(s: Session, caller: Caller, backup_id: str, force: bool = False) -> BackupCast | None:
    row = _row(s, backup_id, caller)
    if not force and row.status not in ("available", "error"):
        raise InvalidBackup("Backup status must be available or error")
    if force and row.status not in ("available", "error", "creating", "restoring", "error_deleting", "deleting"):
        raise InvalidBackup("Backup status must be available or error")
    dependents = s.scalar(select(func.count()).select_from(B).where(B.parent_id == row.id))
    if dependents:
        raise InvalidBackup("Incremental backups exist for this backup.")
    row.status = "deleting"
    row.updated_at = now()
    s.flush()
    if not row.host:
        s.delete(row)  # nothing was ever stored
        return None
    return BackupCast(row.host, backup_spec(row))


def reset_status(s: Session, caller: Caller, backup_id: str, status: str) -> None:
    if status not in RESET_STATUSES:
        raise InvalidInput(f"Backup status {status} is not valid; it must be one of: {', '.join(RESET_STATUSES)}.")
    row = _row(s, backup_id, caller)
    row.status = status
    row.updated_at = now()


# --- restore --------------------------------------------------------------------------------------


def check_restorable(s: Session, caller: Caller, backup_id: str) -> BackupBundle:
    bundle = load(s, backup_id, caller)
    if bundle.row.status != "available":
        raise InvalidBackup("Backup status must be available")
    return bundle


def volume_status(s: Session, caller: Caller, volume_id: str) -> str | None:
    volume = s.get(models.Volume, volume_id)
    return None if volume is None else volume.status


def restore(s: Session, caller: Caller, backup_id: str, volume_id: str) -> tuple[dict[str, Any], BackupCast | None]:
    """Backup ``restoring``, volume ``restoring-backup``; the source volume's metadata and bootable
    flag go with the data (Cinder restores them from the backup's own copy)."""
    backup = check_restorable(s, caller, backup_id).row
    volume = get_visible(s, models.Volume, volume_id, caller, VolumeNotFound)
    if volume.status != "available":
        raise InvalidVolume("Volume to be restored to must be available")
    if backup.size > volume.size:
        raise InvalidVolume(f"volume size {volume.size} is too small to restore backup of size {backup.size}.")
    source = s.get(models.Volume, backup.volume_id)
    if source is not None and source.id != volume.id:
        volume.bootable = source.bootable
        m = models.VolumeMetadata
        existing = {r.key for r in s.scalars(select(m).where(m.volume_id == volume.id))}
        for row in s.scalars(select(m).where(m.volume_id == source.id).order_by(m.key)):
            if row.key not in existing:
                s.add(m(volume_id=volume.id, key=row.key, value=row.value))
    stamp = now()
    backup.status = "restoring"
    backup.restore_volume_id = volume.id
    backup.updated_at = stamp
    volume.previous_status = volume.status
    volume.status = "restoring-backup"
    volume.updated_at = stamp
    s.flush()
    host = agent_host(volume.host)
    cast = BackupCast(host, backup_spec(backup), volume_spec(s, volume)) if host else None
    return {"backup_id": backup.id, "volume_id": volume.id, "volume_name": volume.name}, cast


# --- export and import of the record -------------------------------------------------------------


def export_record(s: Session, caller: Caller, backup_id: str) -> dict[str, str]:
    bundle = load(s, backup_id, caller)
    row = bundle.row
    if row.status != "available":
        raise InvalidBackup("Backup status must be available and not restoring.")
    record: dict[str, Any] = {k: getattr(row, k) for k in _EXPORTED}
    for stamp in ("created_at", "updated_at", "data_timestamp"):
        value = getattr(row, stamp)
        record[stamp] = value.isoformat() if value is not None else None
    record["metadata"] = bundle.metadata
    url = base64.b64encode(json.dumps(record).encode()).decode()
    return {"backup_service": row.service or SERVICE, "backup_url": url}


def _decode(url: str) -> dict[str, Any]:
    try:
        record = json.loads(base64.b64decode(url.encode(), validate=False))
    except (ValueError, binascii.Error):
        raise InvalidInput("Can't parse backup record.") from None
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        raise InvalidInput("Can't parse backup record.")
    try:
        record["id"] = str(uuid.UUID(record["id"]))
    except ValueError:
        raise InvalidInput("Can't parse backup record.") from None
    # Whatever the record says must fit the row (a long string is a 400, never a database error).
    for key, value in record.items():
        limit = models.ID if key.endswith("_id") else models.NAME
        if isinstance(value, str) and len(value) > limit:
            raise InvalidInput(f"Can't parse backup record: {key} is too long.")
    metadata = record.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict) or any(
            len(str(k)) > models.KEY or len(str(v)) > models.VALUE for k, v in metadata.items())):
        raise InvalidInput("Can't parse backup record: invalid metadata.")
    return record


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        return None


def import_record(s: Session, caller: Caller, service: str, url: str) -> BackupBundle:
    if not service.startswith("cinder.backup.drivers"):
        raise InvalidInput(f"Backup service {service} is not supported.")
    record = _decode(url)
    if s.get(B, record["id"]) is not None:
        raise InvalidBackup("Backup already exists in database.")
    try:
        size = int(record.get("size") or 0)
        object_count = int(record.get("object_count") or 0)
    except (TypeError, ValueError):
        raise InvalidInput("Can't parse backup record.") from None
    if not 0 <= size <= INT_MAX or not 0 <= object_count <= INT_MAX:
        raise InvalidInput("Can't parse backup record.")
    stamp = now()

    def text(key: str) -> str | None:
        value = record.get(key)
        return value if isinstance(value, str) else None

    # The data is where the record says (host and container): the row is all that was lost.
    row = B(id=record["id"], volume_id=text("volume_id") or "", snapshot_id=text("snapshot_id"),
            project_id=caller.project_id, user_id=caller.user_id, name=text("name"),
            description=text("description"), status="available", size=size,
            object_count=object_count, container=text("container"),
            availability_zone=text("availability_zone"), is_incremental=bool(record.get("is_incremental")),
            parent_id=text("parent_id"), data_timestamp=_when(record.get("data_timestamp")) or stamp,
            host=text("host"), service=service, encryption_key_id=text("encryption_key_id"), created_at=created())
    s.add(row)
    metadata = record.get("metadata")
    if isinstance(metadata, dict):
        for key, value in metadata.items():
            s.add(models.BackupMetadata(backup_id=row.id, key=str(key), value=str(value)))
    s.flush()
    return _bundles(s, [row])[0]
