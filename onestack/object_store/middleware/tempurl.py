"""Swift's tempurl middleware (not built yet: the factory leaves it out of the pipeline and /info)."""

from __future__ import annotations

from onestack.object_store.proxy.request import Middleware
from onestack.object_store.state import ObjectStoreState


def factory(state: ObjectStoreState) -> Middleware | None:
    return None
