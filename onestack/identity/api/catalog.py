"""Identity API: regions, services and endpoints (the service catalog's building blocks)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response, no_content
from onestack.identity.api.conventions import IdentityRoutes, Req
from onestack.identity.api.render import collection, with_link
from onestack.identity.api.schemas import DESCRIPTION, ENABLED
from onestack.identity.service import catalog

routes = IdentityRoutes()

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


def _region(req: Req, row: Any) -> dict[str, Any]:
    return with_link(req, catalog.region_to_dict(row), "regions")


def _service(req: Req, row: Any) -> dict[str, Any]:
    return with_link(req, catalog.service_to_dict(row), "services")


def endpoint_doc(req: Req, row: Any) -> dict[str, Any]:
    return with_link(req, catalog.endpoint_to_dict(row), "endpoints")


# --- regions ---------------------------------------------------------------------------------


@routes.get("/v3/regions")
async def list_regions(req: Req) -> Response:
    await req.enforce("identity:list_regions")
    parent = req.params.get("parent_region_id")
    rows = await req.read(catalog.list_regions, parent)
    return json_response(collection(req, "regions", [_region(req, r) for r in rows]))


@routes.post("/v3/regions")
async def create_region(req: Req) -> Response:
    await req.enforce("identity:create_region")
    data = await req.body(REGION_CREATE, wrapper="region")
    row = await req.write(catalog.create_region, data)
    return json_response({"region": _region(req, row)}, status=201)


@routes.get("/v3/regions/{region_id}")
async def get_region(req: Req) -> Response:
    await req.enforce("identity:get_region")
    row = await req.read(catalog.get_region, req.path("region_id"))
    return json_response({"region": _region(req, row)})


@routes.put("/v3/regions/{region_id}")
async def put_region(req: Req) -> Response:
    """Create a region with the id the caller chose."""
    await req.enforce("identity:create_region")
    data = await req.body(REGION_CREATE, wrapper="region")
    region_id = req.path("region_id")
    if data.get("id") not in (None, region_id):
        raise BadRequest(f"Conflicting region IDs specified: {data['id']!r} and {region_id!r}.")
    data = {**data, "id": region_id}
    req.validate(data, REGION_CREATE)
    row = await req.write(catalog.create_region, data)
    return json_response({"region": _region(req, row)}, status=201)


@routes.patch("/v3/regions/{region_id}")
async def update_region(req: Req) -> Response:
    await req.enforce("identity:update_region")
    data = await req.body(REGION_UPDATE, wrapper="region")
    row = await req.write(catalog.update_region, req.path("region_id"), data)
    return json_response({"region": _region(req, row)})


@routes.delete("/v3/regions/{region_id}")
async def delete_region(req: Req) -> Response:
    await req.enforce("identity:delete_region")
    await req.write(catalog.delete_region, req.path("region_id"))
    return no_content()


# --- services --------------------------------------------------------------------------------


@routes.get("/v3/services")
async def list_services(req: Req) -> Response:
    await req.enforce("identity:list_services")
    q = req.params
    rows = await req.read(catalog.list_services, q.get("type"), q.get("name"))
    return json_response(collection(req, "services", [_service(req, r) for r in rows]))


@routes.post("/v3/services")
async def create_service(req: Req) -> Response:
    await req.enforce("identity:create_service")
    data = await req.body(SERVICE_CREATE, wrapper="service")
    row = await req.write(catalog.create_service, data)
    return json_response({"service": _service(req, row)}, status=201)


@routes.get("/v3/services/{service_id}")
async def get_service(req: Req) -> Response:
    await req.enforce("identity:get_service")
    row = await req.read(catalog.get_service, req.path("service_id"))
    return json_response({"service": _service(req, row)})


@routes.patch("/v3/services/{service_id}")
async def update_service(req: Req) -> Response:
    await req.enforce("identity:update_service")
    data = await req.body(SERVICE_UPDATE, wrapper="service")
    row = await req.write(catalog.update_service, req.path("service_id"), data)
    return json_response({"service": _service(req, row)})


@routes.delete("/v3/services/{service_id}")
async def delete_service(req: Req) -> Response:
    await req.enforce("identity:delete_service")
    await req.write(catalog.delete_service, req.path("service_id"))
    return no_content()


# --- endpoints -------------------------------------------------------------------------------


@routes.get("/v3/endpoints")
async def list_endpoints(req: Req) -> Response:
    await req.enforce("identity:list_endpoints")
    q = req.params
    filters = {k: q[k] for k in ("interface", "service_id", "region_id") if k in q}
    rows = await req.read(catalog.list_endpoints, filters)
    return json_response(collection(req, "endpoints", [endpoint_doc(req, r) for r in rows]))


@routes.post("/v3/endpoints")
async def create_endpoint(req: Req) -> Response:
    await req.enforce("identity:create_endpoint")
    data = await req.body(ENDPOINT_CREATE, wrapper="endpoint")
    row = await req.write(catalog.create_endpoint, data)
    return json_response({"endpoint": endpoint_doc(req, row)}, status=201)


@routes.get("/v3/endpoints/{endpoint_id}")
async def get_endpoint(req: Req) -> Response:
    await req.enforce("identity:get_endpoint")
    row = await req.read(catalog.get_endpoint, req.path("endpoint_id"))
    return json_response({"endpoint": endpoint_doc(req, row)})


@routes.patch("/v3/endpoints/{endpoint_id}")
async def update_endpoint(req: Req) -> Response:
    await req.enforce("identity:update_endpoint")
    data = await req.body(ENDPOINT_UPDATE, wrapper="endpoint")
    row = await req.write(catalog.update_endpoint, req.path("endpoint_id"), data)
    return json_response({"endpoint": endpoint_doc(req, row)})


@routes.delete("/v3/endpoints/{endpoint_id}")
async def delete_endpoint(req: Req) -> Response:
    await req.enforce("identity:delete_endpoint")
    await req.write(catalog.delete_endpoint, req.path("endpoint_id"))
    return no_content()
