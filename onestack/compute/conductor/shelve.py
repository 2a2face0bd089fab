"""Conductor endpoints for shelving: offload bookkeeping and unshelve through the scheduler.

Shelving keeps a snapshot of the server in the image service; offloading removes the guest
from its host, gives its resources back to placement and clears the host. Unshelving an
offloaded server is a small build: the scheduler picks and claims a host (the same
``select_destinations`` a boot uses), then that host's agent spawns the server from the
snapshot. A server shelved but still on its host is simply powered on again there.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.compute import states
from onestack.compute.conductor import leases
from onestack.compute.conductor.context import ConductorContext
from onestack.compute.models import Instance
from onestack.compute.rpcapi import InstanceDict, ScheduleRequest
from onestack.compute.scheduler.select import NoValidHost
from onestack.compute.service import instances
from onestack.core.bus import RemoteError, error_message
from onestack.core.ids import utcnow

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


def _give_up(s: Session, uuid: str, request_id: str | None, reason: str, token: str) -> None:
    """No host for the unshelve: the server stays offloaded (Nova records no fault)."""
    leases.settle(s, uuid, token, states.UNSHELVING, {"task_state": None}, utcnow())
    instances.event_finish(s, uuid, request_id, SCHEDULE_EVENT, "Error", None, reason)


class ShelveEndpoints:
    """The conductor's part for shelving."""

    def __init__(self, conductor: ConductorContext) -> None:
        self.conductor = conductor
        self.db = conductor.db

    async def instance_meta_update(self, uuid: str, values: dict[str, Any],
                                   expected_task_state: list[str | None] | None = None,
                                   meta_set: dict[str, Any] | None = None,
                                   meta_drop: list[str] | None = None) -> InstanceDict:
        """``instance_update`` plus a merge into system_metadata, in one transaction."""
        def write(s: Session) -> InstanceDict:
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
        """The spawn on ``host`` failed: the server stays offloaded, with a fault (Nova). A report
        from a host the row is no longer placed on (a late copy of a re-driven unshelve) changes
        nothing: the current host's attempt goes on."""
        def write(s: Session) -> bool:
            inst = _live(s, uuid)
            if inst is None:
                return True
            if inst.host != host:
                return False
            inst.host, inst.node = None, None
            merge_meta(inst, {}, PLACEMENT_KEYS)
            inst.task_state, inst.updated_at = None, utcnow()
            instances.add_fault(s, uuid, 500, reason, reason, host)
            return True

        if await self.db.write(write):
            await self.conductor.placement.release(uuid)

    async def unshelve_instance(self, uuid: str, request_id: str | None = None, host: str | None = None) -> None:
        def read(s: Session) -> InstanceDict | None:
            inst = _live(s, uuid)
            return None if inst is None else instances.to_dict(inst)

        row = await self.db.read(read)
        if row is None or row["task_state"] != states.UNSHELVING:
            return
        try:
            if row["vm_state"] == states.SHELVED and row.get("host"):
                # Still on its host: power it on there (the agent drops the snapshot).
                updated = await self.conductor.instance_update(uuid, {"task_state": states.POWERING_ON},
                                                               expected_task_state=[states.UNSHELVING])
                await self.conductor.agents.start_instance(row["host"], instance=updated, request_id=request_id)
                return
            if row["vm_state"] != states.SHELVED_OFFLOADED:
                await self.conductor.instance_update(uuid, {"task_state": None},
                                                     expected_task_state=[states.UNSHELVING])
                return
        except (instances.UnexpectedTaskState, instances.InstanceGone):
            return  # a repeated message, or another conductor got there first
        token = leases.new_token()
        if await self.db.write(functools.partial(
                leases.take, uuids=[uuid], token=token, vm_state=states.SHELVED_OFFLOADED,
                task_state=states.UNSHELVING, now=utcnow(), lapse=self.conductor.lease_time)):
            await self._schedule(uuid, request_id, host, token)

    async def redrive_unshelves(self) -> None:
        """Unshelves nobody is working on (a lost cast, a conductor that died) are scheduled again."""
        grace = self.conductor.task_grace

        def unshelving(s: Session) -> list[str]:
            return list(s.scalars(select(Instance.uuid).where(
                Instance.deleted.is_(False), Instance.vm_state == states.SHELVED_OFFLOADED,
                Instance.task_state == states.UNSHELVING, Instance.updated_at < utcnow() - grace)))

        for uuid in await self.db.read(unshelving):
            token = leases.new_token()
            # Placed already (its cast to the agent was lost) or not: either way scheduled anew.
            if await self.db.write(functools.partial(
                    leases.take, uuids=[uuid], token=token, vm_state=states.SHELVED_OFFLOADED,
                    task_state=states.UNSHELVING, now=utcnow(), lapse=self.conductor.lease_time, idle=grace,
                    placed=True)):
                log.warning("re-driving the unshelve of %s (no progress for %ss)", uuid, grace.seconds)
                await self._schedule(uuid, None, None, token)  # replaces what a stalled attempt claimed

    async def _schedule(self, uuid: str, request_id: str | None, host: str | None, token: str) -> None:
        """Schedule an offloaded server whose lease this attempt holds, and cast it to its host."""
        await self.db.write(lambda s: instances.event_start(s, uuid, request_id, SCHEDULE_EVENT, None))
        # A host the boot request forced does not bind the server forever (Nova resets it). This
        # attempt holds the lease: a claim the server still holds is a stalled attempt's, replaced.
        spec: ScheduleRequest = {"instance_uuids": [uuid], "ignore_hosts": [], "force_hosts": [host] if host else [],
                                 "replace_claim": True}
        try:
            dest = (await self.conductor.scheduler.select_destinations(spec))[0]
        except (NoValidHost, RemoteError) as exc:
            reason = error_message(exc)
            log.info("unshelve of %s: %s", uuid, reason)
            await self.db.write(lambda s: _give_up(s, uuid, request_id, reason, token))
            return

        def place(s: Session) -> tuple[InstanceDict | None, bool]:
            inst = _live(s, uuid)
            if inst is None:
                return None, True
            meta = {**(inst.system_metadata or {}), "rp_uuid": dest["rp_uuid"], "alternates": dest["alternates"]}
            if not leases.settle(s, uuid, token, states.UNSHELVING, {
                    "host": dest["host"], "node": dest["node"], "availability_zone": dest["availability_zone"],
                    "system_metadata": meta}, utcnow()):
                return None, False
            instances.event_finish(s, uuid, request_id, SCHEDULE_EVENT, "Success")
            s.refresh(inst)
            return instances.to_dict(inst), False

        placed, gone = await self.db.write(place)
        if placed is None:
            if gone:  # deleted while we scheduled: nobody else will release this attempt's claim
                await self.conductor.placement.release(uuid)
            return  # else taken over by another conductor: the claim is its business now
        meta = placed.get("system_metadata") or {}
        image_id = meta.get("shelved_image_id") or placed.get("image_ref") or None
        await self.conductor.agents.unshelve_instance(dest["host"], instance=placed, image_id=image_id,
                                                      request_id=request_id)
