"""``/v3/users/{user_id}/application_credentials`` and ``/v3/users/{user_id}/access_rules``."""

from __future__ import annotations

import secrets
from typing import Any

import anyio.to_thread
from starlette.responses import Response

from onestack.core.api.faults import BadRequest, Forbidden
from onestack.core.api.http import json_response, no_content
from onestack.core.auth import AuthContext
from onestack.identity.api.conventions import IdentityRoutes, Req
from onestack.identity.api.render import collection, self_link
from onestack.identity.api.schemas import DESCRIPTION, NAME, entity, parse_expiry
from onestack.identity.service import app_creds, oauth1, users

routes = IdentityRoutes()

_ROLE_REF = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "domain": {"type": "object"}},
    "anyOf": [{"required": ["id"]}, {"required": ["name"]}],
    "additionalProperties": True,
}
_ACCESS_RULE = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 64},
        "service": {"type": "string", "minLength": 1, "maxLength": 64},
        "path": {"type": "string", "minLength": 1, "maxLength": 128},
        "method": {"type": "string", "enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]},
    },
    "anyOf": [{"required": ["service", "path", "method"]}, {"required": ["id"]}],
    "additionalProperties": False,
}
_CREATE = entity(
    {
        "name": NAME,
        "description": DESCRIPTION,
        "secret": {"type": ["string", "null"], "minLength": 1},
        "expires_at": {"type": ["string", "null"]},
        "roles": {"type": ["array", "null"], "items": _ROLE_REF},
        "unrestricted": {"type": ["boolean", "null"]},
        "access_rules": {"type": ["array", "null"], "items": _ACCESS_RULE},
        "project_id": {"type": ["string", "null"]},
    },
    ("name",),
    extra=False,
)


def _cred_doc(req: Req, doc: dict[str, Any]) -> dict[str, Any]:
    doc["links"] = self_link(req, f"users/{doc['user_id']}/application_credentials/{doc['id']}")
    return doc


def _rule_doc(req: Req, user_id: str, doc: dict[str, Any]) -> dict[str, Any]:
    doc["links"] = self_link(req, f"users/{user_id}/access_rules/{doc['id']}")
    return doc


def refuse_restricted_app_cred(ctx: AuthContext, what: str) -> None:
    """A token from a restricted application credential may not mint further delegations."""
    cred = ctx.body.get("token", {}).get("application_credential")
    if cred is not None and cred.get("restricted", True):
        raise Forbidden(f"Using method 'application_credential' is not allowed for managing {what}.")


async def _parse_create(req: Req, ctx: AuthContext) -> dict[str, Any]:
    data = parse_expiry(dict(await req.body(_CREATE, wrapper="application_credential")))
    if data.get("project_id") not in (None, ctx.project_id):
        raise BadRequest("Invalid input for field 'project_id': an application credential is always created "
                         "for the project of the token used.")
    return data


async def _enforce_own(req: Req, rule: str) -> AuthContext:
    """The rule against the user named in the path (a user manages their own credentials)."""
    return await req.enforce(rule, {"target": {"user": {"id": req.path("user_id")}}})


@routes.post("/v3/users/{user_id}/application_credentials")
async def create_app_cred(req: Req) -> Response:
    ctx = await _enforce_own(req, "identity:create_application_credential")
    refuse_restricted_app_cred(ctx, "additional application credentials")
    if ctx.trust_id:
        raise Forbidden("Using a trust-scoped token is not allowed for creating application credentials.")
    oauth1.refuse_oauth_scoped(ctx.body, "Cannot manage application credentials with a token issued via delegation.")
    data = await _parse_create(req, ctx)
    if not ctx.project_id:
        raise Forbidden("An application credential can only be created with a project-scoped token.")
    secret = data.get("secret") or secrets.token_urlsafe(64)
    hashed = await anyio.to_thread.run_sync(users.hash_password, secret, req.state.config.identity.password_hash_rounds)
    doc = await req.write(app_creds.create, req.path("user_id"), ctx.project_id, data, hashed, list(ctx.role_ids))
    doc["secret"] = secret  # shown this once; only the hash is kept
    return json_response({"application_credential": _cred_doc(req, doc)}, status=201)


@routes.get("/v3/users/{user_id}/application_credentials")
async def list_app_creds(req: Req) -> Response:
    await _enforce_own(req, "identity:list_application_credentials")
    docs = await req.read(app_creds.list_for_user, req.path("user_id"), req.params.get("name"))
    return json_response(collection(req, "application_credentials", [_cred_doc(req, d) for d in docs]))


@routes.get("/v3/users/{user_id}/application_credentials/{cred_id}")
async def show_app_cred(req: Req) -> Response:
    await _enforce_own(req, "identity:get_application_credential")
    doc = await req.read(app_creds.get, req.path("user_id"), req.path("cred_id"))
    return json_response({"application_credential": _cred_doc(req, doc)})


@routes.delete("/v3/users/{user_id}/application_credentials/{cred_id}")
async def delete_app_cred(req: Req) -> Response:
    ctx = await _enforce_own(req, "identity:delete_application_credential")
    refuse_restricted_app_cred(ctx, "additional application credentials")
    await req.write(app_creds.delete, req.path("user_id"), req.path("cred_id"),
                    req.state.config.identity.token_expiration)
    return no_content()


# --- access rules ---------------------------------------------------------------------------


@routes.get("/v3/users/{user_id}/access_rules")
async def list_access_rules(req: Req) -> Response:
    user_id = req.path("user_id")
    await _enforce_own(req, "identity:list_access_rules")
    filters = {k: v for k, v in req.params.items() if k in ("service", "path", "method")}
    docs = await req.read(app_creds.list_rules, user_id, filters)
    return json_response(collection(req, "access_rules", [_rule_doc(req, user_id, d) for d in docs]))


@routes.get("/v3/users/{user_id}/access_rules/{rule_id}")
async def show_access_rule(req: Req) -> Response:
    user_id = req.path("user_id")
    await _enforce_own(req, "identity:get_access_rule")
    doc = await req.read(app_creds.get_rule, user_id, req.path("rule_id"))
    return json_response({"access_rule": _rule_doc(req, user_id, doc)})


@routes.delete("/v3/users/{user_id}/access_rules/{rule_id}")
async def delete_access_rule(req: Req) -> Response:
    await _enforce_own(req, "identity:delete_access_rule")
    await req.write(app_creds.delete_rule, req.path("user_id"), req.path("rule_id"))
    return no_content()
