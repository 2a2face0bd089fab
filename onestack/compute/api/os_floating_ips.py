"""Nova's floating IP proxies: ``/os-floating-ips`` and ``/os-floating-ip-pools`` (to 2.35), and the
``addFloatingIp`` / ``removeFloatingIp`` server actions (to 2.43).

Floating IPs are the network service's, read and written as the calling user. Nova shows one as
``ip``, ``fixed_ip``, ``pool`` (its external network's name, or id), ``instance_id`` (the
``device_id`` of the port it is on) and ``id``; pools are the external networks. Allocating
without a pool uses DevStack's ``default_floating_pool``, "public" (the bootstrap's external
network). The actions associate a floating IP with one of the server's fixed IPs (the first
IPv4 unless ``fixed_address`` says) and dissociate it, with Nova's own answers for each case.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from starlette.responses import Response

from onestack.client.network import NetworkError
from onestack.compute.api.common import ComputeRoutes, Req, is_uuid_like
from onestack.compute.api.network_proxy import MAX_PROXY, UserNetwork, chunks, network, translate
from onestack.compute.api.server_actions import action
from onestack.compute.service import servers
from onestack.core.api.faults import BadRequest, Conflict, Forbidden, NotFound
from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version
from onestack.core.auth import AuthContext

routes = ComputeRoutes()

_RULE = "os_compute_api:os-floating-ips:"
MAX_ACTIONS = Version(2, 43)  # addFloatingIp / removeFloatingIp are gone from 2.44
DEFAULT_POOL = "public"  # Nova's [neutron] default_floating_pool as DevStack sets it
_IP = {"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
CREATE_SCHEMA: dict[str, Any] = {"type": ["object", "null"], "properties": {"pool": {"type": ["string", "null"]}}}
ADD_SCHEMA: dict[str, Any] = {"type": "object", "required": ["address"], "additionalProperties": False,
                              "properties": {"address": _IP, "fixed_address": _IP}}
REMOVE_SCHEMA: dict[str, Any] = {"type": "object", "required": ["address"], "additionalProperties": False,
                                 "properties": {"address": _IP}}


# --- the view -------------------------------------------------------------------------------

async def _details(net: UserNetwork, fips: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nova's views of ``fips``: their pools' names and their ports' devices, fetched in bulk."""
    network_ids = sorted({f["floating_network_id"] for f in fips})
    names: dict[str, str] = {}
    for ids in chunks(network_ids):
        for n in await net.list("networks", id=ids, fields=["id", "name"]):
            names[n["id"]] = n.get("name") or n["id"]
    # With the fip-port-details extension the port's device comes with the floating IP.
    missing = sorted({f["port_id"] for f in fips if f.get("port_id") and "port_details" not in f})
    devices: dict[str, str | None] = {}
    for ids in chunks(missing):
        for p in await net.list("ports", id=ids, fields=["id", "device_id"]):
            devices[p["id"]] = p.get("device_id")
    shown = []
    for f in fips:
        details = f.get("port_details") if "port_details" in f else None
        device = (details or {}).get("device_id") if "port_details" in f else devices.get(f.get("port_id") or "")
        shown.append({"fixed_ip": f.get("fixed_ip_address"), "id": f["id"], "instance_id": device or None,
                      "ip": f["floating_ip_address"],
                      "pool": names.get(f["floating_network_id"], f["floating_network_id"])})
    return shown


async def _caller(req: Req, rule: str) -> UserNetwork:
    req.require_version(maximum=MAX_PROXY)
    ctx = await req.enforce(rule)
    return network(req, ctx)


async def _get(net: UserNetwork, fip_id: str) -> dict[str, Any]:
    try:
        return await net.show("floatingips", "floatingip", fip_id)
    except NetworkError as err:
        if err.status == 404:
            raise NotFound(f"Floating IP not found for ID {fip_id}") from None
        raise translate(err) from None


async def listed(net: UserNetwork, **params: Any) -> list[dict[str, Any]]:
    """Floating IPs; none when the network service has no L3 API (its 404), as Nova's _safe_get_floating_ips."""
    try:
        return await net.list("floatingips", **params)
    except NetworkError as err:
        if err.status == 404:
            return []
        raise


async def by_address(net: UserNetwork, address: str) -> dict[str, Any]:
    found = await listed(net, floating_ip_address=address)
    if not found:
        raise NotFound(f"Floating IP not found for address {address}.")
    if len(found) > 1:
        raise Conflict(f"Multiple floating IPs are found for address {address}.")
    return found[0]


# --- /os-floating-ip-pools, /os-floating-ips -------------------------------------------------

@routes.get("/v2.1/os-floating-ip-pools")
async def list_pools(req: Req) -> Response:
    net = await _caller(req, "os_compute_api:os-floating-ip-pools")
    try:
        pools = await net.list("networks", **{"router:external": True})
    except NetworkError as err:
        raise translate(err) from None
    return json_response({"floating_ip_pools": [{"name": p.get("name") or p["id"]} for p in pools]})


@routes.get("/v2.1/os-floating-ips")
async def list_floating_ips(req: Req) -> Response:
    net = await _caller(req, _RULE + "list")
    try:
        fips = await listed(net, tenant_id=(await req.caller()).project_id)
        return json_response({"floating_ips": await _details(net, fips)})
    except NetworkError as err:
        raise translate(err) from None


@routes.get("/v2.1/os-floating-ips/{fip_id}")
async def show_floating_ip(req: Req) -> Response:
    net = await _caller(req, _RULE + "show")
    fip = await _get(net, req.path("fip_id"))
    try:
        return json_response({"floating_ip": (await _details(net, [fip]))[0]})
    except NetworkError as err:
        raise translate(err) from None


async def _pool_id(net: UserNetwork, pool: str) -> str:
    params: dict[str, Any] = {"router:external": True, "fields": ["id"]}
    params["id" if is_uuid_like(pool) else "name"] = pool
    found = await net.list("networks", **params)
    if not found:
        raise NotFound("Floating IP pool not found.")
    if len(found) > 1:
        raise Conflict(f"Multiple floating IP pools matches found for name '{pool}'")
    return str(found[0]["id"])


@routes.post("/v2.1/os-floating-ips")
async def allocate_floating_ip(req: Req) -> Response:
    net = await _caller(req, _RULE + "create")
    body = await req.body(CREATE_SCHEMA, required=False)
    pool = body.get("pool") if isinstance(body, dict) else None
    try:
        pool_id = await _pool_id(net, pool or DEFAULT_POOL)
        fip = await net.create("floatingips", "floatingip", {"floating_network_id": pool_id})
    except NetworkError as err:
        if err.kind in ("IpAddressGenerationFailure", "ExternalIpAddressExhausted"):
            raise NotFound(f"No more floating IPs in pool {pool}." if pool else "No more floating IPs available.") \
                from None
        if err.kind == "OverQuota":
            raise Forbidden(f"IP allocation over quota in pool {pool}." if pool else "IP allocation over quota.") \
                from None
        raise (BadRequest(err.message) if err.status == 400 else translate(err)) from None
    try:
        return json_response({"floating_ip": (await _details(net, [fip]))[0]})
    except NetworkError as err:
        raise translate(err) from None


@routes.delete("/v2.1/os-floating-ips/{fip_id}")
async def deallocate_floating_ip(req: Req) -> Response:
    net = await _caller(req, _RULE + "delete")
    fip = await _get(net, req.path("fip_id"))
    try:
        await net.delete("floatingips", fip["id"])  # dissociated by its deletion
    except NetworkError as err:
        if err.status == 404:
            raise NotFound(f"Floating IP not found for address {fip['floating_ip_address']}.") from None
        raise (Forbidden(err.message) if err.status == 403 else translate(err)) from None
    return Response(status_code=202)


# --- the server actions ---------------------------------------------------------------------

async def _refresh(req: Req, row: dict[str, Any], port_id: str) -> None:
    """Have the server's host refresh its network info cache, so that its addresses show the change
    (Nova refreshes the cache after associating or dissociating: @refresh_cache)."""
    agents = req.state.agents
    if agents is not None and row.get("host"):
        event = {"name": "network-changed", "server_uuid": row["uuid"], "tag": port_id, "status": "completed"}
        await agents.external_instance_event(row["host"], instance=row, events=[event])


def _fixed_ips(ports: list[dict[str, Any]]) -> list[str]:
    return [ip["ip_address"] for p in ports for ip in p.get("fixed_ips") or ()]


@action("addFloatingIp")
async def add_floating_ip(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    req.require_version(maximum=MAX_ACTIONS)
    req.validate(arg, ADD_SCHEMA, wrapper="addFloatingIp")
    await req.enforce(_RULE + "add", {"project_id": row["project_id"]})
    address, uuid = arg["address"], row["uuid"]
    net = network(req, ctx)
    try:
        ports = await net.list("ports", device_id=uuid)
    except NetworkError as err:
        raise translate(err) from None
    if not ports:
        raise BadRequest("Instance network is not ready yet")
    fixed_ips = _fixed_ips(ports)
    if not fixed_ips:
        raise BadRequest("No fixed IPs associated to instance")
    fixed = arg.get("fixed_address")
    if fixed is not None and fixed not in fixed_ips:
        raise BadRequest("Specified fixed address not assigned to instance")
    if not fixed:
        fixed = next((ip for ip in fixed_ips if ipaddress.ip_address(ip).version == 4), None)
        if fixed is None:
            raise BadRequest(f"Unable to associate floating IP {address} to any fixed IPs for instance {uuid}. "
                             "Instance has no fixed IPv4 addresses to associate.")
    # The server's own port holding that fixed IP (Nova looks among its compute:<az> ports).
    port_id = next((p["id"] for p in ports if str(p.get("device_owner", "")).startswith("compute:")
                    and fixed in _fixed_ips([p])), None)
    try:
        if port_id is None:
            raise BadRequest(f"Unable to associate floating IP {address} to fixed IP {fixed} for instance "
                             f"{uuid}. Error: Fixed IP not found for address {fixed}.")
        fip = await by_address(net, address)
        await net.update("floatingips", "floatingip", fip["id"], {"port_id": port_id, "fixed_ip_address": fixed})
    except NotFound:
        raise NotFound("floating IP not found") from None
    except NetworkError as err:
        if err.status == 409:
            raise BadRequest(err.message) from None
        if err.status == 403:
            raise Forbidden(err.message) from None
        raise BadRequest(f"Unable to associate floating IP {address} to fixed IP {fixed} for instance {uuid}. "
                         f"Error: {err.message}") from None
    await _refresh(req, row, port_id)
    return Response(status_code=202)


@action("removeFloatingIp")
async def remove_floating_ip(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    req.require_version(maximum=MAX_ACTIONS)
    req.validate(arg, REMOVE_SCHEMA, wrapper="removeFloatingIp")
    address = arg["address"]
    net = network(req, ctx)
    try:
        fip = await by_address(net, address)
        device = None
        if fip.get("port_id"):
            try:
                device = (await net.show("ports", "port", fip["port_id"])).get("device_id") or None
            except NetworkError as err:
                if err.status != 404:  # a port gone meanwhile: no server holds the address
                    raise
    except NetworkError as err:
        raise translate(err) from None
    holder = None
    if device:
        project = None if await req.is_admin() else ctx.project_id
        try:
            holder = await req.read(servers.visible, device, project)
        except NotFound:
            raise NotFound(f"Instance {device} could not be found.") from None
    await req.enforce(_RULE + "remove", {"project_id": holder["project_id"]} if holder else None)
    if holder is None or holder["uuid"] != row["uuid"]:
        raise Conflict(f"Floating IP {address} is not associated with instance {row['uuid']}.")
    try:
        await net.update("floatingips", "floatingip", fip["id"], {"port_id": None})
    except NetworkError as err:
        raise translate(err) from None
    await _refresh(req, holder, fip["port_id"])
    return Response(status_code=202)
