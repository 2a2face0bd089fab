"""``/v3/roles``, ``/v3/roles/{prior}/implies[/{implied}]`` and ``/v3/role_inferences``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.faults import NotFound
from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.identity.api.policy import enforce, identity_of
from onestack.identity.api.render import collection, self_link
from onestack.identity.api.validation import validate
from onestack.identity.models import NULL_DOMAIN, Role
from onestack.identity.service import roles as svc

routes = RouteTable()

_NAME = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"[\S]+"}
_DOMAIN_ID = {"type": ["string", "null"], "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-]+$"}
_OPTIONS = {
    "type": "object",
    "properties": {"immutable": {"type": ["boolean", "null"]}},
    "additionalProperties": False,
}
_PROPS = {"name": _NAME, "domain_id": _DOMAIN_ID, "description": {"type": ["string", "null"]}, "options": _OPTIONS}
CREATE = {"type": "object", "properties": _PROPS, "required": ["name"], "additionalProperties": True}
UPDATE = {"type": "object", "properties": _PROPS, "minProperties": 1, "additionalProperties": True}


def render_role(request: Request, role: Role) -> dict[str, Any]:
    doc = svc.role_to_dict(role)
    doc["links"] = self_link(request, f"roles/{role.id}")
    return doc


def role_ref(request: Request, role: Role) -> dict[str, Any]:
    """The short form used inside role inference documents."""
    return {"id": role.id, "name": role.name, "links": self_link(request, f"roles/{role.id}")}


def _rule(action: str, domain_specific: bool) -> str:
    noun = "domain_role" if domain_specific else "role"
    return f"identity:{action}_{noun}s" if action == "list" else f"identity:{action}_{noun}"


@routes.get("/v3/roles")
async def list_roles(request: Request) -> Response:
    domain_id = request.query_params.get("domain_id") or None
    await enforce(request, _rule("list", domain_id is not None), {"target": {"domain_id": domain_id}})
    name = request.query_params.get("name")
    rows = await identity_of(request).db.read(lambda s: svc.list_roles(s, name=name, domain_id=domain_id))
    return json_response(collection(request, "roles", [render_role(request, r) for r in rows]))


@routes.post("/v3/roles")
async def create_role(request: Request) -> Response:
    body = validate(await json_body(request), CREATE, wrapper="role")
    await enforce(request, _rule("create", bool(body.get("domain_id"))), {"target": {"role": body}})
    ident = identity_of(request)
    role = await ident.db.write(svc.create_role, body)
    return json_response({"role": render_role(request, role)}, status=201)


async def _load(request: Request, role_id: str) -> Role:
    role: Role = await identity_of(request).db.read(svc.get_role, role_id)
    return role


async def _guard(request: Request, action: str, role_id: str) -> Role:
    """Policy first (403 beats 404 for callers who may not act), with the domain-role rule if it is one."""
    target = {"target": {"role": {"id": role_id}}}
    try:
        current = await _load(request, role_id)
    except NotFound:
        await enforce(request, _rule(action, False), target)
        raise
    await enforce(request, _rule(action, current.domain_id != NULL_DOMAIN), target)
    return current


@routes.get("/v3/roles/{role_id}")
async def get_role(request: Request) -> Response:
    role_id = request.path_params["role_id"]
    role = await _guard(request, "get", role_id)
    return json_response({"role": render_role(request, role)})


@routes.patch("/v3/roles/{role_id}")
async def update_role(request: Request) -> Response:
    role_id = request.path_params["role_id"]
    body = validate(await json_body(request), UPDATE, wrapper="role")
    ident = identity_of(request)
    await _guard(request, "update", role_id)
    role = await ident.db.write(svc.update_role, role_id, body)
    return json_response({"role": render_role(request, role)})


@routes.delete("/v3/roles/{role_id}")
async def delete_role(request: Request) -> Response:
    role_id = request.path_params["role_id"]
    ident = identity_of(request)
    await _guard(request, "delete", role_id)
    await ident.db.write(svc.delete_role, role_id, ident.config.identity.token_expiration)
    return no_content()


# --- implied roles -----------------------------------------------------------------------


@routes.get("/v3/role_inferences")
async def list_role_inferences(request: Request) -> Response:
    await enforce(request, "identity:list_role_inference_rules")
    groups = await identity_of(request).db.read(svc.all_inferences)
    items = [
        {"prior_role": role_ref(request, prior), "implies": [role_ref(request, r) for r in implied]}
        for prior, implied in groups
    ]
    return json_response(collection(request, "role_inferences", items))


@routes.get("/v3/roles/{prior_id}/implies")
async def list_implied_roles(request: Request) -> Response:
    prior_id = request.path_params["prior_id"]
    await enforce(request, "identity:list_implied_roles", {"target": {"role": {"id": prior_id}}})
    prior, implied = await identity_of(request).db.read(svc.implied_by, prior_id)
    doc = {"prior_role": role_ref(request, prior), "implies": [role_ref(request, r) for r in implied]}
    return json_response({"role_inference": doc, "links": self_link(request, f"roles/{prior_id}/implies")})


def _inference_doc(request: Request, prior: Role, implied: Role) -> dict[str, Any]:
    return {
        "role_inference": {"prior_role": role_ref(request, prior), "implies": role_ref(request, implied)},
        "links": self_link(request, f"roles/{prior.id}/implies/{implied.id}"),
    }


@routes.put("/v3/roles/{prior_id}/implies/{implied_id}")
async def create_implied_role(request: Request) -> Response:
    prior_id, implied_id = request.path_params["prior_id"], request.path_params["implied_id"]
    await enforce(request, "identity:create_implied_role", {"target": {"role": {"id": prior_id}}})
    ident = identity_of(request)
    prior, implied = await ident.db.write(svc.create_inference, prior_id, implied_id)
    return json_response(_inference_doc(request, prior, implied), status=201)


@routes.get("/v3/roles/{prior_id}/implies/{implied_id}")
async def get_implied_role(request: Request) -> Response:
    prior_id, implied_id = request.path_params["prior_id"], request.path_params["implied_id"]
    head = request.method == "HEAD"
    rule = "identity:check_implied_role" if head else "identity:get_implied_role"
    await enforce(request, rule, {"target": {"role": {"id": prior_id}}})

    def load(s: Session) -> tuple[Role, Role]:
        return svc.get_inference(s, prior_id, implied_id)

    prior, implied = await identity_of(request).db.read(load)
    if head:
        return no_content()
    return json_response(_inference_doc(request, prior, implied))


@routes.delete("/v3/roles/{prior_id}/implies/{implied_id}")
async def delete_implied_role(request: Request) -> Response:
    prior_id, implied_id = request.path_params["prior_id"], request.path_params["implied_id"]
    await enforce(request, "identity:delete_implied_role", {"target": {"role": {"id": prior_id}}})
    ident = identity_of(request)
    await ident.db.write(svc.delete_inference, prior_id, implied_id)
    return no_content()
