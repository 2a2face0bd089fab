"""/v2.0/security-groups: the project's ``default`` group is made on its first listing."""

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
    if_match,
    list_query,
    list_response,
    member_response,
    owner_of_new,
)
from onestack.network.errors import SecurityGroupDefaultAlreadyExists
from onestack.network.service import security_groups

routes = NetworkRoutes()

EXTENSIONS = [
    Extension("security-group", "security-group", "The security groups extension."),
    Extension("stateful-security-group", "Stateful security group", "Extension adding a 'stateful' attribute "
              "to security groups."),
    Extension("rbac-security-groups", "Add security_group type to network RBAC", "Add security_group type to "
              "network RBAC"),
    Extension("security-groups-shared-filtering", "Security group filtering on the shared field",
              "Support filtering security groups on the shared field"),
]


def _name(value: Any) -> str:
    """A group's name: any string but ``default`` (there is one default group, made by the service)."""
    name: str = a.name_or_none()(value)
    if name.lower() == "default":
        raise SecurityGroupDefaultAlreadyExists()
    return name


ATTRS = [
    a.Attr("id", a.uuid_, allow_post=False, allow_put=False),
    a.Attr("name", _name, default=""),
    a.Attr("description", a.name_or_none(), default=""),
    a.Attr("project_id", a.project_id, allow_put=False),
    a.Attr("tenant_id", a.project_id, allow_put=False),
    a.Attr("stateful", a.boolean, default=True),
    a.Attr("shared", a.boolean, allow_post=False, allow_put=False),
    a.Attr("security_group_rules", a.any_, allow_post=False, allow_put=False),
]
PARSERS = {"stateful": BOOL, "shared": BOOL, "revision_number": INT}


def _target(item: dict[str, Any], caller_project: str | None) -> dict[str, Any]:
    # A group shared with the caller is theirs to read, as Neutron's shared-group rule allows.
    return {"project_id": caller_project if item["shared"] else item["project_id"]}


@routes.get("/v2.0/security-groups")
async def list_groups(req: Req) -> Response:
    caller = await caller_of(req)
    q = list_query(req, security_groups.listing(caller), PARSERS)
    # Neutron makes the default group of the project asked about (the caller's unless an admin names one).
    asked = (q.filters.get("project_id") or q.filters.get("tenant_id") or [None])[0]
    project = asked if asked and caller.is_admin else caller.project_id
    if project and await req.read(security_groups.default_of, project) is None:
        await req.write(security_groups.ensure_default, project)
    items = await req.read(security_groups.list_groups, caller, q)
    return list_response(req, "security_groups", items, q)


@routes.get("/v2.0/security-groups/{security_group_id}")
async def show_group(req: Req) -> Response:
    caller = await caller_of(req)
    item = await req.read(security_groups.show, caller, req.path("security_group_id"))
    await enforce(req, "get_security_group", _target(item, caller.project_id))
    return member_response(req, "security_group", item)


@routes.post("/v2.0/security-groups")
async def create_group(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "security_group", ATTRS, creating=True)
    _, project = await owner_of_new(req, attrs)
    await enforce(req, "create_security_group", {"project_id": project})
    caller = await caller_of(req)
    item = await req.write(security_groups.create, caller, project, attrs)
    return member_response(req, "security_group", item, 201)


@routes.put("/v2.0/security-groups/{security_group_id}")
async def update_group(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "security_group", ATTRS, creating=False)
    caller = await caller_of(req)
    current = await req.read(security_groups.show, caller, req.path("security_group_id"))
    await enforce(req, "update_security_group", {"project_id": current["project_id"]})
    item = await req.write(security_groups.update, caller, req.path("security_group_id"), attrs, if_match(req))
    return member_response(req, "security_group", item)


@routes.delete("/v2.0/security-groups/{security_group_id}")
async def delete_group(req: Req) -> Response:
    caller = await caller_of(req)
    current = await req.read(security_groups.show, caller, req.path("security_group_id"))
    await enforce(req, "delete_security_group", {"project_id": current["project_id"]})
    await req.write(security_groups.delete_group, caller, req.path("security_group_id"), if_match(req))
    return no_content()
