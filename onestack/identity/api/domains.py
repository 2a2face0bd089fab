"""``/v3/domains``: create, list, show, update and delete domains."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.core.auth import authenticate
from onestack.identity.api.policy import enforce, identity_of
from onestack.identity.api.projects import (
    BOOLISH,
    OPTIONS,
    TAGS,
    list_query,
    listing,
    normalise_bools,
)
from onestack.identity.api.render import with_link
from onestack.identity.api.validation import DESCRIPTION, entity, validate
from onestack.identity.service import domains, projects, revocations

routes = RouteTable()

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


def _one(request: Request, doc: dict[str, Any], status: int = 200) -> Response:
    return json_response({"domain": with_link(request, doc, "domains")}, status=status)


@routes.get("/v3/domains")
async def list_domains(request: Request) -> Response:
    await enforce(request, "identity:list_domains")
    items = await identity_of(request).db.read(domains.list_domains, list_query(request))
    return listing(request, "domains", items, "domains")


@routes.post("/v3/domains")
async def create_domain(request: Request) -> Response:
    await authenticate(request)
    body = await json_body(request)
    await enforce(request, "identity:create_domain")
    data = normalise_bools(validate(body, CREATE, wrapper="domain"), "enabled")
    ident = identity_of(request)
    doc = await ident.db.write(domains.create, data)
    return _one(request, doc, 201)


@routes.get("/v3/domains/{domain_id}")
async def get_domain(request: Request) -> Response:
    await authenticate(request)
    domain_id = request.path_params["domain_id"]
    doc = await identity_of(request).db.read(lambda s: domains.domain_view(s, projects.get_domain(s, domain_id)))
    await enforce(request, "identity:get_domain", {"target": {"domain": {"id": domain_id}}})
    return _one(request, doc)


@routes.patch("/v3/domains/{domain_id}")
async def update_domain(request: Request) -> Response:
    await authenticate(request)
    domain_id = request.path_params["domain_id"]
    ident = identity_of(request)
    await ident.db.read(projects.get_domain, domain_id)
    await enforce(request, "identity:update_domain", {"target": {"domain": {"id": domain_id}}})
    data = normalise_bools(validate(await json_body(request), UPDATE, wrapper="domain"), "enabled")
    lifetime = ident.config.identity.token_expiration

    def apply(s: Session) -> dict[str, Any]:
        doc, disabled = domains.update(s, domain_id, data)
        if disabled:
            # Tokens scoped to the domain die now and stay dead if it is enabled again.
            revocations.revoke(s, token_lifetime=lifetime, domain_id=domain_id)
        return doc

    doc = await ident.db.write(apply)
    return _one(request, doc)


@routes.delete("/v3/domains/{domain_id}")
async def delete_domain(request: Request) -> Response:
    await authenticate(request)
    domain_id = request.path_params["domain_id"]
    ident = identity_of(request)
    await ident.db.read(projects.get_domain, domain_id)
    await enforce(request, "identity:delete_domain", {"target": {"domain": {"id": domain_id}}})
    lifetime = ident.config.identity.token_expiration

    def apply(s: Session) -> None:
        domains.delete_domain(s, domain_id)
        revocations.revoke(s, token_lifetime=lifetime, domain_id=domain_id)

    await ident.db.write(apply)
    return no_content()
