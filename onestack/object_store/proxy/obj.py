"""The obj controller (stub: the helper that owns it replaces this)."""

from __future__ import annotations

from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.request import SwiftRequest, SwiftResponse
from onestack.object_store.state import ObjectStoreState


async def handle(state: ObjectStoreState, req: SwiftRequest) -> SwiftResponse:
    raise SwiftError(501)
