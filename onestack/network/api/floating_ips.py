"""/v2.0/floatingips and /v2.0/floatingip_pools."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from onestack.core.api.http import no_content
from onestack.network.api import attributes as a
from onestack.network.api.common import (
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
from onestack.network.service import dns, floating_ips

routes = NetworkRoutes()
T = TypeVar("T")


async def write_retrying(req: Req, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn`` once more if a concurrent request won a uniqueness race (one floating IP per
    fixed IP, one forwarding per external port): the retry sees the winner's row and answers
    Neutron's 409 instead of a database error, as Neutron's retried transactions do."""
    try:
        return await req.write(fn, *args)
    except IntegrityError:
        return await req.write(fn, *args)

EXTENSIONS = [
    Extension("fip-port-details", "Floating IP Port Details Extension", "Add port_details attribute to Floating IP "
              "resource"),
    Extension("floatingip-pools", "Floating IP Pools Extension", "Provides a floating IP pools API."),
    Extension("expose-port-forwarding-in-fip", "Expose port forwardings in floating IPs", "Expose the port "
              "forwarding rules of a floating IP in the floating IP resource"),
]

ATTRS = [
    a.Attr("id", a.uuid_, allow_post=False, allow_put=False),
    a.Attr("description", a.name_or_none(), default=""),
    a.Attr("project_id", a.project_id, allow_put=False),
    a.Attr("tenant_id", a.project_id, allow_put=False),
    a.Attr("floating_ip_address", a.ip_address, allow_put=False),
    a.Attr("subnet_id", a.uuid_or_none, allow_put=False),
    a.Attr("floating_network_id", a.uuid_, allow_put=False, required=True),
    a.Attr("router_id", a.uuid_or_none, allow_post=False, allow_put=False),
    a.Attr("port_id", a.uuid_or_none),
    a.Attr("fixed_ip_address", lambda v: a.ip_address(v, nullable=True)),
    a.Attr("status", a.string(16), allow_post=False, allow_put=False),
    a.Attr("qos_policy_id", a.uuid_or_none, allow_post=False, allow_put=False),
    a.Attr("port_details", a.any_, allow_post=False, allow_put=False),
    a.Attr("dns_name", dns.dns_name, allow_put=False),  # dns-integration: set when made
    a.Attr("dns_domain", dns.dns_domain, allow_put=False),
    a.Attr("port_forwardings", a.any_, allow_post=False, allow_put=False),
    a.Attr("tags", a.any_, allow_post=False, allow_put=False),
]
PARSERS = {"revision_number": INT}


@routes.get("/v2.0/floatingips")
async def list_floating_ips(req: Req) -> Response:
    caller = await caller_of(req)
    q = list_query(req, floating_ips.listing(caller), PARSERS)
    return list_response(req, "floatingips", await req.read(floating_ips.list_floating_ips, caller, q), q)


@routes.get("/v2.0/floatingips/{floatingip_id}")
async def show_floating_ip(req: Req) -> Response:
    caller = await caller_of(req)
    item = await req.read(floating_ips.show, caller, req.path("floatingip_id"))
    await enforce(req, "get_floatingip", {"project_id": item["project_id"]})
    return member_response(req, "floatingip", item)


@routes.post("/v2.0/floatingips")
async def create_floating_ip(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "floatingip", ATTRS, creating=True)
    _, project = await owner_of_new(req, attrs)
    target = {"project_id": project}
    await enforce(req, "create_floatingip", target)
    await enforce_attrs(req, "create_floatingip", attrs, ("floating_ip_address",), target)
    caller = await caller_of(req)
    item = await write_retrying(req, floating_ips.create, caller, project, attrs, req.state.config.network)
    return member_response(req, "floatingip", item, 201)


@routes.put("/v2.0/floatingips/{floatingip_id}")
async def update_floating_ip(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "floatingip", ATTRS, creating=False)
    caller = await caller_of(req)
    current = await req.read(floating_ips.show, caller, req.path("floatingip_id"))
    await enforce(req, "update_floatingip", {"project_id": current["project_id"]})
    item = await write_retrying(req, floating_ips.update, caller, req.path("floatingip_id"), attrs, if_match(req))
    return member_response(req, "floatingip", item)


@routes.delete("/v2.0/floatingips/{floatingip_id}")
async def delete_floating_ip(req: Req) -> Response:
    caller = await caller_of(req)
    current = await req.read(floating_ips.show, caller, req.path("floatingip_id"))
    await enforce(req, "delete_floatingip", {"project_id": current["project_id"]})
    await req.write(floating_ips.delete_floating_ip, caller, req.path("floatingip_id"), if_match(req))
    return no_content()


@routes.get("/v2.0/floatingip_pools")
async def list_floating_ip_pools(req: Req) -> Response:
    caller = await caller_of(req)
    q = list_query(req, floating_ips.pool_listing())
    return list_response(req, "floatingip_pools", await req.read(floating_ips.pools, caller, q), q)
