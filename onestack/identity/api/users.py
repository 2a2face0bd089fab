"""``/v3/users``: users, their passwords (admin reset and self-service change), projects, groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import anyio.to_thread
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.faults import BadRequest, Unauthorized
from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.core.auth import AuthContext, authenticate
from onestack.identity.api.policy import enforce, identity_of
from onestack.identity.api.projects import (
    BOOLISH,
    ID_OR_NULL,
    caller_domain,
    list_query,
    listing,
    normalise_bools,
)
from onestack.identity.api.render import collection, with_link
from onestack.identity.api.validation import DESCRIPTION, entity, validate
from onestack.identity.service import groups, revocations, users
from onestack.identity.state import Identity

routes = RouteTable()

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


def _one(request: Request, doc: dict[str, Any], status: int = 200) -> Response:
    return json_response({"user": with_link(request, doc, "users")}, status=status)


def _wrapped(body: Any, key: str) -> dict[str, Any]:
    inner = body.get(key) if isinstance(body, dict) else None
    return inner if isinstance(inner, dict) else {}


async def _authorize(request: Request, rule: str, user_id: str) -> AuthContext:
    """401 first, then 404 for an unknown user, then the policy's 403."""
    await authenticate(request)
    target = await identity_of(request).db.read(
        lambda s: {"id": user_id, "domain_id": users.get_user(s, user_id).domain_id}
    )
    return await enforce(request, rule, {"target": {"user": target}})


async def _hash_new_password(ident: Identity, password: str) -> str:
    users.check_password_rules(ident.config.identity.security_compliance, password)
    # bcrypt is slow on purpose: keep it off the event loop and outside the write transaction.
    return await anyio.to_thread.run_sync(users.hash_password, password, ident.config.identity.password_hash_rounds)


@routes.get("/v3/users")
async def list_users(request: Request) -> Response:
    query = list_query(request)
    ctx = await enforce(request, "identity:list_users", {"target": {"domain_id": query.get("domain_id")}})
    if ctx.domain_id and not ctx.system_scope:
        query["domain_id"] = ctx.domain_id  # domain-scoped callers only see their own domain
    items = await identity_of(request).db.read(users.list_users, query)
    return listing(request, "users", items, "users")


@routes.post("/v3/users")
async def create_user(request: Request) -> Response:
    ctx = await authenticate(request)
    body = await json_body(request)
    await enforce(request, "identity:create_user", {"target": {"user": _wrapped(body, "user")}})
    data = normalise_bools(validate(body, CREATE, wrapper="user"), "enabled")
    data["domain_id"] = data.get("domain_id") or caller_domain(ctx)
    ident = identity_of(request)
    hashed: str | None = None
    expires: datetime | None = None
    if data.get("password") is not None:
        hashed = await _hash_new_password(ident, data["password"])
        expires = users.new_password_expiry(ident.config.identity.security_compliance, data.get("options") or {},
                                            by_admin=True)
    doc = await ident.db.write(users.create_user, data, hashed, expires)
    return _one(request, doc, 201)


@routes.get("/v3/users/{user_id}")
async def get_user(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    await _authorize(request, "identity:get_user", user_id)
    doc = await identity_of(request).db.read(lambda s: users.user_view(s, users.get_user(s, user_id)))
    return _one(request, doc)


@routes.patch("/v3/users/{user_id}")
async def update_user(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    await _authorize(request, "identity:update_user", user_id)
    data = normalise_bools(validate(await json_body(request), UPDATE, wrapper="user"), "enabled")
    ident = identity_of(request)
    sc = ident.config.identity.security_compliance
    hashed: str | None = None
    expires: datetime | None = None
    if data.get("password") is not None:
        hashed = await _hash_new_password(ident, data["password"])
        options = await ident.db.read(lambda s: users.merge_options(users.get_user(s, user_id).options or {},
                                                                    data.get("options") or {}))
        expires = users.new_password_expiry(sc, options, by_admin=True)
    data.pop("password", None)
    lifetime = ident.config.identity.token_expiration

    def apply(s: Session) -> dict[str, Any]:
        doc, revoke = users.update_user(s, user_id, data, hashed, expires)
        if revoke:
            revocations.revoke(s, token_lifetime=lifetime, user_id=user_id)
        return doc

    doc = await ident.db.write(apply)
    return _one(request, doc)


@routes.delete("/v3/users/{user_id}")
async def delete_user(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    await _authorize(request, "identity:delete_user", user_id)
    ident = identity_of(request)
    lifetime = ident.config.identity.token_expiration

    def apply(s: Session) -> None:
        users.delete_user(s, user_id)
        revocations.revoke(s, token_lifetime=lifetime, user_id=user_id)

    await ident.db.write(apply)
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


@routes.post("/v3/users/{user_id}/password")
async def change_password(request: Request) -> Response:
    """Self-service change: the original password is the credential, no token is needed."""
    user_id = request.path_params["user_id"]
    data = validate(await json_body(request), CHANGE_PASSWORD, wrapper="user")
    ident = identity_of(request)
    sc = ident.config.identity.security_compliance
    state = await ident.db.read(users.password_state, user_id, sc.unique_last_password_count)
    if state is None:
        raise Unauthorized("Error when changing user password: the user or password is invalid.")
    if users.is_locked(sc, state):
        raise Unauthorized(f"The account is locked for user: {user_id}.")
    ok = state.current_hash is not None and await anyio.to_thread.run_sync(
        users.check_password, data["original_password"], state.current_hash
    )
    if not ok:
        if sc.lockout_failure_attempts:
            await ident.db.write(users.record_failure, user_id, sc.lockout_duration)
        raise Unauthorized("Error when changing user password: the user or password is invalid.")
    if not state.enabled:
        raise Unauthorized("Error when changing user password: the user is disabled.")
    await _check_new_password(ident, state, data["password"])
    hashed = await anyio.to_thread.run_sync(users.hash_password, data["password"],
                                            ident.config.identity.password_hash_rounds)
    expires = users.new_password_expiry(sc, state.options, by_admin=False)
    lifetime = ident.config.identity.token_expiration

    def apply(s: Session) -> None:
        users.store_self_service_password(s, user_id, hashed, expires)
        revocations.revoke(s, token_lifetime=lifetime, user_id=user_id)

    await ident.db.write(apply)
    return no_content()


@routes.get("/v3/users/{user_id}/projects")
async def list_user_projects(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    await _authorize(request, "identity:list_user_projects", user_id)
    items = await identity_of(request).db.read(users.projects_for_user, user_id, list_query(request))
    return json_response(collection(request, "projects", [with_link(request, p, "projects") for p in items]))


@routes.get("/v3/users/{user_id}/groups")
async def list_user_groups(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    await _authorize(request, "identity:list_groups_for_user", user_id)
    items = await identity_of(request).db.read(groups.list_groups, list_query(request), user_id)
    return json_response(collection(request, "groups", [with_link(request, g, "groups") for g in items]))
