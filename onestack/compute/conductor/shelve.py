"""Conductor endpoints for shelving: offload bookkeeping and unshelve through the scheduler.

Shelving keeps a snapshot of the server in the image service; offloading removes the guest
from its host, gives its resources back to placement and clears the host. Unshelving an
offloaded server is a small build: the scheduler picks and claims a host (the same
``select_destinations`` a boot uses), then that host's agent spawns the server from the
snapshot. A server shelved but still on its host is simply powered on again there.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.compute import states
from onestack.compute.models import Instance
from onestack.compute.service import instances
from onestack.core.bus import RemoteError
from onestack.core.ids import utcnow

if TYPE_CHECKING:
    from onestack.compute.conductor.manager import ConductorManager

log = logging.getLogger("onestack.compute.shelve")

SCHEDULE_EVENT = "schedule_instances"
# Where the last placement put the server; meaningless once it has no host.
PLACEMENT_KEYS = ("rp_uuid", "alternates")


def _live(s: Session, uuid: str) -> Instance | None:
    return s.scalar(select(Instance).where(Instance.uuid == uuid, Instance.deleted.is_(False)))


def merge_meta(inst: Instance, meta_set: dict[str, Any], meta_drop: list[str] | tuple[str, ...]) -> None:
    """Change some system_metadata keys without clobbering the others."""
    meta = dict(inst.system_metadata or {})
    for key in meta_drop:
        meta.pop(key, None)
    meta.update(meta_set)
    inst.system_metadata = meta


def _give_up(s: Session, uuid: str, request_id: str | None, reason: str) -> None:
    """No host for the unshelve: the server stays offloaded (Nova records no fault)."""
    inst = _live(s, uuid)
    if inst is not None and inst.task_state == states.UNSHELVING:
        inst.task_state, inst.updated_at = None, utcnow()
    instances.event_finish(s, uuid, request_id, SCHEDULE_EVENT, "Error", None, reason)


class ShelveEndpoints:
    def __init__(self, conductor: ConductorManager) -> None:
        self.conductor = conductor
        self.db = conductor.db

    async def instance_meta_update(self, uuid: str, values: dict[str, Any],
                                   expected_task_state: list[str | None] | None = None,
                                   meta_set: dict[str, Any] | None = None,
                                   meta_drop: list[str] | None = None) -> dict[str, Any]:
        """``instance_update`` plus a merge into system_metadata, in one transaction."""
        def write(s: Session) -> dict[str, Any]:
            inst = instances.apply_update(s, uuid, values, expected_task_state)
            merge_meta(inst, meta_set or {}, meta_drop or [])
            s.flush()
            return instances.to_dict(inst)

        return await self.db.write(write)

    async def shelve_offloaded(self, uuid: str, host: str, power_state: int) -> None:
        """The agent on ``host`` destroyed the guest: free the claim, forget the host."""
        def write(s: Session) -> bool:
            inst = _live(s, uuid)
            if inst is None or inst.host != host:
                return False
            inst.vm_state, inst.task_state, inst.power_state = states.SHELVED_OFFLOADED, None, power_state
            inst.host, inst.node, inst.updated_at = None, None, utcnow()
            merge_meta(inst, {}, PLACEMENT_KEYS)
            return True

        if await self.db.write(write):
            await self.conductor.placement.release(uuid)

    async def unshelve_failed(self, uuid: str, host: str, reason: str) -> None:
        """The spawn on ``host`` failed: the server stays offloaded, with a fault (Nova)."""
        def write(s: Session) -> bool:
            inst = _live(s, uuid)
            if inst is None:
                return True
            mine = inst.host == host
            if mine:
                inst.host, inst.node = None, None
                merge_meta(inst, {}, PLACEMENT_KEYS)
            inst.task_state, inst.updated_at = None, utcnow()
            instances.add_fault(s, uuid, 500, reason, reason, host)
            return mine

        if await self.db.write(write):
            await self.conductor.placement.release(uuid)

    async def unshelve_instance(self, uuid: str, request_id: str | None = None, host: str | None = None) -> None:
        def read(s: Session) -> dict[str, Any] | None:
            inst = _live(s, uuid)
            return None if inst is None else instances.to_dict(inst)

        row = await self.db.read(read)
        if row is None or row["task_state"] != states.UNSHELVING:
            return
        if row["vm_state"] == states.SHELVED and row.get("host"):
            # Still on its host: power it on there (the agent drops the snapshot).
            updated = await self.conductor.instance_update(uuid, {"task_state": states.POWERING_ON},
                                                           expected_task_state=[states.UNSHELVING])
            await self.conductor.agents.cast(row["host"], "start_instance", instance=updated, request_id=request_id)
            return
        if row["vm_state"] != states.SHELVED_OFFLOADED:
            await self.conductor.instance_update(uuid, {"task_state": None}, expected_task_state=[states.UNSHELVING])
            return
        await self._schedule(row, request_id, host)

    async def _schedule(self, row: dict[str, Any], request_id: str | None, host: str | None) -> None:
        uuid = row["uuid"]
        if row.get("host"):  # a lost unshelve left a claim behind: the new one replaces it
            await self.conductor.placement.release(uuid)
        await self.db.write(lambda s: instances.event_start(s, uuid, request_id, SCHEDULE_EVENT, None))
        # A host the boot request forced does not bind the server forever (Nova resets it).
        spec = {"instance_uuids": [uuid], "ignore_hosts": [], "force_hosts": [host] if host else []}
        try:
            dest = (await self.conductor.scheduler.select_destinations(spec))[0]
        except RemoteError as exc:
            reason = exc.message
            log.info("unshelve of %s: %s", uuid, reason)
            await self.db.write(lambda s: _give_up(s, uuid, request_id, reason))
            return

        def place(s: Session) -> dict[str, Any] | None:
            inst = _live(s, uuid)
            if inst is None or inst.task_state != states.UNSHELVING:
                return None
            inst.host, inst.node = dest["host"], dest["node"]
            inst.availability_zone = dest["availability_zone"]
            merge_meta(inst, {"rp_uuid": dest["rp_uuid"], "alternates": dest["alternates"]}, ())
            inst.updated_at = utcnow()
            instances.event_finish(s, uuid, request_id, SCHEDULE_EVENT, "Success")
            s.flush()
            return instances.to_dict(inst)

        placed = await self.db.write(place)
        if placed is None:  # deleted (or taken over) while we scheduled
            await self.conductor.placement.release(uuid)
            return
        meta = placed.get("system_metadata") or {}
        image_id = meta.get("shelved_image_id") or placed.get("image_ref") or None
        await self.conductor.agents.cast(dest["host"], "unshelve_instance", instance=placed, image_id=image_id,
                                         request_id=request_id)


def register(conductor: ConductorManager) -> None:
    """Add this module's endpoints to ``conductor.extra``."""
    ends = ShelveEndpoints(conductor)
    conductor.extra.update({
        "instance_meta_update": ends.instance_meta_update, "shelve_offloaded": ends.shelve_offloaded,
        "unshelve_failed": ends.unshelve_failed, "unshelve_instance": ends.unshelve_instance,
    })
