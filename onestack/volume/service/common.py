"""What every block-storage collection shares below the API: the list query (filters, sort keys,
marker pages, offset, counts), id generation, the clock, and admin-or-own visibility.

A page after a marker is a keyset page: the rows strictly after the marker row in the sort
order (every sort ends with ``id``, so the order is total on any database). Nullable string
columns sort as empty strings so PostgreSQL, MariaDB and SQLite agree on where NULLs go.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from onestack.volume.errors import NotFound

T = TypeVar("T")


def new_id() -> str:
    return str(uuid.uuid4())


def now() -> datetime:
    """Naive UTC, as the rows keep it."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def created() -> datetime:
    """A creation stamp: naive UTC keeping microseconds, so rows made within one second still list
    in creation order (lists sort by created_at; Tempest's marker tests rely on that order)."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso(value: datetime | None) -> str | None:
    """Cinder's timestamps: ``2024-01-01T00:00:00.000000``."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")


@dataclass(frozen=True)
class Caller:
    """Who asks, as the service layer needs it (the API builds it from the token)."""

    project_id: str
    user_id: str
    is_admin: bool


@dataclass(frozen=True)
class ListQuery:
    """One list request, parsed and checked by the API (``api/common.py: list_query``)."""

    # Exact matches by attribute name (the API's names, mapped to columns by the service).
    filters: Mapping[str, Any] = field(default_factory=dict)
    # ``name~=vol`` (3.34): the attribute contains the text.
    like: Mapping[str, str] = field(default_factory=dict)
    sort: Sequence[tuple[str, str]] = (("created_at", "desc"),)
    limit: int | None = None
    marker: str | None = None
    offset: int | None = None
    # Admins with all_tenants=1 see every project's (or project_id's) rows.
    all_projects: bool = False
    project_id: str | None = None
    with_count: bool = False


@dataclass
class Listing:
    rows: list[Any]
    count: int | None = None


def _sortable(column: Any) -> ColumnElement[Any]:
    nullable = getattr(getattr(column, "property", None), "columns", [None])[0]
    if nullable is not None and nullable.nullable and nullable.type.python_type is str:
        return func.coalesce(column, "")
    return column  # type: ignore[no-any-return]


def list_rows(s: Session, stmt: Select[Any], model: Any, lq: ListQuery,
              columns: Mapping[str, InstrumentedAttribute[Any]]) -> Listing:
    """Filter ``stmt`` (already restricted to what the caller may see) by ``lq`` and page it.

    ``columns``: the attribute names the API may filter and sort by, mapped to columns.
    A marker that names no visible row is a 404, as Cinder answers.
    """
    for name, value in lq.filters.items():
        column = columns[name]
        stmt = stmt.where(column.in_(value) if isinstance(value, (list, tuple, set)) else column == value)
    for name, text in lq.like.items():
        stmt = stmt.where(columns[name].contains(text, autoescape=True))
    count = None
    if lq.with_count:
        count = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    keys: list[tuple[ColumnElement[Any], str]] = [(_sortable(columns[k]), d) for k, d in lq.sort if k != "id"]
    id_dir = next((d for k, d in lq.sort if k == "id"), lq.sort[-1][1] if lq.sort else "desc")
    keys.append((model.id, id_dir))
    if lq.marker is not None:
        marker_row = s.scalar(stmt.where(model.id == lq.marker))
        if marker_row is None:
            raise NotFound(f"Marker {lq.marker} could not be found.")
        values = s.execute(select(*[expr for expr, _ in keys]).where(model.id == lq.marker)).one()
        stmt = stmt.where(_after(keys, list(values)))
    stmt = stmt.order_by(*[expr.asc() if d == "asc" else expr.desc() for expr, d in keys])
    if lq.offset:
        stmt = stmt.offset(lq.offset)
    if lq.limit is not None:
        stmt = stmt.limit(lq.limit)
    return Listing(list(s.scalars(stmt)), count)


def _after(keys: list[tuple[ColumnElement[Any], str]], values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order ``keys``: (k1 > v1) or (k1 = v1 and k2 > v2) ..."""
    clauses = []
    for i, (expr, direction) in enumerate(keys):
        equal = [keys[j][0] == values[j] for j in range(i)]
        beyond = expr > values[i] if direction == "asc" else expr < values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def visible(stmt: Select[Any], model: Any, caller: Caller, lq: ListQuery | None = None) -> Select[Any]:
    """Own project's rows; an admin's ``all_tenants`` (optionally narrowed to ``project_id``) sees all."""
    if lq is not None and caller.is_admin and lq.all_projects:
        return stmt if lq.project_id is None else stmt.where(model.project_id == lq.project_id)
    if lq is not None and caller.is_admin and lq.project_id is not None:
        return stmt.where(model.project_id == lq.project_id)
    return stmt.where(model.project_id == caller.project_id)


def get_visible(s: Session, model: type[T], object_id: str, caller: Caller, not_found: type[Exception]) -> T:
    """The row if it exists and the caller may see it (own project or admin); the 404 otherwise."""
    row = s.get(model, object_id)
    if row is None or not (caller.is_admin or getattr(row, "project_id", None) == caller.project_id):
        raise not_found(object_id)
    return row


def as_dict(rows: Sequence[Any]) -> dict[str, str]:
    """Key/value rows (metadata, extra specs) as a dict."""
    return {r.key: r.value for r in rows}


def update_type_row(s: Session, model: Any, row: Any, changes: Mapping[str, Any], exists: type[Exception]) -> None:
    """A volume or group type's update (Cinder's for both): a new name unless another type has
    it (``exists``), the description, the visibility when given."""
    name = changes.get("name")
    if name is not None and name != row.name:
        if s.scalar(select(model.id).where(model.name == name)) is not None:
            raise exists(name)
        row.name = name
    if "description" in changes:
        row.description = changes["description"]
    if changes.get("is_public") is not None:
        row.is_public = bool(changes["is_public"])
    row.updated_at = now()
    s.flush()
