"""/resource_providers/{uuid}/usages and /usages (1.9)."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.placement.api.common import PlacementRoutes, Req, V, check_params
from onestack.placement.service import allocations
from onestack.placement.service.common import NAME_RE, bad_request

routes = PlacementRoutes()


@routes.get("/resource_providers/{uuid}/usages", rule="placement:resource_providers:usages")
async def provider_usages(req: Req) -> Response:
    return json_response(await req.read(allocations.provider_usages, req.path("uuid")))


@routes.get("/usages", rule="placement:usages", since=V(9))
async def total_usages(req: Req) -> Response:
    check_params(req, {"project_id": 9, "user_id": 9, "consumer_type": 38})
    project_id = req.params.get("project_id")
    if not project_id:
        raise bad_request("Invalid query string parameters: 'project_id' is a required property")
    consumer_type = req.params.get("consumer_type")
    if consumer_type is not None and consumer_type not in ("all", "unknown") and not NAME_RE.match(consumer_type):
        raise bad_request(f"Invalid query string parameters: invalid consumer_type {consumer_type!r}")
    body = await req.read(allocations.total_usages, project_id, req.params.get("user_id"), consumer_type,
                          req.at_least(1, 38))
    return json_response(body)
