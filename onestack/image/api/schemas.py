"""Image API: the JSON-Schema documents at /v2/schemas/image(s) and /v2/schemas/member(s)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.image.api.common import ImageRoutes, Req
from onestack.image.service.schemas import (
    image_schema,
    images_schema,
    member_schema,
    members_schema,
)

routes = ImageRoutes()


def _serve(path: str, build: Callable[[], dict[str, Any]]) -> None:
    async def handler(req: Req) -> Response:
        await req.caller()  # Glance serves its schemas to authenticated callers only
        return json_response(build())

    routes.get(path)(handler)


_serve("/v2/schemas/image", image_schema)
_serve("/v2/schemas/images", images_schema)
_serve("/v2/schemas/member", member_schema)
_serve("/v2/schemas/members", members_schema)
