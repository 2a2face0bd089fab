"""Listing images: GET /v2/images's filters, sorting and keyset pagination.

``parse_list_query`` turns the query string (its limit, marker and boolean filters already
parsed by the request layer) into a ``ListQuery``; ``list_images`` runs it for one viewer.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest
from onestack.core.api.pagination import Page
from onestack.core.api.parse import parse_int, parse_timestamp
from onestack.core.db import TIME_OPS, time_condition
from onestack.image.models import Image, ImageMember, ImageProperty, ImageTag
from onestack.image.service.images import Viewer, can_see, images_to_dicts
from onestack.image.service.schemas import MEMBER_STATUSES, VISIBILITIES

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at", "updated_at")
IN_FILTERS = ("name", "id", "status", "container_format", "disk_format")
INT_FILTERS = ("size", "virtual_size", "min_ram", "min_disk")
EXACT_FILTERS = ("owner", "checksum", "os_hash_value", "os_hash_algo")

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


def _int_param(name: str, value: str) -> int:
    try:
        return parse_int(value)
    except ValueError:
        raise BadRequest(f"Unable to filter on '{name}' with a non-numeric value {value!r}.") from None


def _time_condition(column: Any, name: str, value: str) -> Any:
    op, text = _split_op(value)
    if op not in TIME_OPS:
        raise BadRequest(f"Unable to filter by unknown operator '{op}' on '{name}'.")
    try:
        when = parse_timestamp(text)
    except ValueError:
        raise BadRequest(f"Bad \"{name}\" query filter format. Use ISO 8601 DateTime notation.") from None
    return time_condition(column, op, when)


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


BOOL_FILTERS = ("protected", "os_hidden")


def parse_list_query(params: list[tuple[str, str]], page: Page, flags: dict[str, bool]) -> ListQuery:
    """Turn GET /v2/images query parameters into a ListQuery (400 on anything malformed).

    ``page`` and the boolean ``flags`` (BOOL_FILTERS) come parsed by the request layer.
    """
    q = ListQuery(sort=_sorting(params), marker=page.marker)
    if page.limit is not None:
        q.limit = page.limit
    for name, flag in flags.items():
        q.conditions.append(getattr(Image, name).is_(flag))
    q.hidden_given = "os_hidden" in flags
    for name, value in params:
        if name == "member_status":
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
        elif name in (*IN_FILTERS, *INT_FILTERS, *EXACT_FILTERS, "created_at", "updated_at"):
            q.conditions.append(_filter_condition(name, value))
        elif name not in (*PAGING, *BOOL_FILTERS):
            q.properties[name] = value
    return q


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
