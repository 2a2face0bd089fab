"""Image API: tags (PUT/DELETE /v2/images/{id}/tags/{tag})."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.http import RouteTable, no_content
from onestack.image.api.images import (
    caller,
    enforce,
    image_service,
    image_target,
    limits_of,
    load_for_policy,
)
from onestack.image.service import images as svc

routes = RouteTable()


@routes.put("/v2/images/{image_id}/tags/{tag}")
async def add_tag(request: Request) -> Response:
    ctx, viewer = await caller(request)
    image_id, tag = request.path_params["image_id"], request.path_params["tag"]
    image, member = await load_for_policy(request, image_id, viewer)
    enforce(request, ctx, "add_image_tag", image_target(image, member))
    await image_service(request).db.write(svc.add_tag, image_id, viewer, tag, limits_of(request))
    return no_content()


@routes.delete("/v2/images/{image_id}/tags/{tag}")
async def delete_tag(request: Request) -> Response:
    ctx, viewer = await caller(request)
    image_id, tag = request.path_params["image_id"], request.path_params["tag"]
    image, member = await load_for_policy(request, image_id, viewer)
    enforce(request, ctx, "delete_image_tag", image_target(image, member))
    await image_service(request).db.write(svc.remove_tag, image_id, viewer, tag)
    return no_content()
