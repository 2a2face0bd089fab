"""What becomes of a deleted server's volumes (Nova's _cleanup_volumes / local delete).

Each mapping's attachment is deleted (the volume is detached); a volume marked
``delete_on_termination`` is then deleted once the block-storage service shows it ``available``.
Every step is on its own: one failure is logged and the others go on (the server is gone
whatever happens; a volume left behind can be deleted by its owner).
"""

from __future__ import annotations

import logging
from typing import Any

from onestack.client.volume import VolumeClient, VolumeError, VolumeNotFound

log = logging.getLogger("onestack.compute.volumes")

DETACH_TIMEOUT = 60.0


async def detach(client: VolumeClient, attachment_id: str, volume_id: str | None, server_uuid: str) -> None:
    """The mapping's attachment deleted; if it was gone already, the volume's attachments for
    this server are (a migration's swap cut short leaves a mapping on the attachment it deleted,
    the volume on the target's: conductor/volume_audit.py mends that, this covers a detach first).
    Nova only ignores the 404, which leaves such a volume ``in-use``."""
    try:
        await client.attachment_delete(attachment_id, missing_ok=False)
        return
    except VolumeNotFound:
        if not volume_id:
            return
    for att in await client.attachments_list(volume_id=volume_id, instance_id=server_uuid):
        log.warning("attachment %s of volume %s is gone: detaching %s, the volume's for %s", attachment_id,
                    volume_id, att["id"], server_uuid)
        await client.attachment_delete(str(att["id"]))


async def release_volumes(client: VolumeClient, server_uuid: str, bdms: list[dict[str, Any]]) -> None:
    for bdm in bdms:
        volume_id = bdm.get("volume_id")
        try:
            if bdm.get("attachment_id"):
                await detach(client, str(bdm["attachment_id"]), volume_id, server_uuid)
            if volume_id and bdm.get("delete_on_termination"):
                await client.wait_volume(str(volume_id), ("available", "error"), timeout=DETACH_TIMEOUT)
                await client.delete_volume(str(volume_id))
        except VolumeNotFound:
            continue
        except (VolumeError, OSError):
            log.exception("releasing volume %s of deleted server %s failed", volume_id, server_uuid)
