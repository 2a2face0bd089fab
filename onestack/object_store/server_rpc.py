"""The server's side of the object agents' bus: ``ObjectServerAPI`` answered with the database.

Runs in every process that runs the proxy. Agents report their devices (and get the ring back)
and send the container updates of the objects they wrote."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from onestack.core.bus import Bus, Subscription
from onestack.core.db import Database
from onestack.core.rpc import serve
from onestack.object_store.ring import store
from onestack.object_store.ring.refresh import adopt
from onestack.object_store.rpcapi import ContainerUpdate, DeviceReport, ObjectServerAPI
from onestack.object_store.state import ObjectStoreState

log = logging.getLogger("onestack.object_store.server_rpc")


class ObjectServerEndpoint:
    def __init__(self, db: Database, bus: Bus, state: ObjectStoreState) -> None:
        self.db = db
        self.bus = bus
        self.state = state
        self._sub: Subscription | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._sub = await serve(self.bus, ObjectServerAPI, self)

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.stop()
            self._sub = None

    async def update_container(self, update: ContainerUpdate) -> None:
        await self.state.containers.update_container(update)

    async def get_ring(self) -> dict[str, Any]:
        return self.state.ring.to_dict()

    async def report_devices(self, host: str, devices: list[DeviceReport]) -> dict[str, Any]:
        config = self.state.config
        held = self.state.ring.version
        refresh = store.heartbeat_refresh(config.report_interval)

        def record(session: Any) -> dict[str, Any] | None:
            changed = False
            for d in devices:
                changed = store.add_device(session, host, d["device"], zone=d["zone"], region=d["region"],
                                           ip=d["ip"], port=d["port"], weight=d["weight"],
                                           refresh_after=refresh) or changed
            if changed or store.latest_version(session) == 0:
                return store.rebuild(session, config.replicas, config.part_power, config.hash_path_suffix).to_dict()
            # A heartbeat of known devices: the ring held here, unless another proxy made a newer one.
            newer = store.load_newer_ring(session, held)
            return newer.to_dict() if newer is not None else None

        async with self._lock:
            body = await self.db.write(record)
        adopt(self.state.rings, body)
        return self.state.ring.to_dict()
