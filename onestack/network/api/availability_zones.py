"""/v2.0/availability_zones: the zones networks and routers may be hinted to."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.network.api.common import NetworkRoutes, Req, enforce, fields_of, project
from onestack.network.errors import HTTPBadRequest
from onestack.network.service import availability_zones

routes = NetworkRoutes()
# "availability_zone" is declared with networks (network_availability_zone needs it).
EXTENSIONS = ()
FILTERS = ("name", "resource", "state")


@routes.get("/v2.0/availability_zones")
async def list_zones(req: Req) -> Response:
    await enforce(req, "get_availability_zone", {})
    wanted: dict[str, list[str]] = {}
    for key in dict.fromkeys(req.params.keys()):
        if key == "fields":
            continue
        if key not in FILTERS:
            raise HTTPBadRequest(f"[{key}] is invalid attribute for filtering")
        wanted[key] = req.params.getlist(key)
    found = await req.read(availability_zones.zones)
    items = [z for z in found if all(z[k] in v for k, v in wanted.items())]
    return json_response({"availability_zones": [project(z, fields_of(req)) for z in items]})
