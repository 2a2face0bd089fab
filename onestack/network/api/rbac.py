"""/v2.0/rbac-policies: share a network or security group with a project or with everyone,
or let a project use a network as an external one."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import no_content
from onestack.network.api import attributes as a
from onestack.network.api.common import (
    Extension,
    NetworkRoutes,
    Req,
    caller_of,
    enforce,
    list_query,
    list_response,
    member_response,
    owner_of_new,
)
from onestack.network.service import rbac

routes = NetworkRoutes()

EXTENSIONS = [
    Extension("rbac-policies", "RBAC Policies", "Allows creation and modification of policies that control "
              "tenant access to resources."),
]

ATTRS = [
    a.Attr("id", a.uuid_, allow_post=False, allow_put=False),
    a.Attr("object_type", a.one_of(*rbac.ACTIONS), allow_put=False, required=True),
    a.Attr("object_id", a.uuid_, allow_put=False, required=True),
    a.Attr("action", a.one_of("access_as_external", "access_as_shared"), allow_put=False, required=True),
    a.Attr("target_tenant", a.string(255), required=True),
    a.Attr("project_id", a.project_id, allow_put=False),
    a.Attr("tenant_id", a.project_id, allow_put=False),
]


async def _check_target(req: Req, action: str, target: str, project: str) -> None:
    """Granting to every project ("*") is an admin's (``<action>:target_tenant``)."""
    if target == "*":
        await enforce(req, f"{action}:target_tenant", {"project_id": project, "target_tenant": target})


@routes.get("/v2.0/rbac-policies")
async def list_policies(req: Req) -> Response:
    caller = await caller_of(req)
    q = list_query(req, rbac.listing())
    return list_response(req, "rbac_policies", await req.read(rbac.list_policies, caller, q), q)


@routes.get("/v2.0/rbac-policies/{policy_id}")
async def show_policy(req: Req) -> Response:
    caller = await caller_of(req)
    item = await req.read(rbac.show, caller, req.path("policy_id"))
    await enforce(req, "get_rbac_policy", {"project_id": item["project_id"]})
    return member_response(req, "rbac_policy", item)


@routes.post("/v2.0/rbac-policies")
async def create_policy(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "rbac_policy", ATTRS, creating=True)
    _, project = await owner_of_new(req, attrs)
    await enforce(req, "create_rbac_policy", {"project_id": project})
    await _check_target(req, "create_rbac_policy", attrs["target_tenant"], project)
    caller = await caller_of(req)
    item = await req.write(rbac.create, caller, project, attrs)
    return member_response(req, "rbac_policy", item, 201)


@routes.put("/v2.0/rbac-policies/{policy_id}")
async def update_policy(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "rbac_policy", ATTRS, creating=False)
    caller = await caller_of(req)
    current = await req.read(rbac.show, caller, req.path("policy_id"))
    await enforce(req, "update_rbac_policy", {"project_id": current["project_id"]})
    target = attrs.get("target_tenant", current["target_tenant"])
    await _check_target(req, "update_rbac_policy", target, current["project_id"])
    item = await req.write(rbac.update, caller, req.path("policy_id"), target)
    return member_response(req, "rbac_policy", item)


@routes.delete("/v2.0/rbac-policies/{policy_id}")
async def delete_policy(req: Req) -> Response:
    caller = await caller_of(req)
    current = await req.read(rbac.show, caller, req.path("policy_id"))
    await enforce(req, "delete_rbac_policy", {"project_id": current["project_id"]})
    await req.write(rbac.delete, caller, req.path("policy_id"))
    return no_content()
