"""Identity API: regions, services and endpoints (the service catalog's building blocks)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.faults import BadRequest
from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.identity.api.policy import enforce, identity_of
from onestack.identity.api.render import collection, with_link
from onestack.identity.api.validation import DESCRIPTION, ENABLED, validate
from onestack.identity.service import catalog

routes = RouteTable()

_REGION_ID = {"type": "string", "minLength": 1, "maxLength": 255}
_REGION_PROPS: dict[str, Any] = {
    "id": _REGION_ID,
    "description": {"type": ["string", "null"], "maxLength": 255},
    "parent_region_id": {"type": ["string", "null"], "maxLength": 255},
}
REGION_CREATE = {"type": "object", "properties": _REGION_PROPS, "additionalProperties": True}
REGION_UPDATE = {"type": "object", "properties": _REGION_PROPS, "additionalProperties": True, "minProperties": 1}

_SERVICE_PROPS: dict[str, Any] = {
    "type": {"type": "string", "minLength": 1, "maxLength": 255},
    "name": {"type": "string", "minLength": 0, "maxLength": 255},
    "description": DESCRIPTION,
    "enabled": ENABLED,
}
SERVICE_CREATE = {"type": "object", "properties": _SERVICE_PROPS, "required": ["type"], "additionalProperties": True}
SERVICE_UPDATE = {"type": "object", "properties": _SERVICE_PROPS, "additionalProperties": True, "minProperties": 1}

_ENDPOINT_PROPS: dict[str, Any] = {
    "interface": {"type": "string", "enum": ["admin", "internal", "public"]},
    "service_id": {"type": "string", "minLength": 1, "maxLength": 64},
    "region_id": {"type": ["string", "null"], "maxLength": 255},
    "region": {"type": ["string", "null"], "maxLength": 255},
    # Keystone's URL rule: a scheme, a colon, then anything.
    "url": {"type": "string", "minLength": 1, "maxLength": 225, "pattern": "^[a-zA-Z0-9+.-]+:.+"},
    "enabled": ENABLED,
}
ENDPOINT_CREATE = {
    "type": "object", "properties": _ENDPOINT_PROPS, "required": ["interface", "service_id", "url"],
    "additionalProperties": True,
}
ENDPOINT_UPDATE = {"type": "object", "properties": _ENDPOINT_PROPS, "additionalProperties": True, "minProperties": 1}


def _region(request: Request, row: Any) -> dict[str, Any]:
    return with_link(request, catalog.region_to_dict(row), "regions")


def _service(request: Request, row: Any) -> dict[str, Any]:
    return with_link(request, catalog.service_to_dict(row), "services")


def endpoint_doc(request: Request, row: Any) -> dict[str, Any]:
    return with_link(request, catalog.endpoint_to_dict(row), "endpoints")


# --- regions ---------------------------------------------------------------------------------


@routes.get("/v3/regions")
async def list_regions(request: Request) -> Response:
    await enforce(request, "identity:list_regions")
    parent = request.query_params.get("parent_region_id")
    rows = await identity_of(request).db.read(catalog.list_regions, parent)
    return json_response(collection(request, "regions", [_region(request, r) for r in rows]))


@routes.post("/v3/regions")
async def create_region(request: Request) -> Response:
    await enforce(request, "identity:create_region")
    data = validate(await json_body(request), REGION_CREATE, wrapper="region")
    ident = identity_of(request)
    row = await ident.db.write(catalog.create_region, data)
    return json_response({"region": _region(request, row)}, status=201)


@routes.get("/v3/regions/{region_id}")
async def get_region(request: Request) -> Response:
    await enforce(request, "identity:get_region")
    row = await identity_of(request).db.read(catalog.get_region, request.path_params["region_id"])
    return json_response({"region": _region(request, row)})


@routes.put("/v3/regions/{region_id}")
async def put_region(request: Request) -> Response:
    """Create a region with the id the caller chose."""
    await enforce(request, "identity:create_region")
    data = validate(await json_body(request), REGION_CREATE, wrapper="region")
    region_id = request.path_params["region_id"]
    if data.get("id") not in (None, region_id):
        raise BadRequest(f"Conflicting region IDs specified: {data['id']!r} and {region_id!r}.")
    data = validate({**data, "id": region_id}, REGION_CREATE)
    ident = identity_of(request)
    row = await ident.db.write(catalog.create_region, data)
    return json_response({"region": _region(request, row)}, status=201)


@routes.patch("/v3/regions/{region_id}")
async def update_region(request: Request) -> Response:
    await enforce(request, "identity:update_region")
    data = validate(await json_body(request), REGION_UPDATE, wrapper="region")
    ident = identity_of(request)
    row = await ident.db.write(catalog.update_region, request.path_params["region_id"], data)
    return json_response({"region": _region(request, row)})


@routes.delete("/v3/regions/{region_id}")
async def delete_region(request: Request) -> Response:
    await enforce(request, "identity:delete_region")
    ident = identity_of(request)
    await ident.db.write(catalog.delete_region, request.path_params["region_id"])
    return no_content()


# --- services --------------------------------------------------------------------------------


@routes.get("/v3/services")
async def list_services(request: Request) -> Response:
    await enforce(request, "identity:list_services")
    q = request.query_params
    rows = await identity_of(request).db.read(catalog.list_services, q.get("type"), q.get("name"))
    return json_response(collection(request, "services", [_service(request, r) for r in rows]))


@routes.post("/v3/services")
async def create_service(request: Request) -> Response:
    await enforce(request, "identity:create_service")
    data = validate(await json_body(request), SERVICE_CREATE, wrapper="service")
    ident = identity_of(request)
    row = await ident.db.write(catalog.create_service, data)
    return json_response({"service": _service(request, row)}, status=201)


@routes.get("/v3/services/{service_id}")
async def get_service(request: Request) -> Response:
    await enforce(request, "identity:get_service")
    row = await identity_of(request).db.read(catalog.get_service, request.path_params["service_id"])
    return json_response({"service": _service(request, row)})


@routes.patch("/v3/services/{service_id}")
async def update_service(request: Request) -> Response:
    await enforce(request, "identity:update_service")
    data = validate(await json_body(request), SERVICE_UPDATE, wrapper="service")
    ident = identity_of(request)
    row = await ident.db.write(catalog.update_service, request.path_params["service_id"], data)
    return json_response({"service": _service(request, row)})


@routes.delete("/v3/services/{service_id}")
async def delete_service(request: Request) -> Response:
    await enforce(request, "identity:delete_service")
    ident = identity_of(request)
    await ident.db.write(catalog.delete_service, request.path_params["service_id"])
    return no_content()


# --- endpoints -------------------------------------------------------------------------------


@routes.get("/v3/endpoints")
async def list_endpoints(request: Request) -> Response:
    await enforce(request, "identity:list_endpoints")
    q = request.query_params
    filters = {k: q[k] for k in ("interface", "service_id", "region_id") if k in q}
    rows = await identity_of(request).db.read(catalog.list_endpoints, filters)
    return json_response(collection(request, "endpoints", [endpoint_doc(request, r) for r in rows]))


@routes.post("/v3/endpoints")
async def create_endpoint(request: Request) -> Response:
    await enforce(request, "identity:create_endpoint")
    data = validate(await json_body(request), ENDPOINT_CREATE, wrapper="endpoint")
    ident = identity_of(request)
    row = await ident.db.write(catalog.create_endpoint, data)
    return json_response({"endpoint": endpoint_doc(request, row)}, status=201)


@routes.get("/v3/endpoints/{endpoint_id}")
async def get_endpoint(request: Request) -> Response:
    await enforce(request, "identity:get_endpoint")
    row = await identity_of(request).db.read(catalog.get_endpoint, request.path_params["endpoint_id"])
    return json_response({"endpoint": endpoint_doc(request, row)})


@routes.patch("/v3/endpoints/{endpoint_id}")
async def update_endpoint(request: Request) -> Response:
    await enforce(request, "identity:update_endpoint")
    data = validate(await json_body(request), ENDPOINT_UPDATE, wrapper="endpoint")
    ident = identity_of(request)
    row = await ident.db.write(catalog.update_endpoint, request.path_params["endpoint_id"], data)
    return json_response({"endpoint": endpoint_doc(request, row)})


@routes.delete("/v3/endpoints/{endpoint_id}")
async def delete_endpoint(request: Request) -> Response:
    await enforce(request, "identity:delete_endpoint")
    ident = identity_of(request)
    await ident.db.write(catalog.delete_endpoint, request.path_params["endpoint_id"])
    return no_content()
