"""/resource_providers/{uuid}/aggregates (1.1; generation-guarded from 1.19)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.placement.api.common import UUID_SCHEMA, PlacementRoutes, Req, V
from onestack.placement.service import aggregates

routes = PlacementRoutes()
LIST: dict[str, Any] = {"type": "array", "items": UUID_SCHEMA, "uniqueItems": True}
WITH_GENERATION: dict[str, Any] = {
    "type": "object", "properties": {"aggregates": LIST, "resource_provider_generation": {"type": "integer"}},
    "required": ["aggregates", "resource_provider_generation"], "additionalProperties": False,
}
PATH = "/resource_providers/{uuid}/aggregates"


def _shape(req: Req, body: dict[str, Any]) -> dict[str, Any]:
    return body if req.at_least(1, 19) else {"aggregates": body["aggregates"]}


@routes.get(PATH, rule="placement:resource_providers:aggregates:list", since=V(1))
async def provider_aggregates(req: Req) -> Response:
    return json_response(_shape(req, await req.read(aggregates.of_provider, req.path("uuid"))))


@routes.put(PATH, rule="placement:resource_providers:aggregates:update", since=V(1))
async def set_provider_aggregates(req: Req) -> Response:
    if req.at_least(1, 19):
        body = await req.body(WITH_GENERATION)
        aggs, generation = body["aggregates"], body["resource_provider_generation"]
    else:
        aggs, generation = await req.body(LIST), None
    result = await req.write(aggregates.set_for_provider, req.path("uuid"), aggs, generation)
    return json_response(_shape(req, result))
