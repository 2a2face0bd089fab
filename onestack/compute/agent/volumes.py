"""The agent's part for a server's volumes: attach and detach (Nova's compute side of the
os-volume_attachments API and of boot from volume).

The API reserved the volume (a block-storage attachment with no connector); here the host's
connector goes in (``attachment update`` answers the connection info), the driver plugs the
disk, and the attachment is completed (the volume is ``in-use``). Detach unplugs; the API then
deletes the attachment. Calls: the API answers once the driver was told. An attached volume
that grew (the ``volume-extended`` external event) is resized in the guest, recorded as the
``compute_extend_volume`` event of the API's ``extend_volume`` action (a cast).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from onestack.client.volume import VolumeClient, VolumeError, connector
from onestack.compute.agent.cleanup import attempt
from onestack.compute.agent.host import HostContext
from onestack.compute.bdm_flags import BOOT_VOLUMES
from onestack.compute.rpcapi import InstanceDict
from onestack.compute.virt.driver import (
    BlockDeviceInfo,
    NotSupported,
    VolumeAttachable,
    VolumeExtendable,
)
from onestack.core.aio import run_to_end
from onestack.core.rpc import remote_error

log = logging.getLogger("onestack.compute.volumes")

BOOT_VOLUME_TIMEOUT = 300.0  # how long a build waits for its volumes to be created (Nova: 180 s + retries)
EXTEND_EVENT = "compute_extend_volume"  # Nova's wrap_instance_event(prefix="compute") name
GIB = 1024**3
REIMAGED = "volume-reimaged"
REIMAGE_TIMEOUT_PER_GB = 20.0  # Nova's [DEFAULT] reimage_timeout_per_gb default
REBUILD_FAILED = "Failed to rebuild volume backed instance."


def _entry(bdm: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    return {"connection_info": info, "mount_device": bdm.get("device_name"), "boot_index": bdm.get("boot_index"),
            "delete_on_termination": bool(bdm.get("delete_on_termination")), "volume_id": bdm.get("volume_id")}


@remote_error
class VolumeAttachFailed(Exception):
    """The volume could not be attached (the block-storage service's or the driver's reason)."""


class VolumeActions:
    def __init__(self, agent: HostContext) -> None:
        self.agent = agent

    def _client(self) -> VolumeClient:
        if self.agent.volumes is None:
            raise VolumeAttachFailed("No block-storage service runs: no volume can be attached.")
        return self.agent.volumes

    async def connect(self, instance: InstanceDict, bdm: dict[str, Any]) -> dict[str, Any]:
        """Connector in, connection info out, disk plugged, attachment completed (no ``busy``:
        a build calls it while it holds the server)."""
        driver = self.agent.driver
        if not isinstance(driver, VolumeAttachable):
            raise NotSupported("The compute driver does not support attaching volumes.")
        client = self._client()
        attachment_id = str(bdm["attachment_id"])
        try:
            att = await client.attachment_update(attachment_id, connector(self.agent.host, bdm.get("device_name")))
            info = dict(att.get("connection_info") or {})
            await driver.attach_volume(instance["uuid"], info, str(bdm["device_name"]))
        except VolumeError as exc:
            raise VolumeAttachFailed(exc.message) from None
        try:
            await client.attachment_complete(attachment_id)
        except VolumeError as exc:
            await driver.detach_volume(instance["uuid"], str(bdm["device_name"]))
            raise VolumeAttachFailed(exc.message) from None
        return info

    async def prepare_boot(self, instance: InstanceDict, *, always: bool = False) -> BlockDeviceInfo | None:
        """Before spawn: each volume mapping's volume (created by the API) is waited for until
        available, reserved for the server (unless the API did), and connected to this host
        (Nova's _prep_block_device). None when the server has no volumes."""
        if not always and not (instance.get("system_metadata") or {}).get(BOOT_VOLUMES):
            return None  # booted without volumes: nothing to ask the conductor
        bdms = [b for b in await self.agent.conductor.block_device_mappings(instance["uuid"])
                if b.get("destination_type") == "volume"]
        if not bdms:
            return None
        client = self._client()
        uuid = instance["uuid"]
        mapping = []
        for bdm in bdms:
            volume_id = bdm.get("volume_id")
            if not volume_id:
                raise VolumeAttachFailed(f"Block device mapping {bdm['uuid']} has no volume.")
            try:
                vol = await client.wait_volume(str(volume_id), ("available", "reserved", "in-use"),
                                               timeout=BOOT_VOLUME_TIMEOUT)
                attachment_id = bdm.get("attachment_id")
                if attachment_id:
                    att = await client.attachment_get(str(attachment_id))
                    # Cinder's attachment view names its attach_status ``status``.
                    if att.get("connection_info") and att.get("status") == "attached":
                        info = dict(att["connection_info"])  # a rebuild of this row: already connected
                        mapping.append(_entry(bdm, info))
                        continue
                else:
                    if vol.get("status") != "available" and not vol.get("multiattach"):
                        raise VolumeAttachFailed(f"Volume {volume_id} is {vol.get('status')}, not available.")
                    # Through a delete's cancel: the mapping must learn the id of an attachment
                    # made, or the delete's cleanup, which goes by the mappings, leaves it behind.
                    attachment_id = await run_to_end(self._reserve(client, str(bdm["uuid"]), str(volume_id), uuid))
                att = await client.attachment_update(str(attachment_id),
                                                    connector(self.agent.host, bdm.get("device_name")))
                info = dict(att.get("connection_info") or {})
                await client.attachment_complete(str(attachment_id))
            except VolumeError as exc:
                raise VolumeAttachFailed(exc.message) from None
            await self.agent.conductor.block_device_update(bdm["uuid"], {"connection_info": info})
            mapping.append(_entry(bdm, info))
        root = next((m["mount_device"] for m in mapping if m["boot_index"] == 0), None)
        return {"block_device_mapping": mapping, "root_device_name": root}

    async def _reserve(self, client: VolumeClient, bdm_uuid: str, volume_id: str, uuid: str) -> str:
        attachment_id = str((await client.attachment_create(volume_id, uuid))["id"])
        await self.agent.conductor.block_device_update(bdm_uuid, {"attachment_id": attachment_id})
        return attachment_id

    async def reimage_root(self, instance: InstanceDict, image_id: str) -> None:
        """Nova's _rebuild_volume_backed_instance (2.93): a new attachment keeps the root volume
        reserved for the server while the old one goes, the block-storage service reimages it
        (``reimage_reserved``), and its ``volume-reimaged`` event is awaited. ``prepare_boot``
        then connects the new attachment."""
        client = self._client()
        uuid = instance["uuid"]
        bdms = await self.agent.conductor.block_device_mappings(uuid)
        root = next((b for b in bdms if b.get("boot_index") == 0 and b.get("volume_id")), None)
        if root is None:
            raise VolumeAttachFailed("Unable to find root block device mapping for volume-backed instance.")
        volume_id = str(root["volume_id"])
        try:
            new = str((await client.attachment_create(volume_id, uuid))["id"])
            await self.agent.conductor.block_device_update(root["uuid"], {"attachment_id": new,
                                                                         "connection_info": None})
            if root.get("attachment_id"):
                await client.attachment_delete(str(root["attachment_id"]))
        except VolumeError as exc:
            log.warning("%s: rebuild of %s: new attachment of %s failed: %s", self.agent.host, uuid, volume_id,
                        exc.message)
            raise VolumeAttachFailed(REBUILD_FAILED) from None
        image = await self.agent.images.client.get(image_id)
        size_gb = max(1, -(-int((image or {}).get("size") or 0) // GIB))
        futures = self.agent.volume_events.expect(uuid, REIMAGED, [volume_id])
        try:
            await client.reimage_volume(volume_id, image_id, reimage_reserved=True)
            done, _ = await asyncio.wait(list(futures.values()), timeout=REIMAGE_TIMEOUT_PER_GB * size_gb)
        except VolumeError as exc:
            log.warning("%s: rebuild of %s: reimage of %s refused: %s", self.agent.host, uuid, volume_id,
                        exc.message)
            raise VolumeAttachFailed(REBUILD_FAILED) from None
        finally:
            self.agent.volume_events.forget(uuid, REIMAGED, [volume_id])
        if not done or next(iter(done)).result() == "failed":
            log.warning("%s: rebuild of %s: no volume-reimaged for %s", self.agent.host, uuid, volume_id)
            raise VolumeAttachFailed(REBUILD_FAILED)

    async def current(self, instance: InstanceDict) -> BlockDeviceInfo | None:
        """The server's connected volumes as they are (a rebuild spawns the guest with them again)."""
        bdms = [b for b in await self.agent.conductor.block_device_mappings(instance["uuid"])
                if b.get("destination_type") == "volume" and b.get("connection_info")]
        if not bdms:
            return None
        mapping = [_entry(b, dict(b["connection_info"])) for b in bdms]
        root = next((m["mount_device"] for m in mapping if m["boot_index"] == 0), None)
        return {"block_device_mapping": mapping, "root_device_name": root}

    async def reconnect(self, instance: InstanceDict) -> BlockDeviceInfo | None:
        """The server landed here (a cold migration, an evacuation): each attachment is given this
        host's connector and completed again (Nova's migrate_volume_connection); the disks to
        plug. Failures are logged: the server comes up without that disk, as Nova's would not."""
        if self.agent.volumes is None:
            return None
        client = self.agent.volumes
        mapping = []
        for bdm in await self.agent.conductor.block_device_mappings(instance["uuid"]):
            if bdm.get("destination_type") != "volume" or not bdm.get("attachment_id"):
                continue
            try:
                att = await client.attachment_update(str(bdm["attachment_id"]),
                                                     connector(self.agent.host, bdm.get("device_name")))
                await client.attachment_complete(str(bdm["attachment_id"]))
            except VolumeError as exc:
                log.warning("%s: volume %s of %s not reconnected: %s", self.agent.host, bdm.get("volume_id"),
                            instance["uuid"], exc.message)
                continue
            info = dict(att.get("connection_info") or {})
            await self.agent.conductor.block_device_update(bdm["uuid"], {"connection_info": info})
            mapping.append(_entry(bdm, info))
        if not mapping:
            return None
        root = next((m["mount_device"] for m in mapping if m["boot_index"] == 0), None)
        return {"block_device_mapping": mapping, "root_device_name": root}

    async def disconnect_all(self, instance: InstanceDict) -> None:
        """The server leaves this host but keeps its volumes (shelve offload): as Nova does, each
        attachment is replaced by a new one with no connector, so the volume stays reserved for
        the server and the host it lands on next connects it."""
        if self.agent.volumes is None:
            return
        client = self.agent.volumes
        for bdm in await self.agent.conductor.block_device_mappings(instance["uuid"]):
            old, volume_id = bdm.get("attachment_id"), bdm.get("volume_id")
            if not old or not volume_id:
                continue
            try:
                new = str((await client.attachment_create(str(volume_id), instance["uuid"]))["id"])
                await client.attachment_delete(str(old))
            except VolumeError as exc:
                log.warning("%s: volume %s of %s not disconnected: %s", self.agent.host, volume_id,
                            instance["uuid"], exc.message)
                continue
            await self.agent.conductor.block_device_update(bdm["uuid"], {"attachment_id": new,
                                                                         "connection_info": None})

    async def attach_volume(self, instance: InstanceDict, bdm: dict[str, Any]) -> dict[str, Any]:
        async with self.agent.busy(instance["uuid"]):
            return await self.connect(instance, bdm)

    async def detach_volume(self, instance: InstanceDict, bdm: dict[str, Any]) -> None:
        driver = self.agent.driver
        async with self.agent.busy(instance["uuid"]):
            if isinstance(driver, VolumeAttachable) and bdm.get("device_name"):
                await driver.detach_volume(instance["uuid"], str(bdm["device_name"]))

    async def swap_volume(self, instance: InstanceDict, old_volume_id: str, new_volume_id: str,
                          new_attachment_id: str) -> None:
        """Nova's swap_volume (new-style attachments): the block-storage service copied the data
        already (its migration target is a copy), so the driver unplugs the old disk and plugs
        the new one at the same device. Either way Cinder hears the end (completion, ``error``
        on a failure) and the mapping takes the id it answers."""
        uuid = instance["uuid"]
        client = self._client()
        async with self.agent.busy(uuid):
            bdm = next((b for b in await self.agent.conductor.block_device_mappings(uuid)
                        if b.get("volume_id") == old_volume_id and b.get("destination_type") == "volume"), None)
            try:
                if bdm is None:
                    raise VolumeAttachFailed(f"volume {old_volume_id} is not attached to {uuid}")
                device = str(bdm["device_name"])
                info = await self._replug(client, uuid, new_attachment_id, device)
            except Exception as exc:  # noqa: BLE001 - the block-storage service's and the driver's errors alike
                log.warning("%s: swapping %s for %s on %s failed: %s", self.agent.host, old_volume_id,
                            new_volume_id, uuid, exc)
                await attempt(self.agent.host, uuid, "removing the new attachment",
                              client.attachment_delete(new_attachment_id))
                await attempt(self.agent.host, uuid, "telling the block-storage service",
                              client.migrate_volume_completion(old_volume_id, new_volume_id, True))
                return
            if bdm.get("attachment_id"):
                await client.attachment_delete(str(bdm["attachment_id"]))
            kept = await client.migrate_volume_completion(old_volume_id, new_volume_id, False)
            if kept != new_volume_id:
                # The volume kept its id. Where its backend renamed the disk (update_migrated_volume)
                # the completion recorded the connection anew on the attachment: read there (an
                # attachment update would un-complete it), the guest is moved onto it if it changed.
                att = await client.attachment_get(new_attachment_id)
                now = dict(att.get("connection_info") or {})
                if now and now != info:
                    await self._plug(uuid, device, now)
                    info = now
            await self.agent.conductor.block_device_update(bdm["uuid"], {
                "volume_id": kept, "attachment_id": new_attachment_id, "connection_info": info})

    async def _replug(self, client: VolumeClient, uuid: str, attachment_id: str, device: str) -> dict[str, Any]:
        """The guest's disk at ``device`` unplugged and plugged again on ``attachment_id``'s
        connection (updated with this host's connector, then completed); returns that connection."""
        att = await client.attachment_update(attachment_id, connector(self.agent.host, device))
        info = dict(att.get("connection_info") or {})
        await self._plug(uuid, device, info)
        await client.attachment_complete(attachment_id)
        return info

    async def _plug(self, uuid: str, device: str, info: dict[str, Any]) -> None:
        """The guest's disk at ``device`` unplugged and plugged again on the connection ``info``."""
        driver = self.agent.driver
        if isinstance(driver, VolumeAttachable):
            await driver.detach_volume(uuid, device)
            await driver.attach_volume(uuid, info, device)

    async def extend_volume(self, instance: InstanceDict, volume_id: str, request_id: str | None = None) -> None:
        """Nova's extend_volume: the mapping takes the volume's new size and the driver resizes
        the guest's disk; start and finish recorded on the API's action (a failure as an
        ``Error`` event and a fault, as wrap_instance_fault does)."""
        uuid = instance["uuid"]
        await self.agent.event(instance, request_id, EXTEND_EVENT, "start")
        try:
            await self._extend(instance, volume_id)
        except Exception as exc:  # noqa: BLE001 - the block-storage service's and the driver's errors alike
            reason = exc.message if isinstance(exc, VolumeError) else (str(exc) or type(exc).__name__)
            log.warning("%s: extending volume %s of %s failed: %s", self.agent.host, volume_id, uuid, reason)
            await attempt(self.agent.host, uuid, "recording the fault", self.agent.conductor.instance_fault(
                uuid, 500, reason, f"{type(exc).__name__}: {reason}", self.agent.host))
            await self.agent.event(instance, request_id, EXTEND_EVENT, "finish", "Error", reason)
            return
        await self.agent.event(instance, request_id, EXTEND_EVENT, "finish")

    async def _extend(self, instance: InstanceDict, volume_id: str) -> None:
        uuid = instance["uuid"]
        bdm = next((b for b in await self.agent.conductor.block_device_mappings(uuid)
                    if b.get("volume_id") == volume_id and b.get("destination_type") == "volume"), None)
        if bdm is None or not bdm.get("connection_info"):
            # Detached meanwhile, or not yet connected: nothing on this host to resize (Nova
            # logs it and the event succeeds).
            log.warning("%s: volume %s is not connected to %s: nothing to extend", self.agent.host, volume_id, uuid)
            return
        size = int((await self._client().get_volume(volume_id))["size"])
        await self.agent.conductor.block_device_update(bdm["uuid"], {"volume_size": size})
        driver = self.agent.driver
        if not isinstance(driver, VolumeExtendable):
            raise NotSupported("Volume extend is not supported by this compute driver.")
        await driver.extend_volume(uuid, dict(bdm["connection_info"]), str(bdm["device_name"]), size * GIB)
