"""What the network service holds: config, database, policy, the extensions it serves, the bus."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.policy import Enforcer
from onestack.network.policies import DEFAULT_RULES


class NetworkState:
    """Shared by every network handler (``req.state``)."""

    def __init__(self, config: Config, db: Database, bus: Any = None, extensions: Sequence[Any] = (),
                 collections: Sequence[str] = ()) -> None:
        self.config = config
        self.db = db
        self.enforcer = Enforcer(DEFAULT_RULES, config.network.policy_file)
        # The bus, for casts to the network agents (None in tests that build the API alone).
        self.bus = bus
        # What /v2.0/extensions and /v2.0 list: declared by the mounted API modules.
        self.extensions = list(extensions)
        self.collections = list(collections)
