"""os-reimage (3.68): a volume's data replaced by an image's, in Cinder's words.

``begin`` (one write transaction) moves the volume to ``downloading`` (remembering where it
was) after Cinder's checks; the API then casts ``reimage`` to the volume's agent, which writes
the image into the disk (as create-from-image does) and reports ``volume_reimaged``: ``finish``
puts the volume back where it was with the image's ``volume_image_metadata``, or in ``error``.
A volume reimaged while ``reserved`` (Nova's rebuild of a volume-backed server) is attached to
the servers that compute must tell: ``finish`` returns them for the ``volume-reimaged`` event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import Conflict
from onestack.volume import models
from onestack.volume.errors import ImageUnacceptable, InvalidInput, InvalidVolume
from onestack.volume.rpcapi import ModelUpdate, VolumeSpec
from onestack.volume.service.attachments import attachments_of, build_or, cas, volume
from onestack.volume.service.common import Caller, now
from onestack.volume.service.create_flow import image_fits
from onestack.volume.service.messages import VOLUME, Action, Detail, record
from onestack.volume.service.specs import volume_spec

GiB = 1024 ** 3


@dataclass
class Target:
    """What the policy check needs before anything changes."""

    project_id: str
    status: str


def target(s: Session, caller: Caller, volume_id: str) -> Target:
    vol = volume(s, caller, volume_id)
    return Target(vol.project_id, vol.status)


def _check_image(image: dict[str, Any], size: int) -> None:
    """Cinder's ``check_image_metadata``: active, and fits the volume (size, min_disk, virtual size)."""
    if image.get("status") != "active":
        raise InvalidInput(f"Image {image['id']} is not active.")
    image_fits(image, size)
    virtual = int(image.get("virtual_size") or 0)
    if virtual and math.ceil(virtual / GiB) > size:
        raise ImageUnacceptable(str(image["id"]), f"Image virtual size is {math.ceil(virtual / GiB)}GB and doesn't "
                                f"fit in a volume of size {size}GB.")


def begin(s: Session, caller: Caller, volume_id: str, image: dict[str, Any], reserved: bool) -> VolumeSpec:
    """available/error (and reserved with ``reserved``) → downloading; a failed image check
    raises, and the transaction's rollback leaves the volume as it was (Cinder rolls back too)."""
    vol = volume(s, caller, volume_id)
    if len(attachments_of(s, vol.id)) > 1:
        raise Conflict("Cannot re-image a volume which is attached to more than one server.")
    statuses: tuple[str, ...] = ("available", "error", "reserved") if reserved else ("available", "error")
    if not cas(s, vol.id, {"status": "downloading", "previous_status": vol.status}, status=statuses):
        s.refresh(vol)
        raise InvalidVolume(f"Volume {vol.id} status must be {build_or(statuses)}, but current status is "
                            f"{vol.status}.")
    _check_image(image, vol.size)
    s.refresh(vol)
    return volume_spec(s, vol)


@dataclass
class Reimaged:
    """The servers compute must tell (``volume-reimaged``): those of a volume reimaged while reserved."""

    servers: list[str] = field(default_factory=list)


def finish(s: Session, volume_id: str, update: ModelUpdate, error: str | None) -> Reimaged:
    """``downloading`` → its previous status with the image's metadata, or ``error`` (its data is in doubt)."""
    vol = s.get(models.Volume, volume_id)
    if vol is None or vol.status != "downloading":
        return Reimaged()  # reported twice, or reset meanwhile: nothing to do
    vol.updated_at = now()
    if error:
        vol.previous_status, vol.status = vol.status, "error"
        record(s, vol.project_id, VOLUME, vol.id, Action.REIMAGE_VOLUME, Detail.UNKNOWN_ERROR)
        return Reimaged()
    vol.status = vol.previous_status or "available"
    vol.bootable = True
    s.execute(delete(models.VolumeImageMetadata).where(models.VolumeImageMetadata.volume_id == vol.id))
    for key, value in (update.get("image_metadata") or {}).items():
        s.add(models.VolumeImageMetadata(volume_id=vol.id, key=key, value=value))
    if vol.status != "reserved":
        return Reimaged()
    rows = s.scalars(select(models.Attachment.instance_uuid).where(models.Attachment.volume_id == vol.id))
    return Reimaged(sorted({r for r in rows if r}))
