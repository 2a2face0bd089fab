"""The volume scheduler as a process runs it: consume ``volume-scheduler``, heartbeat its
``cinder-scheduler`` service row, and re-schedule lost requests (level-triggered: every pass
places whatever is still ``creating`` with no host after ``reschedule_after`` seconds).

It keeps nothing between requests, so any number may serve the topic at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.exc import IntegrityError

from onestack.core.bus import Bus, Subscription
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.hostname import server_host_name
from onestack.core.rpc import serve
from onestack.volume.rpcapi import VolumeAgentAPI, VolumeSchedulerAPI
from onestack.volume.scheduler.manager import VolumeSchedulerManager
from onestack.volume.service import heartbeats

log = logging.getLogger("onestack.volume.scheduler")


class VolumeSchedulerWorker:
    def __init__(self, config: Config, db: Database, bus: Bus, reschedule_after: float | None = None) -> None:
        self.config = config
        self.db = db
        self.bus = bus
        self.host = server_host_name(config)
        self.manager = VolumeSchedulerManager(config, db, VolumeAgentAPI(bus, timeout=config.volume.rpc_timeout))
        # A request is lost when its volume is still unplaced after two report intervals: a
        # cast is delivered in milliseconds, and placing again is safe (compare-and-set).
        self.reschedule_after = reschedule_after if reschedule_after is not None else max(
            2 * config.volume.report_interval, 2.0)
        self._serving: Subscription | None = None
        self._loop: asyncio.Task[Any] | None = None

    async def start(self) -> None:
        await self.heartbeat()
        self._serving = await serve(self.bus, VolumeSchedulerAPI, self.manager)
        self._loop = asyncio.create_task(self._beat())

    async def heartbeat(self) -> None:
        host = self.host
        zone = self.config.volume.storage_availability_zone
        try:
            await self.db.write(lambda s: heartbeats.heartbeat(s, host, heartbeats.SCHEDULER_BINARY, zone))
        except IntegrityError:  # another process registered a service at the same moment: once more
            await self.db.write(lambda s: heartbeats.heartbeat(s, host, heartbeats.SCHEDULER_BINARY, zone))

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(min(self.config.volume.report_interval, self.reschedule_after))
            try:
                await self.heartbeat()
                await self.manager.reschedule(self.reschedule_after)
            except asyncio.CancelledError:
                raise
            except Exception:  # the next pass tries again
                log.exception("volume scheduler pass failed")

    async def stop(self) -> None:
        if self._serving is not None:
            await self._serving.stop()
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.wait([self._loop])
