"""Image API: metadata definitions (/v2/metadefs/...) and their schemas (/v2/schemas/metadefs/...)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response, no_content
from onestack.image.api import metadef_schemas as schemas
from onestack.image.api.common import (
    DEFAULT_LIMIT,
    GLANCE_BOOLEANS,
    ImageRoutes,
    Req,
    listing,
    viewer,
)
from onestack.image.service import metadefs as svc
from onestack.image.service.images import Viewer

routes = ImageRoutes()


async def _caller(req: Req, rule: str) -> Viewer:
    """The caller once ``rule`` allows it; under ``/namespaces/{ns}`` once it can see that namespace.

    Glance looks a namespace up before it checks the policy, so another project's private
    namespace is 404 on every route under it, writes included, not 403.
    """
    who = (await viewer(req))[1]
    if "ns" in req.request.path_params:
        await req.read(svc.check_namespace_visible, who, req.path("ns"))
    await req.enforce(rule)
    if not req.state.metadefs_seeded:
        await req.write(svc.seed_resource_types)
        req.state.metadefs_seeded = True
    return who


async def _body(req: Req, schema: dict[str, Any]) -> dict[str, Any]:
    """The body checked against the schema clients read, minus the keys the server owns."""
    body = await req.json()
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    clean = {k: v for k, v in body.items() if k not in schemas.READ_ONLY}
    req.validate(clean, schema)
    return clean


# --- schemas --------------------------------------------------------------------------------

def _schema_route(key: str) -> None:
    async def show(req: Req) -> Response:
        await req.caller()
        return json_response(schemas.SCHEMAS[key])

    routes.get(f"/v2/schemas/metadefs/{key}")(show)


for _key in schemas.SCHEMAS:
    _schema_route(_key)


# --- resource types -------------------------------------------------------------------------

@routes.get("/v2/metadefs/resource_types")
async def list_resource_types(req: Req) -> Response:
    await _caller(req, "list_metadef_resource_types")
    return json_response({"resource_types": await req.read(svc.list_resource_types)})


# --- namespaces -----------------------------------------------------------------------------

@routes.get("/v2/metadefs/namespaces")
async def list_namespaces(req: Req) -> Response:
    caller = await _caller(req, "get_metadef_namespaces")
    page = req.page(default=DEFAULT_LIMIT, sort_keys=svc.NAMESPACE_SORT_KEYS, sort_key="created_at")
    visibility = req.params.get("visibility")
    if visibility is not None and visibility not in ("public", "private"):
        raise BadRequest(f"Invalid visibility value: {visibility}.")
    rtypes = [t.strip() for t in req.params.get("resource_types", "").split(",") if t.strip()]
    items = await req.read(svc.list_namespaces, caller, page, visibility, rtypes)
    return json_response(listing(req, "namespaces", items, page, id_key="namespace",
                                 schema="/v2/schemas/metadefs/namespaces"))


@routes.post("/v2/metadefs/namespaces")
async def create_namespace(req: Req) -> Response:
    caller = await _caller(req, "add_metadef_namespace")
    body = await _body(req, schemas.NAMESPACE)
    return json_response(await req.write(svc.create_namespace, caller, body), status=201)


@routes.get("/v2/metadefs/namespaces/{ns}")
async def show_namespace(req: Req) -> Response:
    caller = await _caller(req, "get_metadef_namespace")
    ns, rtype = req.path("ns"), req.params.get("resource_type")
    return json_response(await req.read(svc.get_namespace, caller, ns, rtype))


@routes.put("/v2/metadefs/namespaces/{ns}")
async def update_namespace(req: Req) -> Response:
    caller = await _caller(req, "modify_metadef_namespace")
    body = await _body(req, schemas.NAMESPACE)
    return json_response(await req.write(svc.update_namespace, caller, req.path("ns"), body))


@routes.delete("/v2/metadefs/namespaces/{ns}")
async def delete_namespace(req: Req) -> Response:
    caller = await _caller(req, "delete_metadef_namespace")
    await req.write(svc.delete_namespace, caller, req.path("ns"))
    return no_content()


# --- resource type associations -----------------------------------------------------------

@routes.get("/v2/metadefs/namespaces/{ns}/resource_types")
async def list_associations(req: Req) -> Response:
    caller = await _caller(req, "get_metadef_resource_type")
    items = await req.read(svc.list_associations, caller, req.path("ns"))
    return json_response({"resource_type_associations": items})


@routes.post("/v2/metadefs/namespaces/{ns}/resource_types")
async def add_association(req: Req) -> Response:
    caller = await _caller(req, "add_metadef_resource_type_association")
    body = await _body(req, schemas.ASSOCIATION)
    item = await req.write(svc.add_association, caller, req.path("ns"), body)
    return json_response(item, status=201)


@routes.delete("/v2/metadefs/namespaces/{ns}/resource_types/{rtype}")
async def remove_association(req: Req) -> Response:
    caller = await _caller(req, "remove_metadef_resource_type_association")
    await req.write(svc.remove_association, caller, req.path("ns"), req.path("rtype"))
    return no_content()


# --- objects --------------------------------------------------------------------------------

async def _list_entries(req: Req, rule: str, kind: str) -> Response:
    """One page of a namespace's objects or tags."""
    caller = await _caller(req, rule)
    page = req.page(sort_keys=svc.ENTRY_SORT_KEYS, sort_key="created_at")
    items = await req.read(svc.list_entries, caller, req.path("ns"), kind, page)
    return json_response(listing(req, f"{kind}s", items, page, id_key="name", schema=f"/v2/schemas/metadefs/{kind}s"))


@routes.get("/v2/metadefs/namespaces/{ns}/objects")
async def list_objects(req: Req) -> Response:
    return await _list_entries(req, "get_metadef_objects", "object")


@routes.post("/v2/metadefs/namespaces/{ns}/objects")
async def create_object(req: Req) -> Response:
    caller = await _caller(req, "add_metadef_object")
    body = await _body(req, schemas.OBJECT)
    item = await req.write(svc.create_entry, caller, req.path("ns"), "object", body["name"], body)
    return json_response(item, status=201)


@routes.delete("/v2/metadefs/namespaces/{ns}/objects")
async def delete_objects(req: Req) -> Response:
    caller = await _caller(req, "delete_metadef_object")
    await req.write(svc.delete_all_entries, caller, req.path("ns"), "object")
    return no_content()


@routes.get("/v2/metadefs/namespaces/{ns}/objects/{name}")
async def show_object(req: Req) -> Response:
    caller = await _caller(req, "get_metadef_object")
    return json_response(await req.read(svc.get_entry, caller, req.path("ns"), "object", req.path("name")))


@routes.put("/v2/metadefs/namespaces/{ns}/objects/{name}")
async def update_object(req: Req) -> Response:
    caller = await _caller(req, "modify_metadef_object")
    body = await _body(req, schemas.OBJECT)
    return json_response(await req.write(svc.update_entry, caller, req.path("ns"), "object", req.path("name"), body))


@routes.delete("/v2/metadefs/namespaces/{ns}/objects/{name}")
async def delete_object(req: Req) -> Response:
    caller = await _caller(req, "delete_metadef_object")
    await req.write(svc.delete_entry, caller, req.path("ns"), "object", req.path("name"))
    return no_content()


# --- properties (listed as a map keyed by name, unpaginated, as Glance does) ----------------

@routes.get("/v2/metadefs/namespaces/{ns}/properties")
async def list_properties(req: Req) -> Response:
    caller = await _caller(req, "get_metadef_properties")
    items = await req.read(svc.list_entries, caller, req.path("ns"), "property")
    props = {item.pop("name"): item for item in items}
    return json_response({"properties": props, "schema": "/v2/schemas/metadefs/properties"})


@routes.post("/v2/metadefs/namespaces/{ns}/properties")
async def create_property(req: Req) -> Response:
    caller = await _caller(req, "add_metadef_property")
    body = await _body(req, schemas.PROPERTY)
    ns = req.path("ns")
    return json_response(await req.write(svc.create_entry, caller, ns, "property", body["name"], body),
                         status=201)


@routes.delete("/v2/metadefs/namespaces/{ns}/properties")
async def delete_properties(req: Req) -> Response:
    caller = await _caller(req, "remove_metadef_property")
    await req.write(svc.delete_all_entries, caller, req.path("ns"), "property")
    return no_content()


@routes.get("/v2/metadefs/namespaces/{ns}/properties/{name}")
async def show_property(req: Req) -> Response:
    caller = await _caller(req, "get_metadef_property")
    return json_response(await req.read(svc.get_entry, caller, req.path("ns"), "property", req.path("name")))


@routes.put("/v2/metadefs/namespaces/{ns}/properties/{name}")
async def update_property(req: Req) -> Response:
    caller = await _caller(req, "modify_metadef_property")
    body = await _body(req, schemas.PROPERTY)
    return json_response(await req.write(svc.update_entry, caller, req.path("ns"), "property", req.path("name"), body))


@routes.delete("/v2/metadefs/namespaces/{ns}/properties/{name}")
async def delete_property(req: Req) -> Response:
    caller = await _caller(req, "remove_metadef_property")
    await req.write(svc.delete_entry, caller, req.path("ns"), "property", req.path("name"))
    return no_content()


# --- tags -----------------------------------------------------------------------------------

@routes.get("/v2/metadefs/namespaces/{ns}/tags")
async def list_tags(req: Req) -> Response:
    return await _list_entries(req, "get_metadef_tags", "tag")


@routes.post("/v2/metadefs/namespaces/{ns}/tags")
async def create_tags(req: Req) -> Response:
    caller = await _caller(req, "add_metadef_tags")
    body = await _body(req, schemas.TAGS)
    names = [t["name"] for t in body["tags"]]
    # Read leniently, as Glance does: anything but a true spelling replaces the tags.
    append = req.headers.get("x-openstack-append", "").strip().lower() in GLANCE_BOOLEANS.true
    items = await req.write(svc.replace_tags, caller, req.path("ns"), names, append)
    return json_response({"tags": [{"name": t["name"]} for t in items]}, status=201)


@routes.delete("/v2/metadefs/namespaces/{ns}/tags")
async def delete_tags(req: Req) -> Response:
    caller = await _caller(req, "delete_metadef_tags")
    await req.write(svc.delete_all_entries, caller, req.path("ns"), "tag")
    return no_content()


@routes.post("/v2/metadefs/namespaces/{ns}/tags/{name}")
async def create_tag(req: Req) -> Response:
    caller = await _caller(req, "add_metadef_tag")
    # Glance takes the name from the path; a body, if any, is ignored.
    if len(req.path("name")) > 80:
        raise BadRequest("Invalid input: a tag name is at most 80 characters.")
    item = await req.write(svc.create_entry, caller, req.path("ns"), "tag", req.path("name"), {})
    return json_response(item, status=201)


@routes.get("/v2/metadefs/namespaces/{ns}/tags/{name}")
async def show_tag(req: Req) -> Response:
    caller = await _caller(req, "get_metadef_tag")
    return json_response(await req.read(svc.get_entry, caller, req.path("ns"), "tag", req.path("name")))


@routes.put("/v2/metadefs/namespaces/{ns}/tags/{name}")
async def update_tag(req: Req) -> Response:
    caller = await _caller(req, "modify_metadef_tag")
    body = await _body(req, schemas.TAG)
    return json_response(await req.write(svc.update_entry, caller, req.path("ns"), "tag", req.path("name"), body))


@routes.delete("/v2/metadefs/namespaces/{ns}/tags/{name}")
async def delete_tag(req: Req) -> Response:
    caller = await _caller(req, "delete_metadef_tag")
    await req.write(svc.delete_entry, caller, req.path("ns"), "tag", req.path("name"))
    return no_content()
