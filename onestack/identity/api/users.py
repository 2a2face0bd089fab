"""``/v3/users``: users, their passwords (admin reset and self-service change), projects, groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import anyio.to_thread
from starlette.responses import Response

from onestack.core.api.faults import BadRequest, Unauthorized
from onestack.core.api.http import json_response, no_content
from onestack.core.auth import AuthContext
from onestack.identity.api.conventions import IdentityRoutes, Req, caller_domain, query
from onestack.identity.api.render import linked, listing, with_link
from onestack.identity.api.schemas import BOOLISH, DESCRIPTION, ID_OR_NULL, entity, normalise_bools
from onestack.identity.service import groups, users
from onestack.identity.state import Identity

routes = IdentityRoutes()

PASSWORD = {"type": ["string", "null"], "maxLength": 4096}
_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"\S"},
    "domain_id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-]+$"},
    "default_project_id": ID_OR_NULL,
    "description": DESCRIPTION,
    "enabled": BOOLISH,
    "password": PASSWORD,
    "options": {"type": "object", "properties": users.USER_OPTIONS, "additionalProperties": False},
}
CREATE = entity(_FIELDS, ("name",))
UPDATE = {**entity(_FIELDS), "minProperties": 1}
CHANGE_PASSWORD = entity(
    {"password": {"type": "string", "maxLength": 4096}, "original_password": {"type": "string", "maxLength": 4096}},
    ("password", "original_password"),
    extra=False,  # the API reference closes this body: a stray field is a client bug, not data
)


def _one(req: Req, doc: dict[str, Any], status: int = 200) -> Response:
    return json_response({"user": with_link(req, doc, "users")}, status=status)


def _wrapped(body: Any, key: str) -> dict[str, Any]:
    inner = body.get(key) if isinstance(body, dict) else None
    return inner if isinstance(inner, dict) else {}


async def _authorize(req: Req, rule: str) -> str:
    """401 first, then 404 for an unknown user, then the policy's 403."""
    await req.caller()
    user_id = req.path("user_id")
    target = await req.read(users.policy_target, user_id)
    await req.enforce(rule, {"target": {"user": target}})
    return user_id


async def _hash_new_password(ident: Identity, password: str) -> str:
    users.check_password_rules(ident.config.identity.security_compliance, password)
    # bcrypt is slow on purpose: keep it off the event loop and outside the write transaction.
    return await anyio.to_thread.run_sync(users.hash_password, password, ident.config.identity.password_hash_rounds)


@routes.get("/v3/users")
async def list_users(req: Req) -> Response:
    filters = query(req)
    ctx = await req.enforce("identity:list_users", {"target": {"domain_id": filters.get("domain_id")}})
    if ctx.domain_id and not ctx.system_scope:
        filters["domain_id"] = ctx.domain_id  # domain-scoped callers only see their own domain
    items = await req.read(users.list_users, filters)
    return listing(req, "users", items, "users")


@routes.post("/v3/users")
async def create_user(req: Req) -> Response:
    ctx: AuthContext = await req.caller()
    await req.enforce("identity:create_user", {"target": {"user": _wrapped(await req.json(), "user")}})
    data = normalise_bools(await req.body(CREATE, wrapper="user"), "enabled")
    data["domain_id"] = data.get("domain_id") or caller_domain(ctx)
    ident = req.state
    hashed: str | None = None
    expires: datetime | None = None
    if data.get("password") is not None:
        hashed = await _hash_new_password(ident, data["password"])
        expires = users.new_password_expiry(ident.config.identity.security_compliance, data.get("options") or {},
                                            by_admin=True)
    doc = await req.write(users.create_user, data, hashed, expires)
    return _one(req, doc, 201)


@routes.get("/v3/users/{user_id}")
async def get_user(req: Req) -> Response:
    user_id = await _authorize(req, "identity:get_user")
    return _one(req, await req.read(users.show, user_id))


@routes.patch("/v3/users/{user_id}")
async def update_user(req: Req) -> Response:
    user_id = await _authorize(req, "identity:update_user")
    data = normalise_bools(await req.body(UPDATE, wrapper="user"), "enabled")
    ident = req.state
    hashed: str | None = None
    expires: datetime | None = None
    if data.get("password") is not None:
        hashed = await _hash_new_password(ident, data["password"])
        options = await req.read(users.options_after, user_id, data.get("options") or {})
        expires = users.new_password_expiry(ident.config.identity.security_compliance, options, by_admin=True)
    data.pop("password", None)
    lifetime = ident.config.identity.token_expiration
    doc = await req.write(users.update_user, user_id, data, hashed, expires, lifetime)
    return _one(req, doc)


@routes.delete("/v3/users/{user_id}")
async def delete_user(req: Req) -> Response:
    user_id = await _authorize(req, "identity:delete_user")
    await req.write(users.delete_user, user_id, req.state.config.identity.token_expiration)
    return no_content()


async def _check_new_password(ident: Identity, state: users.PasswordState, password: str) -> None:
    sc = ident.config.identity.security_compliance
    if state.options.get("lock_password"):
        raise BadRequest("You cannot change your password: password changes are locked for this user. "
                         "Ask an administrator to reset it.")
    users.check_password_rules(sc, password)
    users.check_minimum_age(sc, state)
    for old in state.history:
        if await anyio.to_thread.run_sync(users.check_password, password, old):
            raise BadRequest(f"The new password cannot be identical to a previous password. The number of "
                             f"previous passwords that must be unique is {sc.unique_last_password_count}.")


async def _check_original(req: Req, user_id: str, original: str) -> users.PasswordState:
    """The user's password state once ``original`` proved to be their password (401 otherwise)."""
    sc = req.state.config.identity.security_compliance
    state = await req.read(users.password_state, user_id, sc.unique_last_password_count)
    if state is None:
        raise Unauthorized("Error when changing user password: the user or password is invalid.")
    if users.is_locked(sc, state):
        raise Unauthorized(f"The account is locked for user: {user_id}.")
    ok = state.current_hash is not None and await anyio.to_thread.run_sync(
        users.check_password, original, state.current_hash
    )
    if not ok:
        if sc.lockout_failure_attempts:
            await req.write(users.record_failure, user_id, sc.lockout_duration)
        raise Unauthorized("Error when changing user password: the user or password is invalid.")
    if not state.enabled:
        raise Unauthorized("Error when changing user password: the user is disabled.")
    return state


@routes.post("/v3/users/{user_id}/password")
async def change_password(req: Req) -> Response:
    """Self-service change: the original password is the credential, no token is needed."""
    user_id = req.path("user_id")
    data = await req.body(CHANGE_PASSWORD, wrapper="user")
    ident = req.state
    state = await _check_original(req, user_id, data["original_password"])
    await _check_new_password(ident, state, data["password"])
    hashed = await anyio.to_thread.run_sync(users.hash_password, data["password"],
                                            ident.config.identity.password_hash_rounds)
    expires = users.new_password_expiry(ident.config.identity.security_compliance, state.options, by_admin=False)
    await req.write(users.store_self_service_password, user_id, hashed, expires, ident.config.identity.token_expiration)
    return no_content()


@routes.get("/v3/users/{user_id}/projects")
async def list_user_projects(req: Req) -> Response:
    user_id = await _authorize(req, "identity:list_user_projects")
    return linked(req, "projects", await req.read(users.projects_for_user, user_id, query(req)), "projects")


@routes.get("/v3/users/{user_id}/groups")
async def list_user_groups(req: Req) -> Response:
    user_id = await _authorize(req, "identity:list_groups_for_user")
    return linked(req, "groups", await req.read(groups.list_groups, query(req), user_id), "groups")
