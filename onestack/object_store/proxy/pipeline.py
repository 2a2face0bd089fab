"""The proxy's middleware in Swift's order (proxy-server.conf's pipeline), outermost first.

Each entry is a factory ``(state) -> Middleware`` registered by its module; the order is Swift's
so that, as there, s3api's requests reach keystoneauth, tempurl authorizes before keystoneauth
would refuse, slo sees its segments through versioned_writes and symlink, and so on. A factory
returns None when its feature is turned off (it is then not in /info either).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from onestack.object_store.proxy.request import Handler, Middleware

if TYPE_CHECKING:
    from onestack.object_store.state import ObjectStoreState

Factory = Callable[["ObjectStoreState"], Middleware | None]

# Swift's names, in pipeline order; ``ORDER`` is the contract each middleware module's factory fills.
ORDER = (
    "catch_errors", "gatekeeper", "healthcheck", "listing_formats", "bulk", "tempurl", "crossdomain", "s3api",
    "authtoken",
    "keystoneauth", "formpost", "staticweb", "copy", "container_quotas", "account_quotas", "slo", "dlo",
    "versioned_writes", "object_versioning", "symlink",
)


def build_pipeline(state: ObjectStoreState, app: Handler, factories: dict[str, Factory]) -> Handler:
    """``app`` (the controllers) wrapped in every enabled middleware, ``ORDER[0]`` outermost."""
    unknown = set(factories) - set(ORDER)
    if unknown:
        raise ValueError(f"middleware not in the pipeline order: {sorted(unknown)}")
    handler = app
    for name in reversed(ORDER):
        factory = factories.get(name)
        if factory is None:
            continue
        middleware = factory(state)
        if middleware is not None:
            handler = middleware(handler)
    return handler
