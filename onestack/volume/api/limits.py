"""``GET /limits``: the caller's absolute limits and usage (no rate limits, as Cinder's)."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.volume.api.common import Req, VolumeRoutes, caller
from onestack.volume.service import quota_sets as svc

routes = VolumeRoutes()


@routes.get("/v3/limits")
async def show_limits(req: Req) -> Response:
    await req.enforce("limits_extension:used_limits")
    who = await caller(req)
    absolute = await req.read(svc.absolute_limits, who.project_id)
    return json_response({"limits": {"rate": [], "absolute": absolute}})
