"""``/v3/OS-TRUST/trusts``: create, list, show and delete trusts, and read their roles."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.faults import NotFound
from onestack.core.api.http import json_response, no_content
from onestack.core.api.parse import INT32_MAX
from onestack.identity.api.app_creds import refuse_restricted_app_cred
from onestack.identity.api.conventions import IdentityRoutes, Req
from onestack.identity.api.render import collection, self_link
from onestack.identity.api.schemas import ROLE_REF, entity, parse_expiry
from onestack.identity.service import oauth1, trusts

routes = IdentityRoutes()

_CREATE = entity(
    {
        "trustor_user_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "trustee_user_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "impersonation": {"type": "boolean"},
        "project_id": {"type": ["string", "null"]},
        "roles": {"type": ["array", "null"], "items": ROLE_REF},
        "expires_at": {"type": ["string", "null"]},
        # Keystone sets no maximum; its Integer columns do (a larger count failed on write, a 500).
        "remaining_uses": {"type": ["integer", "null"], "minimum": 1, "maximum": INT32_MAX},
        "allow_redelegation": {"type": ["boolean", "null"]},
        "redelegation_count": {"type": ["integer", "null"], "minimum": 0, "maximum": INT32_MAX},
        "redelegated_trust_id": {"type": ["string", "null"]},
    },
    ("trustor_user_id", "trustee_user_id", "impersonation"),
)


def _trust_doc(req: Req, doc: dict[str, Any]) -> dict[str, Any]:
    doc["links"] = self_link(req, f"OS-TRUST/trusts/{doc['id']}")
    if "roles" in doc:
        doc["roles"] = [_role_doc(req, r) for r in doc["roles"]]
        doc["roles_links"] = {"self": doc["links"]["self"] + "/roles", "previous": None, "next": None}
    return doc


def _role_doc(req: Req, role: dict[str, Any]) -> dict[str, Any]:
    return {**role, "links": self_link(req, f"roles/{role['id']}")}


@routes.post("/v3/OS-TRUST/trusts")
async def create_trust(req: Req) -> Response:
    await req.caller()
    data = parse_expiry(dict(await req.body(_CREATE, wrapper="trust")))
    ctx = await req.enforce("identity:create_trust", {"trust": {"trustor_user_id": data["trustor_user_id"]}})
    refuse_restricted_app_cred(ctx, "trusts")
    oauth1.refuse_oauth_scoped(ctx.body, "You are not authorized to perform the requested action: "
                                         "Redelegation allowed for delegated by trust only.")
    doc = await req.write(trusts.create, data, ctx.trust_id)
    return json_response({"trust": _trust_doc(req, doc)}, status=201)


@routes.get("/v3/OS-TRUST/trusts")
async def list_trusts(req: Req) -> Response:
    trustor = req.params.get("trustor_user_id")
    trustee = req.params.get("trustee_user_id")
    if trustor is None and trustee is None:
        await req.enforce("identity:list_trusts")
    if trustor is not None:
        await req.enforce("identity:list_trusts_for_trustor", {"target": {"trust": {"trustor_user_id": trustor}}})
    if trustee is not None:
        await req.enforce("identity:list_trusts_for_trustee", {"target": {"trust": {"trustee_user_id": trustee}}})
    docs = await req.read(trusts.list_trusts, trustor, trustee)
    return json_response(collection(req, "trusts", [_trust_doc(req, d) for d in docs]))


# Tempest lists with a trailing slash; answer it in place rather than redirecting.
routes.get("/v3/OS-TRUST/trusts/")(list_trusts)


async def _readable_trust(req: Req, rule: str) -> dict[str, Any]:
    """The live trust named in the path, once the caller may see it (401, then 404, then 403)."""
    await req.caller()
    doc = await req.read(trusts.get, req.path("trust_id"))
    target = {"trust": {"trustor_user_id": doc["trustor_user_id"], "trustee_user_id": doc["trustee_user_id"]}}
    await req.enforce(rule, {"target": target})
    return doc


@routes.get("/v3/OS-TRUST/trusts/{trust_id}")
async def show_trust(req: Req) -> Response:
    doc = await _readable_trust(req, "identity:get_trust")
    return json_response({"trust": _trust_doc(req, doc)})


@routes.delete("/v3/OS-TRUST/trusts/{trust_id}")
async def delete_trust(req: Req) -> Response:
    trust_id = req.path("trust_id")
    await req.caller()
    target = await req.read(trusts.parties, trust_id)
    await req.enforce("identity:delete_trust", {"target": {"trust": target}})
    await req.write(trusts.delete_and_revoke, trust_id, req.state.config.identity.token_expiration)
    return no_content()


@routes.get("/v3/OS-TRUST/trusts/{trust_id}/roles")
async def list_trust_roles(req: Req) -> Response:
    doc = await _readable_trust(req, "identity:list_roles_for_trust")
    return json_response(collection(req, "roles", [_role_doc(req, r) for r in doc["roles"]]))


@routes.get("/v3/OS-TRUST/trusts/{trust_id}/roles/{role_id}")
async def show_trust_role(req: Req) -> Response:
    doc = await _readable_trust(req, "identity:get_role_for_trust")
    role_id = req.path("role_id")
    for role in doc["roles"]:
        if role["id"] == role_id:
            return json_response({"role": _role_doc(req, role)})
    raise NotFound(f"Could not find role: {role_id}.")
