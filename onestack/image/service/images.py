"""Image records: rendering, create, list, show, update, delete (the metadata side of Glance v2).

Plain synchronous functions taking a SQLAlchemy ``Session`` first; the API layer runs them
through ``ImageService.db``. The data path (upload, import, stores) lives in service/data.py
and renders images with ``image_to_dict`` from here.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, not_, or_, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge
from onestack.core.ids import isotime, parse_isotime, utcnow
from onestack.image.models import Image, ImageMember, ImageProperty, ImageTag
from onestack.image.service.patch import PatchOp, apply_core, apply_custom, apply_tags
from onestack.image.service.schemas import (
    MEMBER_STATUSES,
    UUID_RE,
    VISIBILITIES,
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
    """Render one image as Glance v2 shows it (loads its custom properties and tags)."""
    props = {p.name: p.value for p in s.scalars(select(ImageProperty).where(ImageProperty.image_id == image.id))}
    tags = list(s.scalars(select(ImageTag.value).where(ImageTag.image_id == image.id)))
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


def can_see(s: Session, image: Image, viewer: Viewer) -> bool:
    """Glance's rule for showing one image: members see a shared image whatever their status."""
    if image.deleted_at is not None:
        return False
    if viewer.is_admin or image.visibility in ("public", "community"):
        return True
    if viewer.project_id and image.owner == viewer.project_id:
        return True
    return image.visibility == "shared" and _is_member(s, image.id, viewer.project_id) is not None


def get_image(s: Session, image_id: str, viewer: Viewer) -> Image:
    """The image if it exists and the viewer may see it; otherwise 404 (never 403)."""
    image = s.get(Image, image_id)
    if image is None or not can_see(s, image, viewer):
        raise NotFound(f"No image found with ID {image_id}")
    return image


def _visible_clause(viewer: Viewer, member_status: str) -> ColumnElement[bool]:
    live = Image.deleted_at.is_(None)
    if viewer.is_admin:
        return live
    seen: list[ColumnElement[bool]] = [Image.visibility.in_(("public", "community"))]
    if viewer.project_id:
        memberships = select(ImageMember.image_id).where(ImageMember.member == viewer.project_id)
        if member_status != "all":
            memberships = memberships.where(ImageMember.status == member_status)
        seen.append(Image.owner == viewer.project_id)
        seen.append(and_(Image.visibility == "shared", Image.id.in_(memberships)))
    return and_(live, or_(*seen))


def _visibility_filter(viewer: Viewer, visibility: str | None) -> ColumnElement[bool] | None:
    if visibility == "all":
        return None
    if visibility:
        return Image.visibility == visibility
    # Community images show up unasked only for their owner.
    if viewer.project_id:
        return or_(Image.visibility != "community", Image.owner == viewer.project_id)
    return Image.visibility != "community"


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
            if not isinstance(value, str) or not UUID_RE.match(value):
                raise BadRequest(f"Invalid value for 'id': {value!r} is not a UUID.")
            core["id"] = str(uuid.UUID(value))
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


def _check_counts(limits: Limits, props: dict[str, Any], tags: list[str]) -> None:
    if limits.properties >= 0 and len(props) > limits.properties:
        raise PayloadTooLarge(f"Attempted: {len(props)}, Maximum: {limits.properties} image properties.")
    if limits.tags >= 0 and len(tags) > limits.tags:
        raise PayloadTooLarge(f"Attempted: {len(tags)}, Maximum: {limits.tags} image tags.")


# --- list ---------------------------------------------------------------------------------

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at", "updated_at")
IN_FILTERS = ("name", "id", "status", "container_format", "disk_format")
INT_FILTERS = ("size", "virtual_size", "min_ram", "min_disk")
EXACT_FILTERS = ("owner", "checksum", "os_hash_value", "os_hash_algo")
TIME_OPS = ("gt", "gte", "lt", "lte", "eq", "neq")
PAGING = ("limit", "marker", "sort", "sort_key", "sort_dir", "member_status", "visibility", "tag")


@dataclass
class ListQuery:
    conditions: list[ColumnElement[bool]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    member_status: str = "accepted"
    visibility: str | None = None
    hidden_given: bool = False
    sort: list[tuple[str, str]] = field(default_factory=list)
    limit: int = 25
    marker: str | None = None


def _split_op(value: str) -> tuple[str, str]:
    op, sep, rest = value.partition(":")
    if sep and op in (*TIME_OPS, "in"):
        return op, rest
    return "eq", value


def _bool_param(name: str, value: str) -> bool:
    low = value.strip().lower()
    if low in ("true", "1", "yes", "on"):
        return True
    if low in ("false", "0", "no", "off"):
        return False
    raise BadRequest(f"Invalid value {value!r} for '{name}': expected true or false.")


def _int_param(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Unable to filter on '{name}' with a non-numeric value {value!r}.") from None


def _time_condition(column: Any, name: str, value: str) -> Any:
    op, text = _split_op(value)
    if op not in TIME_OPS:
        raise BadRequest(f"Unable to filter by unknown operator '{op}' on '{name}'.")
    try:
        when = parse_isotime(text)
    except ValueError:
        raise BadRequest(f"Bad \"{name}\" query filter format. Use ISO 8601 DateTime notation.") from None
    # Times are shown to the second; a second-precision filter covers that whole second.
    end = when + (timedelta(seconds=1) if when.microsecond == 0 else timedelta(0))
    exact = when.microsecond != 0
    if op == "gt":
        return column > when if exact else column >= end
    if op == "gte":
        return column >= when
    if op == "lt":
        return column < when
    if op == "lte":
        return column <= when if exact else column < end
    inside = (column == when) if exact else and_(column >= when, column < end)
    return inside if op == "eq" else not_(inside)


def _in_values(text: str) -> list[str]:
    return [v for row in csv.reader([text], skipinitialspace=True) for v in row]


def _filter_condition(name: str, value: str) -> Any:
    column = getattr(Image, name)
    if name in ("created_at", "updated_at"):
        return _time_condition(column, name, value)
    if name in INT_FILTERS:
        return column == _int_param(name, value)
    if name in IN_FILTERS:
        op, text = _split_op(value)
        if op == "in":
            return column.in_(_in_values(text))
        if op != "eq":
            raise BadRequest(f"Unable to filter by unknown operator '{op}'.")
        return column == text
    return column == value


def _sorting(params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    sorts = [v for k, v in params if k == "sort"]
    keys = [v for k, v in params if k == "sort_key"]
    dirs = [v for k, v in params if k == "sort_dir"]
    if sorts and (keys or dirs):
        raise BadRequest("The 'sort' parameter cannot be combined with 'sort_key' or 'sort_dir'.")
    pairs: list[tuple[str, str]] = []
    if sorts:
        for item in ",".join(sorts).split(","):
            key, _, direction = item.strip().partition(":")
            pairs.append((key.strip(), direction.strip() or "desc"))
    else:
        if len(dirs) > 1 and len(dirs) != len(keys):
            raise BadRequest("The number of sort_dir values must match the number of sort_key values.")
        if dirs and not keys:
            keys = ["created_at"]
        pairs = [(k, dirs[i] if len(dirs) > 1 else (dirs[0] if dirs else "desc")) for i, k in enumerate(keys)]
    for key, direction in pairs:
        if key not in SORT_KEYS:
            raise BadRequest(f"Invalid sort key: {key}. It should be one of: {', '.join(SORT_KEYS)}.")
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid sort direction: {direction}. It should be asc or desc.")
    default_dir = pairs[0][1] if pairs and len({d for _, d in pairs}) == 1 else "desc"
    for key in ("created_at", "id"):
        if key not in [k for k, _ in pairs]:
            pairs.append((key, default_dir))
    return pairs


def parse_list_query(params: list[tuple[str, str]], max_limit: int = 1000) -> ListQuery:
    """Turn GET /v2/images query parameters into a ListQuery (400 on anything malformed)."""
    q = ListQuery(sort=_sorting(params))
    for name, value in params:
        if name == "limit":
            limit = _int_param("limit", value)
            if limit < 0:
                raise BadRequest("limit param must be positive")
            q.limit = min(limit, max_limit)
        elif name == "marker":
            q.marker = value
        elif name == "member_status":
            if value not in (*MEMBER_STATUSES, "all"):
                raise BadRequest(f"Invalid member_status {value!r}: use pending, accepted, rejected or all.")
            q.member_status = value
        elif name == "visibility":
            if value not in (*VISIBILITIES, "all"):
                raise BadRequest(f"Invalid visibility {value!r}: use public, private, shared, community or all.")
            q.visibility = value
        elif name == "tag":
            q.tags.append(value)
        elif name in ("size_min", "size_max"):
            size = _int_param(name, value)
            q.conditions.append(Image.size >= size if name == "size_min" else Image.size <= size)
        elif name in ("protected", "os_hidden"):
            q.hidden_given = q.hidden_given or name == "os_hidden"
            q.conditions.append(getattr(Image, name).is_(_bool_param(name, value)))
        elif name in (*IN_FILTERS, *INT_FILTERS, *EXACT_FILTERS, "created_at", "updated_at"):
            q.conditions.append(_filter_condition(name, value))
        elif name not in PAGING:
            q.properties[name] = value
    return q


def _sort_column(key: str) -> Any:
    column = getattr(Image, key)
    if key in ("size",):
        return func.coalesce(column, -1)
    if key in ("name", "container_format", "disk_format"):
        return func.coalesce(column, "")
    return column


def _after_marker(marker: Image, sort: list[tuple[str, str]]) -> ColumnElement[bool]:
    """Rows that come after ``marker`` in the given order (keyset pagination)."""
    values = []
    for key, _ in sort:
        raw = getattr(marker, key)
        if raw is None:
            raw = -1 if key == "size" else ""
        values.append(raw)
    alternatives = []
    for i, (key, direction) in enumerate(sort):
        equal_before = [_sort_column(k) == values[j] for j, (k, _) in enumerate(sort[:i])]
        col = _sort_column(key)
        beyond = col > values[i] if direction == "asc" else col < values[i]
        alternatives.append(and_(*equal_before, beyond))
    return or_(*alternatives)


def list_images(s: Session, viewer: Viewer, q: ListQuery) -> tuple[list[dict[str, Any]], str | None]:
    """One page of images the viewer may see, and the marker of the next page (or None)."""
    stmt = select(Image).where(_visible_clause(viewer, q.member_status), *q.conditions)
    vis = _visibility_filter(viewer, q.visibility)
    if vis is not None:
        stmt = stmt.where(vis)
    if not q.hidden_given:
        stmt = stmt.where(Image.os_hidden.is_(False))
    for tag in q.tags:
        stmt = stmt.where(Image.id.in_(select(ImageTag.image_id).where(ImageTag.value == tag)))
    for name, value in q.properties.items():
        stmt = stmt.where(Image.id.in_(select(ImageProperty.image_id).where(
            ImageProperty.name == name, ImageProperty.value == value)))
    if q.marker is not None:
        marker = s.get(Image, q.marker)
        if marker is None or not can_see(s, marker, viewer):
            raise BadRequest(f"Invalid marker. Image {q.marker} could not be found.")
        stmt = stmt.where(_after_marker(marker, q.sort))
    order = [_sort_column(k).asc() if d == "asc" else _sort_column(k).desc() for k, d in q.sort]
    images = list(s.scalars(stmt.order_by(*order).limit(q.limit)))
    next_marker = images[-1].id if images and len(images) == q.limit else None
    return images_to_dicts(s, images), next_marker


# --- update (JSON patch; parsing and single operations in service/patch.py) --------------

def update_image(s: Session, image_id: str, viewer: Viewer, ops: list[PatchOp], limits: Limits,
                 check_visibility: Callable[[str], None]) -> dict[str, Any]:
    """Apply the patch atomically: every operation is checked before anything is stored."""
    image = get_image(s, image_id, viewer)
    props = {p.name: p.value for p in s.scalars(select(ImageProperty).where(ImageProperty.image_id == image_id))}
    old_props = dict(props)
    tags = list(s.scalars(select(ImageTag.value).where(ImageTag.image_id == image_id)))
    old_tags = list(tags)
    for op in ops:
        name = op.path[0]
        if name == "locations":
            raise Forbidden("Image locations are not exposed by this cloud and cannot be changed.")
        check_settable(name)
        if name == "tags":
            tags = apply_tags(tags, op)
        elif name in WRITABLE_CORE:
            if name == "visibility" and op.op != "remove" and op.value != image.visibility:
                check_visibility(str(op.value))
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
