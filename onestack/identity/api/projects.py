"""``/v3/projects``: projects (and projects acting as domains), their hierarchy and tags."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.core.auth import AuthContext, authenticate
from onestack.identity.api.policy import enforce, identity_of
from onestack.identity.api.render import collection, self_link, with_link
from onestack.identity.api.validation import DESCRIPTION, TAG, entity, validate
from onestack.identity.models import Project
from onestack.identity.service import domains, projects, revocations

routes = RouteTable()
LIST_CACHE_ENTRIES = 1024

# Keystone's booleans also accept the usual spellings of true and false.
_TRUE = ("1", "true", "True", "TRUE", "on", "ON", "y", "Y", "yes")
_FALSE = ("", "0", "false", "False", "FALSE", "off", "OFF", "n", "N", "no")
BOOLISH: dict[str, Any] = {"type": ["boolean", "string"], "enum": [True, False, *_TRUE, *_FALSE]}
ID_OR_NULL = {"type": ["string", "null"], "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-]+$"}
PROJECT_NAME = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"\S"}
TAGS = {"type": "array", "items": TAG, "maxItems": projects.MAX_TAGS, "uniqueItems": True}
OPTIONS = {"type": "object", "properties": {"immutable": {"type": ["boolean", "null"]}}, "additionalProperties": False}
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


# --- helpers the other identity resource modules share -----------------------------------------


def list_query(request: Request) -> dict[str, str]:
    """Query parameters as a plain dict (the last value wins)."""
    return dict(request.query_params.items())


def listing(request: Request, name: str, items: list[dict[str, Any]], collection_path: str) -> Response:
    """A collection response, cut at ``identity.list_limit`` (with ``truncated``) when one is set."""
    limit = identity_of(request).config.identity.list_limit
    truncated = bool(limit) and len(items) > limit
    shown = items[:limit] if truncated else items
    docs = [with_link(request, item, collection_path) for item in shown]
    return json_response(collection(request, name, docs, truncated=truncated))


def caller_domain(ctx: AuthContext) -> str:
    """Where a new resource lands when the body names no domain: the token's domain."""
    return ctx.domain_id or ctx.project_domain_id or "default"


def as_bool(value: Any) -> bool:
    return value if isinstance(value, bool) else value in _TRUE


def normalise_bools(data: dict[str, Any], *names: str) -> dict[str, Any]:
    for name in names:
        if name in data and data[name] is not None:
            data[name] = as_bool(data[name])
        elif name in data:
            data.pop(name)  # null means "the default"
    return data


# --- projects --------------------------------------------------------------------------------


def _link(request: Request, doc: dict[str, Any]) -> dict[str, Any]:
    return with_link(request, doc, "projects")


def _target(s: Session, project_id: str) -> dict[str, Any]:
    row = projects.get_any(s, project_id)
    return {"id": row.id, "domain_id": None if row.is_domain else row.domain_id}


async def _authorize(request: Request, rule: str, project_id: str) -> AuthContext:
    """401 first, then 404 for an unknown project, then the policy's 403."""
    await authenticate(request)
    target = await identity_of(request).db.read(_target, project_id)
    return await enforce(request, rule, {"target": {"project": target}})


@routes.get("/v3/projects")
async def list_projects(request: Request) -> Response:
    query = list_query(request)
    ctx = await enforce(request, "identity:list_projects", {"target": {"domain_id": query.get("domain_id")}})
    if ctx.domain_id and not ctx.system_scope:
        query["domain_id"] = ctx.domain_id  # domain-scoped callers only see their own domain
    ident = identity_of(request)
    # Listing is hot (every client lists projects) and only changes on identity writes,
    # which clear this cache: serve the encoded body while nothing has been written.
    key = ("projects", str(request.url), tuple(sorted(query.items())))
    body = ident.list_cache.get(key)
    if body is not None:
        return Response(body, media_type="application/json")
    revision = ident.revision
    items = await ident.db.read(projects.list_projects, query)
    response = listing(request, "projects", items, "projects")
    if revision == ident.revision and len(ident.list_cache) < LIST_CACHE_ENTRIES:
        ident.list_cache[key] = bytes(response.body)
    return response


def _create(s: Session, data: dict[str, Any], default_domain: str) -> dict[str, Any]:
    if data.get("is_domain"):
        if data.get("domain_id") or data.get("parent_id"):
            raise BadRequest("A project acting as a domain cannot have a domain_id or a parent_id.")
        row = projects.create_domain(s, data)
        if data.get("tags"):
            projects.set_tags(s, row.id, list(data["tags"]))
    else:
        row = projects.create_project(s, data, default_domain=default_domain)
    s.flush()
    return projects.project_view(s, row)


@routes.post("/v3/projects")
async def create_project(request: Request) -> Response:
    ctx = await authenticate(request)
    body = await json_body(request)
    raw = body.get("project") if isinstance(body, dict) else None
    await enforce(request, "identity:create_project", {"target": {"project": raw if isinstance(raw, dict) else {}}})
    data = normalise_bools(validate(body, CREATE, wrapper="project"), "enabled", "is_domain")
    ident = identity_of(request)
    doc = await ident.db.write(_create, data, caller_domain(ctx))
    return json_response({"project": _link(request, doc)}, status=201)


def _hierarchy(request: Request, s: Session, row: Project, flags: set[str]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if "parents_as_ids" in flags:
        extra["parents"] = projects.parents_as_ids(s, row)
    if "parents_as_list" in flags:
        extra["parents"] = [{"project": _link(request, projects.project_view(s, p))}
                            for p in projects.lineage(s, row)]
    if "subtree_as_ids" in flags:
        extra["subtree"] = projects.subtree_as_ids(s, row.id)
    if "subtree_as_list" in flags:
        extra["subtree"] = [{"project": _link(request, projects.project_view(s, p))}
                            for p in projects.subtree(s, row.id)]
    return extra


@routes.get("/v3/projects/{project_id}")
async def get_project(request: Request) -> Response:
    project_id = request.path_params["project_id"]
    await _authorize(request, "identity:get_project", project_id)
    names = ("parents_as_ids", "parents_as_list", "subtree_as_ids", "subtree_as_list")
    flags = {n for n in names if n in request.query_params and request.query_params[n].lower() not in ("0", "false")}
    if {"parents_as_ids", "parents_as_list"} <= flags:
        raise BadRequest("Cannot use parents_as_list and parents_as_ids query params at the same time.")
    if {"subtree_as_ids", "subtree_as_list"} <= flags:
        raise BadRequest("Cannot use subtree_as_list and subtree_as_ids query params at the same time.")

    def load(s: Session) -> dict[str, Any]:
        row = projects.get_any(s, project_id)
        doc = _link(request, projects.project_view(s, row))
        doc.update(_hierarchy(request, s, row, flags))
        return doc

    doc = await identity_of(request).db.read(load)
    return json_response({"project": doc})


@routes.patch("/v3/projects/{project_id}")
async def update_project(request: Request) -> Response:
    project_id = request.path_params["project_id"]
    await _authorize(request, "identity:update_project", project_id)
    data = normalise_bools(validate(await json_body(request), UPDATE, wrapper="project"), "enabled", "is_domain")
    ident = identity_of(request)
    lifetime = ident.config.identity.token_expiration

    def apply(s: Session) -> dict[str, Any]:
        is_domain = projects.get_any(s, project_id).is_domain
        doc, disabled = projects.update_project(s, project_id, data)
        if disabled:
            # Tokens scoped to it stop working now, and stay dead if it is enabled again.
            key = "domain_id" if is_domain else "project_id"
            revocations.revoke(s, token_lifetime=lifetime, **{key: project_id})
        return doc

    doc = await ident.db.write(apply)
    return json_response({"project": _link(request, doc)})


@routes.delete("/v3/projects/{project_id}")
async def delete_project(request: Request) -> Response:
    project_id = request.path_params["project_id"]
    await _authorize(request, "identity:delete_project", project_id)
    ident = identity_of(request)
    lifetime = ident.config.identity.token_expiration

    def apply(s: Session) -> None:
        if projects.get_any(s, project_id).is_domain:
            domains.delete_domain(s, project_id)
            revocations.revoke(s, token_lifetime=lifetime, domain_id=project_id)
        else:
            projects.delete_project(s, project_id)
            revocations.revoke(s, token_lifetime=lifetime, project_id=project_id)

    await ident.db.write(apply)
    return no_content()


# --- tags ------------------------------------------------------------------------------------


def _tags_doc(request: Request, project_id: str, tags: list[str]) -> dict[str, Any]:
    return {"tags": tags, "links": self_link(request, f"projects/{project_id}/tags")}


def _tags(s: Session, project_id: str) -> list[str]:
    projects.get_any(s, project_id)
    return projects.tags_of(s, project_id)


@routes.get("/v3/projects/{project_id}/tags")
async def list_tags(request: Request) -> Response:
    project_id = request.path_params["project_id"]
    await _authorize(request, "identity:list_project_tags", project_id)
    tags = await identity_of(request).db.read(_tags, project_id)
    return json_response(_tags_doc(request, project_id, tags))


@routes.put("/v3/projects/{project_id}/tags")
async def replace_tags(request: Request) -> Response:
    project_id = request.path_params["project_id"]
    await _authorize(request, "identity:update_project_tags", project_id)
    tags = list(validate(await json_body(request), TAGS_BODY)["tags"])

    def apply(s: Session) -> list[str]:
        projects.get_any(s, project_id)
        projects.set_tags(s, project_id, projects.check_tags(tags))
        s.flush()
        return projects.tags_of(s, project_id)

    ident = identity_of(request)
    result = await ident.db.write(apply)
    return json_response(_tags_doc(request, project_id, result))


@routes.delete("/v3/projects/{project_id}/tags")
async def clear_tags(request: Request) -> Response:
    project_id = request.path_params["project_id"]
    await _authorize(request, "identity:delete_project_tags", project_id)
    ident = identity_of(request)
    await ident.db.write(lambda s: projects.set_tags(s, project_id, []))
    return no_content()


def _check_tag_name(tag: str) -> str:
    if not tag or len(tag) > 255 or "," in tag or "/" in tag:
        raise BadRequest(f"Invalid input for field 'tag': {tag!r} is not a valid tag.")
    return tag


@routes.get("/v3/projects/{project_id}/tags/{tag}")
async def check_tag(request: Request) -> Response:
    project_id, tag = request.path_params["project_id"], request.path_params["tag"]
    await _authorize(request, "identity:get_project_tag", project_id)
    if tag not in await identity_of(request).db.read(_tags, project_id):
        raise NotFound(f"Tag {tag} was not found on project {project_id}.")
    return no_content()


@routes.put("/v3/projects/{project_id}/tags/{tag}")
async def add_tag(request: Request) -> Response:
    project_id, tag = request.path_params["project_id"], _check_tag_name(request.path_params["tag"])
    await _authorize(request, "identity:create_project_tag", project_id)
    ident = identity_of(request)
    await ident.db.write(projects.add_tag, project_id, tag)
    location = self_link(request, f"projects/{project_id}/tags/{tag}")["self"]
    return Response(status_code=201, headers={"Location": location})


@routes.delete("/v3/projects/{project_id}/tags/{tag}")
async def remove_tag(request: Request) -> Response:
    project_id, tag = request.path_params["project_id"], request.path_params["tag"]
    await _authorize(request, "identity:delete_project_tag", project_id)
    ident = identity_of(request)
    await ident.db.write(projects.remove_tag, project_id, tag)
    return no_content()
