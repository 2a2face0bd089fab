"""Swift's catch_errors: an unexpected exception anywhere below becomes Swift's 500 ("An error
occurred", text/plain) and is logged with the transaction id (which the ASGI adapter puts in
``X-Trans-Id``, and the platform in ``X-Openstack-Request-Id``, on every answer). ``SwiftError`` is
an answer, not a failure: it is rendered as the adapter would."""

from __future__ import annotations

import logging

from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.request import (
    Handler,
    Headers,
    Middleware,
    SwiftRequest,
    SwiftResponse,
    error_response,
)
from onestack.object_store.state import ObjectStoreState

log = logging.getLogger("onestack.object_store.catch_errors")

ERROR_BODY = b"An error occurred"


def factory(state: ObjectStoreState) -> Middleware | None:
    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            if req.ctx.source or req.ctx.pre_authed:
                return await app(req)  # a sub-request: its caller handles what it raises
            trans_id = req.ctx.request_id
            try:
                resp = await app(req)
            except SwiftError as err:
                resp = error_response(err)
            except Exception:
                log.exception("%s %s %s: an error occurred", trans_id, req.method, req.path)
                resp = SwiftResponse(500, Headers({"content-type": "text/plain",
                                                   "content-length": str(len(ERROR_BODY))}), ERROR_BODY)
            return resp

        return handle

    return middleware
