"""What one compute API instance holds: config, database, policy, the identity directory."""

from __future__ import annotations

from onestack.compute.policies import DEFAULT_RULES
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.directory import IdentityDirectory
from onestack.core.policy import Enforcer


class ComputeService:
    """Shared by every compute request handler via ``request.app.state.compute``."""

    def __init__(self, config: Config, db: Database) -> None:
        self.config = config
        self.db = db
        self.enforcer = Enforcer(DEFAULT_RULES, config.compute.policy_file)
        # Which projects exist (flavor access checks them); wired by the composition root.
        self.directory: IdentityDirectory | None = None
