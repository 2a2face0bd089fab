"""Swift's healthcheck: ``GET /healthcheck`` below the endpoint's root answers 200 ``OK`` without
authentication (load balancers and Tempest ask it)."""

from __future__ import annotations

from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.request import (
    Handler,
    Headers,
    Middleware,
    SwiftRequest,
    SwiftResponse,
)
from onestack.object_store.state import ObjectStoreState


def factory(state: ObjectStoreState) -> Middleware | None:
    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            if req.path != "/healthcheck":
                return await app(req)
            if req.method not in ("GET", "HEAD"):
                raise SwiftError(405, headers={"allow": "GET, HEAD"})
            return SwiftResponse(200, Headers({"content-type": "text/plain"}), b"OK")

        return handle

    return middleware
