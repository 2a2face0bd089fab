"""GET / : the version document (no authentication)."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.placement.api.common import MICROVERSIONS, PlacementRoutes, Req

routes = PlacementRoutes()


@routes.get("/")
async def versions(req: Req) -> Response:
    return json_response({"versions": [{
        "id": f"v{MICROVERSIONS.minimum.major}.0",
        "max_version": str(MICROVERSIONS.maximum),
        "min_version": str(MICROVERSIONS.minimum),
        "status": "CURRENT",
        "links": [{"rel": "self", "href": ""}],
    }]})
