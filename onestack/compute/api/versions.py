"""Version discovery: ``GET /compute/`` and ``GET /compute/v2.1``.

``MAX_VERSION`` is the newest microversion whose behaviour onestack implements for every
resource it serves; raise it only together with the behaviour.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.http import RouteTable, json_response
from onestack.core.api.microversion import MicroversionPolicy, Version

routes = RouteTable()

MIN_VERSION = Version(2, 1)
MAX_VERSION = Version(2, 96)
POLICY = MicroversionPolicy("compute", MIN_VERSION, MAX_VERSION, legacy_header="X-OpenStack-Nova-API-Version")
UPDATED = "2013-07-23T11:33:21Z"


def _base(request: Request) -> str:
    mount: str = request.scope.get("root_path", "")
    return str(request.base_url).rstrip("/") + mount


def _v21(request: Request) -> dict[str, Any]:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": str(MAX_VERSION),
        "min_version": str(MIN_VERSION),
        "updated": UPDATED,
        "links": [{"rel": "self", "href": f"{_base(request)}/v2.1/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
    }


@routes.get("/")
async def list_versions(request: Request) -> Response:
    return json_response({"versions": [_v21(request)]})


@routes.get("/v2.1")
async def show_v21(request: Request) -> Response:
    return json_response({"version": _v21(request)})


@routes.get("/v2.1/")
async def show_v21_slash(request: Request) -> Response:
    return json_response({"version": _v21(request)})
