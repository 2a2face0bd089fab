"""``/v3/auth/*``: issue, validate, check and revoke tokens; what a token may reach."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.faults import Unauthorized
from onestack.core.api.http import RouteTable, json_body, json_response, no_content, query_flag
from onestack.core.auth import authenticate
from onestack.identity.api.policy import enforce, identity_of
from onestack.identity.api.render import collection, self_link
from onestack.identity.models import Assignment, Project
from onestack.identity.service import assignments, catalog, projects, tokens

routes = RouteTable()


@routes.post("/v3/auth/tokens")
async def issue_token(request: Request) -> Response:
    ident = identity_of(request)
    body = await json_body(request)
    token, doc = await tokens.issue(ident, body, include_catalog=not query_flag(request, "nocatalog"))
    return json_response({"token": doc}, status=201, headers={"X-Subject-Token": token})


def _subject(request: Request) -> str:
    token = request.headers.get("x-subject-token")
    if not token:
        raise tokens.TokenNotFound("")
    return token


@routes.get("/v3/auth/tokens")
async def validate_token(request: Request) -> Response:
    await authenticate(request)  # 401 for the caller's own token before 404 for the subject
    subject = _subject(request)
    ident = identity_of(request)
    _, doc = await tokens.validate_payload(
        ident, subject, include_catalog=not query_flag(request, "nocatalog"),
        allow_expired=query_flag(request, "allow_expired"),
    )
    rule = "identity:check_token" if request.method == "HEAD" else "identity:validate_token"
    await enforce(request, rule, {"target": {"token": {"user_id": doc["user"]["id"]}}})
    if request.method == "HEAD":
        return Response(status_code=200, headers={"X-Subject-Token": subject})
    return json_response({"token": doc}, headers={"X-Subject-Token": subject})


@routes.delete("/v3/auth/tokens")
async def revoke_token(request: Request) -> Response:
    await authenticate(request)
    subject = _subject(request)
    ident = identity_of(request)
    payload = tokens.open_token(ident, subject)
    await enforce(request, "identity:revoke_token", {"target": {"token": {"user_id": payload.user_id}}})
    await tokens.revoke_token(ident, subject)
    return no_content()


@routes.get("/v3/auth/catalog")
async def auth_catalog(request: Request) -> Response:
    ctx = await enforce(request, "identity:get_auth_catalog")
    if not (ctx.project_id or ctx.domain_id or ctx.system_scope):
        raise Unauthorized("The catalog is only available to scoped tokens.")
    ident = identity_of(request)
    entries = await ident.db.read(catalog.build_catalog, ctx.project_id, ctx.user_id)
    return json_response({"catalog": entries, "links": self_link(request, "auth/catalog")})


def _targets(s: Session, user_id: str, kinds: tuple[str, str]) -> set[str]:
    actors = [user_id, *assignments.group_ids_of(s, user_id)]
    rows = s.scalars(select(Assignment.target_id).where(Assignment.actor_id.in_(actors), Assignment.type.in_(kinds)))
    return set(rows)


def _auth_projects(s: Session, user_id: str) -> list[dict[str, Any]]:
    ids = _targets(s, user_id, (assignments.USER_PROJECT, assignments.GROUP_PROJECT))
    # Inherited grants on a domain reach every project in it; on a project, its subtree.
    for row in s.scalars(
        select(Assignment).where(Assignment.actor_id.in_([user_id, *assignments.group_ids_of(s, user_id)]),
                                 Assignment.inherited.is_(True))
    ):
        if row.type in (assignments.USER_DOMAIN, assignments.GROUP_DOMAIN):
            ids |= set(s.scalars(select(Project.id).where(Project.domain_id == row.target_id)))
        else:
            ids |= {p.id for p in projects.subtree(s, row.target_id)}
    rows = s.scalars(select(Project).where(Project.id.in_(ids), Project.enabled.is_(True), Project.is_domain.is_(False)))
    return [projects.project_to_dict(p, projects.tags_of(s, p.id)) for p in rows]


@routes.get("/v3/auth/projects")
async def auth_projects(request: Request) -> Response:
    ctx = await enforce(request, "identity:get_auth_projects")
    items = await identity_of(request).db.read(_auth_projects, ctx.user_id)
    for item in items:
        item["links"] = self_link(request, f"projects/{item['id']}")
    return json_response(collection(request, "projects", items))


def _auth_domains(s: Session, user_id: str) -> list[dict[str, Any]]:
    ids = _targets(s, user_id, (assignments.USER_DOMAIN, assignments.GROUP_DOMAIN))
    rows = s.scalars(select(Project).where(Project.id.in_(ids), Project.enabled.is_(True), Project.is_domain.is_(True)))
    return [projects.domain_to_dict(d) for d in rows]


@routes.get("/v3/auth/domains")
async def auth_domains(request: Request) -> Response:
    ctx = await enforce(request, "identity:get_auth_domains")
    items = await identity_of(request).db.read(_auth_domains, ctx.user_id)
    for item in items:
        item["links"] = self_link(request, f"domains/{item['id']}")
    return json_response(collection(request, "domains", items))


@routes.get("/v3/auth/system")
async def auth_system(request: Request) -> Response:
    ctx = await enforce(request, "identity:get_auth_system")
    has = await identity_of(request).db.read(
        lambda s: bool(assignments.direct_role_ids(s, ctx.user_id, system=True))
    )
    return json_response({"system": [{"all": True}] if has else [], "links": self_link(request, "auth/system")})
