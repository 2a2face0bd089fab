"""A server's security groups: ``/servers/{id}/os-security-groups``, the ``security_groups`` of the
server views, and the ``addSecurityGroup`` / ``removeSecurityGroup`` actions (every microversion).

A server's groups are those of its ports (the network service's ports whose ``device_id`` is the
server), read as the calling user, as Nova reads them. The actions add or remove a group (a
name, or an id) on every port of the server by updating the ports' ``security_groups``: the
network service refuses a group already there (a duplicate in the list: 400), as behind Nova.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.client.network import NetworkError
from onestack.compute.api.common import ComputeRoutes, Req, is_uuid_like
from onestack.compute.api.network_proxy import UserNetwork, chunks, network, translate
from onestack.compute.api.operator import no_query_from_2_102
from onestack.compute.api.os_security_groups import views
from onestack.compute.api.server_actions import action
from onestack.compute.service import servers
from onestack.core.api.faults import ApiError, BadRequest, Conflict, NotFound
from onestack.core.api.http import json_response
from onestack.core.auth import AuthContext

routes = ComputeRoutes()

_RULE = "os_compute_api:os-security-groups:"
CANNOT_APPLY = ("Network requires port_security_enabled and subnet associated in order to apply "
                "security groups.")


# Nova's schema of both actions' argument.
ACTION_SCHEMA: dict[str, Any] = {"type": "object", "required": ["name"], "additionalProperties": False,
                                 "properties": {"name": {"type": "string", "minLength": 1}}}


async def bindings(net: UserNetwork, server_ids: list[str], detailed: bool = False) -> dict[str, list[dict[str, Any]]]:
    """{server uuid: its ports' groups} (``{"name"}`` each, or the whole group with ``detailed``)."""
    ports: list[dict[str, Any]] = []
    for ids in chunks(server_ids):
        ports += await net.list("ports", device_id=ids, fields=["security_groups", "device_id"])
    group_ids = sorted({g for p in ports for g in p.get("security_groups") or ()})
    groups: dict[str, dict[str, Any]] = {}
    for ids in chunks(group_ids):
        fields = {} if detailed else {"fields": ["id", "name"]}
        for g in await net.list("security-groups", id=ids, **fields):
            groups[g["id"]] = g
    found: dict[str, list[dict[str, Any]]] = {}
    for port in ports:
        for gid in port.get("security_groups") or ():
            group = groups.get(gid)  # a group the user cannot see is left out, as Nova does
            if group is not None:
                found.setdefault(port["device_id"], []).append(
                    group if detailed else {"name": group.get("name") or group["id"]})
    return found


async def add_security_groups(req: Req, servers_shown: list[dict[str, Any]]) -> None:
    """Set ``security_groups`` on the server views whose ports have any (Nova's _add_security_grps).

    For show, detail and (from 2.75) the update and rebuild answers. Without a reachable network
    service the views go without, rather than the server API failing.
    """
    if not servers_shown or req.state.network is None:
        return
    ctx = await req.caller()
    try:
        found = await bindings(network(req, ctx), [s["id"] for s in servers_shown])
    except (NetworkError, ApiError):
        return
    for server in servers_shown:
        if found.get(server["id"]):
            server["security_groups"] = found[server["id"]]


@routes.get("/v2.1/servers/{server_id}/os-security-groups")
async def list_server_groups(req: Req) -> Response:
    await no_query_from_2_102(req)
    ctx = await req.caller()
    project = None if await req.is_admin() else ctx.project_id
    row = await req.read(servers.visible, req.path("server_id"), project)
    await req.enforce(_RULE + "list", {"project_id": row["project_id"]})
    net = network(req, ctx)
    try:
        groups = (await bindings(net, [row["uuid"]], detailed=True)).get(row["uuid"], [])
        return json_response({"security_groups": await views(net, groups)})
    except NetworkError as err:
        raise translate(err) from None


# --- the actions ----------------------------------------------------------------------------

async def find_group_id(net: UserNetwork, name_or_id: str, project_id: str | None) -> str:
    """The id of the group named (or with the id) ``name_or_id``, as neutronclient finds it."""
    if is_uuid_like(name_or_id):
        found = await net.list("security-groups", id=name_or_id, fields=["id"])
        if found:
            return str(found[0]["id"])
    params: dict[str, Any] = {"name": name_or_id, "fields": ["id"]}
    if project_id:
        params["tenant_id"] = project_id
    found = await net.list("security-groups", **params)
    if len(found) > 1:
        raise Conflict(f"Multiple security_group matches found for name '{name_or_id}', "
                       "use an ID to be more specific.")
    if not found:
        raise NotFound(f"Security group {name_or_id} is not found for project {project_id}")
    return str(found[0]["id"])


async def _prepare(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any,
                   name: str) -> tuple[UserNetwork, str, list[dict[str, Any]]]:
    """Policy, the group's name checked, its id, and the server's ports (404 without any)."""
    req.validate(arg, ACTION_SCHEMA, wrapper=name)
    await req.enforce(_RULE + ("add" if name == "addSecurityGroup" else "remove"),
                      {"project_id": row["project_id"]})
    group_name = arg["name"]
    if not group_name.strip():
        raise BadRequest("Security group name cannot be empty")
    net = network(req, ctx)
    try:
        group_id = await find_group_id(net, group_name, ctx.project_id)
        ports = await net.list("ports", device_id=row["uuid"])
    except NetworkError as err:
        raise translate(err) from None
    if not ports:
        raise NotFound(f"instance_id {row['uuid']} could not be found as device id on any ports")
    return net, group_id, ports


@action("addSecurityGroup")
async def add_security_group(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    net, group_id, ports = await _prepare(req, ctx, row, arg, "addSecurityGroup")
    for port in ports:
        secured = port.get("port_security_enabled", True)
        if not ((port.get("fixed_ips") or port.get("ip_allocation") == "deferred") and secured):
            raise BadRequest(CANNOT_APPLY)
        # Sent even when the group is there already: the network service's 400 is Nova's answer.
        wanted = [*(port.get("security_groups") or []), group_id]
        try:
            await net.update("ports", "port", port["id"], {"security_groups": wanted})
        except NetworkError as err:
            if err.status == 400:
                raise BadRequest(err.message) from None
            raise translate(err) from None
    return Response(status_code=202)


@action("removeSecurityGroup")
async def remove_security_group(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    net, group_id, ports = await _prepare(req, ctx, row, arg, "removeSecurityGroup")
    removed = False
    for port in ports:
        groups = list(port.get("security_groups") or [])
        if group_id not in groups:
            continue  # Nova removes it where it is; 404 only when it is on none of the ports
        groups.remove(group_id)
        try:
            await net.update("ports", "port", port["id"], {"security_groups": groups})
        except NetworkError as err:
            raise translate(err) from None
        removed = True
    if not removed:
        raise NotFound(f"Security group {arg['name']} not associated with the instance {row['uuid']}")
    return Response(status_code=202)
