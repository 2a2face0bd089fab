"""What every part of one host's agent shares: its host, driver, clients, and the work in flight.

The agent (``agent/manager.py``) is composed of parts — server actions, moves, diagnostics, the
image cache — each an object that takes this context; none of them imports the agent itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from onestack.client.volume import VolumeClient
from onestack.compute.agent.images import ImageCache
from onestack.compute.agent.network import NetworkSeam, NoNetwork, VifEvents
from onestack.compute.rpcapi import AgentAPI, ConductorAPI, FlavorDict, InstanceDict
from onestack.compute.virt.driver import ComputeDriver, InstanceSpec
from onestack.core.bus import RemoteError
from onestack.core.config import Config

log = logging.getLogger("onestack.compute.agent")


def spec_of(instance: InstanceDict, flavor: FlavorDict | None = None) -> InstanceSpec:
    fl = flavor or instance["flavor"]
    return InstanceSpec(
        uuid=instance["uuid"], name=instance["display_name"], vcpus=int(fl["vcpus"]),
        memory_mb=int(fl["memory_mb"]), root_gb=int(fl["root_gb"]), ephemeral_gb=int(fl.get("ephemeral_gb") or 0),
        swap_mb=int(fl.get("swap") or 0), image_ref=instance.get("image_ref") or "",
        user_data=instance.get("user_data"), key_data=instance.get("key_data"),
        metadata={str(k): str(v) for k, v in (instance.get("metadata") or {}).items()},
    )


class HostContext:
    """One host's agent as its parts see it. ``peers`` reaches the agents of other hosts."""

    def __init__(self, config: Config, host: str, driver: ComputeDriver, conductor: ConductorAPI,
                 peers: AgentAPI, images: ImageCache, network: NetworkSeam | None = None,
                 volumes: VolumeClient | None = None) -> None:
        self.config = config
        self.host = host
        self.driver = driver
        self.conductor = conductor
        self.peers = peers
        self.images = images
        self.network = network or NoNetwork()
        self.volumes = volumes  # the block-storage service's API; None when the cloud runs none
        self.volume_events = VifEvents()  # volume-reimaged, awaited by a volume-backed rebuild
        self.inflight: dict[str, asyncio.Task[Any]] = {}

    @property
    def work_dir(self) -> Path:
        return self.config.data_dir / "compute" / self.host

    @contextlib.asynccontextmanager
    async def busy(self, uuid: str) -> AsyncIterator[None]:
        """Mark ``uuid`` as being worked on by this task (the reconcile loop skips it)."""
        task = asyncio.current_task()
        assert task is not None
        self.inflight[uuid] = task
        try:
            yield
        finally:
            if self.inflight.get(uuid) is task:
                del self.inflight[uuid]

    async def event(self, instance: InstanceDict, request_id: str | None, name: str, phase: str,
                    result: str = "Success", message: str | None = None) -> None:
        try:
            await self.conductor.action_event(instance["uuid"], request_id, name, phase, self.host, result, message)
        except RemoteError as exc:  # bookkeeping only: the action goes on without its event row
            log.warning("%s: event %s %s of %s not recorded: %s", self.host, name, phase, instance["uuid"], exc)
