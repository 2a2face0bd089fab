"""Rows as the bus carries them (``rpcapi`` shapes): what the API, the scheduler and the server
side send to the agents, built in one place so every sender sends the same thing."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.rpcapi import BackupSpec, SnapshotSpec, VolumeSpec


def agent_host(host: str | None) -> str | None:
    """The agent a volume lives on: ``node`` of Cinder's ``node@backend#pool``."""
    return None if not host else host.split("@", 1)[0]


def backend_of(host: str | None) -> str | None:
    """``node@backend`` of ``node@backend#pool``."""
    return None if not host else host.split("#", 1)[0]


def backend_name(specs: dict[str, str]) -> str | None:
    """The backend a type asks for: ``volume_backend_name``, bare or scoped ``capabilities:``
    (the capabilities filter reads both the same way; Tempest's multi-backend test uses both)."""
    return specs.get("volume_backend_name", specs.get("capabilities:volume_backend_name"))


def type_zones(specs: dict[str, str]) -> list[str] | None:
    """The zones a type is restricted to (``RESKEY:availability_zones``, comma-separated), or
    None when it names none; present but empty restricts to no zone at all, as Cinder."""
    if "RESKEY:availability_zones" not in specs:
        return None
    return [z.strip() for z in specs["RESKEY:availability_zones"].split(",") if z.strip()]


_ES = models.VolumeTypeExtraSpec
# Built once: every create, delete and agent spec reads a type's extra specs.
_EXTRA_SPECS = select(_ES.key, _ES.value).where(_ES.volume_type_id == bindparam("type_id")).order_by(_ES.key)


def extra_specs(s: Session, type_id: str | None) -> dict[str, str]:
    if not type_id:
        return {}
    return {key: value for key, value in s.execute(_EXTRA_SPECS, {"type_id": type_id}).tuples()}


def volume_spec(s: Session, v: models.Volume, by_type: dict[str, dict[str, str]] | None = None) -> VolumeSpec:
    """``by_type``: extra specs already read, by type id (filled as it goes), for a caller that
    makes many specs (a host's desired state: otherwise a query per volume on every pass)."""
    if by_type is None:
        specs = extra_specs(s, v.volume_type_id)
    else:
        if v.volume_type_id not in by_type:
            by_type[v.volume_type_id] = extra_specs(s, v.volume_type_id)
        specs = dict(by_type[v.volume_type_id])
    return VolumeSpec(id=v.id, size=v.size, host=v.host or "", status=v.status,
                      provider_location=v.provider_location, volume_type_id=v.volume_type_id,
                      extra_specs=specs, multiattach=v.multiattach)


def snapshot_spec(snap: models.Snapshot) -> SnapshotSpec:
    return SnapshotSpec(id=snap.id, volume_id=snap.volume_id, volume_size=snap.volume_size, status=snap.status,
                        provider_location=snap.provider_location)


def backup_spec(b: models.Backup) -> BackupSpec:
    return BackupSpec(id=b.id, volume_id=b.volume_id, snapshot_id=b.snapshot_id, status=b.status, size=b.size,
                      container=b.container, parent_id=b.parent_id, is_incremental=b.is_incremental)
