"""Image records: rendering, visibility, create, show, update, delete (the metadata side of Glance v2).

Plain synchronous functions taking a SQLAlchemy ``Session`` first; the API layer runs them
through ``req.read``/``req.write``, ``image/local.py`` through ``ImageService.db``. Listing
(filters, sorting, pagination) is service/listing.py; the data path (upload, import, stores)
is service/data.py, which renders images with ``image_to_dict`` from here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, delete, func, null, select, union_all
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge
from onestack.core.api.parse import parse_uuid
from onestack.core.ids import isotime, utcnow
from onestack.image.models import Image, ImageMember, ImageProperty, ImageTag
from onestack.image.service import quotas
from onestack.image.service.patch import PatchOp, apply_core, apply_custom, apply_tags
from onestack.image.service.schemas import (
    WRITABLE_CORE,
    check_settable,
    clean_core,
    clean_property,
    clean_tag,
    clean_tags,
)

# Keys of Image.extra that are shown to users as image properties; everything else in
# ``extra`` is private bookkeeping (staging paths, failure reasons) of the data path.
SHOWN_EXTRA_PREFIXES = ("os_glance_",)
SHOWN_EXTRA_KEYS = ("stores",)


def _shown_extra(extra: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (extra or {}).items():
        if key.startswith(SHOWN_EXTRA_PREFIXES) or key in SHOWN_EXTRA_KEYS:
            out[key] = value
    return out


def render_image(image: Image, properties: dict[str, str], tags: list[str]) -> dict[str, Any]:
    """The Glance v2 image document for already-loaded properties and tags."""
    body: dict[str, Any] = dict(properties)
    body.update(_shown_extra(image.extra))
    body.update({
        "id": image.id,
        "name": image.name,
        "status": image.status,
        "visibility": image.visibility,
        "protected": bool(image.protected),
        "os_hidden": bool(image.os_hidden),
        "checksum": image.checksum,
        "os_hash_algo": image.os_hash_algo,
        "os_hash_value": image.os_hash_value,
        "owner": image.owner,
        "size": image.size,
        "virtual_size": image.virtual_size,
        "min_ram": image.min_ram or 0,
        "min_disk": image.min_disk or 0,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
        "created_at": isotime(image.created_at, micro=False),
        "updated_at": isotime(image.updated_at, micro=False),
        "tags": sorted(tags),
        "self": f"/v2/images/{image.id}",
        "file": f"/v2/images/{image.id}/file",
        "schema": "/v2/schemas/image",
    })
    return body


def image_to_dict(s: Session, image: Image) -> dict[str, Any]:
    """Render one image as Glance v2 shows it (loads its custom properties and tags).

    One statement for both (a boot looks its image up every time): a property's value is
    never NULL, so a row with a NULL value is a tag."""
    props: dict[str, str] = {}
    tags: list[str] = []
    both: Executable = union_all(
        select(ImageProperty.name, ImageProperty.value).where(ImageProperty.image_id == image.id),
        select(ImageTag.value, null()).where(ImageTag.image_id == image.id))
    for name, value in s.execute(both):
        if value is None:
            tags.append(name)
        else:
            props[name] = value
    return render_image(image, props, tags)


def images_to_dicts(s: Session, images: list[Image]) -> list[dict[str, Any]]:
    """Render many images with two queries in total rather than two per image."""
    ids = [i.id for i in images]
    props: dict[str, dict[str, str]] = {i: {} for i in ids}
    tags: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        for p in s.scalars(select(ImageProperty).where(ImageProperty.image_id.in_(ids))):
            props[p.image_id][p.name] = p.value
        for t in s.scalars(select(ImageTag).where(ImageTag.image_id.in_(ids))):
            tags[t.image_id].append(t.value)
    return [render_image(i, props[i.id], tags[i.id]) for i in images]


# --- who may see what ---------------------------------------------------------------------

@dataclass(frozen=True)
class Viewer:
    """The caller as image visibility sees it."""

    project_id: str | None
    is_admin: bool


def _is_member(s: Session, image_id: str, project_id: str | None) -> ImageMember | None:
    if not project_id:
        return None
    return s.get(ImageMember, (image_id, project_id))


def can_see(s: Session, image: Image, viewer: Viewer, member: bool | None = None) -> bool:
    """Glance's rule for showing one image: members see a shared image whatever their status.
    ``member``: whether the viewer's project is a member, when the caller has read it already."""
    if image.deleted_at is not None:
        return False
    if viewer.is_admin or image.visibility in ("public", "community"):
        return True
    if viewer.project_id and image.owner == viewer.project_id:
        return True
    if image.visibility != "shared":
        return False
    return member if member is not None else _is_member(s, image.id, viewer.project_id) is not None


def get_image(s: Session, image_id: str, viewer: Viewer) -> Image:
    """The image if it exists and the viewer may see it; otherwise 404 (never 403)."""
    image = s.get(Image, image_id)
    if image is None or not can_see(s, image, viewer):
        raise NotFound(f"No image found with ID {image_id}")
    return image


def visible_image(s: Session, image_id: str, viewer: Viewer) -> tuple[Image, str | None]:
    """The visible image (404 otherwise) and the viewer's project if it is one of its members."""
    if not viewer.project_id:
        return get_image(s, image_id, viewer), None
    # The image and the viewer's membership in one statement (a boot looks its image up every time).
    found = s.execute(select(Image, ImageMember.member).where(Image.id == image_id).outerjoin(
        ImageMember, (ImageMember.image_id == Image.id) & (ImageMember.member == viewer.project_id))).first()
    image, member = (found[0], found[1]) if found is not None else (None, None)
    if image is None or not can_see(s, image, viewer, member is not None):
        raise NotFound(f"No image found with ID {image_id}")
    return image, member


def image_target(image: Image | dict[str, Any], member_id: str | None = None) -> dict[str, Any]:
    """What an image policy rule may look at: its owner (as project_id), visibility, status, member."""
    get = image.get if isinstance(image, dict) else (lambda k: getattr(image, k, None))
    owner, image_id = get("owner"), get("id")
    return {"project_id": owner, "owner": owner, "visibility": get("visibility"), "member_id": member_id,
            "id": image_id, "image_id": image_id, "status": get("status")}


def visible_target(s: Session, image_id: str, viewer: Viewer) -> dict[str, Any]:
    """The policy target of an image the viewer may see (404 otherwise)."""
    return image_target(*visible_image(s, image_id, viewer))


def show_image(s: Session, image_id: str, viewer: Viewer) -> tuple[dict[str, Any], dict[str, Any]]:
    """GET /v2/images/{id}: the image's policy target and its document (404 unless visible)."""
    image, member = visible_image(s, image_id, viewer)
    return image_target(image, member), image_to_dict(s, image)


# --- create -------------------------------------------------------------------------------

def split_create_body(body: Any, viewer: Viewer) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Core values, custom properties and tags of a create request (400/403 on bad input)."""
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object describing the image.")
    core: dict[str, Any] = {}
    props: dict[str, str] = {}
    tags: list[str] = []
    for name, value in body.items():
        if name == "id":
            try:
                core["id"] = parse_uuid(value)
            except ValueError:
                raise BadRequest(f"Invalid value for 'id': {value!r} is not a UUID.") from None
            continue
        if name == "locations":
            if value:
                raise Forbidden("Image locations are not exposed by this cloud and cannot be set.")
            continue
        check_settable(name)
        if name == "tags":
            tags = clean_tags(value)
        elif name in WRITABLE_CORE:
            core[name] = clean_core(name, value)
        else:
            clean = clean_property(name, value)
            if clean is not None:
                props[name] = clean
    return core, props, tags


def create_image(s: Session, core: dict[str, Any], props: dict[str, str], tags: list[str],
                 limits: Limits) -> dict[str, Any]:
    """Insert a queued image owned by ``core['owner']``; 409 on a taken id, 413 over quota."""
    owner = core.get("owner")
    if owner and limits.image_count >= 0:
        count = s.scalar(select(func.count()).select_from(Image).where(
            Image.owner == owner, Image.deleted_at.is_(None))) or 0
        if count >= limits.image_count:
            raise PayloadTooLarge(f"Image count limit exceeded for project {owner}: "
                                  f"{count} of {limits.image_count} images in use.")
    _check_counts(limits, props, tags)
    image_id = core.pop("id", None) or str(uuid.uuid4())
    if s.get(Image, image_id) is not None:
        raise Conflict(f"An image with identifier {image_id} already exists")
    now = utcnow()
    image = Image(id=image_id, status="queued", created_at=now, updated_at=now,
                  visibility=core.pop("visibility", "shared"), name=core.pop("name", None),
                  protected=core.pop("protected", False), os_hidden=core.pop("os_hidden", False),
                  min_disk=core.pop("min_disk", 0), min_ram=core.pop("min_ram", 0),
                  locations=[], extra={}, **core)
    s.add(image)
    s.flush()
    s.add_all(ImageProperty(image_id=image_id, name=k, value=v) for k, v in props.items())
    s.add_all(ImageTag(image_id=image_id, value=t) for t in tags)
    s.flush()
    return render_image(image, props, tags)


@dataclass(frozen=True)
class Limits:
    """Per-image and per-project limits (-1: unlimited)."""

    image_count: int = -1
    properties: int = 128
    tags: int = 128
    members: int = 128


def limits_of(image_service: Any) -> Limits:
    """The configured limits."""
    conf = image_service.config.image
    return Limits(image_count=int(getattr(conf, "image_count_total", -1)),
                  properties=int(getattr(conf, "image_property_quota", 128)),
                  tags=int(getattr(conf, "image_tag_quota", 128)),
                  members=int(getattr(conf, "image_member_quota", 128)))


def limits_for(s: Session, image_service: Any, project_id: str | None) -> Limits:
    """The limits for a new image of ``project_id``: its image_count_total as Keystone (or config) sets it."""
    base = limits_of(image_service)
    if project_id is None:
        return base
    count = quotas.limit(s, image_service, project_id, "image_count_total")
    return Limits(image_count=count, properties=base.properties, tags=base.tags, members=base.members)


def _check_counts(limits: Limits, props: dict[str, Any], tags: list[str]) -> None:
    if limits.properties >= 0 and len(props) > limits.properties:
        raise PayloadTooLarge(f"Attempted: {len(props)}, Maximum: {limits.properties} image properties.")
    if limits.tags >= 0 and len(tags) > limits.tags:
        raise PayloadTooLarge(f"Attempted: {len(tags)}, Maximum: {limits.tags} image tags.")


# --- update (JSON patch; parsing and single operations in service/patch.py) --------------

def new_visibilities(current: str | None, ops: list[PatchOp]) -> list[str]:
    """The visibilities a patch would give an image now ``current`` (each needs its own policy check first)."""
    return [str(op.value) for op in ops if op.path[0] == "visibility" and op.op != "remove" and op.value != current]


def update_image(s: Session, image_id: str, viewer: Viewer, ops: list[PatchOp], limits: Limits) -> dict[str, Any]:
    """Apply the patch atomically: every operation is checked before anything is stored.

    Publicizing or communitizing is checked by policy beforehand (``new_visibilities``).
    """
    image = get_image(s, image_id, viewer)
    props = {p.name: p.value for p in s.scalars(select(ImageProperty).where(ImageProperty.image_id == image_id))}
    old_props = dict(props)
    tags = list(s.scalars(select(ImageTag.value).where(ImageTag.image_id == image_id)))
    old_tags = list(tags)
    for op in ops:
        name = op.path[0]
        if name == "locations":
            # Glance with show_multiple_locations off (its default; the only mode here): 403. Locations
            # are added by POST /v2/images/{id}/locations (service/locations.py) instead.
            verb = {"add": "add", "remove": "remove"}.get(op.op, "update")
            raise Forbidden(f"It's not allowed to {verb} locations if locations are invisible.")
        check_settable(name)
        if name == "tags":
            tags = apply_tags(tags, op)
        elif name in WRITABLE_CORE:
            apply_core(image, op, name, viewer.is_admin)
        else:
            apply_custom(props, op, name)
    _check_counts(limits, props, tags)
    _store_properties(s, image_id, old_props, props)
    if tags != old_tags:
        s.execute(delete(ImageTag).where(ImageTag.image_id == image_id))
        s.add_all(ImageTag(image_id=image_id, value=t) for t in tags)
    image.updated_at = utcnow()
    s.flush()
    return render_image(image, props, tags)


def _store_properties(s: Session, image_id: str, old: dict[str, str], new: dict[str, str]) -> None:
    gone = [k for k in old if k not in new]
    if gone:
        s.execute(delete(ImageProperty).where(ImageProperty.image_id == image_id, ImageProperty.name.in_(gone)))
    for name, value in new.items():
        if name not in old:
            s.add(ImageProperty(image_id=image_id, name=name, value=value))
        elif old[name] != value:
            row = s.get(ImageProperty, (image_id, name))
            if row is not None:
                row.value = value


# --- delete, deactivate, tags -------------------------------------------------------------

def check_deletable(image: Image) -> None:
    if image.protected:
        raise Forbidden(f"Image {image.id} is protected and cannot be deleted.")


def deletable_image(s: Session, image_id: str, viewer: Viewer) -> Image:
    """The image DELETE is about to remove the data of (403 when it is protected)."""
    image = get_image(s, image_id, viewer)
    check_deletable(image)
    return image


def mark_deleted(s: Session, image_id: str, viewer: Viewer, status: str = "deleted") -> None:
    """Hide the image for good (the row stays so that its id is never reused) and drop its metadata.

    With ``status="pending_delete"`` (delayed delete) the image is hidden just the same, but its
    locations stay: the scrubber (service/scrubber.py) removes that data later.
    """
    image = get_image(s, image_id, viewer)
    check_deletable(image)
    now = utcnow()
    image.status = status
    image.deleted_at = now
    image.updated_at = now
    if status != "pending_delete":
        image.locations = []
    for model in (ImageProperty, ImageTag, ImageMember):
        s.execute(delete(model).where(model.image_id == image_id))


def change_activation(s: Session, image_id: str, viewer: Viewer, action: str) -> None:
    """deactivate: active → deactivated; reactivate: deactivated → active (repeats are no-ops)."""
    image = get_image(s, image_id, viewer)
    target, source = ("deactivated", "active") if action == "deactivate" else ("active", "deactivated")
    if image.status == target:
        return
    if image.status != source:
        raise Forbidden(f"Not allowed to {action} image in status '{image.status}'.")
    image.status = target
    image.updated_at = utcnow()


def add_tag(s: Session, image_id: str, viewer: Viewer, tag: str, limits: Limits) -> None:
    clean_tag(tag)
    get_image(s, image_id, viewer)
    if s.get(ImageTag, (image_id, tag)) is not None:
        return
    count = s.scalar(select(func.count()).select_from(ImageTag).where(ImageTag.image_id == image_id)) or 0
    if limits.tags >= 0 and count + 1 > limits.tags:
        raise PayloadTooLarge(f"Attempted: {count + 1}, Maximum: {limits.tags} image tags.")
    s.add(ImageTag(image_id=image_id, value=tag))
    _touch(s, image_id)


def remove_tag(s: Session, image_id: str, viewer: Viewer, tag: str) -> None:
    get_image(s, image_id, viewer)
    row = s.get(ImageTag, (image_id, tag))
    if row is None:
        raise NotFound(f"Tag {tag} not found on image {image_id}")
    s.delete(row)
    _touch(s, image_id)


def _touch(s: Session, image_id: str) -> None:
    image = s.get(Image, image_id)
    if image is not None:
        image.updated_at = utcnow()
