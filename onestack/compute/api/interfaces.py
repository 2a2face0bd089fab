"""``/servers/{id}/os-interface``: a server's ports (Nova's attach-interfaces API).

The list and show ask the network service, as the user, for the ports whose device is the
server, as Nova does; attach and detach are done by the server's agent (agent/interfaces.py),
which binds the port to its host, tells the driver and refreshes the info cache. What can be
checked first is checked here, with Nova's codes: an unknown network or port 404, a port or
fixed IP in use 409, no network to pick 400, a server in the wrong state 409.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.client.network import NetworkClient, NetworkError
from onestack.compute import states
from onestack.compute.agent.network import InterfaceAttachFailed, PortNotAttached
from onestack.compute.api.actions_state import agents
from onestack.compute.api.common import ComputeRoutes, Req, check_keys, invalid, is_uuid_like
from onestack.compute.api.operator import no_query_from_2_102
from onestack.compute.api.server_networks import AMBIGUOUS
from onestack.compute.api.servers import load
from onestack.compute.network_info import cached, tags_of
from onestack.compute.virt.driver import NotSupported
from onestack.core.api.faults import BadRequest, Conflict, Forbidden, NotFound, NotImplementedFault
from onestack.core.api.http import json_response

routes = ComputeRoutes()
_RULE = "os_compute_api:os-attach-interfaces:"
_STATES = (states.ACTIVE, states.PAUSED, states.STOPPED)


def _client(req: Req) -> NetworkClient:
    client: NetworkClient | None = req.state.network
    if client is None:
        raise NotImplementedFault("Network driver does not support this function.")
    return client


def _view(req: Req, port: dict[str, Any], tags: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "port_state": port.get("status"), "port_id": port["id"], "net_id": port.get("network_id"),
        "mac_addr": port.get("mac_address"),
        "fixed_ips": [{"subnet_id": ip.get("subnet_id"), "ip_address": ip.get("ip_address")}
                      for ip in port.get("fixed_ips") or []],
    }
    if req.at_least(2, 70):
        body["tag"] = tags.get(port["id"])
    return body


def _tags(row: dict[str, Any]) -> dict[str, Any]:
    return {**{v["id"]: v.get("tag") for v in cached(row)}, **tags_of(row)}


def _check_state(row: dict[str, Any], action: str) -> None:
    if row["vm_state"] not in _STATES:
        raise Conflict(f"Cannot '{action}' instance {row['uuid']} while it is in vm_state {row['vm_state']}")
    if row.get("task_state") is not None:
        raise Conflict(f"Cannot '{action}' instance {row['uuid']} while it is in task_state {row['task_state']}")
    if row.get("locked"):
        raise Conflict(f"Instance {row['uuid']} is locked")


@routes.get("/v2.1/servers/{server_id}/os-interface")
async def list_interfaces(req: Req) -> Response:
    await no_query_from_2_102(req)
    ctx = await req.caller()
    row = await load(req, ctx, req.path("server_id"), _RULE + "list")
    ports = await _client(req).ports_of(row["uuid"], user_token=req.headers.get("X-Auth-Token"))
    tags = _tags(row)
    ports.sort(key=lambda p: (str(p.get("created_at") or ""), str(p["id"])))
    return json_response({"interfaceAttachments": [_view(req, p, tags) for p in ports]})


@routes.get("/v2.1/servers/{server_id}/os-interface/{port_id}")
async def show_interface(req: Req) -> Response:
    await no_query_from_2_102(req)
    ctx = await req.caller()
    row = await load(req, ctx, req.path("server_id"), _RULE + "show")
    port_id = req.path("port_id")
    try:
        port = await _client(req).get_port(port_id, user_token=req.headers.get("X-Auth-Token"))
    except NetworkError as exc:
        if exc.status == 404:
            raise NotFound(f"Port id {port_id} could not be found.") from None
        raise
    if port.get("device_id") != row["uuid"]:
        raise NotFound(f"Instance {row['uuid']} does not have a port with id {port_id}")
    return json_response({"interfaceAttachment": _view(req, port, _tags(row))})


def _attachment(req: Req, body: Any) -> tuple[str | None, str | None, str | None, str | None]:
    """Nova's schema: net_id / port_id (uuids), fixed_ips (one, with net_id), tag (2.49)."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise invalid("interfaceAttachment", body, f"{body!r} is not of type 'object'")
    check_keys(body, {"interfaceAttachment"}, "")
    att = body.get("interfaceAttachment", {})
    if not isinstance(att, dict):
        raise invalid("interfaceAttachment", att, f"{att!r} is not of type 'object'")
    check_keys(att, {"net_id", "port_id", "fixed_ips"} | ({"tag"} if req.at_least(2, 49) else set()),
               "interfaceAttachment")
    net_id, port_id, tag = att.get("net_id"), att.get("port_id"), att.get("tag")
    for field, value in (("net_id", net_id), ("port_id", port_id)):
        if value is not None and not is_uuid_like(value):
            raise invalid(f"interfaceAttachment/{field}", value, f"{value!r} is not a 'uuid'")
    if tag is not None and (not isinstance(tag, str) or not 1 <= len(tag) <= 60 or "/" in tag or "," in tag):
        raise invalid("interfaceAttachment/tag", tag, f"{tag!r} does not match '^[^,/]*$'")
    fixed_ip = None
    if "fixed_ips" in att:
        ips = att["fixed_ips"]
        if not isinstance(ips, list) or len(ips) != 1 or not isinstance(ips[0], dict) or \
                set(ips[0]) != {"ip_address"}:
            raise invalid("interfaceAttachment/fixed_ips", ips, f"{ips!r} is not valid under the given schema")
        fixed_ip = str(ips[0]["ip_address"])
    if net_id and port_id:
        raise BadRequest("Must not input both network_id and port_id")
    if fixed_ip and not net_id:
        raise BadRequest("Must input network_id when request IP address")
    return net_id, port_id, fixed_ip, tag


async def _precheck(req: Req, client: NetworkClient, row: dict[str, Any], net_id: str | None,
                    port_id: str | None, fixed_ip: str | None) -> str | None:
    """The network to attach to (picked when none is named), after Nova's lookups."""
    token = req.headers.get("X-Auth-Token")
    try:
        if port_id:
            port = await client.get_port(port_id, user_token=token)
            if port.get("device_id"):
                raise Conflict(f"Port {port_id} is still in use.")
            return None
        if net_id:
            network = await client.get_network(net_id, user_token=token)
            if network.get("router:external") and not network.get("shared") and not await req.is_admin():
                raise Forbidden(f"It is not allowed to create an interface on external network {net_id}")
        else:
            own = await client.list("networks", user_token=token, project_id=row["project_id"], shared=False)
            shared = await client.list("networks", user_token=token, shared=True)
            nets = {str(n["id"]) for n in [*own, *shared]}
            if len(nets) > 1:
                raise BadRequest(AMBIGUOUS)
            if not nets:
                raise BadRequest("No specific network was requested and none are available for project "
                                 f"'{row['project_id']}'.")
            net_id = nets.pop()
    except NetworkError as exc:
        if exc.status == 404:
            raise NotFound(f"Port id {port_id} could not be found." if port_id
                           else f"Network {net_id} could not be found.") from None
        raise
    if fixed_ip:
        used = await client.list("ports", user_token=token, network_id=net_id, fixed_ips=f"ip_address={fixed_ip}")
        if any(ip.get("ip_address") == fixed_ip for p in used for ip in p.get("fixed_ips") or []):
            raise Conflict(f"Fixed IP address {fixed_ip} is already in use on instance "
                           f"{used[0].get('device_id')}.")
    return net_id


@routes.post("/v2.1/servers/{server_id}/os-interface")
async def attach_interface(req: Req) -> Response:
    ctx = await req.caller()
    net_id, port_id, fixed_ip, tag = _attachment(req, await req.json(required=False))
    row = await load(req, ctx, req.path("server_id"), _RULE + "create")
    client = _client(req)
    if row.get("locked") and await req.is_admin():
        row = {**row, "locked": False}  # an admin acts on a locked server
    _check_state(row, "attach_interface")
    net_id = await _precheck(req, client, row, net_id, port_id, fixed_ip)
    try:
        vif = await agents(req).attach_interface(row["host"], row, net_id, port_id, fixed_ip, tag)
    except InterfaceAttachFailed as exc:
        raise BadRequest(str(exc)) from None
    except NotSupported:
        raise NotImplementedFault("Network driver does not support this function.") from None
    port = await client.get_port(vif["id"])
    return json_response({"interfaceAttachment": _view(req, port, {vif["id"]: tag})})


@routes.delete("/v2.1/servers/{server_id}/os-interface/{port_id}")
async def detach_interface(req: Req) -> Response:
    ctx = await req.caller()
    row = await load(req, ctx, req.path("server_id"), _RULE + "delete")
    port_id = req.path("port_id")
    _client(req)
    if row.get("locked") and await req.is_admin():
        row = {**row, "locked": False}
    _check_state(row, "detach_interface")
    try:
        await agents(req).detach_interface(row["host"], row, port_id)
    except PortNotAttached:
        raise NotFound(f"Port id {port_id} could not be found.") from None
    return Response(status_code=202)
