"""Server groups (``/os-server-groups``): create, list, show, delete."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import (
    ComputeRoutes,
    Req,
    as_int,
    check_keys,
    name_field,
)
from onestack.compute.api.operator import no_query_from_2_102
from onestack.compute.service import server_groups as svc
from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response, no_content
from onestack.core.auth import AuthContext

routes = ComputeRoutes()


def render(req: Req, group: svc.ServerGroupRow) -> dict[str, Any]:
    body: dict[str, Any] = {"id": group.uuid, "name": group.name}
    if req.at_least(2, 64):
        body.update({"policy": group.policy, "rules": dict(group.rules or {})})
    else:
        body.update({"policies": [group.policy], "metadata": {}})
    body["members"] = [m.instance_uuid for m in group.members]
    if req.at_least(2, 13):
        body.update({"project_id": group.project_id, "user_id": group.user_id})
    return body


def _allowed_policies(req: Req) -> tuple[str, ...]:
    # The soft policies arrived at 2.15.
    return svc.POLICIES if req.at_least(2, 15) else svc.POLICIES[:2]


def _policy_legacy(req: Req, body: dict[str, Any]) -> str:
    policies = body.get("policies")
    if not isinstance(policies, list) or len(policies) != 1:
        raise BadRequest(f"Invalid input for field/attribute policies. Value: {policies}. "
                         "Exactly one policy is required")
    if policies[0] not in _allowed_policies(req):
        raise BadRequest(f"Invalid input for field/attribute 0. Value: {policies[0]}. "
                         f"{policies[0]!r} is not one of {list(_allowed_policies(req))}")
    return str(policies[0])


def _rules(policy: str, rules: Any) -> dict[str, Any]:
    if rules is None:
        return {}
    if not isinstance(rules, dict):
        raise BadRequest(f"Invalid input for field/attribute rules. Value: {rules}. {rules!r} is not of type 'object'")
    check_keys(rules, {"max_server_per_host"}, "rules")
    if rules and policy != "anti-affinity":
        raise BadRequest("Only anti-affinity policy supports rules.")
    if "max_server_per_host" in rules:
        return {"max_server_per_host": as_int(rules["max_server_per_host"], "max_server_per_host", 1)}
    return {}


def parse_create(req: Req, body: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    modern = req.at_least(2, 64)
    check_keys(body, {"name", "policy", "rules"} if modern else {"name", "policies"}, "server_group")
    if "name" not in body:
        raise BadRequest("Invalid input for field/attribute server_group. 'name' is a required property")
    name = name_field(body["name"])
    if not modern:
        return name, _policy_legacy(req, body), {}
    policy = body.get("policy")
    if policy not in svc.POLICIES:
        raise BadRequest(f"Invalid input for field/attribute policy. Value: {policy}. "
                         f"{policy!r} is not one of {list(svc.POLICIES)}")
    return name, str(policy), _rules(str(policy), body.get("rules"))


@routes.post("/v2.1/os-server-groups")
async def create_group(req: Req) -> Response:
    ctx = await req.enforce("os_compute_api:os-server-groups:create")
    name, policy, rules = parse_create(req, await req.body(wrapper="server_group"))
    group = await req.write(partial(svc.create_group, name=name, policy=policy, rules=rules,
                                    project_id=ctx.project_id or "", user_id=ctx.user_id))
    return json_response({"server_group": render(req, group)})


def _paging(req: Req) -> tuple[int, int | None]:
    params = req.params
    offset = as_int(params["offset"], "offset", 0) if "offset" in params else 0
    limit = as_int(params["limit"], "limit", 1) if "limit" in params else None
    return offset, limit


@routes.get("/v2.1/os-server-groups")
async def list_groups(req: Req) -> Response:
    ctx = await req.enforce("os_compute_api:os-server-groups:index")
    project: str | None = ctx.project_id or ""
    if "all_projects" in req.params and await req.allowed("os_compute_api:os-server-groups:index:all_projects"):
        project = None
    offset, limit = _paging(req)
    groups = await req.read(svc.list_groups, project, offset, limit)
    return json_response({"server_groups": [render(req, g) for g in groups]})


async def _load(req: Req, ctx: AuthContext, rule: str) -> svc.ServerGroupRow:
    # Nova's group lookup is scoped to the caller's project unless it is an admin: another
    # project's group is 404 (as if it did not exist), before any policy is checked.
    scope = None if await req.is_admin() else ctx.project_id or ""
    group = await req.read(svc.get_group, req.path("group_id"), scope)
    await req.enforce(rule, {"project_id": group.project_id})
    return group


@routes.get("/v2.1/os-server-groups/{group_id}")
async def show_group(req: Req) -> Response:
    await no_query_from_2_102(req)
    ctx = await req.caller()
    group = await _load(req, ctx, "os_compute_api:os-server-groups:show")
    return json_response({"server_group": render(req, group)})


@routes.delete("/v2.1/os-server-groups/{group_id}")
async def delete_group(req: Req) -> Response:
    ctx = await req.caller()
    group = await _load(req, ctx, "os_compute_api:os-server-groups:delete")
    await req.write(svc.delete_group, group.uuid, None)
    return no_content()
