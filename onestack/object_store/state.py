"""What the proxy's handlers share: configuration, database, ring, clients and /info.

Built once per process by ``app.py`` and passed explicitly to the controllers and to every
middleware factory (``proxy/pipeline.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from onestack.core.auth import TokenValidator
from onestack.core.config import ObjectStoreConfig
from onestack.core.db import Database
from onestack.object_store.obj.client import ObjectServerClient
from onestack.object_store.proxy.error_limit import ErrorLimiter
from onestack.object_store.ring.ring import Ring

if TYPE_CHECKING:
    from onestack.object_store.proxy.request import Handler
    from onestack.object_store.service.containers import ContainerService


@dataclass
class SwiftInfo:
    """``GET /info``: what the cluster offers, each middleware registering itself when enabled."""

    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Sections only an admin's signed /info request sees (none offered yet).
    admin: dict[str, dict[str, Any]] = field(default_factory=dict)

    def register(self, name: str, **data: Any) -> None:
        self.sections.setdefault(name, {}).update(data)


class RingHolder:
    """The current ring; replaced as a whole when the devices change (readers keep their copy)."""

    def __init__(self, ring: Ring) -> None:
        self.ring = ring


@dataclass
class ObjectStoreState:
    config: ObjectStoreConfig
    db: Database
    rings: RingHolder
    objects: ObjectServerClient
    containers: ContainerService
    validator: TokenValidator
    info: SwiftInfo = field(default_factory=SwiftInfo)
    # The whole pipeline, for middleware whose sub-requests must pass every layer again (bulk's
    # per-file PUTs, the expirer); set by app.py once built.
    pipeline: Handler | None = None
    # Resolves an S3 access key to (secret, project id, user id): the identity service's EC2 credentials.
    ec2_lookup: Any = None
    region: str = "RegionOne"
    # The object servers this proxy leaves alone for a while (Swift's error_suppression_*).
    limiter: ErrorLimiter = field(default_factory=ErrorLimiter)

    @property
    def ring(self) -> Ring:
        return self.rings.ring
