"""The bottom of the pipeline (Swift's proxy-server app): a request goes to the account, container
or object controller by the shape of its path; ``/info`` and version checks are answered here."""

from __future__ import annotations

from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy import account, container, obj
from onestack.object_store.proxy.info import handle_info
from onestack.object_store.proxy.request import Handler, SwiftRequest, SwiftResponse
from onestack.object_store.state import ObjectStoreState

VERSIONS = ("v1", "v1.0")


def make_app(state: ObjectStoreState) -> Handler:
    async def app(req: SwiftRequest) -> SwiftResponse:
        if req.path in ("/info", "/info/"):
            return await handle_info(state, req)
        try:
            version, acct, cont, name = req.parts
        except ValueError:
            raise SwiftError(412, "Bad URL") from None
        if version not in VERSIONS or acct is None:
            raise SwiftError(412, "Bad URL") if version in VERSIONS else SwiftError(404)
        if cont is None:
            return await account.handle(state, req)
        if name is None:
            return await container.handle(state, req)
        return await obj.handle(state, req)

    return app
