"""What manage/unmanage asks of the rows: whether a backend exists."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.service.specs import backend_of


def backend_exists(s: Session, host: str) -> bool:
    """A ``cinder-volume`` service for ``host`` (``node@backend``, optionally ``#pool``)."""
    backend = backend_of(host) or ""
    found = s.scalar(select(models.VolumeService.host).where(models.VolumeService.host == backend,
                                                             models.VolumeService.binary == "cinder-volume"))
    return found is not None
