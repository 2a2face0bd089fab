"""Servers: create, list (brief and detail), show, update, delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.compute import states
from onestack.compute.api import server_create
from onestack.compute.api.common import (
    allowed,
    as_bool,
    at_least,
    caller,
    check_keys,
    compute_of,
    enforce,
    name_field,
    resource_links,
    wrapped_body,
)
from onestack.compute.api.server_views import Viewer, brief, detail
from onestack.compute.models import Instance
from onestack.compute.scheduler.snapshot import COMPUTE_BINARY, service_is_up
from onestack.compute.service import builds, instances, server_list
from onestack.compute.service.server_list import ServerQuery
from onestack.core.api.faults import BadRequest, Forbidden, NotFound
from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.core.auth import AuthContext
from onestack.core.ids import parse_isotime

routes = RouteTable()
MAX_LIMIT = 1000


def viewer(request: Request, ctx: AuthContext) -> Viewer:
    admin = allowed(request, ctx, "context_is_admin")
    return Viewer(admin_attrs=allowed(request, ctx, "os_compute_api:os-extended-server-attributes"),
                  flavor_specs=allowed(request, ctx, "os_compute_api:servers:show:flavor-extra-specs"),
                  host_status=allowed(request, ctx, "os_compute_api:servers:show:host_status"),
                  fault_details=admin)


def host_statuses(s: Session, hosts: set[str], down_after: float) -> dict[str, str]:
    """Nova's host_status: UP, DOWN, MAINTENANCE (disabled) or UNKNOWN per host."""
    from sqlalchemy import select

    from onestack.compute.models import Service

    found = {h: "UNKNOWN" for h in hosts}
    if hosts:
        for svc in s.scalars(select(Service).where(Service.host.in_(hosts), Service.binary == COMPUTE_BINARY)):
            up = service_is_up(svc, down_after)
            found[svc.host] = "DOWN" if not up else ("MAINTENANCE" if svc.disabled else "UP")
    return found


def render_many(request: Request, s: Session, rows: list[Instance], view: Viewer) -> list[dict[str, Any]]:
    uuids = [r.uuid for r in rows]
    tags = instances.tags_of(s, uuids) if at_least(request, 2, 26) else {}
    faults = instances.faults_of(s, [r.uuid for r in rows if r.vm_state in (states.ERROR, states.DELETED)])
    statuses: dict[str, str] = {}
    if at_least(request, 2, 16) and view.host_status:
        statuses = host_statuses(s, {r.host for r in rows if r.host}, compute_of(request).config.compute.service_down_time)
    out = []
    for row in rows:
        data = instances.to_dict(row, tags.get(row.uuid))
        status = statuses.get(row.host or "", "") if view.host_status and at_least(request, 2, 16) else None
        out.append(detail(request, data, view, fault=faults.get(row.uuid), host_status=status))
    return out


async def load(request: Request, ctx: AuthContext, uuid: str, rule: str) -> dict[str, Any]:
    """The server as the caller may see it (404 for another project's), after the policy check."""
    project = None if allowed(request, ctx, "context_is_admin") else ctx.project_id
    row = await compute_of(request).db.read(lambda s: instances.to_dict(instances.get(s, uuid, project_id=project)))
    enforce(request, ctx, rule, {"project_id": row["project_id"], "user_id": row["user_id"]})
    return row


# --- create ------------------------------------------------------------------------------

@routes.post("/v2.1/servers")
async def create_server(request: Request) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:servers:create")
    body = await json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("server"), dict):
        raise BadRequest(f"Invalid input for field/attribute server. Value: {body}. 'server' is a required property")
    compute = compute_of(request)
    server_create.compute_has_clients(request)
    image_id = server_create.image_ref_of(body)
    image = None
    if image_id is not None:
        assert compute.images is not None
        image = await compute.images.get(image_id, request.headers.get("X-Auth-Token"))
        if image is None:
            raise BadRequest(f"Image {image_id} could not be found.")

    def create(s: Session) -> list[dict[str, Any]]:
        req = server_create.parse(request, ctx, body, s, image)
        return [instances.to_dict(i) for i in builds.create(s, req)]

    rows = await compute.db.write(create)
    assert compute.conductor is not None
    await compute.conductor.build_instances([r["uuid"] for r in rows], request.state.request_id)
    server = body["server"]
    if server.get("return_reservation_id") and as_bool(server["return_reservation_id"], "return_reservation_id"):
        return json_response({"reservation_id": rows[0]["reservation_id"]}, 202)
    first = rows[0]
    reply: dict[str, Any] = {"id": first["uuid"], "links": resource_links(request, "servers", first["uuid"]),
                             "OS-DCF:diskConfig": "MANUAL", "security_groups": [{"name": "default"}],
                             "adminPass": server.get("adminPass") or builds.new_uuid().replace("-", "")[:12]}
    return json_response({"server": reply}, 202, headers={"Location": reply["links"][0]["href"]})


# --- list --------------------------------------------------------------------------------

_SORT_DIRS = {"asc", "desc"}


def _query(request: Request, ctx: AuthContext, detail_list: bool) -> ServerQuery:
    params = request.query_params
    admin = allowed(request, ctx, "context_is_admin")
    all_tenants = "all_tenants" in params and params.get("all_tenants", "").lower() not in ("0", "false", "f", "no", "off")
    if all_tenants:
        enforce(request, ctx, "os_compute_api:servers:detail:get_all_tenants" if detail_list
                else "os_compute_api:servers:index:get_all_tenants")
    project = None if all_tenants else ctx.project_id
    if admin and all_tenants and (params.get("project_id") or params.get("tenant_id")):
        project = params.get("project_id") or params.get("tenant_id")
    raw_limit = params.get("limit")
    limit = MAX_LIMIT
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            raise BadRequest(f"Invalid input for query parameters limit. Value: {raw_limit}.") from None
        if limit < 0:
            raise BadRequest(f"Invalid input for query parameters limit. Value: {raw_limit}.")
        limit = min(limit, MAX_LIMIT)
    q = ServerQuery(project_id=project, limit=limit, marker=params.get("marker"))
    keys, dirs = params.getlist("sort_key"), params.getlist("sort_dir")
    if keys:
        sort = []
        for i, key in enumerate(keys):
            if key not in server_list.SORT_KEYS:
                raise BadRequest(f"Invalid input for query parameters sort_key. Value: {key}.")
            direction = dirs[i] if i < len(dirs) else (dirs[0] if dirs else "desc")
            if direction not in _SORT_DIRS:
                raise BadRequest(f"Invalid input for query parameters sort_dir. Value: {direction}.")
            if key in server_list.ADMIN_SORT_KEYS and not admin:
                raise Forbidden(f"Only administrators can sort servers by {key}")
            sort.append((key, direction))
        q.sort = sort
    elif dirs:
        if dirs[0] not in _SORT_DIRS:
            raise BadRequest(f"Invalid input for query parameters sort_dir. Value: {dirs[0]}.")
        q.sort = [("created_at", dirs[0]), ("id", dirs[0])]
    if params.get("name"):
        q.name = params["name"]
    statuses = params.getlist("status")
    if statuses:
        q.vm_states, q.task_states = server_list.statuses_to_states(statuses)
    if params.get("flavor"):
        q.flavor_id = params["flavor"].rstrip("/").rsplit("/", 1)[-1]
    if params.get("image"):
        q.image = params["image"]
    for name in ("reservation_id", "availability_zone", "key_name", "uuid", "description"):
        if params.get(name) is not None and (admin or name in ("reservation_id", "availability_zone")):
            setattr(q, name, params[name])
    if admin:
        q.host = params.get("host")
        q.node = params.get("node")
        if params.get("user_id"):
            q.user_id = params["user_id"]
        if "deleted" in params:
            q.deleted = as_bool(params["deleted"], "deleted")
    elif at_least(request, 2, 83) and params.get("user_id"):
        q.user_id = params["user_id"]
    if at_least(request, 2, 73) and "locked" in params:
        q.locked = as_bool(params["locked"], "locked")
    for name, attr in (("changes-since", "changes_since"), ("changes-before", "changes_before")):
        if params.get(name):
            if name == "changes-before" and not at_least(request, 2, 66):
                continue
            try:
                setattr(q, attr, parse_isotime(params[name]))
            except ValueError:
                raise BadRequest(f"Invalid input for query parameters {name}. Value: {params[name]}. "
                                 f"'{params[name]}' is not a 'date-time'") from None
    if q.changes_since and q.changes_before and q.changes_since > q.changes_before:
        raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    if at_least(request, 2, 26):
        for name, attr in (("tags", "tags"), ("tags-any", "tags_any"), ("not-tags", "not_tags"),
                           ("not-tags-any", "not_tags_any")):
            if params.get(name):
                setattr(q, attr, [t for t in params[name].split(",") if t])
    return q


async def _list(request: Request, detail_list: bool) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:servers:detail" if detail_list else "os_compute_api:servers:index")
    q = _query(request, ctx, detail_list)
    view = viewer(request, ctx)

    def read(s: Session) -> list[dict[str, Any]]:
        rows = server_list.run(s, q)
        if detail_list:
            return render_many(request, s, rows, view)
        return [brief(request, instances.to_dict(r)) for r in rows]

    servers = await compute_of(request).db.read(read)
    body: dict[str, Any] = {"servers": servers}
    if servers and len(servers) >= q.limit:
        from urllib.parse import urlencode

        params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
        params.append(("marker", servers[-1]["id"]))
        base = str(request.url).split("?")[0]
        body["servers_links"] = [{"rel": "next", "href": f"{base}?{urlencode(params)}"}]
    return json_response(body)


@routes.get("/v2.1/servers")
async def list_servers(request: Request) -> Response:
    return await _list(request, False)


@routes.get("/v2.1/servers/detail")
async def list_servers_detail(request: Request) -> Response:
    return await _list(request, True)


# --- show / update / delete --------------------------------------------------------------

async def show_one(request: Request, ctx: AuthContext, uuid: str) -> dict[str, Any]:
    project = None if allowed(request, ctx, "context_is_admin") else ctx.project_id
    view = viewer(request, ctx)

    def read(s: Session) -> dict[str, Any]:
        row = instances.get(s, uuid, project_id=project)
        return render_many(request, s, [row], view)[0]

    return await compute_of(request).db.read(read)


@routes.get("/v2.1/servers/{server_id}")
async def show_server(request: Request) -> Response:
    ctx = await caller(request)
    uuid = request.path_params["server_id"]
    await load(request, ctx, uuid, "os_compute_api:servers:show")
    return json_response({"server": await show_one(request, ctx, uuid)})


@routes.put("/v2.1/servers/{server_id}")
async def update_server(request: Request) -> Response:
    ctx = await caller(request)
    uuid = request.path_params["server_id"]
    await load(request, ctx, uuid, "os_compute_api:servers:update")
    server = await wrapped_body(request, "server")
    allowed_keys = {"name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"}
    if at_least(request, 2, 19):
        allowed_keys.add("description")
    if at_least(request, 2, 90):
        allowed_keys.add("hostname")
    check_keys(server, allowed_keys, "server")
    values: dict[str, Any] = {}
    if "name" in server:
        values["display_name"] = name_field(server["name"])
    if "description" in server:
        desc = server["description"]
        if desc is not None and (not isinstance(desc, str) or len(desc) > 255):
            raise BadRequest(f"Invalid input for field/attribute description. Value: {desc}.")
        values["display_description"] = desc
    if "accessIPv4" in server:
        values["access_ip_v4"] = server_create._ip(server["accessIPv4"], "accessIPv4", 4)
    if "accessIPv6" in server:
        values["access_ip_v6"] = server_create._ip(server["accessIPv6"], "accessIPv6", 6)
    if "hostname" in server:
        values["hostname"] = name_field(server["hostname"], "hostname", 63)
    if values:
        await compute_of(request).db.write(lambda s: instances.apply_update(s, uuid, values))
    return json_response({"server": await show_one(request, ctx, uuid)})


async def delete_instance(request: Request, ctx: AuthContext, row: dict[str, Any], action: str = "delete") -> None:
    """Delete on the host, or at once when the server never reached one or its host is down."""
    compute = compute_of(request)
    uuid = row["uuid"]
    admin = allowed(request, ctx, "context_is_admin")

    def mark(s: Session) -> tuple[str | None, bool]:
        inst = instances.get(s, uuid)
        instances.check_not_locked(inst, admin)
        if inst.task_state == states.DELETING:
            return inst.host, False
        instances.start_action(s, uuid, action, request.state.request_id, ctx.project_id or "", ctx.user_id or "")
        host = inst.host
        up = False
        if host:
            statuses = host_statuses(s, {host}, compute.config.compute.service_down_time)
            up = statuses.get(host) in ("UP", "MAINTENANCE")
        if host and up:
            inst.task_state = states.DELETING
            inst.updated_at = instances.utcnow()
            return host, True
        instances.mark_deleted(s, uuid)  # never scheduled, or its host is gone: local delete
        return None, False

    host, remote = await compute.db.write(mark)
    if remote and host:
        assert compute.agents is not None
        await compute.agents.cast(host, "terminate_instance", instance=row, request_id=request.state.request_id)
    elif not remote and host is None:
        assert compute.placement is not None
        await compute.placement.release(uuid)


@routes.delete("/v2.1/servers/{server_id}")
async def delete_server(request: Request) -> Response:
    ctx = await caller(request)
    row = await load(request, ctx, request.path_params["server_id"], "os_compute_api:servers:delete")
    await delete_instance(request, ctx, row)
    return no_content()
