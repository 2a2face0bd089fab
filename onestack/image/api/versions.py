"""Image API: version discovery (``/``, ``/versions``) as Glance answers it."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.image.api.common import ImageRoutes, Req

routes = ImageRoutes()

# v2.0 … v2.17 (2.17: the locations API): the newest is CURRENT, the others SUPPORTED (Glance's convention).
NEWEST_MINOR = 17


def versions_document(req: Req) -> dict[str, Any]:
    href = f"{req.service_url}/v2/"
    versions = []
    for minor in range(NEWEST_MINOR, -1, -1):
        versions.append({
            "id": f"v2.{minor}",
            "status": "CURRENT" if minor == NEWEST_MINOR else "SUPPORTED",
            "links": [{"rel": "self", "href": href}],
        })
    return {"versions": versions}


@routes.get("/")
async def root(req: Req) -> Response:
    # The bare root is a choice between versions: 300, as Glance answers.
    return json_response(versions_document(req), status=300)


@routes.get("/versions")
async def versions(req: Req) -> Response:
    return json_response(versions_document(req))


@routes.get("/v2")
async def v2_bare(req: Req) -> Response:
    return json_response(versions_document(req))


@routes.get("/v2/")
async def v2_root(req: Req) -> Response:
    return json_response(versions_document(req))
