"""Snapshots: create (quota in the same transaction as the row), list, show, update, delete,
metadata, and the status actions. Work on a host is returned as a ``Cast`` the API sends after
the transaction commits (the row change first, then the cast, as the contract says)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.errors import (
    InvalidInput,
    InvalidParameterValue,
    InvalidSnapshot,
    InvalidVolume,
    SnapshotMetadataNotFound,
    SnapshotNotFound,
    VolumeNotFound,
)
from onestack.volume.rpcapi import SnapshotSpec, VolumeSpec
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
from onestack.volume.service.specs import agent_host, snapshot_spec, volume_spec

S = models.Snapshot
COLUMNS = {"name": S.name, "status": S.status, "volume_id": S.volume_id, "project_id": S.project_id,
           "created_at": S.created_at, "updated_at": S.updated_at, "size": S.volume_size,
           "description": S.description, "progress": S.progress, "group_snapshot_id": S.group_snapshot_id}

# Cinder's fields.SnapshotStatus.ALL: what os-reset_status accepts.
STATUSES = ("error", "available", "creating", "deleting", "deleted", "updating", "error_deleting",
            "unmanaging", "backing-up", "restoring")
# os-update_snapshot_status: from the current status, the ones a service may report.
UPDATABLE = {"creating": ("creating", "available", "error"), "deleting": ("deleting", "error_deleting")}


@dataclass
class SnapshotBundle:
    row: models.Snapshot
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Cast:
    """A message for the volume's agent, sent once the row change has committed."""

    host: str
    snapshot: SnapshotSpec
    volume: VolumeSpec


def _metadata(s: Session, snapshot_ids: list[str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {i: {} for i in snapshot_ids}
    if snapshot_ids:
        m = models.SnapshotMetadata
        for row in s.scalars(select(m).where(m.snapshot_id.in_(snapshot_ids)).order_by(m.snapshot_id, m.key)):
            found[row.snapshot_id][row.key] = row.value
    return found


def _row(s: Session, snapshot_id: str, caller: Caller) -> models.Snapshot:
    return get_visible(s, models.Snapshot, snapshot_id, caller, SnapshotNotFound)


def load(s: Session, snapshot_id: str, caller: Caller) -> SnapshotBundle:
    row = _row(s, snapshot_id, caller)
    return SnapshotBundle(row, _metadata(s, [row.id])[row.id])


def list_snapshots(s: Session, caller: Caller, lq: ListQuery,
                   metadata: Mapping[str, str] | None = None) -> tuple[list[SnapshotBundle], int | None]:
    stmt = visible(select(S), S, caller, lq)
    for key, value in (metadata or {}).items():
        m = models.SnapshotMetadata
        stmt = stmt.where(S.id.in_(select(m.snapshot_id).where(m.key == key, m.value == str(value))))
    listing = list_rows(s, stmt, S, lq, COLUMNS)
    meta = _metadata(s, [r.id for r in listing.rows])
    return [SnapshotBundle(r, meta[r.id]) for r in listing.rows], listing.count


def _volume(s: Session, volume_id: str | None, caller: Caller) -> models.Volume:
    if not volume_id or not isinstance(volume_id, str):
        raise VolumeNotFound(str(volume_id))
    return get_visible(s, models.Volume, volume_id, caller, VolumeNotFound)


def _type_name(s: Session, type_id: str | None) -> str | None:
    if not type_id:
        return None
    return s.scalar(select(models.VolumeType.name).where(models.VolumeType.id == type_id))


def quota_deltas(s: Session, count: int, gigabytes: int, type_id: str | None) -> dict[str, int]:
    deltas = {"snapshots": count, "gigabytes": gigabytes}
    name = _type_name(s, type_id)
    if name is not None:
        deltas[f"snapshots_{name}"] = count
        deltas[f"gigabytes_{name}"] = gigabytes
    return deltas


def check_volume_for_snapshot(volume: models.Volume, force: bool, in_use_ok: bool) -> None:
    """Cinder's checks before a snapshot of ``volume`` (``_create_snapshot_in_db_validate``)."""
    if volume.status == "maintenance":
        raise InvalidVolume("Volume is in maintenance mode.")
    if volume.migration_status is not None and volume.migration_status not in ("success", "error"):
        raise InvalidVolume("Snapshot cannot be created while volume is migrating.")
    allowed = ("available", "in-use") if (force or in_use_ok) else ("available",)
    if volume.status not in allowed:
        if len(allowed) == 1:
            raise InvalidVolume(f"Volume {volume.id} status must be available, but current status is: "
                                f"{volume.status}.")
        raise InvalidVolume(f"Volume {volume.id} status must be available or in-use, but current status is: "
                            f"{volume.status}.")


def create(s: Session, caller: Caller, volume_id: str | None, force: bool, in_use_ok: bool, name: str | None,
           description: str | None, metadata: Mapping[str, str]) -> tuple[SnapshotBundle, Cast | None]:
    volume = _volume(s, volume_id, caller)
    check_volume_for_snapshot(volume, force, in_use_ok)
    quotas.check(s, volume.project_id, quota_deltas(s, 1, volume.size, volume.volume_type_id))
    snap = models.Snapshot(id=new_id(), volume_id=volume.id, project_id=volume.project_id, user_id=caller.user_id,
                           name=name, description=description, status="creating", progress="0%",
                           volume_size=volume.size, volume_type_id=volume.volume_type_id, host=volume.host,
                           use_quota=True, created_at=created())
    s.add(snap)
    for key, value in metadata.items():
        s.add(models.SnapshotMetadata(snapshot_id=snap.id, key=key, value=value))
    s.flush()
    host = agent_host(volume.host)
    cast = Cast(host, snapshot_spec(snap), volume_spec(s, volume)) if host else None
    return SnapshotBundle(snap, dict(metadata)), cast


def update(s: Session, caller: Caller, snapshot_id: str, changes: Mapping[str, Any]) -> SnapshotBundle:
    row = _row(s, snapshot_id, caller)
    for key, value in changes.items():
        setattr(row, key, value)
    row.updated_at = now()
    s.flush()
    return load(s, snapshot_id, caller)


def _cast_for(s: Session, snap: models.Snapshot) -> Cast | None:
    volume = s.get(models.Volume, snap.volume_id)
    host = agent_host(snap.host or (volume.host if volume is not None else None))
    if volume is None or host is None:
        return None
    return Cast(host, snapshot_spec(snap), volume_spec(s, volume))


def delete_snapshot(s: Session, caller: Caller, snapshot_id: str, force: bool = False) -> Cast | None:
    """``deleting`` and a cast to the agent; a snapshot that never reached a host goes at once."""
    snap = _row(s, snapshot_id, caller)
    if not force and (snap.status not in ("available", "error") or snap.group_snapshot_id):
        raise InvalidSnapshot("Snapshot status must be available or error and must not be part of a group.")
    snap.status = "deleting"
    snap.updated_at = now()
    s.flush()
    cast = _cast_for(s, snap)
    if cast is None:
        s.delete(snap)
        s.flush()
    return cast


def reset_status(s: Session, caller: Caller, snapshot_id: str, status: str) -> None:
    if status not in STATUSES:
        raise InvalidInput("Must specify a valid status")
    snap = _row(s, snapshot_id, caller)
    snap.status = status
    snap.updated_at = now()


def update_status(s: Session, caller: Caller, snapshot_id: str, status: str, progress: str | None) -> None:
    """``os-update_snapshot_status``: what a service reports about a snapshot it is working on."""
    snap = _row(s, snapshot_id, caller)
    if snap.status not in UPDATABLE:
        raise InvalidParameterValue(f"Snapshot status {snap.status} not allowed for update_snapshot_status")
    if status not in UPDATABLE[snap.status]:
        raise InvalidParameterValue(f"Provided snapshot status {status} not allowed for snapshot with status "
                                    f"{snap.status}.")
    snap.status = status
    if progress is not None:
        snap.progress = progress
    snap.updated_at = now()


# --- metadata -------------------------------------------------------------------------------------


def get_metadata(s: Session, caller: Caller, snapshot_id: str) -> dict[str, str]:
    return load(s, snapshot_id, caller).metadata


def set_metadata(s: Session, caller: Caller, snapshot_id: str, items: Mapping[str, str],
                 replace: bool) -> dict[str, str]:
    """Merge ``items`` into the metadata (or make them all of it with ``replace``); the result."""
    snap = _row(s, snapshot_id, caller)
    m = models.SnapshotMetadata
    if replace:
        s.execute(delete(m).where(m.snapshot_id == snap.id))
    else:
        s.execute(delete(m).where(m.snapshot_id == snap.id, m.key.in_(list(items))))
    s.flush()
    for key, value in items.items():
        s.add(m(snapshot_id=snap.id, key=key, value=value))
    snap.updated_at = now()
    s.flush()
    return _metadata(s, [snap.id])[snap.id]


def delete_metadata_key(s: Session, caller: Caller, snapshot_id: str, key: str) -> None:
    snap = _row(s, snapshot_id, caller)
    m = models.SnapshotMetadata
    found = s.get(m, (snap.id, key))
    if found is None:
        raise SnapshotMetadataNotFound(snap.id, key)
    s.delete(found)
    snap.updated_at = now()
