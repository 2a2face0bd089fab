"""Version discovery: ``GET /identity/`` (300, all versions) and ``GET /identity/v3``."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.core.api.versions import version_entry
from onestack.identity.api.conventions import IdentityRoutes, Req

routes = IdentityRoutes()

V3 = "v3.14"
UPDATED = "2020-04-07T00:00:00Z"
MEDIA_TYPE = "application/vnd.openstack.identity-v3+json"


def _v3(req: Req) -> dict[str, object]:
    return version_entry(req.service_url, V3, "v3", updated=UPDATED, media_type=MEDIA_TYPE)


@routes.get("/")
async def list_versions(req: Req) -> Response:
    return json_response({"versions": {"values": [_v3(req)]}}, status=300)


@routes.get("/v3")
async def show_v3(req: Req) -> Response:
    return json_response({"version": _v3(req)})


@routes.get("/v3/")
async def show_v3_slash(req: Req) -> Response:
    return json_response({"version": _v3(req)})
