"""The compute control plane inside one process: bus, conductor, scheduler and N agents.

``onestack up`` starts it in the web app's lifespan. Every piece talks over the bus and the
other services' REST APIs (through an in-process transport here), so the same pieces run
apart over AMQP and real URLs. The composition root may hand in clients that answer the hot
calls in-process (placement's ``LocalPlacement``, image's ``LocalImages``): same interface,
no HTTP on the boot path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import httpx

from onestack.client.image import ImageClient
from onestack.client.placement import PlacementClient
from onestack.client.session import ServiceSession
from onestack.compute.agent.images import ImageCache
from onestack.compute.agent.manager import ComputeAgent
from onestack.compute.conductor.manager import ConductorManager
from onestack.compute.rpcapi import AgentAPI, ConductorAPI, SchedulerAPI
from onestack.compute.scheduler.manager import SchedulerManager
from onestack.compute.state import ComputeService
from onestack.compute.virt.registry import build_drivers
from onestack.core.bus import Bus, MemoryTransport
from onestack.core.config import Config
from onestack.core.rpc import serve

log = logging.getLogger("onestack.compute")
CONTROL_HOST = "onestack"  # where the conductor and scheduler are listed in os-services


def host_names(config: Config) -> list[str]:
    return [f"compute-{i}" for i in range(1, max(0, config.compute.hosts) + 1)]


class ComputeRuntime:
    def __init__(self, config: Config, compute: ComputeService, app: Any, service_password: str, *,
                 placement: Callable[[ServiceSession], PlacementClient] = PlacementClient,
                 images: Callable[[ServiceSession], ImageClient] = ImageClient) -> None:
        self.config = config
        self.compute = compute
        transport = httpx.ASGITransport(app=app)
        self.session = ServiceSession(f"{config.base_url}/identity", config.auth.service_username, service_password,
                                      mounts={config.base_url: transport})
        self.placement = placement(self.session)
        self.images = images(self.session)
        self.bus = Bus(MemoryTransport(), default_timeout=config.compute.rpc_timeout)
        self.conductor_api = ConductorAPI(self.bus)
        self.agent_api = AgentAPI(self.bus, timeout=config.compute.rpc_timeout)
        self.scheduler = SchedulerManager(config, compute.db, self.placement)
        self.conductor = ConductorManager(config, compute.db, self.placement, SchedulerAPI(self.bus), self.agent_api)
        self.drivers = build_drivers(config, host_names(config))
        self.agents = [
            ComputeAgent(config, host, driver, self.bus, self.conductor_api, self.placement,
                         ImageCache(config.data_dir / "compute" / host / "images", self.images))
            for host, driver in self.drivers.items()]
        self._periodic: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        await serve(self.bus, SchedulerAPI, self.scheduler)
        await self.conductor.serve(self.bus)
        self.compute.images, self.compute.placement = self.images, self.placement
        self.compute.conductor, self.compute.agents = self.conductor_api, self.agent_api
        await asyncio.gather(*(agent.start() for agent in self.agents))
        self._periodic = asyncio.create_task(self._conductor_loop())

    async def _heartbeat(self) -> None:
        """The conductor's and scheduler's own service rows (host ``onestack``), as agents keep theirs."""
        for binary in ("nova-conductor", "nova-scheduler"):
            await self.conductor.service_report(CONTROL_HOST, binary, None)

    async def _conductor_loop(self) -> None:
        interval = min(self.config.compute.reconcile_interval, self.config.compute.report_interval)
        next_beat = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                if loop.time() >= next_beat:
                    await self._heartbeat()
                    next_beat = loop.time() + self.config.compute.report_interval
                await self.conductor.periodic()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("conductor periodic pass failed")
            await asyncio.sleep(interval)

    async def stop(self) -> None:
        if self._periodic is not None:
            self._periodic.cancel()
            await asyncio.wait([self._periodic])  # it ends cancelled; our own cancellation still propagates
        await asyncio.gather(*(agent.stop() for agent in self.agents), return_exceptions=True)
        await self.bus.close()
        await self.session.close()
