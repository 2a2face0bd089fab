"""``/v3/projects``: projects (and projects acting as domains), their hierarchy and tags."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.http import json_response, no_content
from onestack.core.auth import AuthContext
from onestack.identity.api.conventions import IdentityRoutes, Req, caller_domain, query
from onestack.identity.api.render import listing, self_link, with_link
from onestack.identity.api.schemas import (
    BOOLISH,
    DESCRIPTION,
    ID_OR_NULL,
    OPTIONS,
    TAG,
    entity,
    normalise_bools,
)
from onestack.identity.service import domains, projects

routes = IdentityRoutes()
LIST_CACHE_ENTRIES = 1024

PROJECT_NAME = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"\S"}
TAGS = {"type": "array", "items": TAG, "maxItems": projects.MAX_TAGS, "uniqueItems": True}
_FIELDS: dict[str, Any] = {
    "name": PROJECT_NAME,
    "description": DESCRIPTION,
    "domain_id": ID_OR_NULL,
    "parent_id": ID_OR_NULL,
    "enabled": BOOLISH,
    "is_domain": BOOLISH,
    "tags": TAGS,
    "options": OPTIONS,
}
CREATE = entity(_FIELDS, ("name",))
UPDATE = {**entity(_FIELDS), "minProperties": 1}
TAGS_BODY = entity({"tags": TAGS}, ("tags",), extra=False)
HIERARCHY_FLAGS = ("parents_as_ids", "parents_as_list", "subtree_as_ids", "subtree_as_list")


def _link(req: Req, doc: dict[str, Any]) -> dict[str, Any]:
    return with_link(req, doc, "projects")


async def _authorize(req: Req, rule: str) -> AuthContext:
    """401 first, then 404 for an unknown project, then the policy's 403."""
    await req.caller()
    target = await req.read(projects.policy_target, req.path("project_id"))
    return await req.enforce(rule, {"target": {"project": target}})


@routes.get("/v3/projects")
async def list_projects(req: Req) -> Response:
    filters = query(req)
    ctx = await req.enforce("identity:list_projects", {"target": {"domain_id": filters.get("domain_id")}})
    if ctx.domain_id and not ctx.system_scope:
        filters["domain_id"] = ctx.domain_id  # domain-scoped callers only see their own domain
    ident = req.state
    # Listing is hot (every client lists projects) and only changes on identity writes,
    # which clear this cache: serve the encoded body while nothing has been written.
    key = ("projects", str(req.request.url), tuple(sorted(filters.items())))
    await ident.fresh()
    body = ident.list_cache.get(key)
    if body is not None:
        return Response(body, media_type="application/json")
    revision = ident.revision
    items = await req.read(projects.list_projects, filters)
    response = listing(req, "projects", items, "projects")
    if revision == ident.revision and len(ident.list_cache) < LIST_CACHE_ENTRIES:
        ident.list_cache[key] = bytes(response.body)
    return response


@routes.post("/v3/projects")
async def create_project(req: Req) -> Response:
    ctx = await req.caller()
    body = await req.json()
    raw = body.get("project") if isinstance(body, dict) else None
    await req.enforce("identity:create_project", {"target": {"project": raw if isinstance(raw, dict) else {}}})
    data = normalise_bools(await req.body(CREATE, wrapper="project"), "enabled", "is_domain")
    doc = await req.write(projects.create, data, caller_domain(ctx))
    return json_response({"project": _link(req, doc)}, status=201)


def _hierarchy_flags(req: Req) -> set[str]:
    flags = {name for name in HIERARCHY_FLAGS if req.flag(name, False)}
    if {"parents_as_ids", "parents_as_list"} <= flags:
        raise BadRequest("Cannot use parents_as_list and parents_as_ids query params at the same time.")
    if {"subtree_as_ids", "subtree_as_list"} <= flags:
        raise BadRequest("Cannot use subtree_as_list and subtree_as_ids query params at the same time.")
    return flags


@routes.get("/v3/projects/{project_id}")
async def get_project(req: Req) -> Response:
    await _authorize(req, "identity:get_project")
    flags = _hierarchy_flags(req)
    view, extra = await req.read(projects.with_hierarchy, req.path("project_id"), flags)
    doc = _link(req, view)
    for name in ("parents", "subtree"):
        if f"{name}_as_list" in flags:
            extra[name] = [{"project": _link(req, p)} for p in extra[name]]
    doc.update(extra)
    return json_response({"project": doc})


@routes.patch("/v3/projects/{project_id}")
async def update_project(req: Req) -> Response:
    await _authorize(req, "identity:update_project")
    data = normalise_bools(await req.body(UPDATE, wrapper="project"), "enabled", "is_domain")
    lifetime = req.state.config.identity.token_expiration
    doc = await req.write(projects.update_and_revoke, req.path("project_id"), data, lifetime)
    return json_response({"project": _link(req, doc)})


@routes.delete("/v3/projects/{project_id}")
async def delete_project(req: Req) -> Response:
    await _authorize(req, "identity:delete_project")
    await req.write(domains.delete_any, req.path("project_id"), req.state.config.identity.token_expiration)
    return no_content()


# --- tags ------------------------------------------------------------------------------------


def _tags_doc(req: Req, project_id: str, tags: list[str]) -> dict[str, Any]:
    return {"tags": tags, "links": self_link(req, f"projects/{project_id}/tags")}


@routes.get("/v3/projects/{project_id}/tags")
async def list_tags(req: Req) -> Response:
    await _authorize(req, "identity:list_project_tags")
    project_id = req.path("project_id")
    tags = await req.read(projects.list_tags, project_id)
    return json_response(_tags_doc(req, project_id, tags))


@routes.put("/v3/projects/{project_id}/tags")
async def replace_tags(req: Req) -> Response:
    await _authorize(req, "identity:update_project_tags")
    project_id = req.path("project_id")
    tags = list((await req.body(TAGS_BODY))["tags"])
    result = await req.write(projects.replace_tags, project_id, tags)
    return json_response(_tags_doc(req, project_id, result))


@routes.delete("/v3/projects/{project_id}/tags")
async def clear_tags(req: Req) -> Response:
    await _authorize(req, "identity:delete_project_tags")
    await req.write(projects.set_tags, req.path("project_id"), [])
    return no_content()


def _check_tag_name(tag: str) -> str:
    if not tag or len(tag) > 255 or "," in tag or "/" in tag:
        raise BadRequest(f"Invalid input for field 'tag': {tag!r} is not a valid tag.")
    return tag


@routes.get("/v3/projects/{project_id}/tags/{tag}")
async def check_tag(req: Req) -> Response:
    await _authorize(req, "identity:get_project_tag")
    project_id, tag = req.path("project_id"), req.path("tag")
    if tag not in await req.read(projects.list_tags, project_id):
        raise NotFound(f"Tag {tag} was not found on project {project_id}.")
    return no_content()


@routes.put("/v3/projects/{project_id}/tags/{tag}")
async def add_tag(req: Req) -> Response:
    project_id, tag = req.path("project_id"), _check_tag_name(req.path("tag"))
    await _authorize(req, "identity:create_project_tag")
    location = req.location(f"/v3/projects/{project_id}/tags", tag)
    await req.write(projects.add_tag, project_id, tag)
    return Response(status_code=201, headers=location)


@routes.delete("/v3/projects/{project_id}/tags/{tag}")
async def remove_tag(req: Req) -> Response:
    await _authorize(req, "identity:delete_project_tag")
    await req.write(projects.remove_tag, req.path("project_id"), req.path("tag"))
    return no_content()
