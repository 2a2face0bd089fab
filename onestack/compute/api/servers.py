"""Servers: create, list (brief and detail), show, update, delete."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.compute import states
from onestack.compute.api import server_create
from onestack.compute.api.common import (
    allowed,
    at_least,
    caller,
    check_keys,
    compute_of,
    enforce,
    name_field,
    resource_links,
)
from onestack.compute.api.server_views import (
    LIST,
    Shape,
    Viewer,
    brief,
    detail,
    disk_config,
    shape_for,
)
from onestack.compute.models import Instance, Service
from onestack.compute.scheduler.snapshot import COMPUTE_BINARY, service_is_up
from onestack.compute.service import builds, instances, server_list
from onestack.compute.service.server_list import ServerQuery
from onestack.core.api.faults import BadRequest, Forbidden
from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.core.auth import AuthContext
from onestack.core.ids import parse_isotime, utcnow

routes = RouteTable()
MAX_LIMIT = 1000


def viewer(request: Request, ctx: AuthContext) -> Viewer:
    host_status = allowed(request, ctx, "os_compute_api:servers:show:host_status")
    return Viewer(admin_attrs=allowed(request, ctx, "os_compute_api:os-extended-server-attributes"),
                  flavor_specs=allowed(request, ctx, "os_compute_api:servers:show:flavor-extra-specs"),
                  host_status=host_status,
                  host_status_unknown_only=not host_status and allowed(
                      request, ctx, "os_compute_api:servers:show:host_status:unknown-only"),
                  fault_details=allowed(request, ctx, "context_is_admin"))


def host_statuses(s: Session, hosts: set[str], down_after: float) -> dict[str, str]:
    """Nova's host_status per host: DOWN (forced down), MAINTENANCE (disabled), UP, UNKNOWN (not
    reporting), or "" when the host has no compute service."""
    found = {h: "" for h in hosts}
    if hosts:
        for svc in s.scalars(select(Service).where(Service.host.in_(hosts), Service.binary == COMPUTE_BINARY)):
            if svc.forced_down:
                found[svc.host] = "DOWN"
            elif svc.disabled:
                found[svc.host] = "MAINTENANCE"
            else:
                found[svc.host] = "UP" if service_is_up(svc, down_after) else "UNKNOWN"
    return found


def _host_up(s: Session, host: str, down_after: float) -> bool:
    svc = s.scalar(select(Service).where(Service.host == host, Service.binary == COMPUTE_BINARY))
    return svc is not None and service_is_up(svc, down_after)


def render_many(request: Request, s: Session, rows: list[Instance], view: Viewer,
                shape: Shape = LIST) -> list[dict[str, Any]]:
    uuids = [r.uuid for r in rows]
    tags = instances.tags_of(s, uuids) if at_least(request, 2, 26) else {}
    faults = instances.faults_of(s, [r.uuid for r in rows if r.vm_state in (states.ERROR, states.DELETED)])
    statuses: dict[str, str] = {}
    wants_status = shape.full and at_least(request, 2, 16) and (view.host_status or view.host_status_unknown_only)
    if wants_status:
        statuses = host_statuses(s, {r.host for r in rows if r.host}, compute_of(request).config.compute.service_down_time)
    out = []
    for row in rows:
        data = instances.to_dict(row, tags.get(row.uuid))
        status = statuses.get(row.host or "", "") if wants_status else None
        out.append(detail(request, data, view, fault=faults.get(row.uuid), host_status=status, shape=shape))
    return out


async def load(request: Request, ctx: AuthContext, uuid: str, rule: str) -> dict[str, Any]:
    """The server as the caller may see it (404 for another project's), after the policy check."""
    project = None if allowed(request, ctx, "context_is_admin") else ctx.project_id
    row = await compute_of(request).db.read(lambda s: instances.to_dict(instances.get(s, uuid, project_id=project)))
    enforce(request, ctx, rule, {"project_id": row["project_id"], "user_id": row["user_id"]})
    return row


async def show_one(request: Request, ctx: AuthContext, uuid: str, kind: str | None = None) -> dict[str, Any]:
    """The detailed view of one server; ``kind`` "update" or "rebuild" gives those answers' shape.

    Left out, it is "show", or "rebuild" under POST /servers/{id}/action: rebuild is the only
    server action Nova answers with the server.
    """
    if kind is None:
        kind = "rebuild" if request.url.path.endswith("/action") else "show"
    project = None if allowed(request, ctx, "context_is_admin") else ctx.project_id
    view = viewer(request, ctx)
    shape = shape_for(request, kind)

    def read(s: Session) -> dict[str, Any]:
        row = instances.get(s, uuid, project_id=project)
        return render_many(request, s, [row], view, shape)[0]

    return await compute_of(request).db.read(read)


# --- create ------------------------------------------------------------------------------

@routes.post("/v2.1/servers")
async def create_server(request: Request) -> Response:
    ctx = await caller(request)
    body = await json_body(request)
    draft = server_create.validate(request, body)
    server_create.check_placement_args(request, ctx, draft)
    compute = compute_of(request)
    server_create.compute_has_clients(request)
    assert compute.images is not None and draft.image_id is not None
    image = await compute.images.get(draft.image_id, request.headers.get("X-Auth-Token"))
    if image is None:
        raise BadRequest("Can not find requested image")

    def create(s: Session) -> list[dict[str, Any]]:
        req = server_create.resolve(request, ctx, draft, s, image)
        return [instances.to_dict(i) for i in builds.create(s, req)]

    rows = await compute.db.write(create)
    assert compute.conductor is not None
    await compute.conductor.build_instances([r["uuid"] for r in rows], request.state.request_id)
    if draft.return_reservation_id:
        return json_response({"reservation_id": rows[0]["reservation_id"]}, 202)
    first = rows[0]
    server = draft.server
    reply: dict[str, Any] = {"id": first["uuid"], "links": resource_links(request, "servers", first["uuid"]),
                             "OS-DCF:diskConfig": disk_config(first),
                             "security_groups": server.get("security_groups", [{"name": "default"}]),
                             "adminPass": server.get("adminPass") or _password()}
    return json_response({"server": reply}, 202, headers={"Location": reply["links"][0]["href"]})


def _password(length: int = 12) -> str:
    """Nova's generate_password: letters and digits without look-alikes."""
    symbols = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    return "".join(secrets.choice(symbols) for _ in range(length))


# --- list --------------------------------------------------------------------------------

# Query parameters Nova's schema names (2.1); unknown ones are ignored until 2.75, refused after.
_QUERY_KEYS = {
    "user_id", "project_id", "tenant_id", "launch_index", "image_ref", "image", "kernel_id", "ramdisk_id",
    "hostname", "key_name", "power_state", "vm_state", "task_state", "host", "node", "flavor", "reservation_id",
    "launched_at", "terminated_at", "availability_zone", "name", "display_name", "description",
    "display_description", "locked_by", "uuid", "root_device_name", "config_drive", "access_ip_v4",
    "access_ip_v6", "auto_disk_config", "progress", "sort_key", "sort_dir", "all_tenants", "soft_deleted",
    "deleted", "status", "changes-since", "ip", "ip6", "created_at", "limit", "marker",
    # joined tables: accepted by the schema, refused later ("Invalid filter field")
    "block_device_mapping", "services", "metadata", "system_metadata", "info_cache", "security_groups",
    "pci_devices",
}
_JOINED = {"block_device_mapping", "services", "metadata", "system_metadata", "info_cache", "security_groups",
           "pci_devices"}
_TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")
_PAGING = ("sort_key", "sort_dir", "limit", "marker")
_STRICT_TRUE = {"1", "t", "true", "on", "y", "yes"}
_STRICT_FALSE = {"0", "f", "false", "off", "n", "no"}


def _query_keys(request: Request) -> set[str]:
    keys = set(_QUERY_KEYS)
    if at_least(request, 2, 26):
        keys.update(_TAG_FILTERS)
    if at_least(request, 2, 66):
        keys.add("changes-before")
    if at_least(request, 2, 73):
        keys.add("locked")
    return keys


def _user_filters(request: Request) -> set[str]:
    """The filters a non-admin may use (Nova drops the others silently)."""
    keys = {"reservation_id", "name", "status", "image", "flavor", "ip", "changes-since", "all_tenants"}
    for version, added in (((2, 5), {"ip6"}), ((2, 26), set(_TAG_FILTERS)), ((2, 66), {"changes-before"}),
                           ((2, 73), {"locked"}),
                           ((2, 83), {"availability_zone", "config_drive", "key_name", "created_at", "launched_at",
                                      "terminated_at", "power_state", "task_state", "vm_state", "progress",
                                      "user_id"}),
                           ((2, 90), {"hostname"})):
        if at_least(request, *version):
            keys.update(added)
    return keys


def _strict_bool(value: str) -> bool:
    text = value.strip().lower()
    if text in _STRICT_TRUE:
        return True
    if text in _STRICT_FALSE:
        return False
    raise BadRequest(f"Unrecognized value '{value}', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', "
                     "'off', 'on', 't', 'true', 'y', 'yes'")


def _check_schema(request: Request) -> None:
    """The query schema of the microversion: known keys (2.75+), sort keys, limit, timestamps."""
    params = request.query_params
    if at_least(request, 2, 75):
        unknown = sorted(k for k in set(params) - _query_keys(request) if not k.startswith("_"))
        if unknown:
            listed = ", ".join(f"'{k}'" for k in unknown)
            raise BadRequest(f"Additional properties are not allowed ({listed} "
                             f"{'was' if len(unknown) == 1 else 'were'} unexpected)")
    valid = set(server_list.VALID_SORT_KEYS)
    if at_least(request, 2, 73):
        valid.add("locked")
    if at_least(request, 2, 75):
        valid -= server_list.IGNORED_SORT_KEYS - {"locked"}
    for key in params.getlist("sort_key"):
        if key.strip() not in valid:
            raise BadRequest(f"Invalid input for query parameters sort_key. Value: {key}. "
                             f"'{key}' is not one of {sorted(valid)}")
    for value in params.getlist("limit"):
        if not value.isdigit():
            raise BadRequest(f"Invalid input for query parameters limit. Value: {value}. "
                             f"'{value}' does not match '^[0-9]*$'")
    for name in ("changes-since", "changes-before"):
        for value in params.getlist(name):
            try:
                parse_isotime(value)
            except ValueError:
                raise BadRequest(f"Invalid input for query parameters {name}. Value: {value}. "
                                 f"'{value}' is not a 'date-time'") from None


def _sort(request: Request, admin: bool) -> list[tuple[str, str]]:
    keys = [k.strip() for k in request.query_params.getlist("sort_key")] or ["created_at"]
    dirs = [d.strip() for d in request.query_params.getlist("sort_dir")] or ["desc"]
    ignored = server_list.IGNORED_SORT_KEYS - ({"locked"} if at_least(request, 2, 73) else set())
    for key in list(keys):
        if key in ignored:
            index = keys.index(key)
            if len(dirs) > index:
                dirs.pop(index)
            keys.pop(index)
        elif key in server_list.ADMIN_SORT_KEYS and not admin:
            raise Forbidden(f"Only administrators can sort servers by {key}")
    return server_list.process_sort(keys, dirs)


def _apply_filters(q: ServerQuery, opts: dict[str, Any]) -> None:
    """Nova's get_all mapping, then its exact and regular-expression filters by column."""
    for opt, value in opts.items():
        name = {"image": "image_ref", "name": "display_name", "tenant_id": "project_id"}.get(opt, opt)
        if name == "flavor":
            q.flavor_id = str(value).rstrip("/").rsplit("/", 1)[-1]
        elif name in ("ip", "ip6", "fixed_ip"):
            q.by_address = True
        elif name in server_list.EXACT_COLUMNS:
            q.exact[name] = value if isinstance(value, list) else [value]
        elif name in server_list.REGEX_COLUMNS or name in server_list.CONSTANT_COLUMNS:
            q.regex[name] = str(value)
        # anything else names no column; Nova ignores it


def _search_opts(request: Request, ctx: AuthContext) -> dict[str, Any]:
    """The filters of the request (last value of each) that the caller may use."""
    params = request.query_params
    opts: dict[str, Any] = {k: params.getlist(k)[-1] for k in params}
    if allowed(request, ctx, "os_compute_api:servers:allow_all_filters"):
        for key in _PAGING:
            opts.pop(key, None)
    else:
        permitted = _user_filters(request)
        opts = {k: v for k, v in opts.items() if k in permitted}
    for key in opts:
        if key in _JOINED or key.startswith("_"):
            raise BadRequest(f"Invalid filter field: {key}.")
    return opts


def _query(request: Request, ctx: AuthContext, detail_list: bool) -> ServerQuery | None:
    """The list request as a query; None when Nova answers an empty list outright."""
    _check_schema(request)
    params = request.query_params
    admin = allowed(request, ctx, "context_is_admin")
    opts = _search_opts(request, ctx)
    q = ServerQuery(project_id=None)
    if opts.pop("status", None) is not None:
        vm_states, task_states = server_list.statuses_to_states(params.getlist("status"))
        if not vm_states:
            if at_least(request, 2, 38):
                raise BadRequest("Invalid status value")
            return None
        opts["vm_state"] = vm_states
        if task_states is not None:
            opts["task_state"] = task_states
    for name, attr in (("changes-since", "changes_since"), ("changes-before", "changes_before")):
        if name in opts:
            setattr(q, attr, parse_isotime(opts.pop(name)))
    if q.changes_since and q.changes_before and q.changes_before < q.changes_since:
        raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    if "deleted" in opts:
        raw = str(opts.pop("deleted")).strip().lower()
        q.deleted = raw in _STRICT_TRUE  # Nova: anything unrecognised means "not deleted"
    elif q.changes_since is None and q.changes_before is None:
        q.deleted = False
    if "soft_deleted" in opts:
        q.soft_deleted = str(opts.pop("soft_deleted")).strip().lower() in _STRICT_TRUE
    if opts.get("vm_state") == [states.DELETED]:
        if not admin:
            raise Forbidden("Only administrators may list deleted instances")
        q.deleted = True
    if at_least(request, 2, 26):
        for name, attr in zip(_TAG_FILTERS, ("tags", "tags_any", "not_tags", "not_tags_any"), strict=True):
            if name in opts:
                setattr(q, attr, str(opts.pop(name)).split(","))
    all_tenants = False
    if "all_tenants" in opts:
        raw = opts.pop("all_tenants")
        all_tenants = _strict_bool(raw) if raw else True  # an empty value turns it on
    if "locked" in opts:
        opts["locked"] = _strict_bool(str(opts["locked"]))
    if all_tenants:
        enforce(request, ctx, "os_compute_api:servers:detail:get_all_tenants" if detail_list
                else "os_compute_api:servers:index:get_all_tenants")
    else:
        opts.pop("tenant_id", None)
        q.project_id = ctx.project_id
        opts.pop("project_id", None)
    _apply_filters(q, opts)
    q.sort = _sort(request, admin)
    q.limit = min(int(params.getlist("limit")[-1]), MAX_LIMIT) if "limit" in params else MAX_LIMIT
    q.marker = params.getlist("marker")[-1] if "marker" in params else None
    return q


def _next_link(request: Request, last_id: str) -> list[dict[str, str]]:
    items = sorted((k, v) for k, v in request.query_params.multi_items() if k != "marker")
    items.append(("marker", last_id))
    base = str(request.url).split("?")[0]
    return [{"rel": "next", "href": f"{base}?{urlencode(items)}"}]


async def _list(request: Request, detail_list: bool) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:servers:detail" if detail_list else "os_compute_api:servers:index")
    q = _query(request, ctx, detail_list)
    if q is None:
        return json_response({"servers": []})
    view = viewer(request, ctx)

    def read(s: Session) -> list[dict[str, Any]]:
        rows = server_list.run(s, q)
        if detail_list:
            return render_many(request, s, rows, view)
        return [brief(request, instances.to_dict(r)) for r in rows]

    servers = await compute_of(request).db.read(read)
    body: dict[str, Any] = {"servers": servers}
    if q.limit and len(servers) == q.limit:
        body["servers_links"] = _next_link(request, servers[-1]["id"])
    return json_response(body)


@routes.get("/v2.1/servers")
async def list_servers(request: Request) -> Response:
    return await _list(request, False)


@routes.get("/v2.1/servers/detail")
async def list_servers_detail(request: Request) -> Response:
    return await _list(request, True)


# --- show / update / delete --------------------------------------------------------------

@routes.get("/v2.1/servers/{server_id}")
async def show_server(request: Request) -> Response:
    ctx = await caller(request)
    uuid = request.path_params["server_id"]
    await load(request, ctx, uuid, "os_compute_api:servers:show")
    return json_response({"server": await show_one(request, ctx, uuid)})


def _update_keys(request: Request) -> set[str]:
    keys = {"name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"}
    if at_least(request, 2, 19):
        keys.add("description")
    if at_least(request, 2, 90):
        keys.add("hostname")
    return keys


@routes.put("/v2.1/servers/{server_id}")
async def update_server(request: Request) -> Response:
    ctx = await caller(request)
    uuid = request.path_params["server_id"]
    row = await load(request, ctx, uuid, "os_compute_api:servers:update")
    body = await json_body(request)
    if not isinstance(body, dict) or "server" not in body:
        raise BadRequest(f"Invalid input for field/attribute server. Value: {body}. 'server' is a required property")
    extra = sorted(set(body) - {"server"})
    if extra:
        raise BadRequest(f"Additional properties are not allowed ({', '.join(repr(k) for k in extra)} "
                         f"{'was' if len(extra) == 1 else 'were'} unexpected)")
    server = body["server"]
    if not isinstance(server, dict):
        raise BadRequest(f"Invalid input for field/attribute server. Value: {server}. "
                         f"{server!r} is not of type 'object'")
    check_keys(server, _update_keys(request), "server")
    values: dict[str, Any] = {}
    if "name" in server:
        values["display_name"] = name_field(server["name"])
    if "description" in server:
        values["display_description"] = server_create._description(server["description"])
    if "accessIPv4" in server:
        values["access_ip_v4"] = server_create._ip(server["accessIPv4"], "accessIPv4", 4)
    if "accessIPv6" in server:
        values["access_ip_v6"] = server_create._ip(server["accessIPv6"], "accessIPv6", 6)
    if "hostname" in server:
        values["hostname"] = server_create._hostname(request, server, 1)
    if "OS-DCF:diskConfig" in server:
        meta = dict(row.get("system_metadata") or {})
        meta["auto_disk_config"] = server_create._disk_config(server["OS-DCF:diskConfig"])
        values["system_metadata"] = meta

    if values:
        await compute_of(request).db.write(lambda s: instances.apply_update(s, uuid, values))
    return json_response({"server": await show_one(request, ctx, uuid, "update")})


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
        if host and _host_up(s, host, compute.config.compute.service_down_time):
            inst.task_state = states.DELETING
            inst.updated_at = utcnow()
            return host, True
        instances.mark_deleted(s, uuid)  # never scheduled, or its host is gone: local delete
        return None, False

    if row.get("vm_state") == states.RESIZED:
        # Nova confirms a resize waiting for verification before deleting: the source host drops
        # the set-aside disks and placement the migration's allocation.
        # Imported here: actions_migrate imports this module.
        from onestack.compute.api.actions_migrate import confirm_before_delete

        await confirm_before_delete(request, row)
    host, remote = await compute.db.write(mark)
    if remote and host:
        assert compute.agents is not None
        await compute.agents.terminate_instance(host, row, request_id=request.state.request_id)
    elif not remote and host is None:
        assert compute.placement is not None
        await compute.placement.release(uuid)
    shelved_image = (row.get("system_metadata") or {}).get("shelved_image_id")
    if shelved_image and compute.images is not None:
        await compute.images.delete(shelved_image)  # a shelved server's snapshot goes with it (Nova)


@routes.delete("/v2.1/servers/{server_id}")
async def delete_server(request: Request) -> Response:
    ctx = await caller(request)
    row = await load(request, ctx, request.path_params["server_id"], "os_compute_api:servers:delete")
    await delete_instance(request, ctx, row)
    return no_content()
