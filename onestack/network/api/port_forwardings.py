"""/v2.0/floatingips/{floatingip_id}/port_forwardings."""

from __future__ import annotations

import re
from typing import Any

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
    list_query,
    list_response,
    member_response,
)
from onestack.network.api.floating_ips import write_retrying
from onestack.network.errors import BadRequest, PortForwardingNotSupportFilterField
from onestack.network.service import floating_ips, port_forwardings

routes = NetworkRoutes()

EXTENSIONS = [
    Extension("floating-ip-port-forwarding", "Floating IP Port Forwarding", "Allow port forwarding from floating "
              "IP port to an internal port"),
    Extension("floating-ip-port-forwarding-description", "Floating IP Port Forwarding new attribute description",
              "Add a description field to Port Forwarding rules"),
    Extension("floating-ip-port-forwarding-port-ranges", "Floating IP Port Forwarding support port ranges",
              "Add suport to port ranges on floating IP port forwarding"),
]

_RANGE = re.compile(r"^\d{1,5}(:\d{1,5})?$")


def port_range(value: Any) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _RANGE.match(text):
        raise ValueError(f"'{value}' is not a valid port range")
    return text


ATTRS = [
    a.Attr("id", a.uuid_, allow_post=False, allow_put=False),
    a.Attr("project_id", a.project_id, allow_put=False),
    a.Attr("tenant_id", a.project_id, allow_put=False),
    a.Attr("external_port", a.integer(1, 65535, nullable=True)),
    a.Attr("internal_port", a.integer(1, 65535, nullable=True)),
    a.Attr("external_port_range", port_range),
    a.Attr("internal_port_range", port_range),
    a.Attr("internal_ip_address", a.ip_address),
    a.Attr("protocol", a.one_of("tcp", "udp"), required=True),
    a.Attr("internal_port_id", a.uuid_, required=True),
    a.Attr("description", a.name_or_none(), default=""),
]
PARSERS = {"external_port": INT}


def _check_mixing(attrs: dict[str, Any]) -> None:
    for single, ranged in (("external_port", "external_port_range"), ("internal_port", "internal_port_range")):
        if attrs.get(single) is not None and attrs.get(ranged) is not None:
            raise BadRequest("port_forwarding", f"You cannot use the attributes {single} and {ranged} in the "
                                                "same request")


async def _fip_project(req: Req) -> str:
    caller = await caller_of(req)
    fip = await req.read(floating_ips.show, caller, req.path("floatingip_id"))
    return str(fip["project_id"])


@routes.get("/v2.0/floatingips/{floatingip_id}/port_forwardings")
async def list_port_forwardings(req: Req) -> Response:
    caller = await caller_of(req)
    await enforce(req, "get_floatingip_port_forwarding", {"project_id": await _fip_project(req)})
    for unsupported in ("internal_ip_address", "internal_port"):
        if unsupported in req.params:
            raise PortForwardingNotSupportFilterField(unsupported)
    q = list_query(req, port_forwardings.listing(), PARSERS)
    items = await req.read(port_forwardings.list_port_forwardings, caller, req.path("floatingip_id"), q)
    return list_response(req, "port_forwardings", items, q)


@routes.get("/v2.0/floatingips/{floatingip_id}/port_forwardings/{pf_id}")
async def show_port_forwarding(req: Req) -> Response:
    caller = await caller_of(req)
    await enforce(req, "get_floatingip_port_forwarding", {"project_id": await _fip_project(req)})
    item = await req.read(port_forwardings.show, caller, req.path("floatingip_id"), req.path("pf_id"))
    return member_response(req, "port_forwarding", item)


@routes.post("/v2.0/floatingips/{floatingip_id}/port_forwardings")
async def create_port_forwarding(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "port_forwarding", ATTRS, creating=True)
    _check_mixing(attrs)
    caller = await caller_of(req)
    await enforce(req, "create_floatingip_port_forwarding", {"project_id": await _fip_project(req)})
    item = await write_retrying(req, port_forwardings.create, caller, req.path("floatingip_id"), attrs)
    return member_response(req, "port_forwarding", item, 201)


@routes.put("/v2.0/floatingips/{floatingip_id}/port_forwardings/{pf_id}")
async def update_port_forwarding(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "port_forwarding", ATTRS, creating=False)
    _check_mixing(attrs)
    caller = await caller_of(req)
    await enforce(req, "update_floatingip_port_forwarding", {"project_id": await _fip_project(req)})
    item = await write_retrying(req, port_forwardings.update, caller, req.path("floatingip_id"), req.path("pf_id"), attrs)
    return member_response(req, "port_forwarding", item)


@routes.delete("/v2.0/floatingips/{floatingip_id}/port_forwardings/{pf_id}")
async def delete_port_forwarding(req: Req) -> Response:
    caller = await caller_of(req)
    await enforce(req, "delete_floatingip_port_forwarding", {"project_id": await _fip_project(req)})
    await req.write(port_forwardings.delete, caller, req.path("floatingip_id"), req.path("pf_id"))
    return no_content()
