"""Image API: the JSON-Schema documents at /v2/schemas/image(s) and /v2/schemas/member(s)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.http import RouteTable, json_response
from onestack.core.auth import authenticate
from onestack.image.service.schemas import (
    image_schema,
    images_schema,
    member_schema,
    members_schema,
)

routes = RouteTable()


def _serve(build: Callable[[], dict[str, Any]]) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        await authenticate(request)  # Glance serves its schemas to authenticated callers only
        return json_response(build())

    return handler


routes.get("/v2/schemas/image")(_serve(image_schema))
routes.get("/v2/schemas/images")(_serve(images_schema))
routes.get("/v2/schemas/member")(_serve(member_schema))
routes.get("/v2/schemas/members")(_serve(members_schema))
