"""``/v3/OS-TRUST/trusts``: create, list, show and delete trusts, and read their roles."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.core.auth import authenticate
from onestack.core.ids import parse_isotime
from onestack.identity.api.app_creds import refuse_restricted_app_cred
from onestack.identity.api.policy import enforce, identity_of
from onestack.identity.api.render import collection, self_link
from onestack.identity.api.validation import entity, validate
from onestack.identity.models import Trust
from onestack.identity.service import revocations, trusts

routes = RouteTable()

_ROLE_REF = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-]+$"},
        "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "[\\S]+"},
    },
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
}
_CREATE = entity(
    {
        "trustor_user_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "trustee_user_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "impersonation": {"type": "boolean"},
        "project_id": {"type": ["string", "null"]},
        "roles": {"type": ["array", "null"], "items": _ROLE_REF},
        "expires_at": {"type": ["string", "null"]},
        "remaining_uses": {"type": ["integer", "null"], "minimum": 1},
        "allow_redelegation": {"type": ["boolean", "null"]},
        "redelegation_count": {"type": ["integer", "null"], "minimum": 0},
        "redelegated_trust_id": {"type": ["string", "null"]},
    },
    ("trustor_user_id", "trustee_user_id", "impersonation"),
)


def _trust_doc(request: Request, doc: dict[str, Any]) -> dict[str, Any]:
    doc["links"] = self_link(request, f"OS-TRUST/trusts/{doc['id']}")
    if "roles" in doc:
        doc["roles"] = [_role_doc(request, r) for r in doc["roles"]]
        doc["roles_links"] = {"self": doc["links"]["self"] + "/roles", "previous": None, "next": None}
    return doc


def _role_doc(request: Request, role: dict[str, Any]) -> dict[str, Any]:
    return {**role, "links": self_link(request, f"roles/{role['id']}")}


def _parse_create(body: Any) -> dict[str, Any]:
    data = dict(validate(body, _CREATE, wrapper="trust"))
    if data.get("expires_at"):
        try:
            data["expires_at"] = parse_isotime(str(data["expires_at"]))
        except ValueError:
            raise BadRequest(f"Invalid input for field 'expires_at': {data['expires_at']!r} is not a valid time.") from None
    else:
        data["expires_at"] = None
    return data


@routes.post("/v3/OS-TRUST/trusts")
async def create_trust(request: Request) -> Response:
    await authenticate(request)
    data = _parse_create(await json_body(request))
    ctx = await enforce(request, "identity:create_trust", {"trust": {"trustor_user_id": data["trustor_user_id"]}})
    refuse_restricted_app_cred(ctx, "trusts")
    ident = identity_of(request)
    doc = await ident.db.write(trusts.create, data, ctx.trust_id)
    return json_response({"trust": _trust_doc(request, doc)}, status=201)


@routes.get("/v3/OS-TRUST/trusts")
async def list_trusts(request: Request) -> Response:
    trustor = request.query_params.get("trustor_user_id")
    trustee = request.query_params.get("trustee_user_id")
    if trustor is None and trustee is None:
        await enforce(request, "identity:list_trusts")
    if trustor is not None:
        await enforce(request, "identity:list_trusts_for_trustor", {"target": {"trust": {"trustor_user_id": trustor}}})
    if trustee is not None:
        await enforce(request, "identity:list_trusts_for_trustee", {"target": {"trust": {"trustee_user_id": trustee}}})
    docs = await identity_of(request).db.read(trusts.list_trusts, trustor, trustee)
    return json_response(collection(request, "trusts", [_trust_doc(request, d) for d in docs]))


# Tempest lists with a trailing slash; answer it in place rather than redirecting.
routes.get("/v3/OS-TRUST/trusts/")(list_trusts)


async def _readable_trust(request: Request, rule: str) -> dict[str, Any]:
    """The live trust named in the path, once the caller may see it (401, then 404, then 403)."""
    await authenticate(request)
    doc = await identity_of(request).db.read(trusts.get, request.path_params["trust_id"])
    target = {"trust": {"trustor_user_id": doc["trustor_user_id"], "trustee_user_id": doc["trustee_user_id"]}}
    await enforce(request, rule, {"target": target})
    return doc


@routes.get("/v3/OS-TRUST/trusts/{trust_id}")
async def show_trust(request: Request) -> Response:
    doc = await _readable_trust(request, "identity:get_trust")
    return json_response({"trust": _trust_doc(request, doc)})


@routes.delete("/v3/OS-TRUST/trusts/{trust_id}")
async def delete_trust(request: Request) -> Response:
    trust_id = request.path_params["trust_id"]
    await authenticate(request)
    ident = identity_of(request)

    def load(s: Session) -> dict[str, Any]:
        row = s.get(Trust, trust_id)
        if row is None or row.deleted_at is not None:
            raise NotFound(f"Could not find trust: {trust_id}.")
        return {"trustor_user_id": row.trustor_user_id, "trustee_user_id": row.trustee_user_id}

    target = await ident.db.read(load)
    await enforce(request, "identity:delete_trust", {"target": {"trust": target}})
    lifetime = ident.config.identity.token_expiration

    def drop(s: Session) -> None:
        for gone in trusts.delete(s, trust_id):
            revocations.revoke(s, token_lifetime=lifetime, trust_id=gone)

    await ident.db.write(drop)
    return no_content()


@routes.get("/v3/OS-TRUST/trusts/{trust_id}/roles")
async def list_trust_roles(request: Request) -> Response:
    doc = await _readable_trust(request, "identity:list_roles_for_trust")
    return json_response(collection(request, "roles", [_role_doc(request, r) for r in doc["roles"]]))


@routes.get("/v3/OS-TRUST/trusts/{trust_id}/roles/{role_id}")
async def show_trust_role(request: Request) -> Response:
    doc = await _readable_trust(request, "identity:get_role_for_trust")
    role_id = request.path_params["role_id"]
    for role in doc["roles"]:
        if role["id"] == role_id:
            return json_response({"role": _role_doc(request, role)})
    raise NotFound(f"Could not find role: {role_id}.")
