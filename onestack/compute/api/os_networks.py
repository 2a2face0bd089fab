"""Nova's network proxies ``/os-networks`` and ``/os-tenant-networks`` (GET, to 2.35).

They list and show the networks the network service lets the user see, in nova-network's shape:
only ``id`` and ``label`` (the name) are real; os-networks has nova-network's other fields as
null (admins see its admin fields too), os-tenant-networks ``cidr`` "None" — what Nova answers
with Neutron. Writing (create, delete, add, the associate actions) went with nova-network: 410 at
every microversion, as Nova answers.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.client.network import NetworkError
from onestack.compute.api.common import ComputeRoutes, Req
from onestack.compute.api.network_proxy import MAX_PROXY, network, translate
from onestack.compute.api.removed import gone
from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.http import json_response

routes = ComputeRoutes()

FIELDS = ("id", "cidr", "netmask", "gateway", "broadcast", "dns1", "dns2", "cidr_v6", "gateway_v6", "label",
          "netmask_v6")
ADMIN_FIELDS = ("created_at", "updated_at", "deleted_at", "deleted", "injected", "bridge", "vlan",
                "vpn_public_address", "vpn_public_port", "vpn_private_address", "dhcp_start", "project_id", "host",
                "bridge_interface", "multi_host", "priority", "rxtx_base", "mtu", "dhcp_server", "enable_dhcp",
                "share_address")
ASSOCIATE_ACTIONS = ("disassociate", "disassociate_host", "disassociate_project", "associate_host")


def network_view(net: dict[str, Any], admin: bool) -> dict[str, Any]:
    view: dict[str, Any] = dict.fromkeys(FIELDS + (ADMIN_FIELDS if admin else ()))
    view.update(id=net["id"], label=net.get("name"))
    return view


def tenant_network_view(net: dict[str, Any]) -> dict[str, Any]:
    return {"id": net.get("id"), "cidr": "None", "label": net.get("name")}


async def _networks(req: Req, rule: str) -> list[dict[str, Any]]:
    req.require_version(maximum=MAX_PROXY)
    ctx = await req.enforce(rule)
    try:
        return await network(req, ctx).list("networks")
    except NetworkError as err:
        raise translate(err) from None


async def _network(req: Req, rule: str) -> dict[str, Any]:
    req.require_version(maximum=MAX_PROXY)
    ctx = await req.enforce(rule)
    try:
        return await network(req, ctx).show("networks", "network", req.path("network_id"))
    except NetworkError as err:
        if err.status == 404:
            raise NotFound("Network not found") from None
        raise translate(err) from None


@routes.get("/v2.1/os-networks")
async def list_networks(req: Req) -> Response:
    found = await _networks(req, "os_compute_api:os-networks:list")
    admin = await req.is_admin()
    return json_response({"networks": [network_view(n, admin) for n in found]})


@routes.get("/v2.1/os-networks/{network_id}")
async def show_network(req: Req) -> Response:
    found = await _network(req, "os_compute_api:os-networks:show")
    return json_response({"network": network_view(found, await req.is_admin())})


@routes.get("/v2.1/os-tenant-networks")
async def list_tenant_networks(req: Req) -> Response:
    found = await _networks(req, "os_compute_api:os-tenant-networks:list")
    return json_response({"networks": [tenant_network_view(n) for n in found]})


@routes.get("/v2.1/os-tenant-networks/{network_id}")
async def show_tenant_network(req: Req) -> Response:
    found = await _network(req, "os_compute_api:os-tenant-networks:show")
    return json_response({"network": tenant_network_view(found)})


@routes.post("/v2.1/os-networks/{network_id}/action")
async def network_action(req: Req) -> Response:
    """nova-network's associate actions are gone (410); any other action name is Nova's 400."""
    await req.caller()
    body = await req.json()
    name = next(iter(body), None) if isinstance(body, dict) and len(body) == 1 else None
    if name not in ASSOCIATE_ACTIONS:
        raise BadRequest(f"There is no such action: {name}")
    return await gone(req)


for _path, _methods in (("/v2.1/os-networks", ["POST"]), ("/v2.1/os-networks/add", ["POST"]),
                        ("/v2.1/os-networks/{network_id}", ["DELETE"]), ("/v2.1/os-tenant-networks", ["POST"]),
                        ("/v2.1/os-tenant-networks/{network_id}", ["DELETE"])):
    routes.add(_methods, _path)(gone)
