"""Servers: create, list (brief and detail), show, update, delete."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from starlette.responses import Response

from onestack.compute import states
from onestack.compute.agent.network import release_ports
from onestack.compute.api import boot_volumes, server_create
from onestack.compute.api.common import (
    MAX_LIMIT,
    ComputeRoutes,
    Req,
    check_keys,
    name_field,
    page,
    resource_links,
)
from onestack.compute.api.operator import no_query_from_2_102
from onestack.compute.api.server_security_groups import add_security_groups
from onestack.compute.api.server_views import (
    LIST,
    Shape,
    Viewer,
    brief,
    detail,
    disk_config,
    shape_for,
)
from onestack.compute.network_info import cached, requested
from onestack.compute.service import block_devices, boot, instances, server_list, servers
from onestack.compute.service.server_list import ServerQuery
from onestack.compute.volume_cleanup import release_volumes
from onestack.core.api.faults import BadRequest, Forbidden
from onestack.core.api.headers import location
from onestack.core.api.http import json_response, no_content
from onestack.core.api.pagination import Page
from onestack.core.api.parse import OSLO_BOOLEANS, parse_timestamp
from onestack.core.auth import AuthContext

routes = ComputeRoutes()
log = logging.getLogger("onestack.compute.api")


async def viewer(req: Req) -> Viewer:
    host_status = await req.allowed("os_compute_api:servers:show:host_status")
    return Viewer(admin_attrs=await req.allowed("os_compute_api:os-extended-server-attributes"),
                  flavor_specs=await req.allowed("os_compute_api:servers:show:flavor-extra-specs"),
                  host_status=host_status,
                  host_status_unknown_only=not host_status and await req.allowed(
                      "os_compute_api:servers:show:host_status:unknown-only"),
                  fault_details=await req.allowed("context_is_admin"))


def extras(req: Req, view: Viewer, shape: Shape = LIST) -> servers.Extras:
    """What the service adds to each row for this view: tags (2.26), host status (2.16, by policy)."""
    wants_status = shape.full and req.at_least(2, 16) and (view.host_status or view.host_status_unknown_only)
    return servers.Extras(tags=req.at_least(2, 26), host_status=wants_status,
                          down_after=req.state.config.compute.service_down_time)


def render(req: Req, found: servers.Shown, view: Viewer, shape: Shape = LIST) -> dict[str, Any]:
    return detail(req, found.server, view, fault=found.fault, host_status=found.host_status, shape=shape)


async def own_scope(req: Req) -> str | None:
    """The project a caller's lookups are limited to; None for an admin (every project)."""
    ctx = await req.caller()
    return None if await req.is_admin() else ctx.project_id


async def actor(req: Req) -> servers.Actor:
    ctx = await req.caller()
    return servers.Actor(req.request_id, ctx.project_id or "", ctx.user_id or "")


async def load(req: Req, ctx: AuthContext, uuid: str, rule: str) -> dict[str, Any]:
    """The server as the caller may see it (404 for another project's), after the policy check."""
    row = await req.read(servers.visible, uuid, await own_scope(req))
    await req.enforce(rule, {"project_id": row["project_id"], "user_id": row["user_id"]})
    return row


async def show_one(req: Req, ctx: AuthContext, uuid: str, kind: str | None = None) -> dict[str, Any]:
    """The detailed view of one server; ``kind`` "update" or "rebuild" gives those answers' shape.

    Left out, it is "show", or "rebuild" under POST /servers/{id}/action: rebuild is the only
    server action Nova answers with the server.
    """
    if kind is None:
        kind = "rebuild" if req.request.url.path.endswith("/action") else "show"
    view = await viewer(req)
    shape = shape_for(req, kind)
    found = await req.read(servers.show, uuid, await own_scope(req), extras(req, view, shape))
    shown = render(req, found, view, shape)
    if shape.full:  # the groups of the server's ports (network service), as Nova's show_sec_grp
        await add_security_groups(req, [shown])
    return shown


# --- create ------------------------------------------------------------------------------

@routes.post("/v2.1/servers")
async def create_server(req: Req) -> Response:
    await req.caller()  # 401 before anything about the body
    body = await req.json()
    draft = server_create.validate(req, body)
    devices = await server_create.check_placement_args(req, draft)
    compute = req.state
    server_create.compute_has_clients(req)
    assert compute.images is not None
    boot_props = await boot_volumes.check(req, compute.volume, devices)
    if devices.root is not None:
        image = boot_props or {}
    else:
        assert draft.image_id is not None
        found = await compute.images.get(draft.image_id, req.headers.get("X-Auth-Token"))
        if found is None:
            raise BadRequest("Can not find requested image")
        image = found
        from_image = boot_volumes.from_image(found)
        if from_image and not devices.volumes:
            # The snapshot of a volume-backed server: its mappings are the boot (Nova).
            devices.volumes = from_image
            await boot_volumes.check(req, compute.volume, devices)
            image = {k: v for k, v in found.items() if k not in boot_volumes.IMAGE_BDM_KEYS}
    decided = await server_create.decide(req, draft, image)
    decided.volume_backed = devices.root is not None
    rows = await req.write(boot.create, draft, decided, devices.volumes)
    if devices.volumes:
        await _provide_volumes(req, rows)
    assert compute.conductor is not None
    await compute.conductor.build_instances([r["uuid"] for r in rows], req.request_id)
    if draft.return_reservation_id:
        return json_response({"reservation_id": rows[0]["reservation_id"]}, 202)
    first = rows[0]
    server = draft.server
    reply: dict[str, Any] = {"id": first["uuid"], "links": resource_links(req, "servers", first["uuid"]),
                             "OS-DCF:diskConfig": disk_config(first),
                             "security_groups": server.get("security_groups", [{"name": "default"}]),
                             "adminPass": server.get("adminPass") or _password()}
    return json_response({"server": reply}, 202, headers=location(reply["links"][0]["href"]))


async def _provide_volumes(req: Req, rows: list[dict[str, Any]]) -> None:
    """The boot's volumes made (or reserved) as the user before the build is cast; a failure
    abandons the rows (Nova's 400 for the volume it could not have)."""
    client = req.state.volume
    assert client is not None
    try:
        for row in rows:
            made = await boot_volumes.provide(req, client, row, row["block_device_mapping"])
            for bdm_uuid, values in made:
                values.pop("created", None)
                await req.write(block_devices.update, bdm_uuid, values)
    except BaseException:
        await req.write(boot.abandon, [r["uuid"] for r in rows])
        raise


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


def _query_keys(req: Req) -> set[str]:
    keys = set(_QUERY_KEYS)
    if req.at_least(2, 26):
        keys.update(_TAG_FILTERS)
    if req.at_least(2, 66):
        keys.add("changes-before")
    if req.at_least(2, 73):
        keys.add("locked")
    return keys


def _user_filters(req: Req) -> set[str]:
    """The filters a non-admin may use (Nova drops the others silently)."""
    keys = {"reservation_id", "name", "status", "image", "flavor", "ip", "changes-since", "all_tenants"}
    for version, added in (((2, 5), {"ip6"}), ((2, 26), set(_TAG_FILTERS)), ((2, 66), {"changes-before"}),
                           ((2, 73), {"locked"}),
                           ((2, 83), {"availability_zone", "config_drive", "key_name", "created_at", "launched_at",
                                      "terminated_at", "power_state", "task_state", "vm_state", "progress",
                                      "user_id"}),
                           ((2, 90), {"hostname"})):
        if req.at_least(*version):
            keys.update(added)
    return keys


def _strict_bool(value: str) -> bool:
    try:
        return OSLO_BOOLEANS.parse(value)
    except ValueError:
        raise BadRequest(f"Unrecognized value '{value}', acceptable values are: '0', '1', 'f', 'false', 'n', "
                         "'no', 'off', 'on', 't', 'true', 'y', 'yes'") from None


def _check_schema(req: Req) -> None:
    """The query schema of the microversion: known keys (2.75+), sort keys, limit, timestamps."""
    params = req.params
    if req.at_least(2, 75):
        unknown = sorted(k for k in set(params) - _query_keys(req) if not k.startswith("_"))
        if unknown:
            listed = ", ".join(f"'{k}'" for k in unknown)
            raise BadRequest(f"Additional properties are not allowed ({listed} "
                             f"{'was' if len(unknown) == 1 else 'were'} unexpected)")
    valid = set(server_list.VALID_SORT_KEYS)
    if req.at_least(2, 73):
        valid.add("locked")
    if req.at_least(2, 75):
        valid -= server_list.IGNORED_SORT_KEYS - {"locked"}
    for key in params.getlist("sort_key"):
        if key.strip() not in valid:
            raise BadRequest(f"Invalid input for query parameters sort_key. Value: {key}. "
                             f"'{key}' is not one of {sorted(valid)}")
    page(req)
    for name in ("changes-since", "changes-before"):
        for value in params.getlist(name):
            try:
                parse_timestamp(value)
            except ValueError:
                raise req.bad_value(name, value, f"'{value}' is not a 'date-time'") from None


def _sort(req: Req, admin: bool) -> list[tuple[str, str]]:
    keys = [k.strip() for k in req.params.getlist("sort_key")] or ["created_at"]
    dirs = [d.strip() for d in req.params.getlist("sort_dir")] or ["desc"]
    ignored = server_list.IGNORED_SORT_KEYS - ({"locked"} if req.at_least(2, 73) else set())
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
        elif name in ("ip", "ip6"):
            setattr(q, name, str(value))
        elif name == "fixed_ip":  # Nova's remap: exactly this address
            q.ip = "^" + str(value).replace(".", "\\.") + "$"
        elif name in server_list.EXACT_COLUMNS:
            q.exact[name] = value if isinstance(value, list) else [value]
        elif name in server_list.REGEX_COLUMNS or name in server_list.CONSTANT_COLUMNS:
            q.regex[name] = str(value)
        # anything else names no column; Nova ignores it


async def _search_opts(req: Req) -> dict[str, Any]:
    """The filters of the request (last value of each) that the caller may use."""
    params = req.params
    opts: dict[str, Any] = {k: params.getlist(k)[-1] for k in params}
    if await req.allowed("os_compute_api:servers:allow_all_filters"):
        for key in _PAGING:
            opts.pop(key, None)
    else:
        permitted = _user_filters(req)
        opts = {k: v for k, v in opts.items() if k in permitted}
    for key in opts:
        if key in _JOINED or key.startswith("_"):
            raise BadRequest(f"Invalid filter field: {key}.")
    return opts


async def _query(req: Req, ctx: AuthContext, detail_list: bool) -> ServerQuery | None:
    """The list request as a query; None when Nova answers an empty list outright."""
    _check_schema(req)
    params = req.params
    admin = await req.allowed("context_is_admin")
    opts = await _search_opts(req)
    q = ServerQuery(project_id=None)
    if opts.pop("status", None) is not None:
        vm_states, task_states = server_list.statuses_to_states(params.getlist("status"))
        if not vm_states:
            if req.at_least(2, 38):
                raise BadRequest("Invalid status value")
            return None
        opts["vm_state"] = vm_states
        if task_states is not None:
            opts["task_state"] = task_states
    for name, attr in (("changes-since", "changes_since"), ("changes-before", "changes_before")):
        if name in opts:
            setattr(q, attr, parse_timestamp(opts.pop(name)))
    if q.changes_since and q.changes_before and q.changes_before < q.changes_since:
        raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    if "deleted" in opts:
        raw = str(opts.pop("deleted")).strip().lower()
        q.deleted = raw in OSLO_BOOLEANS.true  # Nova: anything unrecognised means "not deleted"
    elif q.changes_since is None and q.changes_before is None:
        q.deleted = False
    if "soft_deleted" in opts:
        q.soft_deleted = str(opts.pop("soft_deleted")).strip().lower() in OSLO_BOOLEANS.true
    if opts.get("vm_state") == [states.DELETED]:
        if not admin:
            raise Forbidden("Only administrators may list deleted instances")
        q.deleted = True
    if req.at_least(2, 26):
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
        await req.enforce("os_compute_api:servers:detail:get_all_tenants" if detail_list
                          else "os_compute_api:servers:index:get_all_tenants")
    else:
        opts.pop("tenant_id", None)
        q.project_id = ctx.project_id
        opts.pop("project_id", None)
    _apply_filters(q, opts)
    q.sort = _sort(req, admin)
    q.limit = min(int(params.getlist("limit")[-1]), MAX_LIMIT) if "limit" in params else MAX_LIMIT
    q.marker = params.getlist("marker")[-1] if "marker" in params else None
    return q


async def _list(req: Req, detail_list: bool) -> Response:
    ctx = await req.enforce("os_compute_api:servers:detail" if detail_list else "os_compute_api:servers:index")
    q = await _query(req, ctx, detail_list)
    if q is None:
        return json_response({"servers": []})
    view = await viewer(req)
    found = await req.read(servers.listing, q, extras(req, view) if detail_list else None)
    shown = ([render(req, f, view) for f in found] if detail_list else [brief(req, f.server) for f in found])
    if detail_list:
        await add_security_groups(req, shown)
    body: dict[str, Any] = {"servers": shown}
    links = req.next_links(shown, Page(limit=q.limit, marker=q.marker), sort_params=True)
    if links:
        body["servers_links"] = links
    return json_response(body)


@routes.get("/v2.1/servers")
async def list_servers(req: Req) -> Response:
    return await _list(req, False)


@routes.get("/v2.1/servers/detail")
async def list_servers_detail(req: Req) -> Response:
    return await _list(req, True)


# --- show / update / delete --------------------------------------------------------------

@routes.get("/v2.1/servers/{server_id}")
async def show_server(req: Req) -> Response:
    await no_query_from_2_102(req)
    ctx = await req.caller()
    uuid = req.path("server_id")
    await load(req, ctx, uuid, "os_compute_api:servers:show")
    return json_response({"server": await show_one(req, ctx, uuid)})


def _update_keys(req: Req) -> set[str]:
    keys = {"name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"}
    if req.at_least(2, 19):
        keys.add("description")
    if req.at_least(2, 90):
        keys.add("hostname")
    if req.at_least(2, 104):
        keys.add("pinned_availability_zone")
    return keys


@routes.put("/v2.1/servers/{server_id}")
async def update_server(req: Req) -> Response:
    ctx = await req.caller()
    uuid = req.path("server_id")
    row = await load(req, ctx, uuid, "os_compute_api:servers:update")
    body = await req.json()
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
    check_keys(server, _update_keys(req), "server")
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
        values["hostname"] = server_create._hostname(req, server, 1)
    if "OS-DCF:diskConfig" in server:
        meta = dict(row.get("system_metadata") or {})
        meta["auto_disk_config"] = server_create._disk_config(server["OS-DCF:diskConfig"])
        values["system_metadata"] = meta

    pin = "pinned_availability_zone" in server
    zone = None if not pin or server["pinned_availability_zone"] is None else \
        name_field(server["pinned_availability_zone"], "pinned_availability_zone")
    if pin:  # before the other changes: a 409 changes nothing
        await req.write(instances.pin_zone, uuid, zone)
    if values:
        await req.write(instances.apply_update, uuid, values)
    return json_response({"server": await show_one(req, ctx, uuid, "update")})


async def delete_instance(req: Req, ctx: AuthContext, row: dict[str, Any], action: str = "delete") -> None:
    """Delete on the host, or at once when the server never reached one or its host is down."""
    compute = req.state
    uuid = row["uuid"]
    if row.get("vm_state") == states.RESIZED:
        # Nova confirms a resize waiting for verification before deleting: the source host drops
        # the set-aside disks and placement the migration's allocation.
        # Imported here: actions_migrate imports this module.
        from onestack.compute.api.actions_migrate import confirm_before_delete

        await confirm_before_delete(req, row)
    host, remote, bdms = await req.write(servers.begin_delete, uuid, await req.is_admin(), action,
                                         await actor(req), compute.config.compute.service_down_time)
    if bdms and compute.volume is not None:
        await release_volumes(compute.volume, uuid, bdms)  # no agent deletes it (Nova's _local_delete)
    if remote and host:
        assert compute.agents is not None
        await compute.agents.terminate_instance(host, row, request_id=req.request_id)
    elif not remote and host is None:
        assert compute.placement is not None
        await compute.placement.release(uuid)
    if not remote and host is None and compute.network is not None and (requested(row) or cached(row)):
        # No agent deletes it: its ports go from here (Nova's _local_delete).
        try:
            await release_ports(compute.network, row)
        except Exception:  # the server is gone all the same; the ports can be deleted by hand
            log.exception("the ports of deleted server %s could not be released", uuid)
    shelved_image = (row.get("system_metadata") or {}).get("shelved_image_id")
    if shelved_image and compute.images is not None:
        await compute.images.delete(shelved_image)  # a shelved server's snapshot goes with it (Nova)


@routes.delete("/v2.1/servers/{server_id}")
async def delete_server(req: Req) -> Response:
    ctx = await req.caller()
    row = await load(req, ctx, req.path("server_id"), "os_compute_api:servers:delete")
    await delete_instance(req, ctx, row)
    return no_content()
