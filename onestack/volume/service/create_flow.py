"""Cinder's volume create flow, API side, as tasks (``core/taskflow.py``):

1. ``OneSource`` — at most one of snapshot, source volume, image, backup.
   ``CheckImage`` — with an ``imageRef``, the image must exist, be one the caller may use
   (public/community, own, or shared with the caller's project) and be active.
2. ``Extract`` — the request against the database: the type (name or id, visible), the source
   (snapshot / volume / backup: exists, visible, usable), the size (given, or the source's;
   never below the source's, an image's size or its min_disk), the availability zone.
3. ``Reserve`` — quota check and the row in ``creating`` (with its metadata) in one write
   transaction: the row is the reservation. Reverted by deleting the row.
4. ``Schedule`` — cast ``create_volume`` to the scheduler with a RequestSpec.

A failure raises the step's 4xx after the completed steps are reverted: nothing is left.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core import taskflow
from onestack.core.db import Database
from onestack.volume import models
from onestack.volume.errors import (
    BackupNotFound,
    GroupNotFound,
    Invalid,
    InvalidAvailabilityZone,
    InvalidBackup,
    InvalidInput,
    InvalidSnapshot,
    InvalidTypeAvailabilityZones,
    InvalidVolume,
    SnapshotNotFound,
    VolumeNotFound,
    VolumeTypeNotFound,
    VolumeTypeNotFoundByName,
)
from onestack.volume.rpcapi import RequestSpec, SourceSpec
from onestack.volume.service import default_type, quotas
from onestack.volume.service.common import Caller, created, get_visible, new_id
from onestack.volume.service.specs import (
    backup_spec,
    extra_specs,
    snapshot_spec,
    type_zones,
    volume_spec,
)
from onestack.volume.service.volumes import VolumeBundle, destroy
from onestack.volume.state import VolumeState

GiB = 1024 ** 3
BAD_IMAGE = "Invalid image identifier or unable to access requested image."
SOURCE_VOLUME_OK = ("available", "in-use")


@dataclass
class CreateRequest:
    """What the API parsed from the body (checked for shape there)."""

    size: int | None = None
    name: str | None = None
    description: str | None = None
    volume_type: str | None = None
    availability_zone: str | None = None
    snapshot_id: str | None = None
    source_volid: str | None = None
    image_id: str | None = None
    backup_id: str | None = None
    group_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    # The API's ``volume:multiattach`` check, run when the type makes the volume multiattach.
    authorize_multiattach: Callable[[], Awaitable[Any]] | None = None


@dataclass
class Plan:
    """The request resolved against the database (``Extract``)."""

    size: int
    type_id: str
    type_name: str
    extra_specs: dict[str, str]
    availability_zone: str
    multiattach: bool
    bootable: bool
    same_backend_as: str | None
    source: SourceSpec


@dataclass
class CreateContext:
    state: VolumeState
    db: Database
    caller: Caller
    request: CreateRequest
    image: dict[str, Any] | None = None
    plan: Plan | None = None
    volume_id: str | None = None
    bundle: VolumeBundle | None = None


# --- 1. one source at most, and the image -------------------------------------------------------


class OneSource(taskflow.AsyncNoRevert[CreateContext]):
    async def execute(self, ctx: CreateContext) -> None:
        req = ctx.request
        if sum(ref is not None for ref in (req.snapshot_id, req.source_volid, req.image_id, req.backup_id)) > 1:
            raise InvalidInput("May specify only one of backup, imageRef, snapshot, source volume")


class CheckImage(taskflow.AsyncNoRevert[CreateContext]):
    async def execute(self, ctx: CreateContext) -> None:
        image_id = ctx.request.image_id
        if image_id is None:
            return
        images = ctx.state.images
        if images is None:
            raise Invalid(BAD_IMAGE)
        image = await images.get(image_id)
        if image is None or not await may_use(images, ctx.caller, image):
            raise Invalid(BAD_IMAGE)
        if image.get("status") != "active":
            raise InvalidInput(f"Image {image_id} is not active.")
        ctx.image = image


async def may_use(images: Any, caller: Caller, image: dict[str, Any]) -> bool:
    """Glance's visibility rules, for the caller (the client asks as the service, which sees all)."""
    visibility = image.get("visibility", "shared")
    if caller.is_admin or visibility in ("public", "community") or image.get("owner") == caller.project_id:
        return True
    if visibility != "shared":
        return False
    resp = await images.session.request(
        "GET", f"/v2/images/{image['id']}/members/{caller.project_id}", service="image")
    return bool(resp.status_code == 200 and resp.json().get("status") != "rejected")


# --- 2. the request against the database ----------------------------------------------------------


class Extract(taskflow.AsyncNoRevert[CreateContext]):
    async def execute(self, ctx: CreateContext) -> None:
        ctx.plan = await ctx.db.read(extract, ctx.caller, ctx.request, ctx.image,
                                     ctx.state.config.volume.default_volume_type,
                                     ctx.state.config.volume.storage_availability_zone)


def find_type(s: Session, caller: Caller, ref: str) -> models.VolumeType:
    """By id, else by name; a private type the caller has no access to is not found (404)."""
    found = s.get(models.VolumeType, ref) or s.scalar(select(models.VolumeType)
                                                      .where(models.VolumeType.name == ref))
    if found is not None and not (found.is_public or caller.is_admin or s.get(
            models.VolumeTypeAccess, (found.id, caller.project_id)) is not None):
        found = None
    if found is None:
        if _uuid_like(ref):
            raise VolumeTypeNotFound(ref)
        raise VolumeTypeNotFoundByName(ref)
    return found


def _uuid_like(text: str) -> bool:
    return len(text.replace("-", "")) == 32 and all(c in "0123456789abcdefABCDEF-" for c in text)


def _volume_type(s: Session, caller: Caller, req: CreateRequest, source_type: str | None,
                 configured: str) -> models.VolumeType:
    """The type asked for (404 if not visible), except that a volume from a snapshot always gets
    the snapshot's (as Cinder); without one, the source's, else the project's default."""
    asked = find_type(s, caller, req.volume_type) if req.volume_type is not None else None
    source = s.get(models.VolumeType, source_type) if source_type is not None else None
    if req.snapshot_id is not None and source is not None:
        return source
    return asked or source or default_type.resolve(s, caller.project_id, configured)


_SERVICE_ZONES = select(models.VolumeService.availability_zone)  # built once: every create


def availability_zones(s: Session, configured: str) -> set[str]:
    """Cinder's AZs: those of the volume services, and the configured storage AZ."""
    zones = set(s.scalars(_SERVICE_ZONES))
    zones.add(configured)
    return zones


def zone(s: Session, asked: str | None, type_azs: list[str] | None, storage_az: str) -> str:
    """Cinder's zone choice: the one asked for (or the source's), which must be a known zone and,
    when the type restricts zones (``RESKEY:availability_zones``), one of the type's; a type
    whose zones are all unknown is a 400 of its own. Without one asked, the storage zone, or
    for a restricting type the storage zone if it allows it, else its first known zone (Cinder
    leaves that choice to the scheduler; the row here needs one zone)."""
    known = availability_zones(s, storage_az)
    safe = known if type_azs is None else {z for z in type_azs if z in known}
    if not safe:
        raise InvalidTypeAvailabilityZones(type_azs or [])
    if asked is None:
        return storage_az if storage_az in safe else min(safe)
    if asked not in safe:
        raise InvalidAvailabilityZone(asked)
    return asked


def image_fits(image: dict[str, Any], size: int) -> None:
    """Cinder's checks that an image's data fits a volume of ``size`` GB (its size, its min_disk)."""
    image_gb = math.ceil(int(image.get("size") or 0) / GiB)
    if image_gb > size:
        raise InvalidInput(f"Size of specified image {image_gb}GB is larger than volume size {size}GB.")
    min_disk = int(image.get("min_disk") or 0)
    if size < min_disk:
        raise InvalidInput(f"Volume size {size}GB cannot be smaller than the image minDisk size {min_disk}GB.")


def extract(s: Session, caller: Caller, req: CreateRequest, image: dict[str, Any] | None, configured_type: str,
            storage_az: str) -> Plan:
    source = SourceSpec()
    size = req.size
    az = req.availability_zone
    source_az: str | None = None
    source_type: str | None = None
    same_backend: str | None = None
    bootable = False
    if req.snapshot_id is not None:
        snap = get_visible(s, models.Snapshot, req.snapshot_id, caller, SnapshotNotFound)
        if snap.status != "available":
            raise InvalidSnapshot("Originating snapshot status must be one of available values")
        parent = s.get(models.Volume, snap.volume_id)
        size = snap.volume_size if size is None else size
        if size < snap.volume_size:
            raise InvalidInput(f"Volume size '{size}'GB cannot be smaller than the snapshot size "
                               f"{snap.volume_size}GB. They must be >= original snapshot size.")
        source["snapshot"] = snapshot_spec(snap)
        source_type = snap.volume_type_id or (parent.volume_type_id if parent else None)
        if parent is not None:
            source_az, same_backend, bootable = parent.availability_zone, snap.host or parent.host, parent.bootable
        if az is not None and source_az is not None and az != source_az:
            raise InvalidInput("Volume must be in the same availability zone as the snapshot")
    elif req.source_volid is not None:
        src = get_visible(s, models.Volume, req.source_volid, caller, VolumeNotFound)
        if src.status not in SOURCE_VOLUME_OK:
            raise InvalidVolume("Unable to create a volume from an originating source volume when its status "
                                "is not one of available, in-use values")
        size = src.size if size is None else size
        if size < src.size:
            raise InvalidInput(f"Volume size '{size}'GB cannot be smaller than original volume size "
                               f"{src.size}GB. They must be >= original volume size.")
        source["volume"] = volume_spec(s, src)
        source_type, source_az, same_backend, bootable = (src.volume_type_id, src.availability_zone, src.host,
                                                          src.bootable)
        if az is not None and az != source_az:
            raise InvalidInput("Volume must be in the same availability zone as the source volume")
    elif req.backup_id is not None:
        backup = get_visible(s, models.Backup, req.backup_id, caller, BackupNotFound)
        if backup.status != "available":
            raise InvalidBackup(f"Backup status must be available but is {backup.status}.")
        size = backup.size if size is None else size
        if size < backup.size:
            raise InvalidInput(f"Volume size {size}GB cannot be smaller than the backup size {backup.size}GB. "
                               "It must be >= backup size.")
        source["backup"] = backup_spec(backup)
    elif image is not None:
        if size is None:
            raise InvalidInput("Volume size 'None' must be an integer and greater than 0")
        image_fits(image, size)
        source["image_id"] = str(image["id"])
    if size is None:
        raise InvalidInput("Volume size 'None' must be an integer and greater than 0")
    vtype = _volume_type(s, caller, req, source_type, configured_type)
    specs = extra_specs(s, vtype.id)
    az = zone(s, az if az is not None else source_az, type_zones(specs), storage_az)
    if req.group_id is not None:
        get_visible(s, models.Group, req.group_id, caller, GroupNotFound)
    multiattach = specs.get("multiattach", "").strip().lower() == "<is> true"
    return Plan(size=size, type_id=vtype.id, type_name=vtype.name, extra_specs=specs, availability_zone=az,
                multiattach=multiattach, bootable=bootable, same_backend_as=same_backend, source=source)


# --- 3. quota and the row -------------------------------------------------------------------------


class Reserve:
    async def execute(self, ctx: CreateContext) -> None:
        assert ctx.plan is not None
        if ctx.plan.multiattach and ctx.request.authorize_multiattach is not None:
            await ctx.request.authorize_multiattach()
        ctx.bundle = await ctx.db.write(insert, ctx.caller, ctx.request, ctx.plan)
        ctx.volume_id = ctx.bundle.volume.id

    async def revert(self, ctx: CreateContext) -> None:
        if ctx.volume_id is not None:
            await ctx.db.write(remove, ctx.volume_id)


def insert(s: Session, caller: Caller, req: CreateRequest, plan: Plan) -> VolumeBundle:
    """The row and its metadata; the bundle the create answers with, from what was written
    (no read back: a new volume has no admin or image metadata and no attachments yet)."""
    quotas.check(s, caller.project_id, {"volumes": 1, "gigabytes": plan.size, f"volumes_{plan.type_name}": 1,
                                        f"gigabytes_{plan.type_name}": plan.size}, volume_size=plan.size)
    volume_id = new_id()
    s.add(row := models.Volume(
        id=volume_id, project_id=caller.project_id, user_id=caller.user_id, name=req.name,
        description=req.description, size=plan.size, status="creating", attach_status="detached",
        availability_zone=plan.availability_zone, volume_type_id=plan.type_id, host=None,
        bootable=plan.bootable, multiattach=plan.multiattach, encrypted=False, replication_status="disabled",
        group_id=req.group_id, snapshot_id=req.snapshot_id, source_volid=req.source_volid, image_id=req.image_id,
        backup_id=req.backup_id, use_quota=True, created_at=created(), updated_at=None))
    s.flush()
    for key, value in req.metadata.items():
        s.add(models.VolumeMetadata(volume_id=volume_id, key=key, value=value))
    s.flush()
    return VolumeBundle(volume=row, metadata=dict(sorted(req.metadata.items())), volume_type=plan.type_name)


def remove(s: Session, volume_id: str) -> None:
    row = s.get(models.Volume, volume_id)
    if row is not None:
        destroy(s, row)


# --- 4. the scheduler -----------------------------------------------------------------------------


class Schedule(taskflow.AsyncNoRevert[CreateContext]):
    async def execute(self, ctx: CreateContext) -> None:
        assert ctx.plan is not None and ctx.volume_id is not None
        if ctx.state.scheduler is None:
            return  # the API alone (unit tests): the volume stays creating
        plan = ctx.plan
        await ctx.state.scheduler.create_volume(RequestSpec(
            volume_id=ctx.volume_id, size=plan.size, volume_type_id=plan.type_id, extra_specs=plan.extra_specs,
            availability_zone=plan.availability_zone, multiattach=plan.multiattach,
            same_backend_as=plan.same_backend_as, source=plan.source))


async def create(state: VolumeState, db: Database, caller: Caller, request: CreateRequest) -> str:
    """Run the flow; the new volume's id."""
    return (await create_bundle(state, db, caller, request)).volume.id


async def create_bundle(state: VolumeState, db: Database, caller: Caller, request: CreateRequest) -> VolumeBundle:
    """Run the flow; the new volume as written (``creating``), for the 202 answer."""
    ctx = CreateContext(state=state, db=db, caller=caller, request=request)
    await taskflow.run_async([OneSource(), CheckImage(), Extract(), Reserve(), Schedule()], ctx)
    assert ctx.bundle is not None
    return ctx.bundle
