"""The conductor's pass over interrupted volume attaches and detaches.

Attaching is several writes in the API process (the mapping, the block-storage attachment, the
host's connection, the mapping's connection info) and so is detaching (the host lets go, the
attachment goes, the mapping goes); a process killed between them leaves a mapping that does not
match the volume (``reserved`` for a server that never got it, or a mapping of a volume that is
``available``). A mapping is complete once it holds its connection info, and detach clears that
info first, so a volume mapping of a server at rest that has none and is older than the longest
attach call can only be such a leftover: the pass does what the API does when an attach fails —
deletes the server's attachments of that volume and the mapping. Mappings made at boot (a boot
index) and servers with no host or a task are left to the build and the moves.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import Text, cast, or_, select
from sqlalchemy.orm import Session

from onestack.client.volume import VolumeError
from onestack.compute import states
from onestack.compute.conductor.context import ConductorContext
from onestack.compute.models import BlockDeviceMapping, Instance
from onestack.compute.service import block_devices
from onestack.core.ids import utcnow

log = logging.getLogger("onestack.compute.conductor")

AT_REST = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED)


def unfinished(s: Session, older_than: timedelta) -> list[dict[str, Any]]:
    """Volume mappings without connection info of servers at rest on a host, older than the cut-off."""
    rows = s.execute(select(BlockDeviceMapping.uuid, BlockDeviceMapping.instance_uuid, BlockDeviceMapping.volume_id,
                            BlockDeviceMapping.attachment_id)
                     .join(Instance, Instance.uuid == BlockDeviceMapping.instance_uuid)
                     .where(BlockDeviceMapping.destination_type == "volume",
                            BlockDeviceMapping.volume_id.is_not(None),
                            # None written to the JSON column is stored as JSON null, not SQL NULL.
                            or_(BlockDeviceMapping.connection_info.is_(None),
                                cast(BlockDeviceMapping.connection_info, Text) == "null"),
                            BlockDeviceMapping.boot_index.is_(None),
                            BlockDeviceMapping.created_at < utcnow() - older_than,
                            Instance.deleted.is_(False), Instance.host.is_not(None),
                            Instance.task_state.is_(None), Instance.vm_state.in_(AT_REST)))
    return [dict(r._mapping) for r in rows]


class VolumeAttachAudit:
    def __init__(self, c: ConductorContext) -> None:
        self.c = c

    async def run(self) -> int:
        client = self.c.volume
        if client is None:
            return 0
        # Longer than an attach may take (its agent call waits up to rpc_timeout): a live one is never touched.
        older = self.c.task_grace + 2 * timedelta(seconds=self.c.config.compute.rpc_timeout)
        undone = 0
        for bdm in await self.c.db.read(lambda s: unfinished(s, older)):
            try:
                ids = {str(bdm["attachment_id"])} if bdm["attachment_id"] else set()
                # The attachment may exist before the mapping learnt its id.
                found = await client.call("GET", "/attachments", params={
                    "all_tenants": "1", "volume_id": bdm["volume_id"], "instance_id": bdm["instance_uuid"]})
                ids |= {str(a["id"]) for a in (found or {}).get("attachments", [])}
                for attachment_id in sorted(ids):
                    await client.attachment_delete(attachment_id)
            except (VolumeError, OSError) as exc:
                log.warning("undoing the interrupted attach of volume %s to %s failed: %s", bdm["volume_id"],
                            bdm["instance_uuid"], exc)
                continue
            log.warning("undoing the interrupted attach or detach of volume %s to %s", bdm["volume_id"],
                        bdm["instance_uuid"])
            await self.c.db.write(lambda s, u=bdm["uuid"]: block_devices.remove(s, u))
            undone += 1
        return undone
