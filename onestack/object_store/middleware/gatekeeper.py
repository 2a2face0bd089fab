"""Swift's gatekeeper: the headers only Swift's own parts may use never cross the proxy's edge.

System metadata (``X-Account/Container/Object-Sysmeta-*``, ``X-Object-Transient-Sysmeta-*``),
``X-Backend-*`` and the old update headers are dropped from a client's request and from the
answer it gets; a client's ``X-Timestamp`` becomes ``X-Backend-Inbound-X-Timestamp`` (only the
proxy stamps writes). Sub-requests below this layer are not touched, so middleware may use them.
"""

from __future__ import annotations

import re

from onestack.object_store.proxy.request import (
    Handler,
    Headers,
    Middleware,
    SwiftRequest,
    SwiftResponse,
)
from onestack.object_store.state import ObjectStoreState

EXCLUDED = re.compile(
    r"x-(account|container|object)-sysmeta-|x-object-transient-sysmeta-|x-backend"
    r"|x-account-(host|device|partition)$|x-container-(host|device|partition|root-db-state)$"
    r"|x-delete-at-(host|device|partition|container)$")


def strip(headers: Headers) -> list[str]:
    """Remove the excluded headers; return their names (for the debug log)."""
    removed = [name for name in headers if EXCLUDED.match(name)]
    for name in removed:
        del headers[name]
    return removed


def factory(state: ObjectStoreState) -> Middleware | None:
    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            if req.ctx.source or req.ctx.pre_authed:
                return await app(req)  # the proxy's own sub-request, not a client's
            strip(req.headers)
            if "x-timestamp" in req.headers:
                req.headers["x-backend-inbound-x-timestamp"] = req.headers.pop("x-timestamp")
            resp = await app(req)
            strip(resp.headers)
            return resp

        return handle

    return middleware
