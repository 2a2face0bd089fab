"""/v2.0/routers: CRUD, the external gateway, interfaces and extra routes."""

from __future__ import annotations

import ipaddress
from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.network.api import attributes as a
from onestack.network.api.common import (
    BOOL,
    INT,
    Extension,
    NetworkRoutes,
    Req,
    caller_of,
    enforce,
    enforce_attrs,
    if_match,
    list_query,
    list_response,
    member_response,
    owner_of_new,
    readable,
)
from onestack.network.errors import BadRequest, HTTPBadRequest
from onestack.network.service import router_interfaces, routers

routes = NetworkRoutes()

EXTENSIONS = [
    Extension("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron "
              "networks and access to external networks via a NAT gateway."),
    Extension("ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the router abstraction "
              "for specifying whether SNAT should occur on the external gateway"),
    Extension("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"),
    Extension("extraroute-atomic", "Atomically add/remove extra routes", "Edit extra routes of a router on server "
              "side by atomically adding/removing extra routes"),
    Extension("router_availability_zone", "Router Availability Zone", "Availability zone support for router."),
]

# Admin-only to set and to read; neither DVR nor L3 HA exists here, so both are always false.
ADMIN_ONLY = ("distributed", "ha")


def _fixed_ip(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"'{value}' is not a dictionary")
    unknown = set(value) - {"subnet_id", "ip_address"}
    if unknown:
        raise ValueError(f"Unrecognized attribute(s) '{', '.join(sorted(unknown))}'")
    out: dict[str, Any] = {}
    if value.get("subnet_id") is not None:
        out["subnet_id"] = a.uuid_(value["subnet_id"])
    if value.get("ip_address") is not None:
        out["ip_address"] = a.ip_address(value["ip_address"])
    return out


def gateway_info(value: Any) -> Any:
    """``external_gateway_info``: {network_id, enable_snat?, external_fixed_ips?}; null or {} clears it."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"'{value}' is not a dictionary")
    if not value:
        return {}
    allowed = {"network_id", "enable_snat", "external_fixed_ips"}
    if "network_id" not in value or set(value) - allowed:
        raise ValueError(f"Validation of dictionary's keys failed. Expected keys: {{'network_id'}} "
                         f"Provided keys: {set(value)}")
    out: dict[str, Any] = {"network_id": a.uuid_(value["network_id"])}
    if "enable_snat" in value:
        out["enable_snat"] = a.boolean(value["enable_snat"])
    if "external_fixed_ips" in value:
        out["external_fixed_ips"] = a.list_of(_fixed_ip)(value["external_fixed_ips"])
    return out


def _route(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != {"destination", "nexthop"}:
        raise ValueError(f"Invalid data format for hostroute: '{value}'")
    destination = a.cidr(value["destination"])
    net = ipaddress.ip_network(destination, strict=False)
    if str(net) != destination:
        raise ValueError(f"'{destination}' isn't a recognized IP subnet cidr, '{net}' is recommended")
    return {"destination": str(net), "nexthop": a.ip_address(value["nexthop"])}


def route_list(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"'{value}' is not a list")
    out: list[dict[str, str]] = []
    for item in value:
        route = _route(item)
        if route in out:
            raise ValueError(f"Duplicate hostroute '{item}'")
        out.append(route)
    return out


def _refuse_dvr_and_ha(attrs: dict[str, Any]) -> None:
    for key in ADMIN_ONLY:
        if attrs.get(key):
            raise HTTPBadRequest(f"Invalid input for {key}. Reason: distributed and HA routers are not supported "
                                 "by this deployment.")


ATTRS = [
    *a.common_attrs(),
    a.Attr("admin_state_up", a.boolean, default=True),
    a.Attr("status", a.string(16), allow_post=False, allow_put=False),
    a.Attr("external_gateway_info", gateway_info, default=None),
    a.Attr("routes", route_list, allow_post=False),
    a.Attr("availability_zone_hints", a.az_hints, allow_put=False, default=[]),
    a.Attr("availability_zones", a.any_, allow_post=False, allow_put=False),
    a.Attr("distributed", a.boolean),
    a.Attr("ha", a.boolean),
    a.Attr("flavor_id", a.uuid_or_none, allow_post=False, allow_put=False),
    a.Attr("tags", a.any_, allow_post=False, allow_put=False),
]
PARSERS = {"admin_state_up": BOOL, "enable_snat": BOOL, "revision_number": INT}


async def _check_gateway_policy(req: Req, action: str, attrs: dict[str, Any], target: dict[str, Any]) -> None:
    gw = attrs.get("external_gateway_info")
    if not gw:
        return
    await enforce_attrs(req, f"{action}:external_gateway_info", gw, ("enable_snat", "external_fixed_ips"), target)


@routes.get("/v2.0/routers")
async def list_routers(req: Req) -> Response:
    caller = await caller_of(req)
    q = list_query(req, routers.listing(caller), PARSERS)
    items = await req.read(routers.list_routers, caller, q)
    return list_response(req, "routers", await readable(req, "get_router", items, ADMIN_ONLY), q)


@routes.get("/v2.0/routers/{router_id}")
async def show_router(req: Req) -> Response:
    caller = await caller_of(req)
    item = await req.read(routers.show, caller, req.path("router_id"))
    await enforce(req, "get_router", {"project_id": item["project_id"]})
    return member_response(req, "router", (await readable(req, "get_router", [item], ADMIN_ONLY))[0])


@routes.post("/v2.0/routers")
async def create_router(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "router", ATTRS, creating=True)
    _, project = await owner_of_new(req, attrs)
    target = {"project_id": project}
    await enforce(req, "create_router", target)
    await enforce_attrs(req, "create_router", attrs, ADMIN_ONLY, target)
    await _check_gateway_policy(req, "create_router", attrs, target)
    _refuse_dvr_and_ha(attrs)
    caller = await caller_of(req)
    item = await req.write(routers.create, caller, project, attrs, req.state.config.network)
    return member_response(req, "router", (await readable(req, "get_router", [item], ADMIN_ONLY))[0], 201)


@routes.put("/v2.0/routers/{router_id}")
async def update_router(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "router", ATTRS, creating=False)
    caller = await caller_of(req)
    current = await req.read(routers.show, caller, req.path("router_id"))
    target = {"project_id": current["project_id"]}
    await enforce(req, "update_router", target)
    await enforce_attrs(req, "update_router", attrs, ADMIN_ONLY, target)
    await _check_gateway_policy(req, "update_router", attrs, target)
    _refuse_dvr_and_ha(attrs)
    item = await req.write(routers.update, caller, req.path("router_id"), attrs, req.state.config.network,
                           if_match(req))
    return member_response(req, "router", (await readable(req, "get_router", [item], ADMIN_ONLY))[0])


@routes.delete("/v2.0/routers/{router_id}")
async def delete_router(req: Req) -> Response:
    caller = await caller_of(req)
    current = await req.read(routers.show, caller, req.path("router_id"))
    await enforce(req, "delete_router", {"project_id": current["project_id"]})
    await req.write(routers.delete_router, caller, req.path("router_id"), if_match(req))
    return no_content()


def _interface_info(body: Any, removing: bool) -> dict[str, str]:
    """Neutron's ``_validate_interface_info``: a subnet_id or a port_id (both only when removing)."""
    if not isinstance(body, dict) or not ("port_id" in body or "subnet_id" in body):
        raise BadRequest("router", "Either subnet_id or port_id must be specified")
    out: dict[str, str] = {}
    for key in ("port_id", "subnet_id"):
        if key in body:
            try:
                out[key] = a.uuid_(body[key])
            except ValueError as exc:
                raise BadRequest("router", str(exc)) from None
    if not removing and len(out) == 2:
        raise BadRequest("router", "Cannot specify both subnet-id and port-id")
    return out


@routes.put("/v2.0/routers/{router_id}/add_router_interface")
async def add_router_interface(req: Req) -> Response:
    info = _interface_info(await req.json(), removing=False)
    caller = await caller_of(req)
    current = await req.read(routers.show, caller, req.path("router_id"))
    await enforce(req, "add_router_interface", {"project_id": current["project_id"]})
    answer = await req.write(router_interfaces.add, caller, req.path("router_id"), info, req.state.config.network)
    return json_response(answer)


@routes.put("/v2.0/routers/{router_id}/remove_router_interface")
async def remove_router_interface(req: Req) -> Response:
    info = _interface_info(await req.json(), removing=True)
    caller = await caller_of(req)
    current = await req.read(routers.show, caller, req.path("router_id"))
    await enforce(req, "remove_router_interface", {"project_id": current["project_id"]})
    return json_response(await req.write(router_interfaces.remove, caller, req.path("router_id"), info,
                                         req.state.config.network))


async def _change_routes(req: Req, adding: bool) -> Response:
    body = await req.json()
    if not isinstance(body, dict) or not isinstance(body.get("router"), dict) or "routes" not in body["router"]:
        raise HTTPBadRequest("Unable to find 'router' in request body" if not isinstance(body, dict)
                             or "router" not in body else "Failed to parse request. Required attribute 'routes' "
                             "not specified")
    try:
        given = route_list(body["router"]["routes"])
    except (ValueError, TypeError) as exc:
        raise HTTPBadRequest(f"Invalid input for routes. Reason: {exc}.") from None
    caller = await caller_of(req)
    current = await req.read(routers.show, caller, req.path("router_id"))
    await enforce(req, "update_router", {"project_id": current["project_id"]})
    item = await req.write(routers.change_routes, caller, req.path("router_id"), given, adding)
    return json_response({"router": (await readable(req, "get_router", [item], ADMIN_ONLY))[0]})


@routes.put("/v2.0/routers/{router_id}/add_extraroutes")
async def add_extraroutes(req: Req) -> Response:
    return await _change_routes(req, adding=True)


@routes.put("/v2.0/routers/{router_id}/remove_extraroutes")
async def remove_extraroutes(req: Req) -> Response:
    return await _change_routes(req, adding=False)
