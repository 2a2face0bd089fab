"""What the block-storage API holds: config, database, policy, the bus clients, the other services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.policy import Enforcer
from onestack.volume.policies import DEFAULT_RULES

if TYPE_CHECKING:
    from onestack.client.image import ImageClient
    from onestack.volume.rpcapi import VolumeAgentAPI, VolumeSchedulerAPI


class VolumeState:
    """Shared by every volume handler (``req.state``); the composition root (app.py) fills it in."""

    def __init__(self, config: Config, db: Database) -> None:
        self.config = config
        self.db = db
        self.enforcer = Enforcer(DEFAULT_RULES, config.volume.policy_file)
        # None where the API is built alone (unit tests): nothing is scheduled then.
        self.scheduler: VolumeSchedulerAPI | None = None
        self.agents: VolumeAgentAPI | None = None
        # The image service (create from image, upload to image), and a session for compute's
        # external events (volume-extended): set by app.py.
        self.images: ImageClient | None = None
        self.session: Any = None
