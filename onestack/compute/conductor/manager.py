"""The conductor: build orchestration and the row writes agents ask for.

It is composed here, in its constructor, of its parts on one ``ConductorContext``: builds (this
module), moves (``conductor/actions.py``) and shelving (``conductor/shelve.py``); ``serve``
serves ``ConductorAPI`` with all of them.

Several conductors may run at once against one database, and a cast may arrive twice, so
nothing here relies on this process's memory for correctness: a boot request is scheduled by
whichever conductor takes its lease (``conductor/leases.py``). Builds are level-triggered too:
rows still ``scheduling`` after ``task_grace`` seconds with nobody's live lease on them (a lost
cast, a conductor that died) are taken over by a periodic pass, so a server never waits forever.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from onestack.client.placement import PlacementClient
from onestack.compute import states
from onestack.compute.conductor import leases
from onestack.compute.conductor.actions import MoveConductor
from onestack.compute.conductor.audit import AllocationAudit
from onestack.compute.conductor.context import ConductorContext
from onestack.compute.conductor.shelve import ShelveEndpoints
from onestack.compute.conductor.volume_audit import VolumeAttachAudit
from onestack.compute.models import Instance, Migration
from onestack.compute.rpcapi import (
    AgentAPI,
    ConductorAPI,
    Destination,
    InstanceDict,
    Location,
    NodeDict,
    SchedulerAPI,
    ServiceFlags,
)
from onestack.compute.scheduler.select import NoValidHost
from onestack.compute.service import block_devices, instances, services
from onestack.compute.volume_cleanup import release_volumes
from onestack.core.bus import Bus, RemoteError, Subscription
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.ids import utcnow
from onestack.core.rpc import serve

log = logging.getLogger("onestack.compute.conductor")

MAX_RETRIES = ("Exceeded maximum number of retries. Exhausted all hosts available for retrying build "
               "failures for instance {uuid}.")


class ConductorManager(ConductorContext):
    def __init__(self, config: Config, db: Database, placement: PlacementClient, scheduler: SchedulerAPI,
                 agents: AgentAPI) -> None:
        super().__init__(config, db, placement, scheduler, agents)
        self.moves = MoveConductor(self)
        self.shelve = ShelveEndpoints(self)
        self.audit = AllocationAudit(self)
        self.volume_audit = VolumeAttachAudit(self)

    async def serve(self, bus: Bus) -> Subscription:
        """Consume the ``conductor`` topic (shared with any other conductor serving it)."""
        return await serve(bus, ConductorAPI, self, self.moves, self.shelve)

    # --- builds ----------------------------------------------------------------------------

    async def build_instances(self, instance_uuids: list[str], request_id: str | None) -> None:
        token = leases.new_token()
        taken = await self.db.write(functools.partial(
            leases.take, uuids=instance_uuids, token=token, vm_state=states.BUILDING, task_state=states.SCHEDULING,
            now=utcnow(), lapse=self.lease_time))
        uuids = [u for u in instance_uuids if u in taken]  # the request's order (launch index)
        if len(uuids) < len(instance_uuids):
            log.info("build of %s: %d already taken (a repeated message, or another conductor)",
                     instance_uuids, len(instance_uuids) - len(uuids))
        if uuids:
            await self._schedule_and_cast(uuids, request_id, [], token)

    async def _schedule_and_cast(self, uuids: list[str], request_id: str | None, ignore_hosts: list[str],
                                 token: str) -> None:
        """Schedule rows this attempt holds the lease of, place each and cast it to its host."""
        try:
            # This attempt holds the rows' lease, so any claim they already hold is an earlier
            # attempt's (one cut short by a crash): the new claim replaces it in the same write.
            chosen = await self.scheduler.select_destinations({"instance_uuids": uuids, "ignore_hosts": ignore_hosts,
                                                               "replace_claim": True})
        except (NoValidHost, RemoteError) as exc:  # NoValidHost's message is Nova's whole fault text
            for uuid in uuids:
                await self._fail(uuid, str(exc), request_id, token, code=500,
                                 event="conductor_schedule_and_build_instances")
            return
        for uuid, dest in zip(uuids, chosen, strict=True):
            placed, gone = await self.db.write(lambda s, uuid=uuid, dest=dest: self._place(s, uuid, dest, token))
            if placed is not None:
                await self.agents.build_and_run_instance(dest["host"], instance=placed, request_id=request_id)
            elif gone:  # deleted while we scheduled: nobody else will release our claim
                await self.placement.release(uuid)
            # Otherwise another conductor took the row over: the claim is its business now.

    def _place(self, s: Session, uuid: str, dest: Destination, token: str) -> tuple[InstanceDict | None, bool]:
        """(the row placed on ``dest`` with task ``spawning``, or None; whether it was deleted)."""
        inst = instances.by_uuid(s, uuid)
        if inst is None or inst.deleted:
            return None, True
        meta = {**(inst.system_metadata or {}), "rp_uuid": dest["rp_uuid"], "alternates": dest["alternates"]}
        values: dict[str, object] = {"host": dest["host"], "node": dest["node"], "task_state": states.SPAWNING,
                                     "system_metadata": meta}
        if not inst.availability_zone:
            values["availability_zone"] = dest["availability_zone"]
        if not leases.settle(s, uuid, token, states.SCHEDULING, values, utcnow(), row=inst):
            log.info("%s was taken over while it was scheduled", uuid)
            return None, False
        return instances.to_dict(inst), False

    async def _fail(self, uuid: str, message: str, request_id: str | None, token: str, *, code: int = 500,
                    details: str = "", event: str | None = None, host: str | None = None) -> None:
        """ERROR with a fault, if this attempt still holds the row; its claim is released, so only
        the instance count stays in quota."""
        def write(s: Session) -> bool:
            values = {"vm_state": states.ERROR, "task_state": None, "host": None, "node": None}
            if not leases.settle(s, uuid, token, states.SCHEDULING, values, utcnow()):
                return False
            instances.add_fault(s, uuid, code, message, details, host)
            if event:
                instances.event_finish(s, uuid, request_id, event, "Error", details or message, message)
            return True

        if await self.db.write(write):
            await self.placement.release(uuid)

    async def build_failed(self, uuid: str, host: str, reason: str, request_id: str | None,
                           reschedule: bool = True) -> None:
        """The agent on ``host`` could not build it: try an untried host, else ERROR. Only while
        the row is still spawning there (a repeated report, or a deleted server, changes nothing)."""
        token = leases.new_token()

        def prepare(s: Session) -> list[str] | None:
            inst = instances.by_uuid(s, uuid)
            if inst is None or inst.deleted:
                return None
            meta = dict(inst.system_metadata or {})
            tried = list(dict.fromkeys([*meta.get("attempted_hosts", []), host]))
            meta["attempted_hosts"] = tried
            result = s.execute(update(Instance).where(
                Instance.uuid == uuid, Instance.deleted.is_(False), Instance.host == host,
                Instance.vm_state == states.BUILDING, Instance.task_state == states.SPAWNING).values(
                host=None, node=None, task_state=states.SCHEDULING, task_lease=token, system_metadata=meta,
                updated_at=utcnow()).execution_options(synchronize_session=False))
            return tried if result.rowcount == 1 else None  # type: ignore[attr-defined]

        tried = await self.db.write(prepare)
        if tried is None:
            return
        await self.placement.release(uuid)
        if reschedule and len(tried) < self.config.scheduler.max_attempts:
            log.info("rescheduling %s after failure on %s: %s", uuid, host, reason)
            await self._schedule_and_cast([uuid], request_id, tried, token)
            return
        message = MAX_RETRIES.format(uuid=uuid) if reschedule else reason
        # The agent recorded its failed build event; the fault carries the reason.
        await self._fail(uuid, message, request_id, token, details=reason, host=host)

    async def periodic(self) -> None:
        """Re-drive builds and unshelves nobody is working on (lost casts, a conductor that died),
        then audit placement's allocations against the rows (``conductor/audit.py``)."""
        grace = self.task_grace

        def stuck(s: Session) -> list[tuple[str, list[str]]]:
            rows = s.scalars(select(Instance).where(
                Instance.deleted.is_(False), Instance.vm_state == states.BUILDING,
                Instance.task_state == states.SCHEDULING, Instance.host.is_(None),
                Instance.updated_at < utcnow() - grace))
            return [(r.uuid, list((r.system_metadata or {}).get("attempted_hosts", []))) for r in rows]

        for uuid, tried in await self.db.read(stuck):
            token = leases.new_token()
            if not await self.db.write(functools.partial(
                    leases.take, uuids=[uuid], token=token, vm_state=states.BUILDING, task_state=states.SCHEDULING,
                    now=utcnow(), lapse=self.lease_time, idle=grace)):
                continue  # another conductor's pass, or a live attempt, has it
            log.warning("re-driving the build of %s (no progress for %ss)", uuid, grace.seconds)
            await self._schedule_and_cast([uuid], None, tried, token)  # replaces what a stalled attempt claimed
        await self.shelve.redrive_unshelves()
        await self.audit.run()
        await self.volume_audit.run()

    # --- what agents report ----------------------------------------------------------------

    async def instance_fault(self, uuid: str, code: int, message: str, details: str = "",
                             host: str | None = None) -> None:
        await self.db.write(lambda s: instances.add_fault(s, uuid, code, message, details, host))

    async def action_event(self, uuid: str, request_id: str | None, event: str, phase: str,
                           host: str | None = None, result: str = "Success", message: str | None = None) -> None:
        if phase == "start":
            await self.db.write(lambda s: instances.event_start(s, uuid, request_id, event, host))
        else:
            await self.db.write(lambda s: instances.event_finish(s, uuid, request_id, event, result, None, message,
                                                                 host=host))

    async def block_device_mappings(self, uuid: str) -> list[dict[str, Any]]:
        return await self.db.read(lambda s: block_devices.of_server(s, uuid))

    async def block_device_update(self, bdm_uuid: str, values: dict[str, Any]) -> None:
        allowed = {"volume_id", "attachment_id", "connection_info", "volume_size"}
        await self.db.write(lambda s: block_devices.update(s, bdm_uuid, {k: v for k, v in values.items()
                                                                         if k in allowed}))

    async def instance_destroyed(self, uuid: str, host: str) -> None:
        """The agent removed the guest: the row goes (soft-deleted) and so does its claim; its
        volumes are detached (and deleted when marked delete_on_termination)."""

        def forget(s: Session) -> list[dict[str, Any]]:
            instances.mark_deleted(s, uuid)
            return block_devices.remove_all(s, uuid)

        bdms = await self.db.write(forget)
        if bdms and self.volume is not None:
            await release_volumes(self.volume, uuid, bdms)
        # Each runs on its own and a failure is logged: the deleted row is the durable intent,
        # and the allocation audit (conductor/audit.py) releases whatever a failure or crash left.
        try:
            await self.placement.release(uuid)
        except Exception:
            log.exception("releasing the allocation of deleted instance %s failed", uuid)
        try:
            await self.moves.moves_of_deleted(uuid)  # deleted mid-move: the migration's claim goes too
        except Exception:
            log.exception("settling the unfinished moves of deleted instance %s failed", uuid)

    async def instances_on_host(self, host: str) -> list[InstanceDict]:
        """Live rows on ``host`` plus rows deleted in the last hour (so the agent reaps their guests)."""
        def read(s: Session) -> list[InstanceDict]:
            return [instances.to_dict(i) for i in instances.on_host(s, host)]

        return await self.db.read(read)

    async def instance_location(self, uuid: str) -> Location | None:
        """Where a live row says the server is (None when deleted or unknown): for orphan checks."""
        def read(s: Session) -> Location | None:
            inst = s.scalar(select(Instance).where(Instance.uuid == uuid, Instance.deleted.is_(False)))
            return None if inst is None else {"host": inst.host, "task_state": inst.task_state}

        return await self.db.read(read)

    async def service_report(self, host: str, binary: str, node: NodeDict | None) -> ServiceFlags:
        """Heartbeat: register or refresh the service (and its compute node); returns its flags."""
        return await self.db.write(lambda s: services.heartbeat(s, host, binary, node))

    async def migration_update(self, migration_uuid: str, values: dict[str, Any]) -> None:
        def write(s: Session) -> None:
            row = s.scalar(select(Migration).where(Migration.uuid == migration_uuid))
            if row is not None:
                for key, value in values.items():
                    setattr(row, key, value)
                row.updated_at = utcnow()

        await self.db.write(write)
