"""``/v3/groups``: groups and their membership."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.core.auth import AuthContext, authenticate
from onestack.identity.api.policy import enforce, identity_of
from onestack.identity.api.projects import caller_domain, list_query, listing
from onestack.identity.api.render import collection, with_link
from onestack.identity.api.validation import DESCRIPTION, entity, validate
from onestack.identity.service import groups, revocations, users

routes = RouteTable()

_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"\S"},
    "domain_id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-]+$"},
    "description": DESCRIPTION,
}
CREATE = entity(_FIELDS, ("name",))
UPDATE = {**entity(_FIELDS), "minProperties": 1}


def _one(request: Request, doc: dict[str, Any], status: int = 200) -> Response:
    return json_response({"group": with_link(request, doc, "groups")}, status=status)


async def _authorize(request: Request, rule: str, group_id: str, user_id: str | None = None) -> AuthContext:
    """401 first, then 404 for an unknown group (or user), then the policy's 403."""
    await authenticate(request)

    def target(s: Session) -> dict[str, Any]:
        group = groups.get_group(s, group_id)
        if user_id is not None:
            users.get_user(s, user_id)
        return {"group": {"id": group.id, "domain_id": group.domain_id}}

    found = await identity_of(request).db.read(target)
    if user_id is not None:
        found["user"] = {"id": user_id}
    return await enforce(request, rule, {"target": found})


@routes.get("/v3/groups")
async def list_groups(request: Request) -> Response:
    query = list_query(request)
    ctx = await enforce(request, "identity:list_groups", {"target": {"domain_id": query.get("domain_id")}})
    if ctx.domain_id and not ctx.system_scope:
        query["domain_id"] = ctx.domain_id
    items = await identity_of(request).db.read(groups.list_groups, query)
    return listing(request, "groups", items, "groups")


@routes.post("/v3/groups")
async def create_group(request: Request) -> Response:
    ctx = await authenticate(request)
    body = await json_body(request)
    raw = body.get("group") if isinstance(body, dict) else None
    await enforce(request, "identity:create_group", {"target": {"group": raw if isinstance(raw, dict) else {}}})
    data = validate(body, CREATE, wrapper="group")
    data["domain_id"] = data.get("domain_id") or caller_domain(ctx)
    ident = identity_of(request)
    doc = await ident.db.write(groups.create_group, data)
    return _one(request, doc, 201)


@routes.get("/v3/groups/{group_id}")
async def get_group(request: Request) -> Response:
    group_id = request.path_params["group_id"]
    await _authorize(request, "identity:get_group", group_id)
    doc = await identity_of(request).db.read(lambda s: groups.group_to_dict(groups.get_group(s, group_id)))
    return _one(request, doc)


@routes.patch("/v3/groups/{group_id}")
async def update_group(request: Request) -> Response:
    group_id = request.path_params["group_id"]
    await _authorize(request, "identity:update_group", group_id)
    data = validate(await json_body(request), UPDATE, wrapper="group")
    ident = identity_of(request)
    doc = await ident.db.write(groups.update_group, group_id, data)
    return _one(request, doc)


@routes.delete("/v3/groups/{group_id}")
async def delete_group(request: Request) -> Response:
    group_id = request.path_params["group_id"]
    await _authorize(request, "identity:delete_group", group_id)
    ident = identity_of(request)
    lifetime = ident.config.identity.token_expiration

    def apply(s: Session) -> None:
        # Members lose whatever the group granted: their tokens must be re-issued.
        for member in groups.delete_group(s, group_id):
            revocations.revoke(s, token_lifetime=lifetime, user_id=member)

    await ident.db.write(apply)
    return no_content()


@routes.get("/v3/groups/{group_id}/users")
async def list_group_users(request: Request) -> Response:
    group_id = request.path_params["group_id"]
    await _authorize(request, "identity:list_users_in_group", group_id)
    items = await identity_of(request).db.read(users.list_users, list_query(request), group_id)
    return json_response(collection(request, "users", [with_link(request, u, "users") for u in items]))


@routes.put("/v3/groups/{group_id}/users/{user_id}")
async def add_user(request: Request) -> Response:
    group_id, user_id = request.path_params["group_id"], request.path_params["user_id"]
    await _authorize(request, "identity:add_user_to_group", group_id, user_id)
    ident = identity_of(request)
    await ident.db.write(groups.add_member, group_id, user_id)
    return no_content()


@routes.get("/v3/groups/{group_id}/users/{user_id}")
async def check_user(request: Request) -> Response:
    group_id, user_id = request.path_params["group_id"], request.path_params["user_id"]
    await _authorize(request, "identity:check_user_in_group", group_id, user_id)
    await identity_of(request).db.read(groups.check_member, group_id, user_id)
    return no_content()


@routes.delete("/v3/groups/{group_id}/users/{user_id}")
async def remove_user(request: Request) -> Response:
    group_id, user_id = request.path_params["group_id"], request.path_params["user_id"]
    await _authorize(request, "identity:remove_user_from_group", group_id, user_id)
    ident = identity_of(request)
    lifetime = ident.config.identity.token_expiration

    def apply(s: Session) -> None:
        groups.remove_member(s, group_id, user_id)
        revocations.revoke(s, token_lifetime=lifetime, user_id=user_id)

    await ident.db.write(apply)
    return no_content()
