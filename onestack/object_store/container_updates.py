"""Where an object server sends the container update of each object it wrote or deleted.

In ``onestack up`` the agent calls the container service directly (``ContainerService`` in
``service/containers.py``, answered in the same process); a remote agent goes through the bus
(``ObjectServerAPI.update_container``). Failures are kept as async pendings on the device and
retried by the updater (``obj/updater.py``), as Swift's object-updater does.
"""

from __future__ import annotations

from typing import Protocol

from onestack.object_store.rpcapi import ContainerUpdate, ObjectServerAPI


class ContainerUpdater(Protocol):
    async def update_container(self, update: ContainerUpdate) -> None:
        """Record it (idempotent: an update older than the listing row is ignored); raises on failure."""


class BusContainerUpdater:
    def __init__(self, api: ObjectServerAPI) -> None:
        self.api = api

    async def update_container(self, update: ContainerUpdate) -> None:
        await self.api.update_container(update)
