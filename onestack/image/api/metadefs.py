"""Image API: metadata definitions (/v2/metadefs/...) and their schemas (/v2/schemas/metadefs/...)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.faults import BadRequest
from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.core.auth import AuthContext, authenticate
from onestack.core.policy import Enforcer
from onestack.image.api import metadef_schemas as schemas
from onestack.image.service import metadefs as svc
from onestack.image.service.metadefs import Caller, Page

routes = RouteTable()

DEFAULT_LIMIT = 25  # Glance's limit_param_default
MAX_LIMIT = 1000  # Glance's api_limit_max


def _enforcer(request: Request) -> Enforcer:
    enforcer: Enforcer = request.app.state.image.enforcer
    return enforcer


async def enforce(request: Request, rule: str, target: dict[str, Any] | None = None) -> AuthContext:
    """Authenticate (401) and check ``rule`` (403)."""
    ctx = await authenticate(request)
    _enforcer(request).enforce(rule, target or {"project_id": ctx.project_id}, ctx.credentials())
    return ctx


def is_admin(request: Request, ctx: AuthContext) -> bool:
    """Glance's notion of an admin (sees every project's resources): the context_is_admin rule."""
    return _enforcer(request).check("context_is_admin", {}, ctx.credentials())


async def _caller(request: Request, rule: str) -> Caller:
    ctx = await enforce(request, rule)
    image = request.app.state.image
    if not getattr(image, "_metadefs_seeded", False):
        await image.db.write(svc.seed_resource_types)
        image._metadefs_seeded = True
    return Caller(project_id=ctx.project_id, is_admin=is_admin(request, ctx))


def _db(request: Request) -> Any:
    return request.app.state.image.db


def _page(request: Request, sort_keys: tuple[str, ...], default_limit: int | None) -> Page:
    q = request.query_params
    limit: int | None = default_limit
    if "limit" in q:
        try:
            limit = int(q["limit"])
        except ValueError:
            raise BadRequest(f"limit param must be an integer, got {q['limit']!r}.") from None
        if limit < 0:
            raise BadRequest("limit param must be positive.")
    if limit is not None:
        limit = min(limit, MAX_LIMIT)
    sort_key = q.get("sort_key", "created_at")
    if sort_key not in sort_keys:
        raise BadRequest(f"Invalid sort key: {sort_key}. It must be one of: {', '.join(sort_keys)}.")
    sort_dir = q.get("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {sort_dir}. It must be asc or desc.")
    return Page(limit=limit, marker=q.get("marker") or None, sort_key=sort_key, sort_dir=sort_dir)


def _listing(request: Request, path: str, key: str, items: list[dict[str, Any]], page: Page, id_key: str,
             schema: str) -> dict[str, Any]:
    body: dict[str, Any] = {key: items, "first": path, "schema": schema}
    if page.limit and len(items) == page.limit:
        params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("marker", "limit")]
        params += [("marker", str(items[-1][id_key])), ("limit", str(page.limit))]
        body["next"] = f"{path}?{urlencode(params)}"
    return body


# --- schemas --------------------------------------------------------------------------------

def _schema_route(key: str) -> None:
    async def show(request: Request) -> Response:
        await authenticate(request)
        return json_response(schemas.SCHEMAS[key])

    routes.get(f"/v2/schemas/metadefs/{key}")(show)


for _key in schemas.SCHEMAS:
    _schema_route(_key)


# --- resource types -------------------------------------------------------------------------

@routes.get("/v2/metadefs/resource_types")
async def list_resource_types(request: Request) -> Response:
    await _caller(request, "list_metadef_resource_types")
    return json_response({"resource_types": await _db(request).read(svc.list_resource_types)})


# --- namespaces -----------------------------------------------------------------------------

@routes.get("/v2/metadefs/namespaces")
async def list_namespaces(request: Request) -> Response:
    caller = await _caller(request, "get_metadef_namespaces")
    page = _page(request, svc.NAMESPACE_SORT_KEYS, DEFAULT_LIMIT)
    visibility = request.query_params.get("visibility")
    if visibility is not None and visibility not in ("public", "private"):
        raise BadRequest(f"Invalid visibility value: {visibility}.")
    rtypes = [t.strip() for t in request.query_params.get("resource_types", "").split(",") if t.strip()]
    items = await _db(request).read(
        lambda s: svc.list_namespaces(s, caller, page, visibility=visibility, resource_types=rtypes))
    return json_response(_listing(request, "/v2/metadefs/namespaces", "namespaces", items, page, "namespace",
                                  "/v2/schemas/metadefs/namespaces"))


@routes.post("/v2/metadefs/namespaces")
async def create_namespace(request: Request) -> Response:
    caller = await _caller(request, "add_metadef_namespace")
    body = schemas.check(await json_body(request), schemas.NAMESPACE)
    return json_response(await _db(request).write(svc.create_namespace, caller, body), status=201)


@routes.get("/v2/metadefs/namespaces/{ns}")
async def show_namespace(request: Request) -> Response:
    caller = await _caller(request, "get_metadef_namespace")
    ns, rtype = request.path_params["ns"], request.query_params.get("resource_type")
    return json_response(await _db(request).read(svc.get_namespace, caller, ns, rtype))


@routes.put("/v2/metadefs/namespaces/{ns}")
async def update_namespace(request: Request) -> Response:
    caller = await _caller(request, "modify_metadef_namespace")
    body = schemas.check(await json_body(request), schemas.NAMESPACE)
    return json_response(await _db(request).write(svc.update_namespace, caller, request.path_params["ns"], body))


@routes.delete("/v2/metadefs/namespaces/{ns}")
async def delete_namespace(request: Request) -> Response:
    caller = await _caller(request, "delete_metadef_namespace")
    await _db(request).write(svc.delete_namespace, caller, request.path_params["ns"])
    return no_content()


# --- resource type associations -----------------------------------------------------------

@routes.get("/v2/metadefs/namespaces/{ns}/resource_types")
async def list_associations(request: Request) -> Response:
    caller = await _caller(request, "get_metadef_resource_type")
    items = await _db(request).read(svc.list_associations, caller, request.path_params["ns"])
    return json_response({"resource_type_associations": items})


@routes.post("/v2/metadefs/namespaces/{ns}/resource_types")
async def add_association(request: Request) -> Response:
    caller = await _caller(request, "add_metadef_resource_type_association")
    body = schemas.check(await json_body(request), schemas.ASSOCIATION)
    item = await _db(request).write(svc.add_association, caller, request.path_params["ns"], body)
    return json_response(item, status=201)


@routes.delete("/v2/metadefs/namespaces/{ns}/resource_types/{rtype}")
async def remove_association(request: Request) -> Response:
    caller = await _caller(request, "remove_metadef_resource_type_association")
    await _db(request).write(svc.remove_association, caller, request.path_params["ns"], request.path_params["rtype"])
    return no_content()


# --- objects --------------------------------------------------------------------------------

@routes.get("/v2/metadefs/namespaces/{ns}/objects")
async def list_objects(request: Request) -> Response:
    caller = await _caller(request, "get_metadef_objects")
    ns = request.path_params["ns"]
    page = _page(request, svc.ENTRY_SORT_KEYS, None)
    items = await _db(request).read(svc.list_entries, caller, ns, "object", page)
    return json_response(_listing(request, f"/v2/metadefs/namespaces/{ns}/objects", "objects", items, page, "name",
                                  "/v2/schemas/metadefs/objects"))


@routes.post("/v2/metadefs/namespaces/{ns}/objects")
async def create_object(request: Request) -> Response:
    caller = await _caller(request, "add_metadef_object")
    body = schemas.check(await json_body(request), schemas.OBJECT)
    item = await _db(request).write(svc.create_entry, caller, request.path_params["ns"], "object", body["name"], body)
    return json_response(item, status=201)


@routes.delete("/v2/metadefs/namespaces/{ns}/objects")
async def delete_objects(request: Request) -> Response:
    caller = await _caller(request, "delete_metadef_object")
    await _db(request).write(svc.delete_all_entries, caller, request.path_params["ns"], "object")
    return no_content()


@routes.get("/v2/metadefs/namespaces/{ns}/objects/{name}")
async def show_object(request: Request) -> Response:
    caller = await _caller(request, "get_metadef_object")
    p = request.path_params
    return json_response(await _db(request).read(svc.get_entry, caller, p["ns"], "object", p["name"]))


@routes.put("/v2/metadefs/namespaces/{ns}/objects/{name}")
async def update_object(request: Request) -> Response:
    caller = await _caller(request, "modify_metadef_object")
    body = schemas.check(await json_body(request), schemas.OBJECT)
    p = request.path_params
    return json_response(await _db(request).write(svc.update_entry, caller, p["ns"], "object", p["name"], body))


@routes.delete("/v2/metadefs/namespaces/{ns}/objects/{name}")
async def delete_object(request: Request) -> Response:
    caller = await _caller(request, "delete_metadef_object")
    p = request.path_params
    await _db(request).write(svc.delete_entry, caller, p["ns"], "object", p["name"])
    return no_content()


# --- properties (listed as a map keyed by name, unpaginated, as Glance does) ----------------

@routes.get("/v2/metadefs/namespaces/{ns}/properties")
async def list_properties(request: Request) -> Response:
    caller = await _caller(request, "get_metadef_properties")
    items = await _db(request).read(svc.list_entries, caller, request.path_params["ns"], "property")
    props = {item.pop("name"): item for item in items}
    return json_response({"properties": props, "schema": "/v2/schemas/metadefs/properties"})


@routes.post("/v2/metadefs/namespaces/{ns}/properties")
async def create_property(request: Request) -> Response:
    caller = await _caller(request, "add_metadef_property")
    body = schemas.check(await json_body(request), schemas.PROPERTY)
    ns = request.path_params["ns"]
    return json_response(await _db(request).write(svc.create_entry, caller, ns, "property", body["name"], body),
                         status=201)


@routes.delete("/v2/metadefs/namespaces/{ns}/properties")
async def delete_properties(request: Request) -> Response:
    caller = await _caller(request, "remove_metadef_property")
    await _db(request).write(svc.delete_all_entries, caller, request.path_params["ns"], "property")
    return no_content()


@routes.get("/v2/metadefs/namespaces/{ns}/properties/{name}")
async def show_property(request: Request) -> Response:
    caller = await _caller(request, "get_metadef_property")
    p = request.path_params
    return json_response(await _db(request).read(svc.get_entry, caller, p["ns"], "property", p["name"]))


@routes.put("/v2/metadefs/namespaces/{ns}/properties/{name}")
async def update_property(request: Request) -> Response:
    caller = await _caller(request, "modify_metadef_property")
    body = schemas.check(await json_body(request), schemas.PROPERTY)
    p = request.path_params
    return json_response(await _db(request).write(svc.update_entry, caller, p["ns"], "property", p["name"], body))


@routes.delete("/v2/metadefs/namespaces/{ns}/properties/{name}")
async def delete_property(request: Request) -> Response:
    caller = await _caller(request, "remove_metadef_property")
    p = request.path_params
    await _db(request).write(svc.delete_entry, caller, p["ns"], "property", p["name"])
    return no_content()


# --- tags -----------------------------------------------------------------------------------

@routes.get("/v2/metadefs/namespaces/{ns}/tags")
async def list_tags(request: Request) -> Response:
    caller = await _caller(request, "get_metadef_tags")
    ns = request.path_params["ns"]
    page = _page(request, svc.ENTRY_SORT_KEYS, None)
    items = await _db(request).read(svc.list_entries, caller, ns, "tag", page)
    return json_response(_listing(request, f"/v2/metadefs/namespaces/{ns}/tags", "tags", items, page, "name",
                                  "/v2/schemas/metadefs/tags"))


@routes.post("/v2/metadefs/namespaces/{ns}/tags")
async def create_tags(request: Request) -> Response:
    caller = await _caller(request, "add_metadef_tags")
    body = schemas.check(await json_body(request), schemas.TAGS)
    names = [t["name"] for t in body["tags"]]
    append = request.headers.get("x-openstack-append", "false").strip().lower() == "true"
    items = await _db(request).write(
        lambda s: svc.replace_tags(s, caller, request.path_params["ns"], names, append=append))
    return json_response({"tags": [{"name": t["name"]} for t in items]}, status=201)


@routes.delete("/v2/metadefs/namespaces/{ns}/tags")
async def delete_tags(request: Request) -> Response:
    caller = await _caller(request, "delete_metadef_tags")
    await _db(request).write(svc.delete_all_entries, caller, request.path_params["ns"], "tag")
    return no_content()


@routes.post("/v2/metadefs/namespaces/{ns}/tags/{name}")
async def create_tag(request: Request) -> Response:
    caller = await _caller(request, "add_metadef_tag")
    # Glance takes the name from the path; a body, if any, is ignored.
    p = request.path_params
    if len(p["name"]) > 80:
        raise BadRequest("Invalid input: a tag name is at most 80 characters.")
    item = await _db(request).write(svc.create_entry, caller, p["ns"], "tag", p["name"], {})
    return json_response(item, status=201)


@routes.get("/v2/metadefs/namespaces/{ns}/tags/{name}")
async def show_tag(request: Request) -> Response:
    caller = await _caller(request, "get_metadef_tag")
    p = request.path_params
    return json_response(await _db(request).read(svc.get_entry, caller, p["ns"], "tag", p["name"]))


@routes.put("/v2/metadefs/namespaces/{ns}/tags/{name}")
async def update_tag(request: Request) -> Response:
    caller = await _caller(request, "modify_metadef_tag")
    body = schemas.check(await json_body(request), schemas.TAG)
    p = request.path_params
    return json_response(await _db(request).write(svc.update_entry, caller, p["ns"], "tag", p["name"], body))


@routes.delete("/v2/metadefs/namespaces/{ns}/tags/{name}")
async def delete_tag(request: Request) -> Response:
    caller = await _caller(request, "delete_metadef_tag")
    p = request.path_params
    await _db(request).write(svc.delete_entry, caller, p["ns"], "tag", p["name"])
    return no_content()
