"""``/v3/users/{user_id}/application_credentials`` and ``/v3/users/{user_id}/access_rules``."""

from __future__ import annotations

import secrets
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.faults import BadRequest, Forbidden
from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.core.auth import AuthContext
from onestack.core.ids import parse_isotime
from onestack.identity.api.policy import enforce, identity_of
from onestack.identity.api.render import collection, self_link
from onestack.identity.api.validation import DESCRIPTION, NAME, entity, validate
from onestack.identity.service import app_creds, revocations, users

routes = RouteTable()

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


def _cred_doc(request: Request, doc: dict[str, Any]) -> dict[str, Any]:
    doc["links"] = self_link(request, f"users/{doc['user_id']}/application_credentials/{doc['id']}")
    return doc


def _rule_doc(request: Request, user_id: str, doc: dict[str, Any]) -> dict[str, Any]:
    doc["links"] = self_link(request, f"users/{user_id}/access_rules/{doc['id']}")
    return doc


def refuse_restricted_app_cred(ctx: AuthContext, what: str) -> None:
    """A token from a restricted application credential may not mint further delegations."""
    cred = ctx.body.get("token", {}).get("application_credential")
    if cred is not None and cred.get("restricted", True):
        raise Forbidden(f"Using method 'application_credential' is not allowed for managing {what}.")


def _parse_create(body: Any, ctx: AuthContext) -> dict[str, Any]:
    data = dict(validate(body, _CREATE, wrapper="application_credential"))
    if data.get("expires_at"):
        try:
            data["expires_at"] = parse_isotime(str(data["expires_at"]))
        except ValueError:
            raise BadRequest(f"Invalid input for field 'expires_at': {data['expires_at']!r} is not a valid time.") from None
    else:
        data["expires_at"] = None
    if data.get("project_id") not in (None, ctx.project_id):
        raise BadRequest("Invalid input for field 'project_id': an application credential is always created "
                         "for the project of the token used.")
    return data


@routes.post("/v3/users/{user_id}/application_credentials")
async def create_app_cred(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    ctx = await enforce(request, "identity:create_application_credential", {"target": {"user": {"id": user_id}}})
    refuse_restricted_app_cred(ctx, "additional application credentials")
    if ctx.trust_id:
        raise Forbidden("Using a trust-scoped token is not allowed for creating application credentials.")
    body = await json_body(request)
    data = _parse_create(body, ctx)
    if not ctx.project_id:
        raise Forbidden("An application credential can only be created with a project-scoped token.")
    ident = identity_of(request)
    secret = data.get("secret") or secrets.token_urlsafe(64)
    rounds = ident.config.identity.password_hash_rounds
    hashed = await anyio.to_thread.run_sync(users.hash_password, secret, rounds)
    doc = await ident.db.write(app_creds.create, user_id, ctx.project_id, data, hashed, list(ctx.role_ids))
    doc["secret"] = secret  # shown this once; only the hash is kept
    return json_response({"application_credential": _cred_doc(request, doc)}, status=201)


@routes.get("/v3/users/{user_id}/application_credentials")
async def list_app_creds(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    await enforce(request, "identity:list_application_credentials", {"target": {"user": {"id": user_id}}})
    name = request.query_params.get("name")
    docs = await identity_of(request).db.read(app_creds.list_for_user, user_id, name)
    return json_response(collection(request, "application_credentials", [_cred_doc(request, d) for d in docs]))


@routes.get("/v3/users/{user_id}/application_credentials/{cred_id}")
async def show_app_cred(request: Request) -> Response:
    user_id, cred_id = request.path_params["user_id"], request.path_params["cred_id"]
    await enforce(request, "identity:get_application_credential", {"target": {"user": {"id": user_id}}})
    doc = await identity_of(request).db.read(app_creds.get, user_id, cred_id)
    return json_response({"application_credential": _cred_doc(request, doc)})


@routes.delete("/v3/users/{user_id}/application_credentials/{cred_id}")
async def delete_app_cred(request: Request) -> Response:
    user_id, cred_id = request.path_params["user_id"], request.path_params["cred_id"]
    ctx = await enforce(request, "identity:delete_application_credential", {"target": {"user": {"id": user_id}}})
    refuse_restricted_app_cred(ctx, "additional application credentials")
    ident = identity_of(request)
    lifetime = ident.config.identity.token_expiration

    def drop(s: Any) -> None:
        app_creds.delete(s, user_id, cred_id)
        revocations.revoke(s, token_lifetime=lifetime, app_cred_id=cred_id)

    await ident.db.write(drop)
    return no_content()


# --- access rules ---------------------------------------------------------------------------


@routes.get("/v3/users/{user_id}/access_rules")
async def list_access_rules(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    await enforce(request, "identity:list_access_rules", {"target": {"user": {"id": user_id}}})
    filters = {k: v for k, v in request.query_params.items() if k in ("service", "path", "method")}
    docs = await identity_of(request).db.read(app_creds.list_rules, user_id, filters)
    return json_response(collection(request, "access_rules", [_rule_doc(request, user_id, d) for d in docs]))


@routes.get("/v3/users/{user_id}/access_rules/{rule_id}")
async def show_access_rule(request: Request) -> Response:
    user_id, rule_id = request.path_params["user_id"], request.path_params["rule_id"]
    await enforce(request, "identity:get_access_rule", {"target": {"user": {"id": user_id}}})
    doc = await identity_of(request).db.read(
        lambda s: app_creds.rule_to_dict(app_creds.get_rule_row(s, user_id, rule_id))
    )
    return json_response({"access_rule": _rule_doc(request, user_id, doc)})


@routes.delete("/v3/users/{user_id}/access_rules/{rule_id}")
async def delete_access_rule(request: Request) -> Response:
    user_id, rule_id = request.path_params["user_id"], request.path_params["rule_id"]
    await enforce(request, "identity:delete_access_rule", {"target": {"user": {"id": user_id}}})
    ident = identity_of(request)
    await ident.db.write(app_creds.delete_rule, user_id, rule_id)
    return no_content()
