"""The volume types a new cloud starts with: Cinder's ``__DEFAULT__`` and, as DevStack makes
them, one public type per configured backend named after it (extra spec
``volume_backend_name``) so a volume can be sent to a given backend, and DevStack's
``multiattach`` type (``ENABLE_VOLUME_MULTIATTACH``: extra spec ``multiattach="<is> True"``). Existence makes it
idempotent: a type that is there (or was renamed away by an admin and recreated) is left alone."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.config import Config
from onestack.volume import models
from onestack.volume.service.common import new_id, now
from onestack.volume.service.default_type import DEFAULT_TYPE


def backend_names(config: Config) -> list[str]:
    """``volume.backends`` is ``NAME[:thin|thick],…``: the names."""
    names = []
    for item in config.volume.backends.split(","):
        name = item.strip().split(":", 1)[0].strip()
        if name and name not in names:
            names.append(name)
    return names


def make_default_types(s: Session, config: Config) -> list[str]:
    """Create the types that are missing; returns the names it made."""
    made = []
    existing = set(s.scalars(select(models.VolumeType.name)))
    if DEFAULT_TYPE not in existing:
        s.add(models.VolumeType(id=new_id(), name=DEFAULT_TYPE, description="Default Volume Type", is_public=True,
                                created_at=now()))
        made.append(DEFAULT_TYPE)
    for name in backend_names(config):
        if name in existing or name == DEFAULT_TYPE:
            continue
        type_id = new_id()
        s.add(models.VolumeType(id=type_id, name=name, description=None, is_public=True, created_at=now()))
        s.flush()
        s.add(models.VolumeTypeExtraSpec(volume_type_id=type_id, key="volume_backend_name", value=name))
        made.append(name)
    multi = config.volume.multiattach_volume_type.strip()
    if multi and multi not in existing and multi not in made:
        type_id = new_id()
        s.add(models.VolumeType(id=type_id, name=multi, description=None, is_public=True, created_at=now()))
        s.flush()
        s.add(models.VolumeTypeExtraSpec(volume_type_id=type_id, key="multiattach", value="<is> True"))
        made.append(multi)
    return made
