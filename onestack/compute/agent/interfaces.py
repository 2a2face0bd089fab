"""The agent's part for a server's ports: external events, interface attach and detach, and the
periodic heal of the info caches.

Events come from the external events API (the network service posts them): a
``network-vif-plugged`` wakes the spawn waiting for it (agent/network.py); ``network-changed``
and ``network-vif-deleted`` refresh the server's info cache, as Nova's compute does. Attach and
detach are calls: the API answers once the port is bound and the driver told.
"""

from __future__ import annotations

import logging
from typing import Any

from onestack.compute.agent.host import HostContext
from onestack.compute.agent.network import CACHE_KEY, PLUGGED, cached
from onestack.compute.agent.volumes import REIMAGED
from onestack.compute.network_info import requested
from onestack.compute.rpcapi import InstanceDict
from onestack.compute.virt.driver import InterfaceAttachable, NotSupported

log = logging.getLogger("onestack.compute.interfaces")

REFRESHING = ("network-changed", "network-vif-deleted")
HEAL_BATCH = 10


class PortActions:
    def __init__(self, agent: HostContext) -> None:
        self.agent = agent
        self._healed = ""  # the last server the heal refreshed: the next pass goes on after it

    async def external_instance_event(self, instance: InstanceDict, events: list[dict[str, Any]]) -> None:
        uuid = instance["uuid"]
        refresh = False
        for event in events:
            name, tag = event["name"], event.get("tag")
            if name == PLUGGED:
                if not self.agent.network.deliver(uuid, name, tag, str(event.get("status") or "completed")):
                    log.debug("%s: nobody waits for %s:%s of %s", self.agent.host, name, tag, uuid)
                refresh = True  # the port is ACTIVE now: the cache says so
            elif name in REFRESHING:
                refresh = True
            elif name == REIMAGED:  # the root volume of a volume-backed rebuild (agent/volumes.py)
                self.agent.volume_events.deliver(uuid, name, tag, str(event.get("status") or "completed"))
        # Work in flight on the server (a build, a move, an attach) writes its cache itself when
        # done; a refresh now, from the row as it was read, could store fewer ports or another order.
        if refresh and uuid not in self.agent.inflight:
            try:
                await self.agent.network.refresh(instance)
            except Exception:
                log.exception("%s: refreshing the info cache of %s failed", self.agent.host, uuid)

    async def inject_network_info(self, instance: InstanceDict, request_id: str | None = None) -> None:
        """Nova's inject_network_info: the network info read again (the cache refreshed); the
        simulated guests take no injection beyond that."""
        if instance["uuid"] in self.agent.inflight:
            return  # the work in flight writes the cache itself when done
        await self.agent.network.refresh(instance)

    async def attach_interface(self, instance: InstanceDict, network_id: str | None, port_id: str | None,
                               fixed_ip: str | None, tag: str | None = None) -> dict[str, Any]:
        driver = self.agent.driver
        if not isinstance(driver, InterfaceAttachable):
            raise NotSupported("Network driver does not support this function.")
        uuid = instance["uuid"]
        async with self.agent.busy(uuid):
            vif = await self.agent.network.attach(instance, network_id, port_id, fixed_ip, tag)
            try:
                await driver.attach_interface(uuid, vif)
            except Exception:
                # The guest did not take it: the port must not stay the server's (Nova's rollback).
                meta = dict(instance.get("system_metadata") or {})
                meta[CACHE_KEY] = [*cached(instance), vif]  # so a user's port is unbound, not deleted
                await self.agent.network.detach({**instance, "system_metadata": meta}, vif["id"])
                raise
            return vif

    async def detach_interface(self, instance: InstanceDict, port_id: str) -> None:
        uuid = instance["uuid"]
        async with self.agent.busy(uuid):
            vif = await self.agent.network.detach(instance, port_id)
            driver = self.agent.driver
            if isinstance(driver, InterfaceAttachable):
                await driver.detach_interface(uuid, vif)

    async def heal(self) -> None:
        """Nova's _heal_instance_info_cache: refresh the caches of this host's servers in turn, a
        few per pass (a pass never costs more than HEAL_BATCH servers' worth of network calls)."""
        rows = sorted(await self.agent.conductor.instances_on_host(self.agent.host), key=lambda r: str(r["uuid"]))
        idle = [r for r in rows if r["uuid"] not in self.agent.inflight and r.get("task_state") is None
                and (cached(r) or requested(r))]
        later = [r for r in idle if str(r["uuid"]) > self._healed]
        for row in (later or idle)[:HEAL_BATCH]:
            self._healed = str(row["uuid"])
            try:
                await self.agent.network.refresh(row)
            except Exception:  # one server's failure must not stop the others
                log.exception("%s: healing the info cache of %s failed", self.agent.host, row["uuid"])
