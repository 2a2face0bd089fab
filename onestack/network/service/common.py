"""What every network resource's service shares: time, ids, revisions, the list query
(filters on every attribute, tags, sorting, keyset pagination) and RBAC visibility.

A resource describes itself once as a ``Listing``: which API attributes map to which columns
(so ``?name=x&admin_state_up=true&sort_key=name`` become SQL, never a scan in Python), its tag
type and its id column. Filters on attributes that are computed, not stored, are answered by
the resource's own service.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    Executable,
    Result,
    Select,
    Table,
    and_,
    bindparam,
    exists,
    false,
    or_,
    select,
    true,
)
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.errors import RevisionNumberConstraintFailed


@dataclass(frozen=True)
class Caller:
    """Who asks, as the service layer needs it: visibility and some views depend on it."""

    project_id: str | None
    is_admin: bool


def by_id_as(s: Session, caller: Caller, admin: Executable, visible: Executable,
             object_id: str) -> Result[*tuple[Any, ...]]:
    """Run a prebuilt by-id statement as ``caller``: ``admin`` (bound ``id``) for an admin, else
    ``visible`` (bound ``id`` and ``project``: the caller's project may see the row)."""
    if caller.is_admin:
        return s.execute(admin, {"id": object_id})
    return s.execute(visible, {"id": object_id, "project": caller.project_id})


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def new_id() -> str:
    return str(uuid.uuid4())


def iso(when: datetime | None) -> str | None:
    """Neutron's timestamps: ``2026-12-06T13:42:03Z``."""
    return None if when is None else when.strftime("%Y-%m-%dT%H:%M:%SZ")


def loads(text: str | None, default: Any) -> Any:
    return default if not text else json.loads(text)


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def standard_view(row: Any) -> dict[str, Any]:
    """The standard attributes of ``row`` (tags come from ``tags_of``)."""
    return {"description": row.description, "revision_number": row.revision_number,
            "created_at": iso(row.created_at), "updated_at": iso(row.updated_at)}


def touch(row: Any) -> None:
    """A change to ``row`` (or to what hangs off it): a new revision and updated_at."""
    row.revision_number = (row.revision_number or 0) + 1
    row.updated_at = now()


def stamp_new(row: Any) -> None:
    row.created_at = row.updated_at = now()
    row.revision_number = 0


def check_revision(row: Any, if_match: int | None) -> None:
    """``If-Match: revision_number=N``: 412 unless the row is at revision N."""
    if if_match is not None and row.revision_number != if_match:
        raise RevisionNumberConstraintFailed(if_match, row.revision_number)


# --- tags ----------------------------------------------------------------------------------------


def tags_of(s: Session, resource_type: str, ids: Sequence[str]) -> dict[str, list[str]]:
    """The tags of each id (sorted), one query for a whole page."""
    found: dict[str, list[str]] = {i: [] for i in ids}
    if not ids:
        return found
    t = models.Tag
    for rid, tag in s.execute(select(t.resource_id, t.tag).where(t.resource_type == resource_type,
                                                                   t.resource_id.in_(list(ids)))):
        found[rid].append(tag)
    for tags in found.values():
        tags.sort()
    return found


# Built once (every port delete runs it); a plain DELETE on the table: no ORM bulk delete's
# autoflush and search of the session for the rows.
_TAGS = cast(Table, models.Tag.__table__)
_DELETE_TAGS = sql_delete(_TAGS).where(_TAGS.c.resource_type == bindparam("type"), _TAGS.c.resource_id == bindparam("id"))


def delete_tags(s: Session, resource_type: str, resource_id: str) -> None:
    s.execute(_DELETE_TAGS, {"type": resource_type, "id": resource_id})


# --- RBAC ------------------------------------------------------------------------------------------


_RBAC = cast(Table, models.RbacPolicy.__table__)


def rbac_granted(object_type: str, id_column: Any, action: str, project_id: str | BindParameter[Any] | None) -> Any:
    """A condition: an RBAC policy grants ``action`` on the row to ``project_id`` (a value, or a
    bound parameter in a statement built once) or to everyone."""
    # The table's columns, not the mapped class's: the same SQL, and usable in a Core statement
    # (an ORM attribute anywhere in a statement makes the session run it through the ORM).
    r = _RBAC.c
    targets = ["*"] if project_id is None else ["*", project_id]
    return exists().where(r.object_type == object_type, r.object_id == id_column, r.action == action,
                          r.target_project.in_(targets))


def shared_with_all(s: Session, object_type: str, object_id: str) -> bool:
    r = models.RbacPolicy
    return s.scalar(select(r.id).where(r.object_type == object_type, r.object_id == object_id,
                                       r.action == "access_as_shared", r.target_project == "*").limit(1)) is not None


# --- the list query ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """How one resource's API attributes map to SQL: filter and sort columns, tag type, id column."""

    tag_type: str | None
    id_column: Any
    columns: Mapping[str, Any]  # API attribute -> column, for filters and sort keys
    # Filters answered by a condition the resource builds itself (``shared``, ``fixed_ips`` …).
    conditions: Mapping[str, Callable[[list[Any]], Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class ListQuery:
    """What a GET on a collection asked for, parsed and typed by the API layer."""

    filters: Mapping[str, list[Any]] = field(default_factory=dict)
    tags: Mapping[str, list[str]] = field(default_factory=dict)  # tags, tags-any, not-tags, not-tags-any
    sorts: Sequence[tuple[str, bool]] = ()  # (attribute, ascending)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False


def _tag_condition(tag_type: str, id_column: Any, kind: str, wanted: list[str]) -> Any:
    t = models.Tag

    def has(tag: str) -> Any:
        return exists().where(t.resource_type == tag_type, t.resource_id == id_column, t.tag == tag)

    if kind == "tags":
        return and_(*[has(x) for x in wanted])
    if kind == "tags-any":
        return or_(*[has(x) for x in wanted])
    if kind == "not-tags":
        return ~and_(*[has(x) for x in wanted])
    return ~or_(*[has(x) for x in wanted])  # not-tags-any


def filtered(stmt: Select[Any], listing: Listing, q: ListQuery) -> Select[Any]:
    """``stmt`` narrowed by the query's attribute and tag filters (no order, no page)."""
    for name, values in q.filters.items():
        if name in listing.conditions:
            stmt = stmt.where(listing.conditions[name](values))
            continue
        column = listing.columns[name]
        if any(v is None for v in values):
            rest = [v for v in values if v is not None]
            stmt = stmt.where(or_(column.is_(None), column.in_(rest)) if rest else column.is_(None))
        else:
            stmt = stmt.where(column.in_(values))
    for kind, wanted in q.tags.items():
        if wanted and listing.tag_type:
            stmt = stmt.where(_tag_condition(listing.tag_type, listing.id_column, kind, wanted))
    return stmt


def paged(s: Session, stmt: Select[Any], listing: Listing, q: ListQuery, model: Any) -> list[Any]:
    """Filtered rows of ``model`` in the asked order (then by id), one keyset page after the marker."""
    stmt = filtered(stmt, listing, q)
    sorts = [(listing.columns[name], asc) for name, asc in q.sorts]
    if not any(col is listing.id_column for col, _ in sorts):
        sorts.append((listing.id_column, sorts[-1][1] if sorts else True))
    if q.page_reverse:
        sorts = [(col, not asc) for col, asc in sorts]
    if q.marker:
        marker = s.get(model, q.marker)
        if marker is not None:
            stmt = stmt.where(_after(marker, sorts))
    stmt = stmt.order_by(*[term for col, asc in sorts for term in _order(col, asc)])
    if q.limit is not None:
        stmt = stmt.limit(q.limit)
    rows = list(s.scalars(stmt))
    if q.page_reverse:
        rows.reverse()
    return rows


def _order(col: Any, asc: bool) -> tuple[Any, ...]:
    """NULLs first ascending and last descending on every database (SQLite's default, not
    PostgreSQL's): the keyset needs one order. Spelled as ``col IS NULL`` first, not ``NULLS
    FIRST``, which MariaDB does not know; a NOT NULL column needs no such term."""
    if not getattr(col, "nullable", True):
        return (col.asc() if asc else col.desc(),)
    return (col.is_(None).desc(), col.asc()) if asc else (col.is_(None).asc(), col.desc())


def _after(marker: Any, sorts: list[tuple[Any, bool]]) -> Any:
    """Rows strictly after ``marker`` in the order ``sorts`` (a keyset condition; NULLs sort first)."""
    clauses = []
    for i, (col, asc) in enumerate(sorts):
        value = getattr(marker, col.key)
        equal_before = [_equal(c, getattr(marker, c.key)) for c, _ in sorts[:i]]
        if value is None:
            beyond = col.is_not(None) if asc else false()
        elif asc:
            beyond = col > value
        else:
            beyond = or_(col < value, col.is_(None))
        clauses.append(and_(*equal_before, beyond) if equal_before else beyond)
    return or_(*clauses) if clauses else true()


def _equal(col: Any, value: Any) -> Any:
    return col.is_(None) if value is None else col == value
