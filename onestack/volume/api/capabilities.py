"""``/capabilities/{host@backend}``: what a volume backend can do, as its driver reports it."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.volume.api.common import Req, VolumeRoutes
from onestack.volume.service import operations as svc

routes = VolumeRoutes()


@routes.get("/v3/capabilities/{host}")
async def show_capabilities(req: Req) -> Response:
    await req.enforce("volume_extension:capabilities")
    return json_response(await req.read(svc.backend_capabilities, req.path("host")))
