"""``/v3/domains``: create, list, show, update and delete domains."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.identity.api.conventions import IdentityRoutes, Req, query
from onestack.identity.api.projects import TAGS
from onestack.identity.api.render import listing, with_link
from onestack.identity.api.schemas import BOOLISH, DESCRIPTION, OPTIONS, entity, normalise_bools
from onestack.identity.service import domains, projects

routes = IdentityRoutes()

DOMAIN_NAME = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"\S"}
_FIELDS: dict[str, Any] = {
    "name": DOMAIN_NAME,
    "description": DESCRIPTION,
    "enabled": BOOLISH,
    "tags": TAGS,
    "options": OPTIONS,
}
CREATE = entity({**_FIELDS, "explicit_domain_id": {"type": "string", "pattern": "^[a-zA-Z0-9-]+$", "minLength": 1,
                                                   "maxLength": 64}}, ("name",))
UPDATE = {**entity(_FIELDS), "minProperties": 1}


def _one(req: Req, doc: dict[str, Any], status: int = 200) -> Response:
    return json_response({"domain": with_link(req, doc, "domains")}, status=status)


async def _authorize(req: Req, rule: str) -> str:
    """401 first, then 404 for an unknown domain, then the policy's 403."""
    await req.caller()
    domain_id = req.path("domain_id")
    await req.read(projects.get_domain, domain_id)
    await req.enforce(rule, {"target": {"domain": {"id": domain_id}}})
    return domain_id


@routes.get("/v3/domains")
async def list_domains(req: Req) -> Response:
    await req.enforce("identity:list_domains")
    items = await req.read(domains.list_domains, query(req))
    return listing(req, "domains", items, "domains")


@routes.post("/v3/domains")
async def create_domain(req: Req) -> Response:
    await req.caller()
    await req.json()
    await req.enforce("identity:create_domain")
    data = normalise_bools(await req.body(CREATE, wrapper="domain"), "enabled")
    doc = await req.write(domains.create, data)
    return _one(req, doc, 201)


@routes.get("/v3/domains/{domain_id}")
async def get_domain(req: Req) -> Response:
    await req.caller()
    domain_id = req.path("domain_id")
    doc = await req.read(domains.show, domain_id)
    await req.enforce("identity:get_domain", {"target": {"domain": {"id": domain_id}}})
    return _one(req, doc)


@routes.patch("/v3/domains/{domain_id}")
async def update_domain(req: Req) -> Response:
    domain_id = await _authorize(req, "identity:update_domain")
    data = normalise_bools(await req.body(UPDATE, wrapper="domain"), "enabled")
    lifetime = req.state.config.identity.token_expiration
    doc = await req.write(domains.update, domain_id, data, lifetime)
    return _one(req, doc)


@routes.delete("/v3/domains/{domain_id}")
async def delete_domain(req: Req) -> Response:
    domain_id = await _authorize(req, "identity:delete_domain")
    await req.write(domains.delete_domain, domain_id, req.state.config.identity.token_expiration)
    return no_content()
