"""Migration rows: create, find, copy for the bus, list (``os-migrations``) and per server.

Resizes, cold and live migrations and evacuations each leave one row; the API creates it when
the move starts, the conductor and agents move its status on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from onestack.compute.models import Flavor, Instance, Migration
from onestack.compute.service.builds import new_uuid
from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.parse import INT32_MAX, fits
from onestack.core.db import time_condition
from onestack.core.ids import utcnow

# Live-migration statuses in which it is still moving (Nova's "in progress" list).
LIVE_IN_PROGRESS = ("queued", "preparing", "running", "post-migrating")
MAX_LIMIT = 1000


def create(s: Session, inst: Instance, project_id: str, user_id: str, migration_type: str, status: str,
           new_flavorid: str | None = None, dest_compute: str | None = None) -> Migration:
    """A migration row for ``inst`` leaving its current host, initiated by the caller."""
    now = utcnow()
    row = Migration(uuid=new_uuid(), instance_uuid=inst.uuid, project_id=project_id, user_id=user_id,
                    migration_type=migration_type, status=status,
                    source_compute=inst.host, source_node=inst.node, dest_compute=dest_compute,
                    old_flavorid=inst.flavor.get("flavorid"), new_flavorid=new_flavorid or inst.flavor.get("flavorid"),
                    created_at=now, updated_at=now)
    s.add(row)
    s.flush()
    return row


def latest(s: Session, instance_uuid: str, status: str) -> Migration | None:
    return s.scalar(select(Migration).where(Migration.instance_uuid == instance_uuid, Migration.status == status)
                    .order_by(Migration.id.desc()).limit(1))


def stamp(value: datetime | None) -> str | None:
    """Nova prints migration times without a zone: ``2016-01-29T13:42:02.000000``."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


def migration_dict(row: Migration) -> dict[str, Any]:
    """A JSON-safe copy of the row, as it travels on the bus to the agents and into the views."""
    data = {c.key: getattr(row, c.key) for c in Migration.__mapper__.column_attrs}
    data["created_at"], data["updated_at"] = stamp(row.created_at), stamp(row.updated_at)
    return data


def _flavor_ids(s: Session, rows: list[Migration]) -> dict[str, int]:
    """Flavor ids as clients see them -> the integer ids Nova's migration views print."""
    wanted = {f for r in rows for f in (r.old_flavorid, r.new_flavorid) if f}
    if not wanted:
        return {}
    return dict(s.execute(select(Flavor.flavorid, Flavor.id).where(Flavor.flavorid.in_(wanted))).all())


@dataclass
class Filters:
    """GET /os-migrations as a query (the API has checked the parameters)."""

    statuses: list[str]
    host: str | None = None
    source_compute: str | None = None
    instance_uuid: str | None = None
    migration_type: str | None = None
    user_id: str | None = None
    project_id: str | None = None
    since: datetime | None = None
    before: datetime | None = None
    paged: bool = False  # 2.59+: newest first, limit and marker
    limit: int | None = None
    marker: str | None = None


def _where(query: Any, f: Filters) -> Any:
    if f.statuses:
        query = query.where(Migration.status.in_(f.statuses))
    if f.host:
        query = query.where(or_(Migration.source_compute == f.host, Migration.dest_compute == f.host))
    elif f.source_compute:
        query = query.where(Migration.source_compute == f.source_compute)
    for value, column in ((f.instance_uuid, Migration.instance_uuid), (f.migration_type, Migration.migration_type),
                          (f.user_id, Migration.user_id), (f.project_id, Migration.project_id)):
        if value:
            query = query.where(column == value)
    if f.since:
        query = query.where(time_condition(Migration.updated_at, "gte", f.since))
    if f.before:
        query = query.where(time_condition(Migration.updated_at, "lte", f.before))
    return query


def list_migrations(s: Session, f: Filters) -> list[dict[str, Any]]:
    """Each row as ``migration_dict`` plus the integer flavor ids (``old/new_instance_type_id``)."""
    query = _where(select(Migration), f)
    if f.paged:
        query = query.order_by(Migration.created_at.desc(), Migration.id.desc())
        if f.marker:
            mark = s.scalar(select(Migration).where(Migration.uuid == f.marker))
            if mark is None:
                raise BadRequest(f"Marker {f.marker} could not be found.")
            query = query.where(or_(Migration.created_at < mark.created_at,
                                    (Migration.created_at == mark.created_at) & (Migration.id < mark.id)))
        query = query.limit(f.limit if f.limit is not None else MAX_LIMIT)
    else:
        query = query.order_by(Migration.id)
    rows = list(s.scalars(query))
    ids = _flavor_ids(s, rows)
    out = []
    for row in rows:
        data = migration_dict(row)
        data["old_instance_type_id"] = ids.get(row.old_flavorid or "")
        data["new_instance_type_id"] = ids.get(row.new_flavorid or "")
        out.append(data)
    return out


def live_in_progress(s: Session, instance_uuid: str) -> list[dict[str, Any]]:
    rows = s.scalars(select(Migration).where(
        Migration.instance_uuid == instance_uuid, Migration.migration_type == "live-migration",
        Migration.status.in_(LIVE_IN_PROGRESS)).order_by(Migration.id))
    return [migration_dict(r) for r in rows]


def find(s: Session, instance_uuid: str, raw_id: str) -> Migration | None:
    """The server's migration by its integer id (as a path segment); None if no such."""
    if not raw_id.isdigit() or not fits(raw_id, 0, INT32_MAX):  # beyond the Integer column: no such row
        return None
    return s.scalar(select(Migration).where(Migration.id == int(raw_id), Migration.instance_uuid == instance_uuid))


def live_one(s: Session, instance_uuid: str, raw_id: str) -> dict[str, Any]:
    """One in-progress live migration of the server; Nova's 404s for the other cases."""
    mig = find(s, instance_uuid, raw_id)
    if mig is None:
        raise NotFound(f"In-progress live migration {raw_id} is not found for server {instance_uuid}.")
    if mig.migration_type != "live-migration":
        raise NotFound(f"Migration {raw_id} for server {instance_uuid} is not live-migration.")
    if mig.status not in LIVE_IN_PROGRESS:
        raise NotFound(f"Live migration {raw_id} for server {instance_uuid} is not in progress.")
    return migration_dict(mig)
