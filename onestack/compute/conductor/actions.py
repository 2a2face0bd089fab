"""Conductor endpoints for actions that span hosts: resize, cold and live migration, evacuation.

The API writes the migration row and the server's task state, then casts here. As in Nova,
the conductor parks the server's current placement allocation on the migration's uuid, asks the
scheduler for a destination (which claims the size the server will have there under the
server's own uuid) and hands the work to the source or destination agent. Agents report each
step through ``move_update`` and settle placement through ``move_allocations``: "release" drops
what the migration holds (confirm, a finished live migration or evacuation), "revert" hands it
back to the server (revert, failure), replacing the destination's claim.
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
from onestack.compute.models import ComputeNode, Instance, Migration, Service
from onestack.compute.rpcapi import (
    Destination,
    Fault,
    FlavorDict,
    InstanceDict,
    MigrateData,
    MigrationDict,
    MoveAllocationAction,
    ScheduleRequest,
)
from onestack.compute.scheduler.select import NoValidHost
from onestack.compute.scheduler.snapshot import COMPUTE_BINARY, service_is_up
from onestack.compute.service import instances
from onestack.compute.service.availability_zones import host_zone
from onestack.core.bus import BusTimeout, RemoteError, error_message
from onestack.core.ids import isotime, utcnow

log = logging.getLogger("onestack.compute.conductor")

NO_VALID_HOST = "No valid host was found. "
# Migration statuses after which nothing is left to do (Nova's "not in progress" set).
FINAL_STATUSES = ("confirmed", "reverted", "error", "failed", "completed", "done", "cancelled")
# What a conditional write of the server raises when it was deleted or changed meanwhile.
_GONE = (instances.UnexpectedTaskState, instances.InstanceGone)


class MoveFailed(Exception):
    """A move cannot go ahead; the message is what the user sees (fault, 400 before 2.34)."""


def migration_dict(row: Migration) -> MigrationDict:
    """A JSON-safe copy of a migration row, as it travels on the bus."""
    data = {c.key: getattr(row, c.key) for c in Migration.__mapper__.column_attrs}
    for key in ("created_at", "updated_at"):
        data[key] = isotime(data[key]) if data[key] is not None else None
    return data


class MoveConductor:
    """The conductor's part for moves."""

    def __init__(self, conductor: ConductorContext) -> None:
        self.c = conductor

    # --- shared steps ----------------------------------------------------------------------

    async def _take(self, migration_uuid: str) -> bool:
        """Whether this delivery of the request is the one to act on (a cast may come twice, to
        any conductor)."""
        taken = await self.c.db.write(functools.partial(
            leases.take_migration, migration_uuid=migration_uuid, token=leases.new_token()))
        if not taken:
            log.info("migration %s is already being handled: a repeated message", migration_uuid)
        return taken

    async def _load(self, uuid: str, migration_uuid: str) -> tuple[InstanceDict, MigrationDict] | None:
        def read(s: Session) -> tuple[InstanceDict, MigrationDict] | None:
            inst = s.scalar(select(Instance).where(Instance.uuid == uuid, Instance.deleted.is_(False)))
            mig = s.scalar(select(Migration).where(Migration.uuid == migration_uuid))
            if inst is None or mig is None:
                return None
            return instances.to_dict(inst), migration_dict(mig)

        return await self.c.db.read(read)

    async def _event(self, uuid: str, request_id: str | None, event: str, phase: str, result: str = "Success",
                     message: str | None = None) -> None:
        if phase == "start":
            await self.c.db.write(lambda s: instances.event_start(s, uuid, request_id, event, None))
        else:
            await self.c.db.write(lambda s: instances.event_finish(s, uuid, request_id, event, result, None, message))

    async def _host_up(self, host: str) -> bool:
        def read(s: Session) -> bool:
            svc = s.scalar(select(Service).where(Service.host == host, Service.binary == COMPUTE_BINARY))
            return svc is not None and service_is_up(svc, self.c.config.compute.service_down_time)

        return await self.c.db.read(read)

    async def _select(self, inst: InstanceDict, *, ignore: list[str], flavor: FlavorDict | None = None,
                      force_host: str | None = None, requested_host: str | None = None) -> Destination:
        """A destination, claimed under the server's uuid. The boot request's forced host never
        applies to a move (Nova resets it); ``force_host`` skips the filters, ``requested_host``
        does not."""
        spec: ScheduleRequest = {"instance_uuids": [inst["uuid"]], "ignore_hosts": ignore,
                                 "force_hosts": [force_host] if force_host else [], "force_nodes": [],
                                 "requested_host": requested_host}
        if flavor is not None:
            spec["flavor"] = flavor
        try:
            return (await self.c.scheduler.select_destinations(spec))[0]
        except NoValidHost as exc:  # its message is Nova's whole fault text
            raise MoveFailed(str(exc)) from None
        except RemoteError as exc:
            raise MoveFailed(str(exc)) from None

    async def _record_destination(self, migration_uuid: str, dest: Destination, status: str | None = None) -> None:
        def write(s: Session) -> None:
            mig = s.scalar(select(Migration).where(Migration.uuid == migration_uuid))
            node = s.scalar(select(ComputeNode).where(ComputeNode.uuid == dest["rp_uuid"]))
            if mig is None:
                return
            mig.dest_compute, mig.dest_node = dest["host"], dest["node"]
            mig.dest_host = node.host_ip if node is not None else None
            if status:
                mig.status = status
            mig.updated_at = utcnow()

        await self.c.db.write(write)

    async def _give_up(self, inst: InstanceDict, migration_uuid: str, message: str, request_id: str | None,
                       event: str, task_states: list[str | None]) -> None:
        """Scheduling or a pre-check failed: the server stays where it is, as it was."""
        await self.move_allocations(inst["uuid"], migration_uuid, "revert")
        try:
            await self.move_update(inst["uuid"], migration_uuid, instance={"task_state": None},
                                   expected_task_state=task_states, migration={"status": "error"},
                                   fault={"code": 500 if message.startswith(NO_VALID_HOST) else 400,
                                          "message": message})
        except _GONE as exc:  # deleted or changed meanwhile: nothing to restore
            log.info("move of %s abandoned: %s", inst["uuid"], exc)
        await self._event(inst["uuid"], request_id, event, "finish", "Error", message)

    # --- resize and cold migration ---------------------------------------------------------

    async def migrate_server(self, uuid: str, migration_uuid: str, flavor: FlavorDict,
                             requested_host: str | None = None, request_id: str | None = None) -> None:
        loaded = await self._load(uuid, migration_uuid)
        if loaded is None or not await self._take(migration_uuid):
            return
        inst, mig = loaded
        event = "cold_migrate"
        await self._event(uuid, request_id, event, "start")
        await self.c.placement.move(uuid, migration_uuid, inst["project_id"], inst["user_id"])
        try:
            dest = await self._select(inst, ignore=self._resize_ignores(inst, mig), flavor=flavor,
                                      requested_host=requested_host)
        except MoveFailed as exc:
            await self._give_up(inst, migration_uuid, str(exc), request_id, event, [states.RESIZE_PREP])
            return
        await self._record_destination(migration_uuid, dest)
        try:
            placed = await self.move_update(uuid, migration_uuid,
                                            instance={"new_flavor": flavor, "old_flavor": inst["flavor"]},
                                            expected_task_state=[states.RESIZE_PREP])
        except _GONE as exc:  # deleted or changed while we scheduled: undo the claim
            log.info("resize of %s abandoned after scheduling: %s", uuid, exc)
            await self.move_allocations(uuid, migration_uuid, "revert")
            await self.move_update(uuid, migration_uuid, migration={"status": "error"})
            return
        await self._event(uuid, request_id, event, "finish")
        mig.update(dest_compute=dest["host"], dest_node=dest["node"])
        await self.c.agents.resize_instance(inst["host"], instance=placed, migration=mig, flavor=flavor,
                                            request_id=request_id)

    def _resize_ignores(self, inst: InstanceDict, mig: MigrationDict) -> list[str]:
        """The source host is a candidate only for a resize with allow_resize_to_same_host; a cold
        migration never lands on its own host (Nova needs a driver trait no onestack driver has)."""
        if mig.get("migration_type") == "resize" and self.c.config.compute.resize_to_same_host():
            return []
        return [inst["host"]]

    # --- live migration --------------------------------------------------------------------

    async def live_migrate_instance(self, uuid: str, migration_uuid: str, host: str | None = None,
                                    force: bool = False, block_migration: bool | None = None,
                                    request_id: str | None = None) -> str | None:
        """Checks, scheduling and the destination's pre-checks; then the source agent takes over.
        Returns None when the migration was handed over, else why not (the server is restored)."""
        loaded = await self._load(uuid, migration_uuid)
        if loaded is None:
            return f"Instance {uuid} could not be found."
        if not await self._take(migration_uuid):
            return None  # the first delivery answers for it
        inst, mig = loaded
        event = "conductor_live_migrate_instance"
        await self._event(uuid, request_id, event, "start")
        source = inst["host"]
        moved = False
        try:
            if not source or not await self._host_up(source):
                raise MoveFailed(f"Compute service of {source} is unavailable at this time.")
            if host and host == source:
                raise MoveFailed(f"Unable to migrate instance ({uuid}) to current host ({source}).")
            if host and force and not await self._host_up(host):
                raise MoveFailed(f"Compute service of {host} is unavailable at this time.")
            await self.c.placement.move(uuid, migration_uuid, inst["project_id"], inst["user_id"])
            moved = True
            dest, data = await self._live_destination(inst, host, force, block_migration)
        except MoveFailed as exc:
            if not moved:
                try:
                    await self.move_update(uuid, migration_uuid, instance={"task_state": None},
                                           expected_task_state=[states.MIGRATING], migration={"status": "error"})
                except _GONE as gone:
                    log.info("live migration of %s abandoned: %s", uuid, gone)
                await self._event(uuid, request_id, event, "finish", "Error", str(exc))
            else:
                await self._give_up(inst, migration_uuid, str(exc), request_id, event, [states.MIGRATING])
            return str(exc)
        await self._record_destination(migration_uuid, dest)
        await self._event(uuid, request_id, event, "finish")
        mig.update(dest_compute=dest["host"], dest_node=dest["node"])
        await self.c.agents.live_migration(source, instance=inst, migration=mig, dest=dest["host"],
                                           migrate_data=data, request_id=request_id)
        return None

    async def start_live_migration(self, uuid: str, migration_uuid: str, host: str | None = None,
                                   force: bool = False, block_migration: bool | None = None,
                                   request_id: str | None = None) -> None:
        """``live_migrate_instance`` for a caller that does not wait (2.34+): why it failed shows
        on the migration and the instance action."""
        await self.live_migrate_instance(uuid, migration_uuid, host, force, block_migration, request_id)

    async def _live_destination(self, inst: InstanceDict, host: str | None, force: bool,
                                block_migration: bool | None) -> tuple[Destination, MigrateData]:
        """A claimed destination whose agent agrees to take the guest (Nova retries other hosts
        when the scheduler picked one and its checks fail)."""
        ignore = [inst["host"]]
        # "auto": no storage is shared between onestack hosts, so the disks travel too.
        block = True if block_migration is None else block_migration
        for _attempt in range(max(1, self.c.config.scheduler.max_attempts)):
            dest = await self._select(inst, ignore=list(ignore), force_host=host if force else None,
                                      requested_host=None if force else host)
            try:
                data = await self.c.agents.check_can_live_migrate_destination(dest["host"], instance=inst,
                                                                              block_migration=block)
                return dest, data
            except (RemoteError, BusTimeout) as exc:
                await self.c.placement.release(inst["uuid"])
                reason = error_message(exc) or type(exc).__name__
                if host:
                    raise MoveFailed(f"Migration pre-check error: {reason}") from None
                ignore.append(dest["host"])
        raise MoveFailed(f"Exceeded max scheduling retries {self.c.config.scheduler.max_attempts} for instance "
                         f"{inst['uuid']} during live migration")

    # --- evacuation ------------------------------------------------------------------------

    async def evacuate_instance(self, uuid: str, migration_uuid: str, host: str | None = None,
                                force: bool = False, target_state: str | None = None,
                                request_id: str | None = None) -> None:
        loaded = await self._load(uuid, migration_uuid)
        if loaded is None or not await self._take(migration_uuid):
            return
        inst, mig = loaded
        event = "conductor_rebuild_server"
        await self._event(uuid, request_id, event, "start")
        # The failed host's share waits on the migration until the rebuild elsewhere worked.
        await self.c.placement.move(uuid, migration_uuid, inst["project_id"], inst["user_id"])
        try:
            dest = await self._select(inst, ignore=[inst["host"]], force_host=host if force else None,
                                      requested_host=None if force else host)
        except MoveFailed as exc:
            await self._give_up(inst, migration_uuid, str(exc), request_id, event, [states.REBUILDING])
            return
        await self._record_destination(migration_uuid, dest, status="pre-migrating")
        await self._event(uuid, request_id, event, "finish")
        mig.update(dest_compute=dest["host"], dest_node=dest["node"], status="pre-migrating")
        await self.c.agents.rebuild_evacuated(dest["host"], instance=inst, migration=mig,
                                              target_state=target_state, request_id=request_id)

    # --- what agents report ----------------------------------------------------------------

    async def move_update(self, uuid: str, migration_uuid: str, instance: InstanceDict | None = None,
                          expected_task_state: list[str | None] | None = None,
                          expected_vm_state: list[str] | None = None, migration: dict[str, Any] | None = None,
                          landed_on: str | None = None, fault: Fault | None = None) -> InstanceDict:
        """One step of a move in one transaction: the server's values (conditional on its task
        state), where it now lives (``landed_on``: host, node, provider, zone), the migration's
        values and a fault. Returns the server as it now is."""
        def write(s: Session) -> dict[str, Any]:
            values = dict(instance or {})
            if landed_on is not None:
                node = s.scalar(select(ComputeNode).where(ComputeNode.host == landed_on).order_by(ComputeNode.id))
                current = instances.get(s, uuid)
                meta = dict(current.system_metadata or {})
                if node is not None:
                    meta["rp_uuid"] = node.uuid
                meta.pop("alternates", None)
                values.update(host=landed_on, node=node.hypervisor_hostname if node is not None else landed_on,
                              system_metadata=meta, availability_zone=host_zone(s, landed_on))
            if values or expected_task_state is not None or expected_vm_state is not None:
                inst = instances.apply_update(s, uuid, values, expected_task_state, expected_vm_state)
            else:
                inst = instances.get(s, uuid, with_deleted=True)
            if migration:
                mig = s.scalar(select(Migration).where(Migration.uuid == migration_uuid))
                if mig is not None:
                    for key, value in migration.items():
                        setattr(mig, key, value)
                    mig.updated_at = utcnow()
            if fault:
                instances.add_fault(s, uuid, int(fault.get("code", 500)), str(fault.get("message", "")),
                                    str(fault.get("details", "")), fault.get("host"))
            return instances.to_dict(inst)

        return await self.c.db.write(write)

    async def moves_of_deleted(self, uuid: str) -> None:
        """The server was deleted in the middle of a move: what its unfinished migrations hold in
        placement goes too, and they end in error (call after the row is gone)."""
        def write(s: Session) -> list[str]:
            rows = list(s.scalars(select(Migration).where(Migration.instance_uuid == uuid,
                                                          Migration.status.not_in(FINAL_STATUSES))))
            for row in rows:
                row.status, row.updated_at = "error", utcnow()
            return [r.uuid for r in rows]

        for migration_uuid in await self.c.db.write(write):
            await self.c.placement.release(migration_uuid)

    async def complete_evacuations(self, host: str) -> int:
        """A host that was evacuated is back: its evacuations are ``completed`` (Nova does this when
        the source's compute service starts; the agent's orphan pass removes the old guests)."""
        def write(s: Session) -> int:
            rows = list(s.scalars(select(Migration).where(
                Migration.source_compute == host, Migration.migration_type == "evacuation",
                Migration.status == "done")))
            for row in rows:
                row.status, row.updated_at = "completed", utcnow()
            return len(rows)

        return await self.c.db.write(write)

    async def move_allocations(self, uuid: str, migration_uuid: str, action: MoveAllocationAction) -> None:
        """"release": drop the migration's allocation (the source's share is no longer needed);
        "revert": give it back to the server, replacing the destination's claim."""
        if action == "release":
            await self.c.placement.release(migration_uuid)
            return
        held = await self.c.placement.allocations(migration_uuid)
        if not held.get("allocations"):
            return
        def owner(s: Session) -> tuple[str, str] | None:
            inst = s.scalar(select(Instance).where(Instance.uuid == uuid, Instance.deleted.is_(False)))
            return None if inst is None else (inst.project_id, inst.user_id)

        who = await self.c.db.read(owner)
        if who is None:  # the server is gone: nothing to give back to
            await self.c.placement.release(migration_uuid)
            await self.c.placement.release(uuid)
            return
        await self.c.placement.move(migration_uuid, uuid, who[0], who[1], target_type="INSTANCE",
                                    source_type="MIGRATION")

