"""Conductor endpoints: build orchestration and the row writes agents ask for.

Builds are level-triggered too: a boot request whose rows are still ``scheduling`` after
``task_grace`` seconds with nothing in flight here (the process died, a cast was lost) is
scheduled again by the periodic pass, so a server never waits forever.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.client.placement import PlacementClient
from onestack.compute import states
from onestack.compute.models import ComputeNode, Instance, Migration, Service
from onestack.compute.rpcapi import AgentAPI, SchedulerAPI
from onestack.compute.service import instances
from onestack.core.bus import RemoteError
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.ids import utcnow

log = logging.getLogger("onestack.compute.conductor")

NO_VALID_HOST = "No valid host was found. "
MAX_RETRIES = ("Exceeded maximum number of retries. Exhausted all hosts available for retrying build "
               "failures for instance {uuid}.")


class ConductorManager:
    def __init__(self, config: Config, db: Database, placement: PlacementClient, scheduler: SchedulerAPI,
                 agents: AgentAPI) -> None:
        self.config = config
        self.db = db
        self.placement = placement
        self.scheduler = scheduler
        self.agents = agents
        self.building: set[str] = set()  # instance uuids this conductor is scheduling now
        self.tasks: set[asyncio.Task[Any]] = set()
        # Extra endpoints the action modules register (resize, migrate, ...).
        self.extra: dict[str, Any] = {}

    def endpoints(self) -> dict[str, Any]:
        return {
            "build_instances": self.build_instances, "instance_update": self.instance_update,
            "instance_fault": self.instance_fault, "action_event": self.action_event,
            "build_failed": self.build_failed, "instance_destroyed": self.instance_destroyed,
            "instances_on_host": self.instances_on_host, "service_report": self.service_report,
            "migration_update": self.migration_update, "instance_location": self.instance_location,
            **self.extra,
        }

    # --- builds ----------------------------------------------------------------------------

    async def build_instances(self, instance_uuids: list[str], request_id: str | None,
                              ignore_hosts: list[str] | None = None) -> None:
        fresh = [u for u in instance_uuids if u not in self.building]
        if not fresh:
            return
        self.building.update(fresh)
        try:
            await self._schedule_and_cast(fresh, request_id, ignore_hosts or [])
        finally:
            self.building.difference_update(fresh)

    async def _schedule_and_cast(self, uuids: list[str], request_id: str | None, ignore_hosts: list[str]) -> None:
        try:
            chosen = await self.scheduler.select_destinations({"instance_uuids": uuids, "ignore_hosts": ignore_hosts})
        except RemoteError as exc:
            reason = exc.message if exc.kind == "NoValidHost" else f"{exc.kind}: {exc.message}"
            message = reason if reason.startswith(NO_VALID_HOST) else (
                NO_VALID_HOST + reason if exc.kind == "NoValidHost" else reason)
            for uuid in uuids:
                await self._fail(uuid, message, request_id, code=500, event="conductor_schedule_and_build_instances")
            return
        for uuid, dest in zip(uuids, chosen, strict=True):
            def place(s: Session, uuid: str = uuid, dest: dict[str, Any] = dest) -> dict[str, Any] | None:
                inst = instances.by_uuid(s, uuid)
                if inst is None or inst.deleted or inst.task_state != states.SCHEDULING:
                    return None  # deleted while we scheduled: the allocation is released below
                meta = dict(inst.system_metadata or {})
                meta["rp_uuid"] = dest["rp_uuid"]
                meta["alternates"] = dest["alternates"]
                inst.system_metadata = meta
                inst.host, inst.node, inst.task_state = dest["host"], dest["node"], states.SPAWNING
                if not inst.availability_zone:
                    inst.availability_zone = dest["availability_zone"]
                inst.updated_at = utcnow()
                s.flush()
                return instances.to_dict(inst)

            placed = await self.db.write(place)
            if placed is None:
                await self.placement.release(uuid)
                continue
            await self.agents.cast(dest["host"], "build_and_run_instance", instance=placed, request_id=request_id)

    async def _fail(self, uuid: str, message: str, request_id: str | None, *, code: int = 500,
                    details: str = "", event: str | None = None, host: str | None = None) -> None:
        """ERROR with a fault; the claim is released, so only the instance count stays in quota."""
        def write(s: Session) -> bool:
            inst = s.scalar(select(Instance).where(Instance.uuid == uuid, Instance.deleted.is_(False)))
            if inst is None:
                return False
            inst.vm_state, inst.task_state, inst.host, inst.node = states.ERROR, None, None, None
            inst.updated_at = utcnow()
            instances.add_fault(s, uuid, code, message, details, host)
            if event:
                instances.event_finish(s, uuid, request_id, event, "Error", details or message, message)
            return True

        await self.db.write(write)
        await self.placement.release(uuid)

    async def build_failed(self, uuid: str, host: str, reason: str, request_id: str | None,
                           reschedule: bool = True) -> None:
        """The agent on ``host`` could not build it: try an untried host, else ERROR."""
        await self.placement.release(uuid)

        def prepare(s: Session) -> list[str] | None:
            inst = s.scalar(select(Instance).where(Instance.uuid == uuid, Instance.deleted.is_(False)))
            if inst is None:
                return None
            meta = dict(inst.system_metadata or {})
            tried = list(dict.fromkeys([*meta.get("attempted_hosts", []), host]))
            meta["attempted_hosts"] = tried
            inst.system_metadata = meta
            inst.host, inst.node, inst.task_state, inst.updated_at = None, None, states.SCHEDULING, utcnow()
            return tried

        tried = await self.db.write(prepare)
        if tried is None:
            return
        if reschedule and len(tried) < self.config.scheduler.max_attempts:
            log.info("rescheduling %s after failure on %s: %s", uuid, host, reason)
            await self.build_instances([uuid], request_id, ignore_hosts=tried)
            return
        message = MAX_RETRIES.format(uuid=uuid) if reschedule else reason
        # The agent recorded its failed build event; the fault carries the reason.
        await self._fail(uuid, message, request_id, details=reason, host=host)

    async def periodic(self) -> None:
        """Re-drive builds and unshelves nobody is working on (lost casts, a restart mid-schedule)."""
        grace = timedelta(seconds=self.config.compute.task_grace)

        def stuck(s: Session) -> list[tuple[str, list[str]]]:
            rows = s.scalars(select(Instance).where(
                Instance.deleted.is_(False), Instance.vm_state == states.BUILDING,
                Instance.task_state == states.SCHEDULING, Instance.host.is_(None),
                Instance.updated_at < utcnow() - grace))
            return [(r.uuid, list((r.system_metadata or {}).get("attempted_hosts", []))) for r in rows]

        for uuid, tried in await self.db.read(stuck):
            if uuid not in self.building:
                log.warning("re-driving the build of %s (no progress for %ss)", uuid, grace.seconds)
                await self.build_instances([uuid], None, ignore_hosts=tried)

        def unshelving(s: Session) -> list[str]:
            return list(s.scalars(select(Instance.uuid).where(
                Instance.deleted.is_(False), Instance.vm_state == states.SHELVED_OFFLOADED,
                Instance.task_state == states.UNSHELVING, Instance.updated_at < utcnow() - grace)))

        redo = self.extra.get("unshelve_instance")
        if redo is not None:
            for uuid in await self.db.read(unshelving):
                log.warning("re-driving the unshelve of %s (no progress for %ss)", uuid, grace.seconds)
                await redo(uuid=uuid)

    # --- what agents report ----------------------------------------------------------------

    async def instance_update(self, uuid: str, values: dict[str, Any],
                              expected_task_state: list[str | None] | None = None,
                              expected_vm_state: list[str] | None = None,
                              event: dict[str, Any] | None = None) -> dict[str, Any]:
        def write(s: Session) -> dict[str, Any]:
            inst = instances.apply_update(s, uuid, values, expected_task_state, expected_vm_state)
            if event is not None:
                instances.event_finish(s, uuid, event.get("request_id"), event["name"],
                                       event.get("result", "Success"), None, event.get("message"),
                                       started=instances.from_iso(event.get("started")), host=event.get("host"))
            return instances.to_dict(inst)

        return await self.db.write(write)

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

    async def instance_destroyed(self, uuid: str, host: str) -> None:
        """The agent removed the guest: the row goes (soft-deleted) and so does its claim."""
        await self.db.write(lambda s: instances.mark_deleted(s, uuid))
        # The row is gone, so nothing retries these: each runs on its own and a failure is logged.
        try:
            await self.placement.release(uuid)
        except Exception:
            log.exception("releasing the allocation of deleted instance %s failed", uuid)
        unfinished = self.extra.get("moves_of_deleted")  # deleted mid-move: the migration's claim goes too
        if unfinished is not None:
            try:
                await unfinished(uuid=uuid)
            except Exception:
                log.exception("settling the unfinished moves of deleted instance %s failed", uuid)

    async def instances_on_host(self, host: str) -> list[dict[str, Any]]:
        """Live rows on ``host`` plus rows deleted in the last hour (so the agent reaps their guests)."""
        def read(s: Session) -> list[dict[str, Any]]:
            return [instances.to_dict(i) for i in instances.on_host(s, host)]

        return await self.db.read(read)

    async def instance_location(self, uuid: str) -> dict[str, Any] | None:
        """Where a live row says the server is (None when deleted or unknown): for orphan checks."""
        def read(s: Session) -> dict[str, Any] | None:
            inst = s.scalar(select(Instance).where(Instance.uuid == uuid, Instance.deleted.is_(False)))
            return None if inst is None else {"host": inst.host, "task_state": inst.task_state}

        return await self.db.read(read)

    async def service_report(self, host: str, binary: str, node: dict[str, Any] | None) -> dict[str, Any]:
        """Heartbeat: register or refresh the service (and its compute node); returns its flags."""
        def write(s: Session) -> dict[str, Any]:
            now = utcnow()
            svc = s.scalar(select(Service).where(Service.host == host, Service.binary == binary))
            if svc is None:
                from onestack.compute.service.builds import new_uuid

                topic = binary.removeprefix("nova-")  # compute, conductor, scheduler (Nova's topics)
                svc = Service(uuid=new_uuid(), host=host, binary=binary, topic=topic, created_at=now)
                s.add(svc)
            svc.last_seen_up, svc.updated_at = now, now
            svc.report_count = (svc.report_count or 0) + 1
            if node is not None:
                row = s.scalar(select(ComputeNode).where(ComputeNode.uuid == node["uuid"]))
                if row is None:
                    row = ComputeNode(uuid=node["uuid"], host=host, hypervisor_hostname=node["hypervisor_hostname"],
                                      started_at=now)
                    s.add(row)
                for key, value in node.items():
                    if key not in ("uuid", "started"):
                        setattr(row, key, value)
                if node.get("started"):
                    row.started_at = now
                row.updated_at = now
            s.flush()
            return {"disabled": svc.disabled, "forced_down": svc.forced_down}

        return await self.db.write(write)

    async def migration_update(self, migration_uuid: str, values: dict[str, Any]) -> None:
        def write(s: Session) -> None:
            row = s.scalar(select(Migration).where(Migration.uuid == migration_uuid))
            if row is not None:
                for key, value in values.items():
                    setattr(row, key, value)
                row.updated_at = utcnow()

        await self.db.write(write)
