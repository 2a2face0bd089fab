"""What every part of a conductor shares: config, database, clients, and the row write agents ask for.

The conductor (``conductor/manager.py``) is composed of parts — builds, moves
(``conductor/actions.py``), shelving (``conductor/shelve.py``) — each an object on this context;
none of them imports another.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from onestack.client.placement import PlacementClient
from onestack.client.volume import VolumeClient
from onestack.compute.rpcapi import AgentAPI, FinishedEvent, InstanceDict, SchedulerAPI
from onestack.compute.service import instances
from onestack.core.config import Config
from onestack.core.db import Database


class ConductorContext:
    def __init__(self, config: Config, db: Database, placement: PlacementClient, scheduler: SchedulerAPI,
                 agents: AgentAPI) -> None:
        self.config = config
        self.db = db
        self.placement = placement
        self.scheduler = scheduler
        self.agents = agents
        self.volume: VolumeClient | None = None  # the block-storage service's API, when the cloud runs one

    @property
    def task_grace(self) -> timedelta:
        """How long a pending task may sit untouched before a periodic pass re-drives it."""
        return timedelta(seconds=self.config.compute.task_grace)

    @property
    def lease_time(self) -> timedelta:
        """How long a conductor's lease on a pending task outlives the row's last write: longer
        than the scheduler call an attempt waits on, so a live attempt is never taken over."""
        return timedelta(seconds=self.config.compute.rpc_timeout) + self.task_grace

    async def instance_update(self, uuid: str, values: dict[str, Any],
                              expected_task_state: list[str | None] | None = None,
                              expected_vm_state: list[str] | None = None,
                              event: FinishedEvent | None = None, expected_host: str | None = None) -> InstanceDict:
        def write(s: Session) -> InstanceDict:
            inst = instances.apply_update(s, uuid, values, expected_task_state, expected_vm_state, expected_host)
            if event is not None:
                instances.event_finish(s, uuid, event.get("request_id"), event["name"],
                                       event.get("result", "Success"), None, event.get("message"),
                                       started=instances.from_iso(event.get("started")), host=event.get("host"))
            return instances.to_dict(inst)

        return await self.db.write(write)
