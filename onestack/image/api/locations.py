"""Image API 2.17: add a location to a queued image, list an image's locations."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.core.ids import new_id
from onestack.image.api.common import ImageRoutes, Req
from onestack.image.service import data, locations
from onestack.image.service.data import Caller

routes = ImageRoutes()


@routes.post("/v2/images/{image_id}/locations")
async def add_location(req: Req) -> Response:
    caller = Caller.of(await req.caller())
    image_id = req.path("image_id")
    url, validation = locations.parse_add(await req.json())
    task_id = new_id()
    sid, token = await req.write(locations.begin_add, req.state, image_id, caller, url, validation, task_id,
                                 req.request_id or None)
    data.tracked(req.state, locations.run_add(req.state, image_id, sid, url, validation, task_id, token))
    return Response(b"", status_code=202)


@routes.get("/v2/images/{image_id}/locations")
async def get_locations(req: Req) -> Response:
    caller = Caller.of(await req.caller())
    return json_response(await req.read(locations.list_locations, req.state, req.path("image_id"), caller))
