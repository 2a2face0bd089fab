"""What the placement service holds: config, database, policy; seeds the standard classes and traits once."""

from __future__ import annotations

import asyncio

from sqlalchemy.orm import Session

from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.policy import Enforcer
from onestack.placement.policies import DEFAULT_RULES


def _seed(s: Session) -> None:
    from onestack.placement.service import classes, traits

    classes.seed(s)
    traits.seed(s)


class PlacementState:
    """Shared by every placement handler via ``request.app.state.placement``."""

    def __init__(self, config: Config, db: Database) -> None:
        self.config = config
        self.db = db
        self.enforcer = Enforcer(DEFAULT_RULES, config.placement.policy_file)
        self._seeded = False
        self._lock = asyncio.Lock()

    async def ensure_seeded(self) -> None:
        """Standard resource classes and traits exist before the first request is answered."""
        if self._seeded:
            return
        async with self._lock:
            if not self._seeded:
                await self.db.write(_seed)
                self._seeded = True
