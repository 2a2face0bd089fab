"""What one compute API instance holds: config, database, policy, clients of other services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from onestack.compute.policies import DEFAULT_RULES
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.directory import IdentityDirectory
from onestack.core.policy import Enforcer

if TYPE_CHECKING:
    from onestack.client.image import ImageClient
    from onestack.client.network import NetworkClient
    from onestack.client.placement import PlacementClient
    from onestack.client.volume import VolumeClient
    from onestack.compute.rpcapi import AgentAPI, ConductorAPI


class ComputeService:
    """Shared by every compute request handler as ``req.state`` (core/api/request.py)."""

    def __init__(self, config: Config, db: Database) -> None:
        self.config = config
        self.db = db
        self.enforcer = Enforcer(DEFAULT_RULES, config.compute.policy_file)
        # Wired by the composition root (server.py) once the cloud is assembled.
        self.directory: IdentityDirectory | None = None
        self.images: ImageClient | None = None
        self.network: NetworkClient | None = None  # None: the cloud runs no network service
        self.volume: VolumeClient | None = None  # None: the cloud runs no block-storage service
        self.placement: PlacementClient | None = None
        self.conductor: ConductorAPI | None = None
        self.agents: AgentAPI | None = None
