"""What one image service instance holds: config, database, stores, policy."""

from __future__ import annotations

from typing import Any

from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.directory import IdentityDirectory
from onestack.core.policy import Enforcer
from onestack.image.cache import ImageCache
from onestack.image.policies import DEFAULT_RULES
from onestack.image.service.leases import Holder


class ImageService:
    """Shared by every image request handler as ``req.state`` (api/common.py's ``Req``)."""

    def __init__(self, config: Config, db: Database, stores: dict[str, Any], default_store: str) -> None:
        self.config = config
        self.db = db
        self.stores = stores  # store id -> Store
        self.default_store = default_store
        self.enforcer = Enforcer(DEFAULT_RULES, config.image.policy_file)
        # Data path (service/data.py): the staging area for import, running import tasks, and
        # where per-project limits come from (set by the composition root; None: config only).
        self.staging: Any = None
        self.tasks: set[Any] = set()
        # This process's leases on uploads, stages, imports and copies (service/leases.py).
        self.holder = Holder()
        # The well-known metadef resource types are inserted on the first metadefs request.
        self.metadefs_seeded = False
        # Unified limits from identity (core.directory.IdentityDirectory); None means config only.
        self.directory: IdentityDirectory | None = None
        # This host's image cache (image/cache.py); None when [image] image_cache_enabled is off.
        self.cache: ImageCache | None = None
