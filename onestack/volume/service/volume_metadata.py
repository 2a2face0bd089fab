"""A volume's user metadata: /volumes/{id}/metadata[/key]."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.errors import InvalidVolume, VolumeMetadataNotFound
from onestack.volume.service.common import Caller, as_dict, now
from onestack.volume.service.volumes import get_row, replace_metadata

M = models.VolumeMetadata


def _rows(s: Session, volume_id: str) -> dict[str, str]:
    return as_dict(list(s.scalars(select(M).where(M.volume_id == volume_id).order_by(M.key))))


def get_all(s: Session, volume_id: str, caller: Caller) -> dict[str, str]:
    return _rows(s, get_row(s, volume_id, caller).id)


def get_one(s: Session, volume_id: str, caller: Caller, key: str) -> str:
    found = get_all(s, volume_id, caller)
    if key not in found:
        raise VolumeMetadataNotFound(volume_id, key)
    return found[key]


def _writable(s: Session, volume_id: str, caller: Caller) -> models.Volume:
    v = get_row(s, volume_id, caller)
    if v.status == "maintenance":
        raise InvalidVolume("The volume metadata cannot be updated when the volume is in maintenance mode.")
    return v


def update(s: Session, volume_id: str, caller: Caller, metadata: Mapping[str, str], delete: bool) -> dict[str, str]:
    """Merge ``metadata`` in (POST, PUT of one key) or replace everything with it (PUT); the result."""
    v = _writable(s, volume_id, caller)
    if delete:
        replace_metadata(s, v.id, metadata)
    else:
        for key, value in metadata.items():
            row = s.get(M, (v.id, key))
            if row is None:
                s.add(M(volume_id=v.id, key=key, value=value))
            else:
                row.value = value
    v.updated_at = now()
    s.flush()
    return _rows(s, v.id)


def delete_key(s: Session, volume_id: str, caller: Caller, key: str) -> None:
    v = _writable(s, volume_id, caller)
    row = s.get(M, (v.id, key))
    if row is None:
        raise VolumeMetadataNotFound(volume_id, key)
    s.delete(row)
    v.updated_at = now()
    s.flush()
