"""``/v3/roles``, ``/v3/roles/{prior}/implies[/{implied}]`` and ``/v3/role_inferences``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from onestack.core.api.faults import NotFound
from onestack.core.api.http import json_response, no_content
from onestack.identity.api.conventions import IdentityRoutes, Req
from onestack.identity.api.render import collection, self_link
from onestack.identity.service import roles as svc

if TYPE_CHECKING:
    from onestack.identity.models import Role

routes = IdentityRoutes()

_NAME = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"[\S]+"}
_DOMAIN_ID = {"type": ["string", "null"], "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-]+$"}
_OPTIONS = {
    "type": "object",
    "properties": {"immutable": {"type": ["boolean", "null"]}},
    "additionalProperties": False,
}
_PROPS = {"name": _NAME, "domain_id": _DOMAIN_ID, "description": {"type": ["string", "null"], "maxLength": 255}, "options": _OPTIONS}
CREATE = {"type": "object", "properties": _PROPS, "required": ["name"], "additionalProperties": True}
UPDATE = {"type": "object", "properties": _PROPS, "minProperties": 1, "additionalProperties": True}


def render_role(req: Req, role: Role) -> dict[str, Any]:
    doc = svc.role_to_dict(role)
    doc["links"] = self_link(req, f"roles/{role.id}")
    return doc


def role_ref(req: Req, role: Role) -> dict[str, Any]:
    """The short form used inside role inference documents."""
    return {"id": role.id, "name": role.name, "links": self_link(req, f"roles/{role.id}")}


def _rule(action: str, domain_specific: bool) -> str:
    noun = "domain_role" if domain_specific else "role"
    return f"identity:{action}_{noun}s" if action == "list" else f"identity:{action}_{noun}"


@routes.get("/v3/roles")
async def list_roles(req: Req) -> Response:
    domain_id = req.params.get("domain_id") or None
    await req.enforce(_rule("list", domain_id is not None), {"target": {"domain_id": domain_id}})
    rows = await req.read(svc.list_roles, req.params.get("name"), domain_id)
    return json_response(collection(req, "roles", [render_role(req, r) for r in rows]))


@routes.post("/v3/roles")
async def create_role(req: Req) -> Response:
    body = await req.body(CREATE, wrapper="role")
    await req.enforce(_rule("create", bool(body.get("domain_id"))), {"target": {"role": body}})
    role = await req.write(svc.create_role, body)
    return json_response({"role": render_role(req, role)}, status=201)


async def _guard(req: Req, action: str, role_id: str) -> Role:
    """Policy first (403 beats 404 for callers who may not act), with the domain-role rule if it is one."""
    target = {"target": {"role": {"id": role_id}}}
    try:
        current: Role = await req.read(svc.get_role, role_id)
    except NotFound:
        await req.enforce(_rule(action, False), target)
        raise
    await req.enforce(_rule(action, svc.is_domain_role(current)), target)
    return current


@routes.get("/v3/roles/{role_id}")
async def get_role(req: Req) -> Response:
    role = await _guard(req, "get", req.path("role_id"))
    return json_response({"role": render_role(req, role)})


@routes.patch("/v3/roles/{role_id}")
async def update_role(req: Req) -> Response:
    role_id = req.path("role_id")
    body = await req.body(UPDATE, wrapper="role")
    await _guard(req, "update", role_id)
    role = await req.write(svc.update_role, role_id, body)
    return json_response({"role": render_role(req, role)})


@routes.delete("/v3/roles/{role_id}")
async def delete_role(req: Req) -> Response:
    role_id = req.path("role_id")
    await _guard(req, "delete", role_id)
    await req.write(svc.delete_role, role_id, req.state.config.identity.token_expiration)
    return no_content()


# --- implied roles -----------------------------------------------------------------------


@routes.get("/v3/role_inferences")
async def list_role_inferences(req: Req) -> Response:
    await req.enforce("identity:list_role_inference_rules")
    groups = await req.read(svc.all_inferences)
    items = [
        {"prior_role": role_ref(req, prior), "implies": [role_ref(req, r) for r in implied]}
        for prior, implied in groups
    ]
    return json_response(collection(req, "role_inferences", items))


@routes.get("/v3/roles/{prior_id}/implies")
async def list_implied_roles(req: Req) -> Response:
    prior_id = req.path("prior_id")
    await req.enforce("identity:list_implied_roles", {"target": {"role": {"id": prior_id}}})
    prior, implied = await req.read(svc.implied_by, prior_id)
    doc = {"prior_role": role_ref(req, prior), "implies": [role_ref(req, r) for r in implied]}
    return json_response({"role_inference": doc, "links": self_link(req, f"roles/{prior_id}/implies")})


def _inference_doc(req: Req, prior: Role, implied: Role) -> dict[str, Any]:
    return {
        "role_inference": {"prior_role": role_ref(req, prior), "implies": role_ref(req, implied)},
        "links": self_link(req, f"roles/{prior.id}/implies/{implied.id}"),
    }


@routes.put("/v3/roles/{prior_id}/implies/{implied_id}")
async def create_implied_role(req: Req) -> Response:
    prior_id, implied_id = req.path("prior_id"), req.path("implied_id")
    await req.enforce("identity:create_implied_role", {"target": {"role": {"id": prior_id}}})
    prior, implied = await req.write(svc.create_inference, prior_id, implied_id)
    return json_response(_inference_doc(req, prior, implied), status=201)


@routes.get("/v3/roles/{prior_id}/implies/{implied_id}")
async def get_implied_role(req: Req) -> Response:
    prior_id, implied_id = req.path("prior_id"), req.path("implied_id")
    head = req.method == "HEAD"
    rule = "identity:check_implied_role" if head else "identity:get_implied_role"
    await req.enforce(rule, {"target": {"role": {"id": prior_id}}})
    prior, implied = await req.read(svc.get_inference, prior_id, implied_id)
    if head:
        return no_content()
    return json_response(_inference_doc(req, prior, implied))


@routes.delete("/v3/roles/{prior_id}/implies/{implied_id}")
async def delete_implied_role(req: Req) -> Response:
    prior_id, implied_id = req.path("prior_id"), req.path("implied_id")
    await req.enforce("identity:delete_implied_role", {"target": {"role": {"id": prior_id}}})
    await req.write(svc.delete_inference, prior_id, implied_id)
    return no_content()
