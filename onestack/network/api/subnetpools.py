"""/v2.0/subnetpools, with ``add_prefixes`` / ``remove_prefixes``."""

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
)
from onestack.network.errors import HTTPBadRequest, invalid_input
from onestack.network.service import subnetpools

routes = NetworkRoutes()

EXTENSIONS = [
    Extension("subnet_allocation", "Subnet Allocation", "Enables allocation of subnets from a subnet pool",
              "2015-03-30T10:00:00-00:00"),
    Extension("default-subnetpools", "Default Subnetpools", "Provides ability to mark and use a subnetpool as the "
              "default.", "2016-02-18T18:00:00-00:00"),
    Extension("subnet_onboard", "Subnet Onboard", "Provides support for onboarding subnets into subnet pools",
              "2018-12-18T09:00:00-00:00"),
    Extension("subnetpool-prefix-ops", "Subnet Pool Prefix Operations", "Provides support for adjusting the prefix "
              "list of subnet pools", "2019-02-08T10:00:00-00:00"),
]


def subnet_cidr(value: Any) -> str:
    """Neutron's ``type:subnet``: a network with a prefix length; an IPv4 one written canonically
    (host bits may be set: ``10.0.0.5/24`` is accepted and stands for 10.0.0.0/24)."""
    try:
        if not isinstance(value, str) or "/" not in value or value != value.strip():
            raise ValueError
        iface = ipaddress.ip_interface(value)
        if iface.version == 4 and str(iface) != value:
            raise ValueError
    except ValueError:
        raise ValueError(f"'{value}' is not a valid IP subnet") from None
    return value


def not_empty_name(value: Any) -> str:
    text = a.string(255)(value)
    if not text.strip():
        raise ValueError(f"'{value}' Blank strings are not permitted")
    return str(text)


def non_negative(value: Any) -> int:
    number = a.integer()(value)
    if number < 0:
        raise ValueError(f"'{number}' should be non-negative")
    # The columns are 32-bit integers: a larger value is refused rather than failing to store.
    return int(a.integer(maximum=2**31 - 1)(number))


ATTRS = [
    a.Attr("id", a.uuid_, allow_post=False, allow_put=False),
    a.Attr("name", not_empty_name, required=True),
    a.Attr("description", a.name_or_none(), default=""),
    a.Attr("project_id", a.project_id, allow_put=False),
    a.Attr("tenant_id", a.project_id, allow_put=False),
    a.Attr("prefixes", a.list_of(subnet_cidr, unique=True), required=True),
    a.Attr("default_quota", non_negative),
    a.Attr("default_prefixlen", non_negative),
    a.Attr("min_prefixlen", non_negative),
    a.Attr("max_prefixlen", non_negative),
    a.Attr("is_default", a.boolean, default=False),
    a.Attr("shared", a.boolean, default=False, allow_put=False),
    a.Attr("address_scope_id", a.uuid_or_none),
    a.Attr("ip_version", a.any_, allow_post=False, allow_put=False),
]
DEFAULTS = {"shared": False, "is_default": False}
PARSERS = {"shared": BOOL, "is_default": BOOL, "ip_version": INT, "default_prefixlen": INT, "min_prefixlen": INT,
           "max_prefixlen": INT, "default_quota": INT, "revision_number": INT}


@routes.get("/v2.0/subnetpools")
async def list_subnetpools(req: Req) -> Response:
    caller = await caller_of(req)
    q = list_query(req, subnetpools.listing(), PARSERS)
    return list_response(req, "subnetpools", await req.read(subnetpools.list_pools, caller, q), q)


@routes.get("/v2.0/subnetpools/{subnetpool_id}")
async def show_subnetpool(req: Req) -> Response:
    caller = await caller_of(req)
    item = await req.read(subnetpools.show, caller, req.path("subnetpool_id"))
    await enforce(req, "get_subnetpool", {"project_id": item["project_id"]})
    return member_response(req, "subnetpool", item)


@routes.post("/v2.0/subnetpools")
async def create_subnetpool(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "subnetpool", ATTRS, creating=True)
    _, project = await owner_of_new(req, attrs)
    target = {"project_id": project}
    await enforce(req, "create_subnetpool", target)
    await enforce_attrs(req, "create_subnetpool", attrs, ("shared", "is_default"), target, DEFAULTS)
    item = await req.write(subnetpools.create, await caller_of(req), project, attrs)
    return member_response(req, "subnetpool", item, 201)


@routes.put("/v2.0/subnetpools/{subnetpool_id}")
async def update_subnetpool(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "subnetpool", ATTRS, creating=False)
    caller = await caller_of(req)
    current = await req.read(subnetpools.show, caller, req.path("subnetpool_id"))
    target = {"project_id": current["project_id"]}
    await enforce(req, "update_subnetpool", target)
    changed = {k: v for k, v in attrs.items() if current.get(k) != v}
    await enforce_attrs(req, "update_subnetpool", changed, ("is_default",), target)
    item = await req.write(subnetpools.update_pool, caller, req.path("subnetpool_id"), attrs, if_match(req))
    return member_response(req, "subnetpool", item)


@routes.delete("/v2.0/subnetpools/{subnetpool_id}")
async def delete_subnetpool(req: Req) -> Response:
    caller = await caller_of(req)
    current = await req.read(subnetpools.show, caller, req.path("subnetpool_id"))
    await enforce(req, "delete_subnetpool", {"project_id": current["project_id"]})
    await req.write(subnetpools.delete_pool, caller, req.path("subnetpool_id"), if_match(req))
    return no_content()


async def _prefix_operation(req: Req, action: str) -> Response:
    body = await req.json()
    prefixes = body.get("prefixes") if isinstance(body, dict) else None
    if not prefixes or not isinstance(prefixes, list):
        raise HTTPBadRequest("Request body contains invalid data")
    for prefix in prefixes:
        try:
            subnet_cidr(prefix)
        except ValueError as exc:
            raise invalid_input("prefixes", str(exc)) from None
    caller = await caller_of(req)
    current = await req.read(subnetpools.show, caller, req.path("subnetpool_id"))
    await enforce(req, action, {"project_id": current["project_id"]})
    fn = subnetpools.add_prefixes if action == "add_prefixes" else subnetpools.remove_prefixes
    return json_response(await req.write(fn, caller, req.path("subnetpool_id"), prefixes))


@routes.put("/v2.0/subnetpools/{subnetpool_id}/add_prefixes")
async def add_prefixes(req: Req) -> Response:
    return await _prefix_operation(req, "add_prefixes")


@routes.put("/v2.0/subnetpools/{subnetpool_id}/remove_prefixes")
async def remove_prefixes(req: Req) -> Response:
    return await _prefix_operation(req, "remove_prefixes")


@routes.put("/v2.0/subnetpools/{subnetpool_id}/onboard_network_subnets")
async def onboard_network_subnets(req: Req) -> Response:
    body = await req.json()
    if not isinstance(body, dict):
        raise HTTPBadRequest("Request body contains invalid data")
    network_id = body.get("network_id")
    if network_id is not None and not isinstance(network_id, str):
        raise invalid_input("network_id", f"'{network_id}' is not a valid UUID")
    caller = await caller_of(req)
    current = await req.read(subnetpools.show, caller, req.path("subnetpool_id"))
    await enforce(req, "onboard_network_subnets", {"project_id": current["project_id"]})
    return json_response(await req.write(subnetpools.onboard_network_subnets, caller, req.path("subnetpool_id"),
                                         network_id))
