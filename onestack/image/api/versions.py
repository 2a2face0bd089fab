"""Image API: version discovery (``/``, ``/versions``) as Glance answers it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.http import RouteTable, json_response

routes = RouteTable()

# v2.0 … v2.16: the newest is CURRENT, the others SUPPORTED (Glance's convention).
NEWEST_MINOR = 16


def image_root(request: Request) -> str:
    """``http://host:port/image`` — the service root as the client reached it."""
    return str(request.base_url).rstrip("/") + str(request.scope.get("root_path", ""))


def versions_document(request: Request) -> dict[str, Any]:
    href = f"{image_root(request)}/v2/"
    versions = []
    for minor in range(NEWEST_MINOR, -1, -1):
        versions.append({
            "id": f"v2.{minor}",
            "status": "CURRENT" if minor == NEWEST_MINOR else "SUPPORTED",
            "links": [{"rel": "self", "href": href}],
        })
    return {"versions": versions}


@routes.get("/")
async def root(request: Request) -> Response:
    # The bare root is a choice between versions: 300, as Glance answers.
    return json_response(versions_document(request), status=300)


@routes.get("/versions")
async def versions(request: Request) -> Response:
    return json_response(versions_document(request))


@routes.get("/v2")
async def v2_bare(request: Request) -> Response:
    return json_response(versions_document(request))


@routes.get("/v2/")
async def v2_root(request: Request) -> Response:
    return json_response(versions_document(request))
