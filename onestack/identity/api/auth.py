"""``/v3/auth/*``: issue, validate, check and revoke tokens; what a token may reach."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.faults import Unauthorized
from onestack.core.api.http import json_response, no_content
from onestack.identity.api.conventions import IdentityRoutes, Req
from onestack.identity.api.render import linked, self_link
from onestack.identity.service import catalog, scopes, tokens

routes = IdentityRoutes()


@routes.post("/v3/auth/tokens")
async def issue_token(req: Req) -> Response:
    return await issue_token_for(req, await req.json())


async def issue_token_for(req: Req, body: Any) -> Response:
    """201 with the token for an authentication document (the request's, or one a federation path built)."""
    # The oauth1 method proves itself by the request's signature, not by anything in the body.
    signed = tokens.SignedRequest(str(req.request.url), req.headers)
    token, doc = await tokens.issue(req.state, body, include_catalog=not req.flag("nocatalog", False), signed=signed)
    return json_response({"token": doc}, status=201, headers={"X-Subject-Token": token})


def _subject(req: Req) -> str:
    token = req.headers.get("x-subject-token")
    if not token:
        raise tokens.TokenNotFound("")
    return token


@routes.get("/v3/auth/tokens")
async def validate_token(req: Req) -> Response:
    await req.caller()  # 401 for the caller's own token before 404 for the subject
    subject = _subject(req)
    _, doc = await tokens.validate_payload(
        req.state, subject, include_catalog=not req.flag("nocatalog", False),
        allow_expired=bool(req.flag("allow_expired", False)),
    )
    head = req.method == "HEAD"
    await req.enforce("identity:check_token" if head else "identity:validate_token",
                      {"target": {"token": {"user_id": doc["user"]["id"]}}})
    if head:
        return Response(status_code=200, headers={"X-Subject-Token": subject})
    return json_response({"token": doc}, headers={"X-Subject-Token": subject})


@routes.delete("/v3/auth/tokens")
async def revoke_token(req: Req) -> Response:
    await req.caller()
    subject = _subject(req)
    payload = tokens.open_token(req.state, subject)
    await req.enforce("identity:revoke_token", {"target": {"token": {"user_id": payload.user_id}}})
    await tokens.revoke_token(req.state, subject)
    return no_content()


@routes.get("/v3/auth/catalog")
async def auth_catalog(req: Req) -> Response:
    ctx = await req.enforce("identity:get_auth_catalog")
    if not (ctx.project_id or ctx.domain_id or ctx.system_scope):
        raise Unauthorized("The catalog is only available to scoped tokens.")
    entries = await req.read(catalog.build_catalog, ctx.project_id, ctx.user_id)
    return json_response({"catalog": entries, "links": self_link(req, "auth/catalog")})


@routes.get("/v3/auth/projects")
async def auth_projects(req: Req) -> Response:
    ctx = await req.enforce("identity:get_auth_projects")
    items = await req.read(scopes.auth_projects, ctx.user_id)
    return linked(req, "projects", items, "projects")


@routes.get("/v3/auth/domains")
async def auth_domains(req: Req) -> Response:
    ctx = await req.enforce("identity:get_auth_domains")
    items = await req.read(scopes.auth_domains, ctx.user_id)
    return linked(req, "domains", items, "domains")


@routes.get("/v3/auth/system")
async def auth_system(req: Req) -> Response:
    ctx = await req.enforce("identity:get_auth_system")
    has = await req.read(scopes.has_system_role, ctx.user_id)
    return json_response({"system": [{"all": True}] if has else [], "links": self_link(req, "auth/system")})
