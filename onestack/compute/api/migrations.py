"""GET /os-migrations: every resize, migration, live migration and evacuation (admin).

Also the migration rows' shared helpers (create, find, render) that the action and
server-migrations modules use.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.compute.api.common import allowed, api_base, at_least, caller, compute_of, enforce
from onestack.compute.models import Flavor, Instance, Migration
from onestack.compute.service.builds import new_uuid
from onestack.core.api.faults import BadRequest
from onestack.core.api.http import RouteTable, json_response
from onestack.core.auth import AuthContext
from onestack.core.ids import parse_isotime, utcnow

routes = RouteTable()
MAX_LIMIT = 1000
# Live-migration statuses in which it is still moving (Nova's "in progress" list).
LIVE_IN_PROGRESS = ("queued", "preparing", "running", "post-migrating")
_FILTERS_V20 = {"hidden", "host", "instance_uuid", "source_compute", "status", "migration_type"}


# --- rows ------------------------------------------------------------------------------------

def create(s: Session, inst: Instance, ctx: AuthContext, migration_type: str, status: str,
           new_flavorid: str | None = None, dest_compute: str | None = None) -> Migration:
    """A migration row for ``inst`` leaving its current host, initiated by the caller."""
    now = utcnow()
    row = Migration(uuid=new_uuid(), instance_uuid=inst.uuid, project_id=ctx.project_id or "",
                    user_id=ctx.user_id or "", migration_type=migration_type, status=status,
                    source_compute=inst.host, source_node=inst.node, dest_compute=dest_compute,
                    old_flavorid=inst.flavor.get("flavorid"), new_flavorid=new_flavorid or inst.flavor.get("flavorid"),
                    created_at=now, updated_at=now)
    s.add(row)
    s.flush()
    return row


def latest(s: Session, instance_uuid: str, status: str) -> Migration | None:
    return s.scalar(select(Migration).where(Migration.instance_uuid == instance_uuid, Migration.status == status)
                    .order_by(Migration.id.desc()).limit(1))


def migration_dict(row: Migration) -> dict[str, Any]:
    """A JSON-safe copy of the row, as it travels on the bus to the agents."""
    data = {c.key: getattr(row, c.key) for c in Migration.__mapper__.column_attrs}
    data["created_at"], data["updated_at"] = stamp(row.created_at), stamp(row.updated_at)
    return data


def stamp(value: datetime | None) -> str | None:
    """Nova prints migration times without a zone: ``2016-01-29T13:42:02.000000``."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value is not None else None


def flavor_ids(s: Session, rows: list[Migration]) -> dict[str, int]:
    """Flavor ids as clients see them -> the integer ids Nova's migration views print."""
    wanted = {f for r in rows for f in (r.old_flavorid, r.new_flavorid) if f}
    if not wanted:
        return {}
    return dict(s.execute(select(Flavor.flavorid, Flavor.id).where(Flavor.flavorid.in_(wanted))).all())


# --- GET /os-migrations ----------------------------------------------------------------------

def _view(request: Request, row: Migration, ids: dict[str, int], show_host: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "created_at": stamp(row.created_at), "updated_at": stamp(row.updated_at), "id": row.id,
        "instance_uuid": row.instance_uuid, "status": row.status,
        "old_instance_type_id": ids.get(row.old_flavorid or ""), "new_instance_type_id": ids.get(row.new_flavorid or ""),
        "source_compute": row.source_compute, "source_node": row.source_node, "dest_compute": row.dest_compute,
        "dest_node": row.dest_node, "dest_host": row.dest_host,
    }
    if not show_host:
        body.update(source_compute=None, source_node=None, dest_compute=None, dest_node=None, dest_host=None)
    if at_least(request, 2, 23):
        body["migration_type"] = row.migration_type
        if row.migration_type == "live-migration" and row.status in LIVE_IN_PROGRESS:
            base, path = api_base(request), f"servers/{row.instance_uuid}/migrations/{row.id}"
            body["links"] = [{"rel": "self", "href": f"{base}/v2.1/{path}"},
                             {"rel": "bookmark", "href": f"{base}/{path}"}]
    if at_least(request, 2, 59):
        body["uuid"] = row.uuid
    if at_least(request, 2, 80):
        body["user_id"], body["project_id"] = row.user_id, row.project_id
    return body


def _time_param(request: Request, name: str) -> datetime | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        return parse_isotime(text)
    except ValueError:
        raise BadRequest(f"Invalid input for query parameters {name}. Value: {text}. "
                         f"'{text}' is not a 'date-time'") from None


def _check_params(request: Request) -> None:
    """From 2.59 Nova's query schema is closed: unknown or repeated parameters are a 400."""
    if not at_least(request, 2, 59):
        return
    known = _FILTERS_V20 | {"limit", "marker", "changes-since"}
    if at_least(request, 2, 66):
        known.add("changes-before")
    if at_least(request, 2, 80):
        known |= {"user_id", "project_id"}
    extra = sorted(set(request.query_params) - known)
    if extra:
        listed = ", ".join(f"'{k}'" for k in extra)
        raise BadRequest(f"Invalid input for query parameters {extra[0]}. Value: "
                         f"{request.query_params[extra[0]]}. Additional properties are not allowed "
                         f"({listed} {'was' if len(extra) == 1 else 'were'} unexpected)")
    for name in ("limit", "marker", "changes-since", "changes-before", "user_id", "project_id"):
        if len(request.query_params.getlist(name)) > 1:
            raise BadRequest(f"Invalid input for query parameters {name}. Value: "
                             f"{request.query_params.getlist(name)}. {request.query_params.getlist(name)!r} "
                             "is not of type 'string'")


def _limit(request: Request) -> int | None:
    raw = request.query_params.get("limit")
    if raw is None:
        return None
    if not raw.isdigit():
        raise BadRequest(f"Invalid input for query parameters limit. Value: {raw}. "
                         f"'{raw}' does not match '^[0-9]*$'")
    return min(int(raw), MAX_LIMIT)


def _query(request: Request) -> Any:
    params = request.query_params
    query = select(Migration)
    statuses = [v for s in params.getlist("status") for v in s.split(",") if v] if params.get("status") else []
    if statuses:
        query = query.where(Migration.status.in_(statuses))
    if params.get("host"):
        query = query.where(or_(Migration.source_compute == params["host"], Migration.dest_compute == params["host"]))
    elif params.get("source_compute"):
        query = query.where(Migration.source_compute == params["source_compute"])
    for name, column in (("instance_uuid", Migration.instance_uuid), ("migration_type", Migration.migration_type)):
        if params.get(name):
            query = query.where(column == params[name])
    # Before 2.59 Nova passed any query parameter through to its filters; 2.80 documents these two.
    for name, column in (("user_id", Migration.user_id), ("project_id", Migration.project_id)):
        if params.get(name) and (at_least(request, 2, 80) or not at_least(request, 2, 59)):
            query = query.where(column == params[name])
    if at_least(request, 2, 59):
        since = _time_param(request, "changes-since")
        before = _time_param(request, "changes-before") if at_least(request, 2, 66) else None
        if since and before and since > before:
            raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
        if since:
            query = query.where(Migration.updated_at >= since)
        if before:
            query = query.where(Migration.updated_at <= before)
    return query


@routes.get("/v2.1/os-migrations")
async def list_migrations(request: Request) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-migrations:index")
    project = request.query_params.get("project_id")
    if not project or project != ctx.project_id:
        enforce(request, ctx, "os_compute_api:os-migrations:index:all_projects")
    show_host = allowed(request, ctx, "os_compute_api:os-migrations:index:host")
    _check_params(request)
    paged = at_least(request, 2, 59)
    limit = _limit(request) if paged else None
    marker = request.query_params.get("marker") if paged else None
    query = _query(request)

    def read(s: Session) -> list[dict[str, Any]]:
        q = query
        if paged:
            q = q.order_by(Migration.created_at.desc(), Migration.id.desc())
            if marker:
                mark = s.scalar(select(Migration).where(Migration.uuid == marker))
                if mark is None:
                    raise BadRequest(f"Marker {marker} could not be found.")
                q = q.where(or_(Migration.created_at < mark.created_at,
                                (Migration.created_at == mark.created_at) & (Migration.id < mark.id)))
            q = q.limit(limit if limit is not None else MAX_LIMIT)
        else:
            q = q.order_by(Migration.id)
        rows = list(s.scalars(q))
        ids = flavor_ids(s, rows)
        return [_view(request, r, ids, show_host) for r in rows]

    if limit == 0:
        return json_response({"migrations": []})
    found = await compute_of(request).db.read(read)
    body: dict[str, Any] = {"migrations": found}
    if paged and found and len(found) >= (limit if limit is not None else MAX_LIMIT):
        from urllib.parse import urlencode

        params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
        params.append(("marker", found[-1]["uuid"]))
        body["migrations_links"] = [{"rel": "next",
                                     "href": f"{api_base(request)}/v2.1/os-migrations?{urlencode(params)}"}]
    return json_response(body)
