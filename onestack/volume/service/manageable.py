"""Manage and unmanage below the API: which backends exist, and what adopting a disk records.

The file driver cannot adopt a disk it did not make (its directory holds only the service's
own), so a manage request ends as Cinder's does when the driver cannot: the new row is in
``error_managing`` (size 0, no disk), deletable as any failed volume.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.api.faults import ServiceUnavailable
from onestack.volume import models
from onestack.volume.errors import (
    InvalidSnapshot,
    InvalidVolumeType,
    SnapshotNotFound,
    VolumeNotFound,
)
from onestack.volume.service import default_type
from onestack.volume.service.common import Caller, created, get_visible, new_id
from onestack.volume.service.specs import backend_of
from onestack.volume.service.volumes import VolumeBundle, load


def backend_exists(s: Session, host: str) -> bool:
    """A ``cinder-volume`` service for ``host`` (``node@backend``, optionally ``#pool``)."""
    return _service(s, host) is not None


def _service(s: Session, host: str) -> models.VolumeService | None:
    backend = backend_of(host) or ""
    return s.scalar(select(models.VolumeService).where(models.VolumeService.host == backend,
                                                       models.VolumeService.binary == "cinder-volume"))


@dataclass(frozen=True)
class ManageVolume:
    host: str
    ref: object
    name: str | None
    description: str | None
    volume_type: str | None
    metadata: Mapping[str, str]
    availability_zone: str | None
    bootable: bool


def manage_volume(s: Session, caller: Caller, ask: ManageVolume, configured_type: str) -> VolumeBundle:
    if ask.volume_type:
        vtype = s.get(models.VolumeType, ask.volume_type) or s.scalar(
            select(models.VolumeType).where(models.VolumeType.name == ask.volume_type))
        if vtype is None:
            raise InvalidVolumeType(f"Cannot find requested '{ask.volume_type}' volume type")
    else:
        vtype = default_type.resolve(s, caller.project_id, configured_type)
    if s.get(models.VolumeTypeEncryption, vtype.id) is not None:
        raise InvalidVolumeType("Managing to an encrypted volume type is not supported.")
    service = _service(s, ask.host)
    if service is None:
        raise ServiceUnavailable(f"Host '{ask.host}' not found")
    stamp = created()
    row = models.Volume(
        id=new_id(), project_id=caller.project_id, user_id=caller.user_id, name=ask.name,
        description=ask.description, size=0, status="error_managing", attach_status="detached",
        availability_zone=ask.availability_zone or service.availability_zone, volume_type_id=vtype.id,
        host=ask.host if "#" in ask.host else service.host, bootable=ask.bootable, multiattach=False,
        encrypted=False, replication_status="disabled", use_quota=True, created_at=stamp, updated_at=stamp)
    s.add(row)
    s.flush()
    for key, value in ask.metadata.items():
        s.add(models.VolumeMetadata(volume_id=row.id, key=key, value=value))
    s.flush()
    return load(s, row.id, caller)


@dataclass(frozen=True)
class ManageSnapshot:
    volume_id: str
    ref: object
    name: str | None
    description: str | None
    metadata: Mapping[str, str]


def manage_snapshot(s: Session, caller: Caller, ask: ManageSnapshot) -> models.Snapshot:
    vol = get_visible(s, models.Volume, ask.volume_id, caller, VolumeNotFound)
    if not vol.host or _service(s, vol.host) is None:
        raise ServiceUnavailable(f"Host '{vol.host}' not found")
    stamp = created()
    snap = models.Snapshot(id=new_id(), volume_id=vol.id, project_id=caller.project_id, user_id=caller.user_id,
                           name=ask.name, description=ask.description, status="error_managing", progress="0%",
                           volume_size=vol.size, volume_type_id=vol.volume_type_id, host=vol.host,
                           created_at=stamp, updated_at=stamp, use_quota=True)
    s.add(snap)
    s.flush()
    for key, value in ask.metadata.items():
        s.add(models.SnapshotMetadata(snapshot_id=snap.id, key=key, value=value))
    s.flush()
    return snap


def unmanage_snapshot(s: Session, caller: Caller, snapshot_id: str) -> None:
    """Snapshot os-unmanage: the row goes, the backend keeps the data (Cinder's statuses)."""
    snap = get_visible(s, models.Snapshot, snapshot_id, caller, SnapshotNotFound)
    if snap.status not in ("available", "error", "error_managing"):
        raise InvalidSnapshot("Snapshot status must be available or error or error_managing and must not be part of"
                              " a group.")
    s.delete(snap)
