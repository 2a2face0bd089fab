"""Swift's crossdomain: ``GET /crossdomain.xml`` answers the cross-domain policy Flash and
Silverlight clients ask for before they call the API (Swift's default: any domain)."""

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

POLICY = '<allow-access-from domain="*" secure="false" />'


def factory(state: ObjectStoreState) -> Middleware | None:
    body = ('<?xml version="1.0"?>\n'
            '<!DOCTYPE cross-domain-policy SYSTEM "http://www.adobe.com/xml/dtds/cross-domain-policy.dtd" >\n'
            f'<cross-domain-policy>\n{POLICY}\n</cross-domain-policy>').encode()
    state.info.register("crossdomain")

    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            if req.path != "/crossdomain.xml":
                return await app(req)
            if req.method not in ("GET", "HEAD"):
                raise SwiftError(405, headers={"allow": "GET, HEAD"})
            return SwiftResponse(200, Headers({"content-type": "application/xml; charset=utf-8"}), body)

        return handle

    return middleware
