"""Which volume type a volume made without one gets: the project's own default
(``/default-types``, 3.62) > config ``volume.default_volume_type`` > ``__DEFAULT__``."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.errors import VolumeTypeNotFoundByName

DEFAULT_TYPE = "__DEFAULT__"


_BY_NAME = select(models.VolumeType).where(models.VolumeType.name == bindparam("name"))  # built once: every create


def by_name(s: Session, name: str) -> models.VolumeType | None:
    return s.scalar(_BY_NAME, {"name": name})


def resolve(s: Session, project_id: str, configured: str) -> models.VolumeType:
    """The default type of ``project_id``; 404 when even ``__DEFAULT__`` is gone (Cinder's too)."""
    own = s.get(models.DefaultVolumeType, project_id)
    if own is not None:
        found = s.get(models.VolumeType, own.volume_type_id)
        if found is not None:
            return found
    if configured:
        found = by_name(s, configured)
        if found is not None:
            return found
    found = by_name(s, DEFAULT_TYPE)
    if found is None:
        raise VolumeTypeNotFoundByName(configured or DEFAULT_TYPE)
    return found
