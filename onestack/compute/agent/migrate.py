"""Moves on the host: resize and cold migration, live migration, evacuation.

Each step runs on the host that owns the guest at that moment and hands over to the other host
with a cast, as Nova's compute managers do:

- resize/migrate: source ``resize_instance`` (power off, set disks aside) → destination
  ``finish_resize`` (define and start with the new size) → VERIFY_RESIZE; then either source
  ``confirm_resize`` (discard the set-aside disks) or destination ``revert_resize`` (remove
  the new guest) → source ``finish_revert_resize`` (the old guest back, old size);
- live migration: source ``live_migration`` asks the destination to prepare, moves the guest,
  then destination ``post_live_migration_at_destination`` makes the row follow it;
- evacuation: destination ``rebuild_evacuated`` spawns the guest afresh from its image.

Rows and placement are written by the conductor (``move_update``, ``move_allocations``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict, dataclass
from typing import Any

from onestack.compute import states
from onestack.compute.agent.cleanup import attempt
from onestack.compute.agent.host import HostContext, spec_of
from onestack.compute.agent.volumes import VolumeActions
from onestack.compute.rpcapi import (
    DisksDict,
    FlavorDict,
    InstanceDict,
    MigrateData,
    MigrationDict,
    MoveAllocationAction,
)
from onestack.compute.service.instances import InstanceGone, UnexpectedTaskState
from onestack.compute.virt.driver import (
    DriverError,
    LiveMigratable,
    LiveMigrationData,
    MigrationDisks,
    NotSupported,
    PowerState,
    Resizable,
)
from onestack.core.bus import BusTimeout, RemoteError

log = logging.getLogger("onestack.compute.agent")
# What a conditional write of the server raises when it was deleted or changed meanwhile.
ROW_MOVED_ON = (UnexpectedTaskState, InstanceGone)


def sized(flavor: FlavorDict) -> dict[str, Any]:
    """The instance columns that follow its flavor."""
    return {"flavor": flavor, "vcpus": int(flavor["vcpus"]), "memory_mb": int(flavor["memory_mb"]),
            "root_gb": int(flavor["root_gb"]), "ephemeral_gb": int(flavor.get("ephemeral_gb") or 0)}


def _was_stopped(instance: InstanceDict) -> bool:
    return (instance.get("system_metadata") or {}).get("old_vm_state") == states.STOPPED


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


@dataclass
class LiveJob:
    """A live migration this host is sending: abort cancels ``task`` or stops it starting."""

    migration_id: int
    task: asyncio.Task[Any] | None = None
    aborted: bool = False


class MoveAgent:
    """The agent's part for moves; ``agent`` is the host it runs on, ``peers`` the other hosts."""

    def __init__(self, agent: HostContext) -> None:
        self.agent = agent
        self.peers = agent.peers
        self.live: dict[str, LiveJob] = {}

    # --- plumbing ---------------------------------------------------------------------------

    async def _update(self, server: InstanceDict, move: MigrationDict, **kw: Any) -> InstanceDict:
        """``kw``: move_update's instance, expected_task_state, migration, landed_on, fault."""
        return await self.agent.conductor.move_update(server["uuid"], move["uuid"], **kw)

    async def _allocations(self, instance: InstanceDict, migration: MigrationDict,
                           action: MoveAllocationAction) -> None:
        await self.agent.conductor.move_allocations(instance["uuid"], migration["uuid"], action)

    def _resizable(self) -> Resizable:
        if not isinstance(self.agent.driver, Resizable):
            raise NotSupported(f"the driver of {self.agent.host} cannot resize or cold-migrate")
        return self.agent.driver

    def _live(self) -> LiveMigratable:
        if not isinstance(self.agent.driver, LiveMigratable):
            raise NotSupported(f"the driver of {self.agent.host} cannot live-migrate")
        return self.agent.driver

    # --- resize / cold migration -------------------------------------------------------------

    async def resize_instance(self, instance: InstanceDict, migration: MigrationDict, flavor: FlavorDict,
                              request_id: str | None = None) -> None:
        """Source: power off and set the disks aside, then the destination takes over."""
        event = "compute_resize_instance"
        async with self.agent.busy(instance["uuid"]):
            await self.agent.event(instance, request_id, event, "start")
            try:
                instance = await self._update(instance, migration, instance={"task_state": states.RESIZE_MIGRATING},
                                              expected_task_state=[states.RESIZE_PREP],
                                              migration={"status": "migrating"})
            except ROW_MOVED_ON as exc:
                log.info("%s: not resizing %s: %s", self.agent.host, instance["uuid"], exc)
                await self._allocations(instance, migration, "revert")
                return
            try:
                disks = await self._resizable().migrate_disk_and_power_off(
                    instance["uuid"], spec_of(instance, flavor), migration["dest_compute"],
                    timeout=self.agent.config.compute.shutdown_timeout)
            except DriverError as exc:
                # Nova's InstanceFaultRollback: the guest is as it was, so is the server.
                await self._allocations(instance, migration, "revert")
                await self._update(instance, migration, instance={"task_state": None, "new_flavor": None,
                                                                  "old_flavor": None},
                                   migration={"status": "error"},
                                   fault={"code": 400, "message": f"Resize error: {_reason(exc)}",
                                          "host": self.agent.host})
                await self.agent.event(instance, request_id, event, "finish", "Error", _reason(exc))
                return
            instance = await self._update(instance, migration, instance={
                "task_state": states.RESIZE_MIGRATED, "power_state": int(PowerState.SHUTDOWN)},
                expected_task_state=[states.RESIZE_MIGRATING], migration={"status": "post-migrating"})
            await self.agent.event(instance, request_id, event, "finish")
        await self.peers.finish_resize(migration["dest_compute"], instance=instance, migration=migration,
                                       flavor=flavor, disks=asdict(disks), request_id=request_id)

    async def finish_resize(self, instance: InstanceDict, migration: MigrationDict, flavor: FlavorDict,
                            disks: DisksDict, request_id: str | None = None) -> None:
        """Destination: the guest with its new size, started unless it was stopped → VERIFY_RESIZE."""
        event = "compute_finish_resize"
        uuid = instance["uuid"]
        old = instance["flavor"]
        power_on = not _was_stopped(instance)
        async with self.agent.busy(uuid):
            await self.agent.event(instance, request_id, event, "start")
            try:
                instance = await self._update(instance, migration, instance={
                    "task_state": states.RESIZE_FINISH, **sized(flavor), "old_flavor": old, "new_flavor": flavor},
                    expected_task_state=[states.RESIZE_MIGRATED], landed_on=self.agent.host)
            except ROW_MOVED_ON as exc:
                log.info("%s: not finishing the resize of %s: %s", self.agent.host, uuid, exc)
                return
            try:
                network_info = await self.agent.network.allocate(instance)  # the ports follow the guest here
                volumes = await VolumeActions(self.agent).reconnect(instance)  # and so do its volumes
                await self._resizable().finish_migration(spec_of(instance, flavor), MigrationDisks(**disks),
                                                         network_info, volumes, power_on=power_on)
            except DriverError as exc:
                # Nova puts the server in ERROR; the source brings the old guest back for it.
                await self.agent.event(instance, request_id, event, "finish", "Error", _reason(exc))
                await self._update(instance, migration, fault={"code": 500, "message": _reason(exc),
                                                               "host": self.agent.host})
                await self.peers.finish_revert_resize(migration["source_compute"], instance=instance,
                                                      migration=migration, request_id=request_id, failed=True)
                return
            state = PowerState.RUNNING if power_on else PowerState.SHUTDOWN
            await self._update(instance, migration, instance={
                "vm_state": states.RESIZED, "task_state": None, "power_state": int(state)},
                expected_task_state=[states.RESIZE_FINISH], migration={"status": "finished"})
            await self.agent.event(instance, request_id, event, "finish")

    async def confirm_resize(self, instance: InstanceDict, migration: MigrationDict,
                             request_id: str | None = None) -> None:
        """Source: discard the set-aside disks; the migration's allocation goes with them."""
        event = "compute_confirm_resize"
        await self.agent.event(instance, request_id, event, "start")
        try:
            await self._resizable().confirm_migration(instance["uuid"])
        except DriverError as exc:
            await self._update(instance, migration, migration={"status": "error"},
                               fault={"code": 500, "message": _reason(exc), "host": self.agent.host})
            await self.agent.event(instance, request_id, event, "finish", "Error", _reason(exc))
            return
        stopped = instance.get("power_state") == int(PowerState.SHUTDOWN)
        with contextlib.suppress(*ROW_MOVED_ON):  # deleted meanwhile: only placement is left to settle
            await self._update(instance, migration, instance={
                "vm_state": states.STOPPED if stopped else states.ACTIVE, "old_flavor": None, "new_flavor": None},
                expected_task_state=[None], expected_vm_state=[states.RESIZED],
                migration={"status": "confirmed"})
        await self._allocations(instance, migration, "release")
        await self.agent.event(instance, request_id, event, "finish")

    async def confirm_resize_and_wait(self, instance: InstanceDict, migration: MigrationDict,
                                      request_id: str | None = None) -> None:
        """The same, answered when done: deleting a resized server waits for it."""
        await self.confirm_resize(instance, migration, request_id)

    async def revert_resize(self, instance: InstanceDict, migration: MigrationDict,
                            request_id: str | None = None) -> None:
        """Destination: remove the resized guest, then the source restores the old one."""
        event = "compute_revert_resize"
        async with self.agent.busy(instance["uuid"]):
            await self.agent.event(instance, request_id, event, "start")
            await self.agent.driver.destroy(instance["uuid"])
            await self.agent.event(instance, request_id, event, "finish")
        await self.peers.finish_revert_resize(migration["source_compute"], instance=instance,
                                              migration=migration, request_id=request_id)

    async def finish_revert_resize(self, instance: InstanceDict, migration: MigrationDict,
                                   request_id: str | None = None, failed: bool = False) -> None:
        """Source: the old guest from its set-aside disks, with its old size. ``failed``: the
        destination could not finish the resize (the server ends in ERROR, as in Nova)."""
        event = "compute_finish_revert_resize"
        uuid = instance["uuid"]
        old = instance.get("old_flavor") or instance["flavor"]
        power_on = not _was_stopped(instance)
        expected = [states.RESIZE_FINISH] if failed else [states.RESIZE_REVERTING]
        async with self.agent.busy(uuid):
            await self.agent.event(instance, request_id, event, "start")
            try:
                instance = await self._update(instance, migration, instance={
                    **sized(old), "old_flavor": None, "new_flavor": None},
                    expected_task_state=expected, landed_on=self.agent.host)
            except ROW_MOVED_ON as exc:
                log.info("%s: not reverting %s: %s", self.agent.host, uuid, exc)
                return
            error: str | None = None
            try:
                network_info = await self.agent.network.allocate(instance)  # the ports come back here
                await self._resizable().finish_revert_migration(spec_of(instance, old), network_info, None,
                                                                power_on=power_on)
            except DriverError as exc:
                error = _reason(exc)
            await self._allocations(instance, migration, "revert")
            if failed or error:
                await self._update(instance, migration, instance={"vm_state": states.ERROR, "task_state": None},
                                   migration={"status": "error"},
                                   fault={"code": 500, "message": error, "host": self.agent.host} if error else None)
                await self.agent.event(instance, request_id, event, "finish", "Error", error)
                return
            state = PowerState.RUNNING if power_on else PowerState.SHUTDOWN
            await self._update(instance, migration, instance={
                "vm_state": states.ACTIVE if power_on else states.STOPPED, "task_state": None,
                "power_state": int(state)}, expected_task_state=expected, migration={"status": "reverted"})
            await self.agent.event(instance, request_id, event, "finish")

    # --- live migration ----------------------------------------------------------------------

    async def check_can_live_migrate_destination(self, instance: InstanceDict,
                                                 block_migration: bool) -> MigrateData:
        """Destination: can it host the guest? Claims nothing."""
        data = await self._live().check_can_live_migrate(spec_of(instance), block_migration)
        return asdict(data)

    async def pre_live_migration(self, instance: InstanceDict, migrate_data: MigrateData) -> None:
        await self._live().pre_live_migration(spec_of(instance), LiveMigrationData(**migrate_data))

    async def rollback_live_migration_at_destination(self, uuid: str) -> None:
        await self._live().rollback_live_migration_at_destination(uuid)

    async def live_migration(self, instance: InstanceDict, migration: MigrationDict, dest: str,
                             migrate_data: MigrateData, request_id: str | None = None) -> None:
        """Source: queued → preparing (destination prepares) → running (the guest moves) → the
        destination finishes. A failure or an abort leaves the guest running here."""
        uuid = instance["uuid"]
        job = LiveJob(migration_id=int(migration["id"]))
        self.live[uuid] = job
        event = "compute_live_migration"
        try:
            async with self.agent.busy(uuid):
                await self.agent.event(instance, request_id, event, "start")
                outcome = await self._send(instance, migration, dest, migrate_data, job, request_id)
                await self.agent.event(instance, request_id, event, "finish",
                                       "Success" if outcome is None else "Error", outcome)
        finally:
            if self.live.get(uuid) is job:
                del self.live[uuid]

    async def _send(self, instance: InstanceDict, migration: MigrationDict, dest: str,
                    migrate_data: MigrateData, job: LiveJob, request_id: str | None) -> str | None:
        """The live migration proper; None on success, else what went wrong (rolled back)."""
        uuid = instance["uuid"]
        await self._update(instance, migration, migration={"status": "queued"})
        await self._update(instance, migration, migration={"status": "preparing"})
        try:
            if job.aborted:
                return await self._roll_back(instance, migration, dest, "cancelled", None)
            await self.peers.pre_live_migration(dest, instance=instance, migrate_data=migrate_data)
            await self._update(instance, migration, migration={"status": "running"})
            if job.aborted:
                return await self._roll_back(instance, migration, dest, "cancelled", None)
            job.task = asyncio.create_task(self._live().live_migration(
                uuid, LiveMigrationData(**migrate_data), timeout=self.agent.config.compute.rpc_timeout * 10))
            await job.task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not job.aborted or (current is not None and current.cancelling()):
                raise
            return await self._roll_back(instance, migration, dest, "cancelled", None)
        except (DriverError, RemoteError, BusTimeout) as exc:
            return await self._roll_back(instance, migration, dest, "error", _reason(exc))
        await self.peers.post_live_migration_at_destination(dest, instance=instance, migration=migration,
                                                            request_id=request_id)
        return None

    async def _roll_back(self, instance: InstanceDict, migration: MigrationDict, dest: str, status: str,
                         error: str | None) -> str:
        uuid, host = instance["uuid"], self.agent.host
        # Each step on its own: an unreachable destination must not keep the claim or the task state.
        await attempt(host, uuid, f"rolling back the live migration at {dest}",
                      self.peers.rollback_live_migration_at_destination(dest, uuid=uuid))
        await attempt(host, uuid, "reverting the live migration's allocations",
                      self._allocations(instance, migration, "revert"))
        try:
            await self._update(instance, migration, instance={"task_state": None},
                               expected_task_state=[states.MIGRATING], migration={"status": status})
        except RemoteError as exc:  # deleted or taken over meanwhile
            log.info("%s: %s not put back after its live migration: %s", host, uuid, exc)
        return error or "Live migration aborted"

    async def post_live_migration_at_destination(self, instance: InstanceDict, migration: MigrationDict,
                                                 request_id: str | None = None) -> None:
        """Destination: the guest runs here now; the row and placement follow it."""
        uuid = instance["uuid"]
        event = "compute_post_live_migration_at_destination"
        await self.agent.event(instance, request_id, event, "start")
        network_info = await self.agent.network.allocate(instance)  # Nova's migrate_instance_finish
        await self._live().post_live_migration_at_destination(uuid, network_info)
        power = await self.agent.driver.get_power_state(uuid)
        await self._update(instance, migration, instance={"task_state": None, "power_state": int(power),
                                                          "progress": 0},
                           expected_task_state=[states.MIGRATING], landed_on=self.agent.host,
                           migration={"status": "completed"})
        await self._allocations(instance, migration, "release")
        await self.agent.event(instance, request_id, event, "finish")

    async def live_migration_abort(self, uuid: str, migration_id: int) -> None:
        job = self.live.get(uuid)
        if job is None or job.migration_id != int(migration_id):
            return  # finished (or never started) here: nothing to stop
        job.aborted = True
        if job.task is not None and not job.task.done():
            job.task.cancel()

    async def live_migration_force_complete(self, uuid: str, migration_id: int) -> None:
        """Ask the driver to finish now (libvirt pauses the guest or switches to post-copy)."""
        job = self.live.get(uuid)
        force = getattr(self.agent.driver, "live_migration_force_complete", None)
        if job is None or job.migration_id != int(migration_id) or force is None:
            return
        await force(uuid)

    # --- evacuation ---------------------------------------------------------------------------

    async def rebuild_evacuated(self, instance: InstanceDict, migration: MigrationDict,
                                target_state: str | None = None, request_id: str | None = None) -> None:
        """Destination: its host failed, so the guest is built here afresh from its image."""
        uuid = instance["uuid"]
        event = "compute_rebuild_instance"
        stop = target_state == states.STOPPED or instance["vm_state"] == states.STOPPED
        async with self.agent.busy(uuid):
            await self.agent.event(instance, request_id, event, "start")
            try:
                instance = await self._update(instance, migration, instance={"task_state": states.REBUILD_SPAWNING},
                                              expected_task_state=[states.REBUILDING])
            except ROW_MOVED_ON as exc:
                log.info("%s: not rebuilding %s: %s", self.agent.host, uuid, exc)
                await self._allocations(instance, migration, "revert")
                return
            try:
                image = await self.agent.images.fetch(instance["image_ref"]) if instance.get("image_ref") else None
                network_info = await self.agent.network.allocate(instance)  # rebinds its ports here
                volumes = await VolumeActions(self.agent).reconnect(instance)
                async with self.agent.network.plugged(instance, network_info):
                    await self.agent.driver.spawn(spec_of(instance), image, network_info, volumes)
                if stop:
                    await self.agent.driver.power_off(uuid, timeout=0)
            except Exception as exc:  # noqa: BLE001 - driver and image service errors alike: roll back
                await attempt(self.agent.host, uuid, "destroying the guest", self.agent.driver.destroy(uuid))
                await attempt(self.agent.host, uuid, "reverting the evacuation's allocations",
                              self._allocations(instance, migration, "revert"))
                await self._update(instance, migration, instance={"vm_state": states.ERROR, "task_state": None},
                                   migration={"status": "failed"},
                                   fault={"code": 500, "message": _reason(exc), "host": self.agent.host})
                await self.agent.event(instance, request_id, event, "finish", "Error", _reason(exc))
                return
            state = PowerState.SHUTDOWN if stop else PowerState.RUNNING
            try:
                await self._update(instance, migration, instance={
                    "vm_state": states.STOPPED if stop else states.ACTIVE, "task_state": None,
                    "power_state": int(state)}, expected_task_state=[states.REBUILD_SPAWNING],
                    landed_on=self.agent.host, migration={"status": "done"})
            except ROW_MOVED_ON as exc:  # deleted while spawning: the guest must not outlive its row
                log.info("%s: %s went away during the evacuation (%s)", self.agent.host, uuid, exc)
                await self.agent.driver.destroy(uuid)
                await self._allocations(instance, migration, "release")
                return
            await self._allocations(instance, migration, "release")
            await self.agent.event(instance, request_id, event, "finish")

