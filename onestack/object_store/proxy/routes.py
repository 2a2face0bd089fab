"""The object-store API's routes as a table, for what reads routes from a service's API modules
(the isolation matrix, ``app.API_MODULES``). Swift's proxy does not route by template — the
pipeline and ``router.py`` go by the path's shape — so these routes are never served: they name
the shapes (account, container, object, /info) and the methods each takes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router


async def _described_only(request: Request) -> Response:  # pragma: no cover - never mounted
    return Response(status_code=404)


routes = Router(routes=[
    Route("/info", _described_only, methods=["GET"]),
    Route("/v1/{account}", _described_only, methods=["GET", "POST", "PUT", "DELETE"]),
    Route("/v1/{account}/{container}", _described_only, methods=["GET", "PUT", "POST", "DELETE"]),
    Route("/v1/{account}/{container}/{object}", _described_only, methods=["GET", "PUT", "POST", "DELETE", "COPY"]),
])
