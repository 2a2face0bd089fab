"""``/v3/groups``: groups and their membership."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.identity.api.conventions import IdentityRoutes, Req, caller_domain, query
from onestack.identity.api.render import linked, listing, with_link
from onestack.identity.api.schemas import DESCRIPTION, entity
from onestack.identity.service import groups, users

routes = IdentityRoutes()

_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"\S"},
    "domain_id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-]+$"},
    "description": DESCRIPTION,
}
CREATE = entity(_FIELDS, ("name",))
UPDATE = {**entity(_FIELDS), "minProperties": 1}


def _one(req: Req, doc: dict[str, Any], status: int = 200) -> Response:
    return json_response({"group": with_link(req, doc, "groups")}, status=status)


async def _authorize(req: Req, rule: str, *, member: bool = False) -> tuple[str, str]:
    """401 first, then 404 for an unknown group (or user), then the policy's 403."""
    await req.caller()
    group_id = req.path("group_id")
    user_id = req.path("user_id") if member else None
    found = await req.read(groups.policy_target, group_id, user_id)
    if user_id is not None:
        found["user"] = {"id": user_id}
    await req.enforce(rule, {"target": found})
    return group_id, user_id or ""


@routes.get("/v3/groups")
async def list_groups(req: Req) -> Response:
    filters = query(req)
    ctx = await req.enforce("identity:list_groups", {"target": {"domain_id": filters.get("domain_id")}})
    if ctx.domain_id and not ctx.system_scope:
        filters["domain_id"] = ctx.domain_id
    items = await req.read(groups.list_groups, filters)
    return listing(req, "groups", items, "groups")


@routes.post("/v3/groups")
async def create_group(req: Req) -> Response:
    ctx = await req.caller()
    body = await req.json()
    raw = body.get("group") if isinstance(body, dict) else None
    await req.enforce("identity:create_group", {"target": {"group": raw if isinstance(raw, dict) else {}}})
    data = await req.body(CREATE, wrapper="group")
    data["domain_id"] = data.get("domain_id") or caller_domain(ctx)
    doc = await req.write(groups.create_group, data)
    return _one(req, doc, 201)


@routes.get("/v3/groups/{group_id}")
async def get_group(req: Req) -> Response:
    group_id, _ = await _authorize(req, "identity:get_group")
    return _one(req, await req.read(groups.show, group_id))


@routes.patch("/v3/groups/{group_id}")
async def update_group(req: Req) -> Response:
    group_id, _ = await _authorize(req, "identity:update_group")
    data = await req.body(UPDATE, wrapper="group")
    return _one(req, await req.write(groups.update_group, group_id, data))


@routes.delete("/v3/groups/{group_id}")
async def delete_group(req: Req) -> Response:
    group_id, _ = await _authorize(req, "identity:delete_group")
    await req.write(groups.delete_group, group_id, req.state.config.identity.token_expiration)
    return no_content()


@routes.get("/v3/groups/{group_id}/users")
async def list_group_users(req: Req) -> Response:
    group_id, _ = await _authorize(req, "identity:list_users_in_group")
    return linked(req, "users", await req.read(users.list_users, query(req), group_id), "users")


@routes.put("/v3/groups/{group_id}/users/{user_id}")
async def add_user(req: Req) -> Response:
    group_id, user_id = await _authorize(req, "identity:add_user_to_group", member=True)
    await req.write(groups.add_member, group_id, user_id)
    return no_content()


@routes.get("/v3/groups/{group_id}/users/{user_id}")
async def check_user(req: Req) -> Response:
    group_id, user_id = await _authorize(req, "identity:check_user_in_group", member=True)
    await req.read(groups.check_member, group_id, user_id)
    return no_content()


@routes.delete("/v3/groups/{group_id}/users/{user_id}")
async def remove_user(req: Req) -> Response:
    group_id, user_id = await _authorize(req, "identity:remove_user_from_group", member=True)
    await req.write(groups.remove_member, group_id, user_id, req.state.config.identity.token_expiration)
    return no_content()
