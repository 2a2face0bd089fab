"""/v2.0/subnets."""

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
    fields_of,
    if_match,
    list_query,
    list_response,
    member_response,
    owner_of_new,
)
from onestack.network.api.common import project as project_fields
from onestack.network.errors import InvalidSubnetServiceType
from onestack.network.service import subnets

routes = NetworkRoutes()

EXTENSIONS = [
    Extension("subnet-service-types", "Subnet service types", "Provides ability to set the subnet "
              "service_types field"),
]

IPV6_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")
SERVICE_TYPE_PREFIXES = ("network:", "neutron:", "compute:")


def _ip_version(value: Any) -> int:
    number = a.integer()(value)
    if number not in (4, 6):
        raise ValueError(f"{number} is not in [4, 6]")
    return int(number)


def _pools(value: Any) -> list[dict[str, str]]:
    """Neutron's type:ip_pools: a list of {start, end} (their order and overlaps are the service's)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"Invalid data format for IP pool: '{value}'")
    out = []
    for pool in value:
        if not isinstance(pool, dict) or set(pool) != {"start", "end"}:
            raise TypeError(f"Invalid data format for IP pool: '{pool}'")
        out.append({"start": a.ip_address(pool["start"]), "end": a.ip_address(pool["end"])})
    return out


def _nameservers(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"Invalid data format for nameserver: '{value}'")
    out: list[str] = []
    for server in value:
        try:
            address = a.ip_address(server)
        except (TypeError, ValueError):
            raise ValueError(f"'{server}' is not a valid nameserver. '{server}' is not a valid IP address") from None
        if address in out:
            raise ValueError(f"Duplicate nameserver '{server}'")
        out.append(address)
    return out


def _host_routes(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"Invalid data format for hostroute: '{value}'")
    out: list[dict[str, str]] = []
    for route in value:
        if not isinstance(route, dict) or set(route) != {"destination", "nexthop"}:
            raise TypeError(f"Invalid data format for hostroute: '{route}'")
        item = {"destination": _route_cidr(route["destination"]), "nexthop": a.ip_address(route["nexthop"])}
        if item in out:
            raise ValueError(f"Duplicate hostroute '{route}'")
        out.append(item)
    return out


def _route_cidr(value: Any) -> str:
    """Neutron's validate_route_cidr: a network with no host bits, not loopback."""
    try:
        net = ipaddress.ip_network(value) if isinstance(value, str) and "/" in value else None
    except ValueError:
        net = None
    if net is None:
        raise ValueError(f"'{value}' is not a valid CIDR")
    if net.is_loopback:
        raise ValueError(f"'{value}' is not a routable CIDR")
    return str(net)


def _service_types(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"'{value}' is not a list")
    for item in value:
        if not isinstance(item, str):
            raise TypeError(f"Subnet service type {item} is not a string")
        if not item.startswith(SERVICE_TYPE_PREFIXES):
            raise InvalidSubnetServiceType(item)
    return list(value)


def _cidr(value: Any) -> Any:
    return a.cidr(value, nullable=True)


ATTRS = [
    *a.common_attrs(),
    a.Attr("network_id", a.uuid_, allow_put=False, required=True),
    a.Attr("ip_version", _ip_version, allow_put=False, required=True),
    a.Attr("cidr", _cidr, allow_put=False),
    a.Attr("prefixlen", a.integer(0, 128), allow_put=False),
    a.Attr("subnetpool_id", a.uuid_or_none, allow_put=False),
    a.Attr("use_default_subnetpool", a.boolean, allow_put=False),
    a.Attr("gateway_ip", lambda v: a.ip_address(v, nullable=True)),
    a.Attr("allocation_pools", _pools),
    a.Attr("dns_nameservers", _nameservers),
    a.Attr("host_routes", _host_routes),
    a.Attr("enable_dhcp", a.boolean, default=True),
    a.Attr("ipv6_ra_mode", a.one_of(*IPV6_MODES, nullable=True), allow_put=False),
    a.Attr("ipv6_address_mode", a.one_of(*IPV6_MODES, nullable=True), allow_put=False),
    a.Attr("service_types", _service_types),
    a.Attr("segment_id", a.one_of(None), allow_put=False),
]
PARSERS = {"enable_dhcp": BOOL, "ip_version": INT, "revision_number": INT}
ADMIN_ATTRS = ("service_types", "segment_id")


@routes.get("/v2.0/subnets")
async def list_subnets(req: Req) -> Response:
    caller = await caller_of(req)
    q = list_query(req, subnets.listing(caller), PARSERS)
    items = await req.read(subnets.list_subnets, caller, q)
    return list_response(req, "subnets", items, q)


@routes.get("/v2.0/subnets/{subnet_id}")
async def show_subnet(req: Req) -> Response:
    caller = await caller_of(req)
    item = await req.read(subnets.show, caller, req.path("subnet_id"))
    await enforce(req, "get_subnet", {"project_id": item["project_id"]})
    return member_response(req, "subnet", item)


@routes.post("/v2.0/subnets")
async def create_subnet(req: Req) -> Response:
    """One subnet (``{"subnet": …}``) or several in one transaction (``{"subnets": […]}``, Neutron's bulk)."""
    body = await req.json()
    bulk = isinstance(body, dict) and "subnets" in body and "subnet" not in body
    items = a.bulk_items(body, "subnets", "subnet") if bulk else [body]
    caller = await caller_of(req)
    prepared = []
    for item in items:
        attrs = a.parse_body(item, "subnet", ATTRS, creating=True)
        _, project = await owner_of_new(req, attrs)
        target = {"project_id": project, "tenant_id": project,
                  **await req.read(subnets.policy_target, caller, attrs["network_id"])}
        await enforce(req, "create_subnet", target)
        await enforce_attrs(req, "create_subnet", attrs, ADMIN_ATTRS, target,
                            {"service_types": [], "segment_id": None})
        prepared.append((project, attrs))
    made = await req.write(subnets.create_many, caller, prepared, req.state.config.network)
    if bulk:
        return json_response({"subnets": [project_fields(i, fields_of(req)) for i in made]}, status=201)
    return member_response(req, "subnet", made[0], 201)


@routes.put("/v2.0/subnets/{subnet_id}")
async def update_subnet(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "subnet", ATTRS, creating=False)
    caller = await caller_of(req)
    current = await req.read(subnets.show, caller, req.path("subnet_id"))
    target = {"project_id": current["project_id"], "tenant_id": current["project_id"],
              **await req.read(subnets.policy_target, caller, current["network_id"])}
    await enforce(req, "update_subnet", target)
    changed = {k: v for k, v in attrs.items() if current.get(k) != v}
    await enforce_attrs(req, "update_subnet", changed, ADMIN_ATTRS, target)
    item = await req.write(subnets.update, caller, req.path("subnet_id"), attrs, req.state.config.network,
                           if_match(req))
    return member_response(req, "subnet", item)


@routes.delete("/v2.0/subnets/{subnet_id}")
async def delete_subnet(req: Req) -> Response:
    caller = await caller_of(req)
    current = await req.read(subnets.show, caller, req.path("subnet_id"))
    target = {"project_id": current["project_id"], "tenant_id": current["project_id"],
              **await req.read(subnets.policy_target, caller, current["network_id"])}
    await enforce(req, "delete_subnet", target)
    await req.write(subnets.delete_subnet, caller, req.path("subnet_id"), req.state.config.network, if_match(req))
    return no_content()
