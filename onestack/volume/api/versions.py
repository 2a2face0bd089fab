"""Version discovery: ``GET /volume/`` (300, every version) and ``GET /volume/v3/`` (the v3
document), readable without a token, as Cinder's. Only v3 is served (Cinder removed v2 in
Xena); ``MAX_VERSION`` (api/common.py) is the newest microversion whose behaviour onestack
implements for every resource it serves."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.volume.api.common import MAX_VERSION, MIN_VERSION, Req, VolumeRoutes

routes = VolumeRoutes()
UPDATED = "2023-08-31T00:00:00Z"


def _version(req: Req) -> dict[str, Any]:
    return {
        "id": "v3.0",
        "status": "CURRENT",
        "version": str(MAX_VERSION),
        "min_version": str(MIN_VERSION),
        "updated": UPDATED,
        "links": [
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
            {"rel": "self", "href": f"{req.service_url}/v3/"},
        ],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.volume+json;version=3"}],
    }


@routes.get("/")
async def list_versions(req: Req) -> Response:
    return json_response({"versions": [_version(req)]}, status=300)


@routes.get("/v3/")
async def show_v3(req: Req) -> Response:
    return json_response({"versions": [_version(req)]})


@routes.get("/v3")
async def show_v3_bare(req: Req) -> Response:
    return json_response({"versions": [_version(req)]})
