"""/resource_providers/{uuid}/inventories[/{resource_class}]."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.placement.api.common import NAME_SCHEMA, PlacementRoutes, Req, V
from onestack.placement.service import inventories
from onestack.placement.service.inventories import MAX_INT

routes = PlacementRoutes()
BASE = "/resource_providers/{uuid}/inventories"

INVENTORY_FIELDS: dict[str, Any] = {
    "total": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    "reserved": {"type": "integer", "minimum": 0, "maximum": MAX_INT},
    "min_unit": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    "max_unit": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    "step_size": {"type": "integer", "minimum": 1, "maximum": MAX_INT},
    "allocation_ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 3.40282e38},
}
GENERATION: dict[str, Any] = {"type": "integer"}
ONE_INVENTORY: dict[str, Any] = {"type": "object", "properties": INVENTORY_FIELDS, "required": ["total"],
                                 "additionalProperties": False}
PUT_ALL: dict[str, Any] = {
    "type": "object",
    "properties": {"resource_provider_generation": GENERATION,
                   "inventories": {"type": "object", "patternProperties": {"^[A-Z0-9_]+$": ONE_INVENTORY},
                                   "additionalProperties": False}},
    "required": ["inventories", "resource_provider_generation"],
    "additionalProperties": False,
}
PUT_ONE: dict[str, Any] = {
    "type": "object",
    "properties": {**INVENTORY_FIELDS, "resource_provider_generation": GENERATION},
    "required": ["total", "resource_provider_generation"],
    "additionalProperties": False,
}
POST_ONE: dict[str, Any] = {
    "type": "object",
    "properties": {**INVENTORY_FIELDS, "resource_class": NAME_SCHEMA, "resource_provider_generation": GENERATION},
    "required": ["total", "resource_class"],
    "additionalProperties": False,
}


@routes.get(BASE, rule="placement:resource_providers:inventories:list")
async def list_inventories(req: Req) -> Response:
    return json_response(await req.read(inventories.get_all, req.path("uuid")))


@routes.put(BASE, rule="placement:resource_providers:inventories:update")
async def replace_inventories(req: Req) -> Response:
    body = await req.body(PUT_ALL)
    return json_response(await req.write(inventories.replace_all, req.path("uuid"), body, req.mv))


@routes.post(BASE, rule="placement:resource_providers:inventories:create")
async def create_inventory(req: Req) -> Response:
    body = await req.body(POST_ONE)
    result = await req.write(inventories.create_one, req.path("uuid"), body, req.mv)
    location = req.location(f"/resource_providers/{req.path('uuid')}/inventories", body["resource_class"])
    return json_response(result, status=201, headers=location)


@routes.delete(BASE, rule="placement:resource_providers:inventories:delete", since=V(5))
async def delete_inventories(req: Req) -> Response:
    await req.write(inventories.delete_all, req.path("uuid"))
    return no_content()


@routes.get(BASE + "/{resource_class}", rule="placement:resource_providers:inventories:show")
async def show_inventory(req: Req) -> Response:
    return json_response(await req.read(inventories.get_one, req.path("uuid"), req.path("resource_class")))


@routes.put(BASE + "/{resource_class}", rule="placement:resource_providers:inventories:update")
async def update_inventory(req: Req) -> Response:
    body = await req.body(PUT_ONE)
    return json_response(await req.write(inventories.set_one, req.path("uuid"), req.path("resource_class"),
                                         body, req.mv))


@routes.delete(BASE + "/{resource_class}", rule="placement:resource_providers:inventories:delete")
async def delete_inventory(req: Req) -> Response:
    await req.write(inventories.delete_one, req.path("uuid"), req.path("resource_class"))
    return no_content()
