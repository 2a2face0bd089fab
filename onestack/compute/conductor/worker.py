"""The conductor as a process runs it: consume ``conductor``, heartbeat, re-drive lost work.

``onestack serve conductor`` (and ``onestack up``) run one of these; several may run at once
against one database and bus (the topic's messages are shared between them, and the manager's
leases keep each build with one of them).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from onestack.client.placement import PlacementClient
from onestack.client.volume import VolumeClient
from onestack.compute.conductor.manager import ConductorManager
from onestack.compute.rpcapi import AgentAPI, SchedulerAPI
from onestack.compute.service import services
from onestack.core.bus import Bus, Subscription
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.hostname import server_host_name

log = logging.getLogger("onestack.compute.conductor")


class ConductorWorker:
    def __init__(self, config: Config, db: Database, bus: Bus, placement: PlacementClient,
                 volume: VolumeClient | None = None) -> None:
        self.config = config
        self.bus = bus
        self.manager = ConductorManager(config, db, placement, SchedulerAPI(bus),
                                        AgentAPI(bus, timeout=config.compute.rpc_timeout))
        self.manager.volume = volume
        self.host = server_host_name(config)
        self._serving: Subscription | None = None
        self._loop: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        await self.heartbeat()
        self._serving = await self.manager.serve(self.bus)
        self._loop = asyncio.create_task(self._periodic())

    async def heartbeat(self) -> None:
        await self.manager.service_report(self.host, services.CONDUCTOR, None)

    async def _periodic(self) -> None:
        compute = self.config.compute
        interval = min(compute.reconcile_interval, compute.report_interval)
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + compute.report_interval
        while True:
            await asyncio.sleep(interval)
            try:
                if loop.time() >= next_beat:
                    await self.heartbeat()
                    next_beat = loop.time() + compute.report_interval
                await self.manager.periodic()
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad pass must not stop the loop
                log.exception("conductor periodic pass failed")

    async def stop(self) -> None:
        if self._serving is not None:
            await self._serving.stop()
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.wait([self._loop])  # it ends cancelled; our own cancellation still propagates
