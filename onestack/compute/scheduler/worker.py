"""The scheduler as a process runs it: consume ``scheduler`` and heartbeat its service row.

It keeps nothing between requests, so any number may serve the topic at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from onestack.client.placement import PlacementClient
from onestack.compute.rpcapi import SchedulerAPI
from onestack.compute.scheduler.manager import SchedulerManager
from onestack.compute.service import services
from onestack.core.bus import Bus, Subscription
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.hostname import server_host_name
from onestack.core.rpc import serve

log = logging.getLogger("onestack.compute.scheduler")


class SchedulerWorker:
    def __init__(self, config: Config, db: Database, bus: Bus, placement: PlacementClient) -> None:
        self.config = config
        self.db = db
        self.bus = bus
        self.manager = SchedulerManager(config, db, placement)
        self.host = server_host_name(config)
        self._serving: Subscription | None = None
        self._loop: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        await self.heartbeat()
        self._serving = await serve(self.bus, SchedulerAPI, self.manager)
        self._loop = asyncio.create_task(self._beat())

    async def heartbeat(self) -> None:
        host = self.host
        await self.db.write(lambda s: services.heartbeat(s, host, services.SCHEDULER, None))

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.config.compute.report_interval)
            try:
                await self.heartbeat()
            except asyncio.CancelledError:
                raise
            except Exception:  # the next beat tries again
                log.exception("scheduler heartbeat failed")

    async def stop(self) -> None:
        if self._serving is not None:
            await self._serving.stop()
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.wait([self._loop])
