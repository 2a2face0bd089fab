"""What one identity service instance holds: config, database, keys, policy, caches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onestack.core.auth import TTLCache
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.policy import Enforcer
from onestack.identity.keys import KeyRepository
from onestack.identity.policies import DEFAULT_RULES


class Identity:
    """Shared by every identity request handler via ``request.app.state.identity``."""

    def __init__(self, config: Config, db: Database) -> None:
        self.config = config
        self.db = db
        # Any committed identity write may change what a token validates to or what a list
        # shows: drop the caches. Handlers therefore never call changed() themselves.
        db.after_write(self.changed)
        data = Path(config.server.data_dir)
        self.token_keys = KeyRepository(data / "fernet-keys", config.identity.max_active_keys)
        self.credential_keys = KeyRepository(data / "credential-keys", config.identity.max_active_keys)
        self.enforcer = Enforcer(DEFAULT_RULES, config.identity.policy_file)
        # Bumped on every write; caches keyed on it can never serve data older than a write
        # made in this process. Other processes see changes after cache_ttl at the latest.
        self.revision = 0
        self.token_cache = TTLCache(config.identity.cache_ttl)
        self.list_cache: dict[Any, bytes] = {}
        self.revocations: list[Any] = []
        self.revocations_loaded_at = 0.0
        self.revocations_revision = -1
        self.key_generation = 0

    def changed(self) -> None:
        """Call after any write that can change what a token validates to."""
        self.revision += 1
        self.token_cache.clear()
        self.list_cache.clear()
        self.revocations_loaded_at = 0.0
