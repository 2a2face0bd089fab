"""/v2.0/address-scopes."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import no_content
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
    list_query,
    list_response,
    member_response,
    owner_of_new,
)
from onestack.network.service import address_scopes

routes = NetworkRoutes()

EXTENSIONS = [
    Extension("address-scope", "Address scope", "Address scopes extension.", "2015-07-26T10:00:00-00:00"),
]


def ip_version(value: Any) -> int:
    """Neutron converts to an integer first, then checks it is 4 or 6."""
    number = a.integer()(value)
    if number not in (4, 6):
        raise ValueError(f"'{number}' is not in [4, 6]")
    return int(number)


ATTRS = [
    a.Attr("id", a.uuid_, allow_post=False, allow_put=False),
    a.Attr("name", a.name_or_none(), default=""),
    a.Attr("project_id", a.project_id, allow_put=False),
    a.Attr("tenant_id", a.project_id, allow_put=False),
    a.Attr("shared", a.boolean, default=False),
    a.Attr("ip_version", ip_version, allow_put=False, required=True),
]
DEFAULTS = {"shared": False}
PARSERS = {"shared": BOOL, "ip_version": INT}


@routes.get("/v2.0/address-scopes")
async def list_address_scopes(req: Req) -> Response:
    caller = await caller_of(req)
    q = list_query(req, address_scopes.listing(), PARSERS)
    return list_response(req, "address_scopes", await req.read(address_scopes.list_scopes, caller, q), q)


@routes.get("/v2.0/address-scopes/{address_scope_id}")
async def show_address_scope(req: Req) -> Response:
    caller = await caller_of(req)
    item = await req.read(address_scopes.show, caller, req.path("address_scope_id"))
    await enforce(req, "get_address_scope", {"project_id": item["project_id"]})
    return member_response(req, "address_scope", item)


@routes.post("/v2.0/address-scopes")
async def create_address_scope(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "address_scope", ATTRS, creating=True)
    _, project = await owner_of_new(req, attrs)
    target = {"project_id": project}
    await enforce(req, "create_address_scope", target)
    await enforce_attrs(req, "create_address_scope", attrs, ("shared",), target, DEFAULTS)
    item = await req.write(address_scopes.create, await caller_of(req), project, attrs)
    return member_response(req, "address_scope", item, 201)


@routes.put("/v2.0/address-scopes/{address_scope_id}")
async def update_address_scope(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "address_scope", ATTRS, creating=False)
    caller = await caller_of(req)
    current = await req.read(address_scopes.show, caller, req.path("address_scope_id"))
    target = {"project_id": current["project_id"]}
    await enforce(req, "update_address_scope", target)
    changed = {k: v for k, v in attrs.items() if current.get(k) != v}
    await enforce_attrs(req, "update_address_scope", changed, ("shared",), target)
    item = await req.write(address_scopes.update, caller, req.path("address_scope_id"), attrs)
    return member_response(req, "address_scope", item)


@routes.delete("/v2.0/address-scopes/{address_scope_id}")
async def delete_address_scope(req: Req) -> Response:
    caller = await caller_of(req)
    current = await req.read(address_scopes.show, caller, req.path("address_scope_id"))
    await enforce(req, "delete_address_scope", {"project_id": current["project_id"]})
    await req.write(address_scopes.delete, caller, req.path("address_scope_id"))
    return no_content()
