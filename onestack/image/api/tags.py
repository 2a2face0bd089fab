"""Image API: tags (PUT/DELETE /v2/images/{id}/tags/{tag})."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import no_content
from onestack.image.api.common import ImageRoutes, Req, image_for
from onestack.image.service import images as svc

routes = ImageRoutes()


@routes.put("/v2/images/{image_id}/tags/{tag}")
async def add_tag(req: Req) -> Response:
    who, _target = await image_for(req, "add_image_tag")
    await req.write(svc.add_tag, req.path("image_id"), who, req.path("tag"), svc.limits_of(req.state))
    return no_content()


@routes.delete("/v2/images/{image_id}/tags/{tag}")
async def delete_tag(req: Req) -> Response:
    who, _target = await image_for(req, "delete_image_tag")
    await req.write(svc.remove_tag, req.path("image_id"), who, req.path("tag"))
    return no_content()
