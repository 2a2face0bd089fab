"""What one identity service instance holds: config, database, keys, policy, caches."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from onestack.core.auth import TTLCache
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.policy import Enforcer
from onestack.identity.keys import KeyRepository
from onestack.identity.policies import DEFAULT_RULES
from onestack.identity.service import generation

GENERATION_CHECK_SECONDS = 1.0


class Identity:
    """Shared by every identity request handler via ``request.app.state.identity``."""

    def __init__(self, config: Config, db: Database) -> None:
        self.config = config
        self.db = db
        # Any committed identity write may change what a token validates to or what a list
        # shows: drop the caches. Handlers therefore never call changed() themselves.
        db.after_write(self.changed)
        # ...and so may a write in another identity process: each write also moves the shared
        # generation, which fresh() compares at most once a second (GENERATION_CHECK_SECONDS).
        db.in_write(generation.bump)
        self.generation: int | None = None
        self.generation_checked_at = 0.0
        data = Path(config.server.data_dir)
        self.token_keys = KeyRepository(data / "fernet-keys", config.identity.max_active_keys)
        self.credential_keys = KeyRepository(data / "credential-keys", config.identity.max_active_keys)
        self.enforcer = Enforcer(DEFAULT_RULES, config.identity.policy_file)
        # Bumped on every write; caches keyed on it can never serve data older than a write
        # made in this process. Writes of other processes show within GENERATION_CHECK_SECONDS.
        self.revision = 0
        self.token_cache = TTLCache(config.identity.cache_ttl)
        # access key → what its signature was last checked against (service/ec2tokens.Proven).
        self.ec2_cache = TTLCache(config.identity.cache_ttl)
        self.list_cache: dict[Any, bytes] = {}
        self.service_providers: tuple[int, list[dict[str, str]]] | None = None  # (revision, list)
        self.revocations: list[Any] = []
        self.revocations_loaded_at = 0.0
        self.revocations_revision = -1
        self.key_generation = 0

    async def fresh(self) -> None:
        """Drop the caches if another process committed an identity write since we last looked."""
        now = time.monotonic()
        if now - self.generation_checked_at < GENERATION_CHECK_SECONDS:
            return
        self.generation_checked_at = now
        seen = await self.db.read(generation.current)
        if self.generation is not None and seen != self.generation:
            self.changed()
            self.generation_checked_at = now  # changed() does not reset it; keep the pace
        self.generation = seen

    def changed(self) -> None:
        """Call after any write that can change what a token validates to."""
        self.revision += 1
        self.token_cache.clear()
        self.ec2_cache.clear()
        self.list_cache.clear()
        self.revocations_loaded_at = 0.0
