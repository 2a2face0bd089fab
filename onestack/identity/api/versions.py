"""Version discovery: ``GET /identity/`` (300, all versions) and ``GET /identity/v3``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.http import RouteTable, json_response
from onestack.core.api.versions import version_entry
from onestack.identity.api.render import base_url

routes = RouteTable()

V3 = "v3.14"
UPDATED = "2020-04-07T00:00:00Z"
MEDIA_TYPE = "application/vnd.openstack.identity-v3+json"


def _v3(request: Request) -> dict[str, object]:
    return version_entry(base_url(request), V3, "v3", updated=UPDATED, media_type=MEDIA_TYPE)


@routes.get("/")
async def list_versions(request: Request) -> Response:
    return json_response({"versions": {"values": [_v3(request)]}}, status=300)


@routes.get("/v3")
async def show_v3(request: Request) -> Response:
    return json_response({"version": _v3(request)})


@routes.get("/v3/")
async def show_v3_slash(request: Request) -> Response:
    return json_response({"version": _v3(request)})
