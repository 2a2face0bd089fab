"""Server actions on the host: power, reboot, pause, suspend, rescue, snapshot, backup, rebuild, shelve,
consoles.

Each endpoint is what Nova's compute manager does for the action: check the row is still in
the task state the API set, call the driver inside ``agent.busy(uuid)`` (so the reconcile loop
leaves the server alone), then report the new vm/power state through the conductor with the
task state cleared. A failure records a fault and an ``Error`` event and puts the row back as
Nova does: most actions only clear the task state; reboot of a dead guest, rescue, unrescue and
rebuild leave the server in ERROR.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from onestack.compute import states
from onestack.compute.agent.cleanup import attempt, release_guest
from onestack.compute.agent.host import HostContext, spec_of
from onestack.compute.agent.volumes import VolumeActions
from onestack.compute.rpcapi import InstanceDict, VncConsole
from onestack.compute.service.instances import InstanceGone, UnexpectedTaskState
from onestack.compute.virt.driver import (
    DriverError,
    NotSupported,
    PasswordSetFailed,
    Pausable,
    PowerState,
    RemoteConsoles,
    Rescuable,
    Snapshottable,
    Suspendable,
)
from onestack.core.bus import RemoteError
from onestack.core.ids import isotime, utcnow

log = logging.getLogger("onestack.compute.actions")

IMAGE_SNAPSHOT_PENDING = "image_snapshot_pending"  # set by the API before the cast, as in Nova
SNAPSHOT_STATES: list[str | None] = [IMAGE_SNAPSHOT_PENDING, states.IMAGE_SNAPSHOT, states.IMAGE_PENDING_UPLOAD,
                                     states.IMAGE_UPLOADING]
IMAGE_BACKUP = "image_backup"  # set by the API before the cast (createBackup)
BACKUP_STATES: list[str | None] = [IMAGE_BACKUP, states.IMAGE_PENDING_UPLOAD, states.IMAGE_UPLOADING]
REBOOT_STATES: list[str | None] = [states.REBOOTING, states.REBOOT_PENDING, states.REBOOT_STARTED,
                                   states.REBOOTING_HARD, states.REBOOT_PENDING_HARD, states.REBOOT_STARTED_HARD]
SHELVE_STATES: list[str | None] = [states.SHELVING, states.SHELVING_IMAGE_PENDING_UPLOAD,
                                   states.SHELVING_IMAGE_UPLOADING, states.SHELVING_OFFLOADING]
SHELVED_KEYS = ["shelved_at", "shelved_image_id", "shelved_host"]

Work = Callable[[], Awaitable[dict[str, Any] | None]]


def _need(driver: Any, ability: type, what: str) -> Any:
    if not isinstance(driver, ability):
        raise NotSupported(f"{what} is not supported by this driver")
    return driver


async def _power(agent: HostContext, uuid: str) -> int:
    return int(await agent.driver.get_power_state(uuid))


async def _update(agent: HostContext, uuid: str, values: dict[str, Any], expected: list[str | None]) -> None:
    await agent.conductor.instance_update(uuid, values, expected_task_state=expected)


async def _meta_update(agent: HostContext, uuid: str, values: dict[str, Any], expected: list[str | None],
                       meta_set: dict[str, Any] | None = None, meta_drop: list[str] | None = None) -> None:
    """A row update that also merges keys into system_metadata (conductor/shelve.py)."""
    await agent.conductor.instance_meta_update(uuid, values, expected_task_state=expected, meta_set=meta_set or {},
                                               meta_drop=meta_drop or [])


async def _failed(agent: HostContext, instance: InstanceDict, request_id: str | None, event: str,
                  expected: list[str | None], exc: BaseException, to_error: bool) -> None:
    """Nova's wrap_instance_fault + wrap_instance_event + reverts_task_state (or error-out)."""
    uuid = instance["uuid"]
    reason = str(exc) or type(exc).__name__
    log.warning("%s: %s of %s failed: %s", agent.host, event, uuid, reason)
    await attempt(agent.host, uuid, "recording the fault", agent.conductor.instance_fault(
        uuid, 500, reason, f"{type(exc).__name__}: {reason}", agent.host))
    await agent.event(instance, request_id, event, "finish", "Error", reason)
    values: dict[str, Any] = {"task_state": None}
    if to_error:
        values["vm_state"] = states.ERROR
    try:
        if uuid in await agent.driver.list_instances():
            values["power_state"] = await _power(agent, uuid)
    except DriverError as exc2:  # the task state is put back all the same
        log.warning("%s: power state of %s unknown after the failed %s: %s", agent.host, uuid, event, exc2)
    try:
        await _update(agent, uuid, values, expected)
    except RemoteError as exc2:  # deleted or taken over meanwhile: nothing left to put back
        log.info("%s: %s not put back after the failed %s: %s", agent.host, uuid, event, exc2)


async def _run(agent: HostContext, instance: InstanceDict, request_id: str | None, event: str,
               expected: list[str | None], work: Work, *, to_error: bool = False,
               cleanup: Callable[[], Awaitable[None]] | None = None) -> bool:
    """Run ``work`` (which returns the final row values, or None when it wrote them itself) and
    record the outcome. True on success."""
    uuid = instance["uuid"]
    async with agent.busy(uuid):
        await agent.event(instance, request_id, event, "start")
        try:
            values = await work()
            if values is not None:
                await _update(agent, uuid, {"task_state": None, **values}, expected)
        except asyncio.CancelledError:
            raise
        except (UnexpectedTaskState, InstanceGone) as exc:  # the row moved on (deleted, or another action took over)
            log.info("%s: %s of %s abandoned: %s", agent.host, event, uuid, exc)
            await agent.event(instance, request_id, event, "finish", "Error", str(exc))
            if cleanup is not None:
                await attempt(agent.host, uuid, f"cleaning up after {event}", cleanup())
            return False
        except Exception as exc:  # noqa: BLE001 - driver and image service errors: record, restore
            if cleanup is not None:
                await attempt(agent.host, uuid, f"cleaning up after {event}", cleanup())
            await _failed(agent, instance, request_id, event, expected, exc, to_error)
            return False
        await agent.event(instance, request_id, event, "finish")
        return True


async def _snapshot_and_upload(agent: HostContext, uuid: str, image_id: str, pending: str, uploading: str,
                               before: str) -> None:
    """driver.snapshot, then the upload, moving the task state along as Nova's callback does."""
    driver = _need(agent.driver, Snapshottable, "snapshot")
    path: Path = await driver.snapshot(uuid)
    try:
        await _update(agent, uuid, {"task_state": pending}, [before])
        await _update(agent, uuid, {"task_state": uploading}, [pending])
        await agent.images.client.upload(image_id, path)
    finally:
        path.unlink(missing_ok=True)


async def rotate_backups(agent: HostContext, uuid: str, backup_type: str, rotation: int) -> None:
    """Delete the oldest backups of this server and type beyond the newest ``rotation`` ones;
    an image that cannot be deleted is skipped, as Nova does."""
    images = await agent.images.client.list_images({
        "image_type": "backup", "backup_type": backup_type, "instance_uuid": uuid,
        "sort_key": "created_at", "sort_dir": "desc"})
    for image in images[rotation:]:
        try:
            await agent.images.client.delete(str(image["id"]))
        except Exception as exc:  # noqa: BLE001 - keep rotating the rest
            log.info("%s: could not delete backup %s of %s: %s", agent.host, image["id"], uuid, exc)


async def _offload(agent: HostContext, instance: InstanceDict, clean_shutdown: bool) -> None:
    """Remove the guest from this host; the conductor frees the claim and clears the host."""
    uuid = instance["uuid"]
    timeout = agent.config.compute.shutdown_timeout if clean_shutdown else 0
    if uuid in await agent.driver.list_instances():
        await agent.driver.power_off(uuid, timeout=timeout)
    power = int(PowerState.SHUTDOWN)
    await agent.driver.destroy(uuid)
    # Nova unbinds the ports of an offloaded server; they stay its own for the unshelve.
    await attempt(agent.host, uuid, "unbinding the ports", agent.network.unbind(instance))
    # Its volumes too: reserved for it, connected again where it is unshelved.
    await attempt(agent.host, uuid, "disconnecting the volumes", VolumeActions(agent).disconnect_all(instance))
    await agent.conductor.shelve_offloaded(uuid, agent.host, power)


class ServerActions:
    """The agent's part for server actions; ``agent`` is the host it runs on."""

    def __init__(self, agent: HostContext) -> None:
        self.agent = agent

    # --- power ----------------------------------------------------------------------------------

    async def start_instance(self, instance: InstanceDict, request_id: str | None = None) -> None:
        uuid = instance["uuid"]
        shelved_image = (instance.get("system_metadata") or {}).get("shelved_image_id")

        async def work() -> dict[str, Any] | None:
            await self.agent.driver.power_on(uuid)
            values = {"vm_state": states.ACTIVE, "task_state": None, "power_state": await _power(self.agent, uuid)}
            if not shelved_image:
                return values
            # Unshelving a server that was never offloaded: its snapshot is no longer needed.
            await _meta_update(self.agent, uuid, values, [states.POWERING_ON], meta_drop=SHELVED_KEYS)
            await attempt(self.agent.host, uuid, f"deleting shelved image {shelved_image}",
                          self.agent.images.client.delete(shelved_image))
            return None

        await _run(self.agent, instance, request_id, "compute_start_instance", [states.POWERING_ON], work)

    async def stop_instance(self, instance: InstanceDict, request_id: str | None = None,
                            clean_shutdown: bool = True) -> None:
        uuid = instance["uuid"]

        async def work() -> dict[str, Any]:
            timeout = self.agent.config.compute.shutdown_timeout if clean_shutdown else 0
            await self.agent.driver.power_off(uuid, timeout=timeout)
            return {"vm_state": states.STOPPED, "power_state": await _power(self.agent, uuid)}

        await _run(self.agent, instance, request_id, "compute_stop_instance", [states.POWERING_OFF], work)

    async def reboot_instance(self, instance: InstanceDict, reboot_type: str = "SOFT",
                              request_id: str | None = None) -> None:
        uuid = instance["uuid"]
        hard = reboot_type.upper() == "HARD"
        started = states.REBOOT_STARTED_HARD if hard else states.REBOOT_STARTED
        # Rescued guests stay rescued across a reboot.
        end_state = states.RESCUED if instance["vm_state"] == states.RESCUED else states.ACTIVE

        async def work() -> dict[str, Any]:
            await _update(self.agent, uuid, {"task_state": started}, REBOOT_STATES)
            try:
                await self.agent.driver.reboot(uuid, hard=hard)
            except DriverError as exc:
                if await _power(self.agent, uuid) != PowerState.RUNNING:
                    raise  # a dead guest after a failed reboot is an ERROR server (Nova)
                await attempt(self.agent.host, uuid, "recording the reboot fault", self.agent.conductor.instance_fault(
                    uuid, 500, str(exc), type(exc).__name__, self.agent.host))
            return {"vm_state": end_state, "power_state": await _power(self.agent, uuid)}

        await _run(self.agent, instance, request_id, "compute_reboot_instance", REBOOT_STATES, work, to_error=True)

    async def _toggle(self, instance: InstanceDict, request_id: str | None, method: str, ability: type,
                      task: str, end: str) -> None:
        """pause / unpause / suspend / resume: one driver call, then the new vm and power state."""
        uuid = instance["uuid"]

        async def work() -> dict[str, Any]:
            driver = _need(self.agent.driver, ability, method)
            await getattr(driver, method)(uuid)
            return {"vm_state": end, "power_state": await _power(self.agent, uuid)}

        await _run(self.agent, instance, request_id, f"compute_{method}_instance", [task], work)

    async def pause_instance(self, instance: InstanceDict, request_id: str | None = None) -> None:
        await self._toggle(instance, request_id, "pause", Pausable, states.PAUSING, states.PAUSED)

    async def unpause_instance(self, instance: InstanceDict, request_id: str | None = None) -> None:
        await self._toggle(instance, request_id, "unpause", Pausable, states.UNPAUSING, states.ACTIVE)

    async def suspend_instance(self, instance: InstanceDict, request_id: str | None = None) -> None:
        await self._toggle(instance, request_id, "suspend", Suspendable, states.SUSPENDING, states.SUSPENDED)

    async def resume_instance(self, instance: InstanceDict, request_id: str | None = None) -> None:
        await self._toggle(instance, request_id, "resume", Suspendable, states.RESUMING, states.ACTIVE)

    # --- rescue ---------------------------------------------------------------------------------

    async def rescue_instance(self, instance: InstanceDict, request_id: str | None = None,
                              rescue_password: str | None = None, rescue_image_ref: str | None = None) -> None:
        uuid = instance["uuid"]

        async def work() -> dict[str, Any]:
            driver = _need(self.agent.driver, Rescuable, "rescue")
            meta = instance.get("system_metadata") or {}
            image = rescue_image_ref or meta.get("image_base_image_ref") or instance.get("image_ref")
            path = await self.agent.images.fetch(image) if image else None
            await self.agent.driver.power_off(uuid, timeout=self.agent.config.compute.shutdown_timeout)
            await driver.rescue(uuid, path, rescue_password)
            return {"vm_state": states.RESCUED, "power_state": await _power(self.agent, uuid),
                    "launched_at": isotime(utcnow())}

        await _run(self.agent, instance, request_id, "compute_rescue_instance", [states.RESCUING], work, to_error=True)

    async def unrescue_instance(self, instance: InstanceDict, request_id: str | None = None) -> None:
        uuid = instance["uuid"]

        async def work() -> dict[str, Any]:
            await _need(self.agent.driver, Rescuable, "unrescue").unrescue(uuid)
            return {"vm_state": states.ACTIVE, "power_state": await _power(self.agent, uuid)}

        await _run(self.agent, instance, request_id, "compute_unrescue_instance", [states.UNRESCUING], work, to_error=True)

    # --- snapshots --------------------------------------------------------------------------------

    async def snapshot_instance(self, instance: InstanceDict, image_id: str,
                                request_id: str | None = None) -> None:
        uuid = instance["uuid"]
        try:
            await _update(self.agent, uuid, {"task_state": states.IMAGE_SNAPSHOT}, [IMAGE_SNAPSHOT_PENDING])
        except (UnexpectedTaskState, InstanceGone) as exc:  # deleted or taken over first: the image is useless
            log.info("%s: snapshot of %s not started: %s", self.agent.host, uuid, exc)
            await attempt(self.agent.host, uuid, f"deleting unused snapshot image {image_id}",
                          self.agent.images.client.delete(image_id))
            return

        async def work() -> dict[str, Any]:
            await _snapshot_and_upload(self.agent, uuid, image_id, states.IMAGE_PENDING_UPLOAD, states.IMAGE_UPLOADING,
                                       states.IMAGE_SNAPSHOT)
            return {"power_state": await _power(self.agent, uuid)}

        async def drop_image() -> None:
            await self.agent.images.client.delete(image_id)

        await _run(self.agent, instance, request_id, "compute_snapshot_instance", SNAPSHOT_STATES, work, cleanup=drop_image)

    async def backup_instance(self, instance: InstanceDict, image_id: str, backup_type: str,
                              rotation: int, request_id: str | None = None) -> None:
        """A snapshot into ``image_id``, then the rotation of this server's backups of ``backup_type``
        (Nova's backup_instance: the task state is cleared before the rotation runs)."""
        uuid = instance["uuid"]
        uploaded = False

        async def work() -> None:
            nonlocal uploaded
            await _snapshot_and_upload(self.agent, uuid, image_id, states.IMAGE_PENDING_UPLOAD, states.IMAGE_UPLOADING,
                                       IMAGE_BACKUP)
            uploaded = True
            await _update(self.agent, uuid, {"task_state": None, "power_state": await _power(self.agent, uuid)},
                          [states.IMAGE_UPLOADING])
            await rotate_backups(self.agent, uuid, backup_type, rotation)

        async def drop_image() -> None:
            if not uploaded:  # a finished backup stays even when the rotation after it fails
                await self.agent.images.client.delete(image_id)

        await _run(self.agent, instance, request_id, "compute_backup_instance", BACKUP_STATES, work, cleanup=drop_image)

    # --- rebuild --------------------------------------------------------------------------------

    async def rebuild_instance(self, instance: InstanceDict, image_id: str,
                               request_id: str | None = None, orig_vm_state: str = states.ACTIVE,
                               preserve_ephemeral: bool = False, root_volume_image: str = "") -> None:
        """Destroy the guest and spawn it again from the new image (the API already wrote the new
        image_ref, name, metadata, key and user data into the row we were sent). A volume-backed
        server rebuilt at 2.93 (``root_volume_image``) has its root volume reimaged in between."""
        uuid = instance["uuid"]

        async def work() -> dict[str, Any]:
            path = await self.agent.images.fetch(image_id) if image_id else None  # before the old guest goes
            await self.agent.driver.destroy(uuid)
            volume_actions = VolumeActions(self.agent)
            if root_volume_image:
                await volume_actions.reimage_root(instance, root_volume_image)
            await _update(self.agent, uuid, {"task_state": states.REBUILD_SPAWNING}, [states.REBUILDING])
            network_info = await self.agent.network.allocate(instance)
            # The guest keeps its volumes; a reimaged root has a new attachment to connect.
            volumes = (await volume_actions.prepare_boot(instance, always=True) if root_volume_image
                       else await volume_actions.current(instance))
            await self.agent.driver.spawn(spec_of(instance), path, network_info, volumes)
            end = states.ACTIVE
            if orig_vm_state == states.STOPPED:  # a stopped server stays stopped (Nova)
                await self.agent.driver.power_off(uuid, timeout=0)
                end = states.STOPPED
            return {"vm_state": end, "power_state": await _power(self.agent, uuid), "launched_at": isotime(utcnow())}

        await _run(self.agent, instance, request_id, "compute_rebuild_instance",
                   [states.REBUILDING, states.REBUILD_SPAWNING], work, to_error=True)

    # --- shelve ---------------------------------------------------------------------------------

    async def shelve_instance(self, instance: InstanceDict, image_id: str,
                              request_id: str | None = None) -> None:
        uuid = instance["uuid"]
        offload = self.agent.config.compute.shelved_offload_time == 0

        async def work() -> None:
            paused = await _power(self.agent, uuid) == PowerState.PAUSED
            await self.agent.driver.power_off(uuid, timeout=0 if paused else self.agent.config.compute.shutdown_timeout)
            await _snapshot_and_upload(self.agent, uuid, image_id, states.SHELVING_IMAGE_PENDING_UPLOAD,
                                       states.SHELVING_IMAGE_UPLOADING, states.SHELVING)
            meta = {"shelved_at": isotime(utcnow()), "shelved_image_id": image_id, "shelved_host": self.agent.host}
            values = {"vm_state": states.SHELVED, "power_state": await _power(self.agent, uuid),
                      "task_state": states.SHELVING_OFFLOADING if offload else None}
            await _meta_update(self.agent, uuid, values, [states.SHELVING_IMAGE_UPLOADING], meta_set=meta)
            if offload:
                await _offload(self.agent, instance, clean_shutdown=False)

        async def drop_image() -> None:
            if uuid in await self.agent.driver.list_instances():  # nothing was offloaded: the image is not needed
                await self.agent.images.client.delete(image_id)

        await _run(self.agent, instance, request_id, "compute_shelve_instance", SHELVE_STATES, work, cleanup=drop_image)

    async def shelve_offload_instance(self, instance: InstanceDict,
                                      request_id: str | None = None, clean_shutdown: bool = True) -> None:
        async def work() -> None:
            await _offload(self.agent, instance, clean_shutdown)

        await _run(self.agent, instance, request_id, "compute_shelve_offload_instance",
                   [states.SHELVING, states.SHELVING_OFFLOADING], work)

    async def unshelve_instance(self, instance: InstanceDict, image_id: str | None = None,
                                request_id: str | None = None) -> None:
        """Spawn an offloaded server here (the conductor scheduled it and claimed this host)."""
        uuid = instance["uuid"]
        event = "compute_unshelve_instance"
        shelved_image = (instance.get("system_metadata") or {}).get("shelved_image_id")
        async with self.agent.busy(uuid):
            try:
                # Only while the row is placed here and nobody started: a repeated message, or a
                # late copy of an unshelve re-driven elsewhere, must not touch the guest.
                await self.agent.conductor.instance_update(uuid, {"task_state": states.SPAWNING},
                                                           expected_task_state=[states.UNSHELVING],
                                                           expected_host=self.agent.host)
            except (UnexpectedTaskState, InstanceGone) as exc:
                log.info("%s: not unshelving %s: %s", self.agent.host, uuid, exc)
                return
            await self.agent.event(instance, request_id, event, "start")
            try:
                path = await self.agent.images.fetch(image_id) if image_id else None
                volumes = await VolumeActions(self.agent).prepare_boot(instance, always=True)
                network_info = await self.agent.network.allocate(instance)
                async with self.agent.network.plugged(instance, network_info):
                    await self.agent.driver.spawn(spec_of(instance), path, network_info, volumes)
                values = {"vm_state": states.ACTIVE, "task_state": None, "power_state": await _power(self.agent, uuid),
                          "launched_at": isotime(utcnow())}
                await _meta_update(self.agent, uuid, values, [states.SPAWNING], meta_drop=SHELVED_KEYS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure leaves the server offloaded
                reason = str(exc) or type(exc).__name__
                log.warning("%s: unshelve of %s failed: %s", self.agent.host, uuid, reason)
                await release_guest(self.agent, instance)
                await self.agent.event(instance, request_id, event, "finish", "Error", reason)
                await attempt(self.agent.host, uuid, "reporting the failed unshelve",
                              self.agent.conductor.unshelve_failed(uuid, self.agent.host, reason))
                return
            await self.agent.event(instance, request_id, event, "finish")
        if shelved_image:  # the snapshot only existed to bring the server back
            await attempt(self.agent.host, uuid, f"deleting shelved image {shelved_image}",
                          self.agent.images.client.delete(shelved_image))

    # --- the rest: crash dump, password, consoles -----------------------------------------------

    async def trigger_crash_dump(self, instance: InstanceDict, request_id: str | None = None) -> None:
        uuid = instance["uuid"]

        async def work() -> None:
            dump = getattr(self.agent.driver, "trigger_crash_dump", None)
            if dump is None:
                raise NotSupported("Triggering crash dump is not supported")
            await dump(uuid)

        # No task state: the effect depends on the guest's configuration (Nova).
        await _run(self.agent, instance, request_id, "compute_trigger_crash_dump", [None], work)

    async def set_admin_password(self, instance: InstanceDict, password: str,
                                 request_id: str | None = None) -> None:
        """A call: the API waits and answers 409 / 501 from what this raises."""
        uuid = instance["uuid"]
        event = "compute_set_admin_password"
        await self.agent.event(instance, request_id, event, "start")
        try:
            if await _power(self.agent, uuid) != PowerState.RUNNING:
                raise PasswordSetFailed(f"Failed to set admin password on {uuid} because instance {uuid} is not running")
            setter = getattr(self.agent.driver, "set_admin_password", None)
            if setter is None:
                raise NotSupported("set_admin_password is not implemented by this driver or guest instance.")
            await setter(uuid, password)
        except Exception as exc:
            await self.agent.event(instance, request_id, event, "finish", "Error", str(exc))
            try:
                await _update(self.agent, uuid, {"task_state": None}, [states.UPDATING_PASSWORD])
            except RemoteError as exc2:  # deleted or taken over meanwhile; the caller hears the first error
                log.info("%s: task state of %s not cleared: %s", self.agent.host, uuid, exc2)
            raise
        await _update(self.agent, uuid, {"task_state": None}, [states.UPDATING_PASSWORD])
        await self.agent.event(instance, request_id, event, "finish")

    async def get_console_output(self, instance: InstanceDict, length: int | None = None) -> str:
        """The serial log; ``length`` keeps the last lines the way Nova counts them (split on
        newlines, so a trailing newline counts as one empty line)."""
        output = await self.agent.driver.get_console_output(instance["uuid"])
        output = output.encode("ascii", "replace").decode("ascii")
        if length is None or length < 0:
            return output
        if length == 0:
            return ""
        return "\n".join(output.split("\n")[-length:])

    async def get_vnc_console(self, instance: InstanceDict) -> VncConsole:
        driver = _need(self.agent.driver, RemoteConsoles, "VNC console")
        info = await driver.get_vnc_console(instance["uuid"])
        return {"host": info.host, "port": info.port, "internal_access_path": info.internal_access_path}
