"""The agent's part for a server's volumes: attach and detach (Nova's compute side of the
os-volume_attachments API and of boot from volume).

The API reserved the volume (a block-storage attachment with no connector); here the host's
connector goes in (``attachment update`` answers the connection info), the driver plugs the
disk, and the attachment is completed (the volume is ``in-use``). Detach unplugs; the API then
deletes the attachment. Calls: the API answers once the driver was told.
"""

from __future__ import annotations

import logging
from typing import Any

from onestack.client.volume import VolumeClient, VolumeError, connector
from onestack.compute.agent.host import HostContext
from onestack.compute.rpcapi import InstanceDict
from onestack.compute.virt.driver import NotSupported, VolumeAttachable
from onestack.core.rpc import remote_error

log = logging.getLogger("onestack.compute.volumes")


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
            att = await client.attachment_update(attachment_id, connector(self.agent.host))
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

    async def attach_volume(self, instance: InstanceDict, bdm: dict[str, Any]) -> dict[str, Any]:
        async with self.agent.busy(instance["uuid"]):
            return await self.connect(instance, bdm)

    async def detach_volume(self, instance: InstanceDict, bdm: dict[str, Any]) -> None:
        driver = self.agent.driver
        async with self.agent.busy(instance["uuid"]):
            if isinstance(driver, VolumeAttachable) and bdm.get("device_name"):
                await driver.detach_volume(instance["uuid"], str(bdm["device_name"]))
