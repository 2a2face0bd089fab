"""Manage and unmanage below the API: which backends exist, and what adopting a disk records.

A manage request writes the new row in ``managing`` (size 0 until the agent measured the disk;
the API then casts ``manage_existing`` to the backend's agent, whose ``volume_managed`` report
makes it ``available`` or ``error_managing``). A reference naming the disk of a volume (or
snapshot) the service still has is refused at once with ``error_managing``, as Cinder's
check_already_managed does: adopting it would take the disk from under its volume.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
from onestack.volume.rpcapi import SnapshotSpec, VolumeSpec
from onestack.volume.service import default_type
from onestack.volume.service.common import Caller, created, get_visible, new_id
from onestack.volume.service.specs import backend_of, snapshot_spec, volume_spec
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


def mark_managed(s: Session, kind: str, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The backend's disks as Cinder lists manageable ones: those a row still owns are not safe."""
    model: type[models.Volume | models.Snapshot] = models.Volume if kind == "volumes" else models.Snapshot
    prefix = "volume-" if kind == "volumes" else "snapshot-"
    out: list[dict[str, Any]] = []
    for entry in found:
        owner = _named_id(entry["reference"], prefix)
        managed = owner is not None and s.get(model, owner) is not None
        out.append({"reference": entry["reference"], "size": entry["size"], "safe_to_manage": not managed,
                    "reason_not_safe": "already managed" if managed else None,
                    "cinder_id": owner if managed else None, "extra_info": None})
    return out


def _named_id(ref: object, prefix: str) -> str | None:
    """The id in a reference to one of the file driver's names (``volume-<id>``), if any."""
    name = ref.get("source-name") if isinstance(ref, dict) else None
    return name[len(prefix):] if isinstance(name, str) and name.startswith(prefix) else None


def _owned(s: Session, ref: object) -> bool:
    """Whether ``ref`` names the disk of a volume or snapshot that still has a row."""
    volume_id, snapshot_id = _named_id(ref, "volume-"), _named_id(ref, "snapshot-")
    return ((volume_id is not None and s.get(models.Volume, volume_id) is not None)
            or (snapshot_id is not None and s.get(models.Snapshot, snapshot_id) is not None))


def _pool(s: Session, host: str, service: models.VolumeService) -> str:
    """The pool string a volume's ``host`` holds: as given, or the backend's first pool."""
    if "#" in host:
        return host
    pool = s.scalar(select(models.Pool.name).where(models.Pool.backend_host == service.host)
                    .order_by(models.Pool.name).limit(1))
    return pool or f"{service.host}#{service.host.split('@', 1)[-1]}"


@dataclass
class Managing:
    bundle: VolumeBundle
    spec: VolumeSpec | None  # what to cast to the agent; None when refused at once
    ref: dict[str, Any]


def manage_volume(s: Session, caller: Caller, ask: ManageVolume, configured_type: str) -> Managing:
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
    refused = not isinstance(ask.ref, dict) or _owned(s, ask.ref)
    row = models.Volume(
        id=new_id(), project_id=caller.project_id, user_id=caller.user_id, name=ask.name,
        description=ask.description, size=0, status="error_managing" if refused else "managing",
        attach_status="detached",
        availability_zone=ask.availability_zone or service.availability_zone, volume_type_id=vtype.id,
        host=_pool(s, ask.host, service), bootable=ask.bootable, multiattach=False,
        encrypted=False, replication_status="disabled", use_quota=True, created_at=stamp, updated_at=stamp)
    s.add(row)
    s.flush()
    for key, value in ask.metadata.items():
        s.add(models.VolumeMetadata(volume_id=row.id, key=key, value=value))
    s.flush()
    ref = dict(ask.ref) if isinstance(ask.ref, dict) else {}
    return Managing(load(s, row.id, caller), None if refused else volume_spec(s, row), ref)


@dataclass(frozen=True)
class ManageSnapshot:
    volume_id: str
    ref: object
    name: str | None
    description: str | None
    metadata: Mapping[str, str]


@dataclass
class ManagingSnapshot:
    row: models.Snapshot
    spec: SnapshotSpec | None  # what to cast to the agent; None when refused at once
    volume: VolumeSpec
    ref: dict[str, Any]


def manage_snapshot(s: Session, caller: Caller, ask: ManageSnapshot) -> ManagingSnapshot:
    vol = get_visible(s, models.Volume, ask.volume_id, caller, VolumeNotFound)
    if not vol.host or _service(s, vol.host) is None:
        raise ServiceUnavailable(f"Host '{vol.host}' not found")
    stamp = created()
    refused = not isinstance(ask.ref, dict) or _owned(s, ask.ref)
    snap = models.Snapshot(id=new_id(), volume_id=vol.id, project_id=caller.project_id, user_id=caller.user_id,
                           name=ask.name, description=ask.description,
                           status="error_managing" if refused else "managing", progress="0%",
                           volume_size=vol.size, volume_type_id=vol.volume_type_id, host=vol.host,
                           created_at=stamp, updated_at=stamp, use_quota=True)
    s.add(snap)
    s.flush()
    for key, value in ask.metadata.items():
        s.add(models.SnapshotMetadata(snapshot_id=snap.id, key=key, value=value))
    s.flush()
    ref = dict(ask.ref) if isinstance(ask.ref, dict) else {}
    return ManagingSnapshot(snap, None if refused else snapshot_spec(snap), volume_spec(s, vol), ref)


def unmanage_snapshot(s: Session, caller: Caller, snapshot_id: str) -> None:
    """Snapshot os-unmanage: the row goes, the backend keeps the data (Cinder's statuses)."""
    snap = get_visible(s, models.Snapshot, snapshot_id, caller, SnapshotNotFound)
    if snap.status not in ("available", "error", "error_managing"):
        raise InvalidSnapshot("Snapshot status must be available or error or error_managing and must not be part of"
                              " a group.")
    s.delete(snap)
