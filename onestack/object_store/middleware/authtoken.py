"""keystonemiddleware's auth_token for the proxy: an ``X-Auth-Token`` (or ``X-Storage-Token``) is
validated by the identity service (cached, core/auth.py) and its caller put on the request.

As Swift deploys it (``delay_auth_decision = true``), a missing or invalid token is not refused
here: keystoneauth decides, because a public container (``.r:*``), a temp URL or a form POST
needs no token at all."""

from __future__ import annotations

import logging

from onestack.core.api.faults import ApiError
from onestack.object_store.proxy.request import Handler, Middleware, SwiftRequest, SwiftResponse
from onestack.object_store.state import ObjectStoreState

log = logging.getLogger("onestack.object_store.auth")


def factory(state: ObjectStoreState) -> Middleware | None:
    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            token = req.headers.get("x-auth-token") or req.headers.get("x-storage-token")
            if token and req.ctx.auth is None:
                try:
                    req.ctx.auth = await state.validator.validate(token)
                except ApiError:
                    req.ctx.auth = None  # invalid or expired: keystoneauth answers 401 unless an ACL allows
            return await app(req)

        return handle

    return middleware
