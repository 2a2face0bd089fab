"""GET /os-migrations: every resize, migration, live migration and evacuation (admin)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import MAX_LIMIT, ComputeRoutes, Req, page, timestamp
from onestack.compute.service import migrations
from onestack.compute.service.migrations import LIVE_IN_PROGRESS, Filters
from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response
from onestack.core.api.pagination import Page

routes = ComputeRoutes()
_FILTERS_V20 = {"hidden", "host", "instance_uuid", "source_compute", "status", "migration_type"}


def _view(req: Req, row: dict[str, Any], show_host: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "created_at": row["created_at"], "updated_at": row["updated_at"], "id": row["id"],
        "instance_uuid": row["instance_uuid"], "status": row["status"],
        "old_instance_type_id": row["old_instance_type_id"], "new_instance_type_id": row["new_instance_type_id"],
        "source_compute": row["source_compute"], "source_node": row["source_node"],
        "dest_compute": row["dest_compute"], "dest_node": row["dest_node"], "dest_host": row["dest_host"],
    }
    if not show_host:
        body.update(source_compute=None, source_node=None, dest_compute=None, dest_node=None, dest_host=None)
    if req.at_least(2, 23):
        body["migration_type"] = row["migration_type"]
        if row["migration_type"] == "live-migration" and row["status"] in LIVE_IN_PROGRESS:
            base, path = req.service_url, f"servers/{row['instance_uuid']}/migrations/{row['id']}"
            body["links"] = [{"rel": "self", "href": f"{base}/v2.1/{path}"},
                             {"rel": "bookmark", "href": f"{base}/{path}"}]
    if req.at_least(2, 59):
        body["uuid"] = row["uuid"]
    if req.at_least(2, 80):
        body["user_id"], body["project_id"] = row["user_id"], row["project_id"]
    return body


def _check_params(req: Req) -> None:
    """From 2.59 Nova's query schema is closed: unknown or repeated parameters are a 400."""
    if not req.at_least(2, 59):
        return
    known = _FILTERS_V20 | {"limit", "marker", "changes-since"}
    if req.at_least(2, 66):
        known.add("changes-before")
    if req.at_least(2, 80):
        known |= {"user_id", "project_id"}
    extra = sorted(set(req.params) - known)
    if extra:
        listed = ", ".join(f"'{k}'" for k in extra)
        raise BadRequest(f"Invalid input for query parameters {extra[0]}. Value: "
                         f"{req.params[extra[0]]}. Additional properties are not allowed "
                         f"({listed} {'was' if len(extra) == 1 else 'were'} unexpected)")
    for name in ("limit", "marker", "changes-since", "changes-before", "user_id", "project_id"):
        if len(req.params.getlist(name)) > 1:
            raise BadRequest(f"Invalid input for query parameters {name}. Value: "
                             f"{req.params.getlist(name)}. {req.params.getlist(name)!r} "
                             "is not of type 'string'")


def _filters(req: Req) -> Filters:
    params = req.params
    statuses = [v for s in params.getlist("status") for v in s.split(",") if v] if params.get("status") else []
    # Before 2.59 Nova passed any query parameter through to its filters; 2.80 documents these two.
    by_owner = req.at_least(2, 80) or not req.at_least(2, 59)
    f = Filters(statuses=statuses, host=params.get("host") or None, source_compute=params.get("source_compute"),
                instance_uuid=params.get("instance_uuid"), migration_type=params.get("migration_type"),
                user_id=params.get("user_id") if by_owner else None,
                project_id=params.get("project_id") if by_owner else None)
    if req.at_least(2, 59):
        wanted = page(req)
        f.paged, f.limit, f.marker = True, wanted.limit, req.params.get("marker")
        f.since = timestamp(req, "changes-since")
        f.before = timestamp(req, "changes-before") if req.at_least(2, 66) else None
        if f.since and f.before and f.since > f.before:
            raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    return f


@routes.get("/v2.1/os-migrations")
async def list_migrations(req: Req) -> Response:
    ctx = await req.enforce("os_compute_api:os-migrations:index")
    project = req.params.get("project_id")
    if not project or project != ctx.project_id:
        await req.enforce("os_compute_api:os-migrations:index:all_projects")
    show_host = await req.allowed("os_compute_api:os-migrations:index:host")
    _check_params(req)
    f = _filters(req)
    if f.limit == 0:
        return json_response({"migrations": []})
    found = [_view(req, r, show_host) for r in await req.read(migrations.list_migrations, f)]
    body: dict[str, Any] = {"migrations": found}
    if f.paged:
        full = Page(limit=MAX_LIMIT if f.limit is None else f.limit, marker=None)
        links = req.next_links(found, full, key="uuid")
        if links:
            body["migrations_links"] = links
    return json_response(body)
