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

The pass also mends a mapping whose attachment the block-storage service no longer has while the
volume holds an attachment for that same server: a volume migration's swap (``agent/volumes.py``
swap_volume) deletes the old attachment, the completion hands the volume the target's, and only
then does the mapping learn the new id; a crash in between (or the block-storage service's own
roll-forward of a stalled migration) leaves the mapping on the deleted id, and a detach would then
leave the volume ``in-use``. Such a mapping adopts the volume's attachment for its server (and
that attachment's connection), level-triggered: whatever cut the swap short, the rows say what to do.
Nova has no such repair.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import Text, cast, or_, select
from sqlalchemy.orm import Session

from onestack.client.volume import VolumeClient, VolumeError, VolumeNotFound
from onestack.compute import states
from onestack.compute.conductor.context import ConductorContext
from onestack.compute.models import BlockDeviceMapping, Instance
from onestack.compute.service import block_devices
from onestack.core.ids import utcnow

log = logging.getLogger("onestack.compute.conductor")

AT_REST = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED)
PAGE = 1000  # the block-storage API's largest page (Cinder's osapi_max_limit)


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


def attached(s: Session) -> list[dict[str, Any]]:
    """Volume mappings holding an attachment id, of servers with no task running."""
    rows = s.execute(select(BlockDeviceMapping.uuid, BlockDeviceMapping.instance_uuid, BlockDeviceMapping.volume_id,
                            BlockDeviceMapping.attachment_id, Instance.host)
                     .join(Instance, Instance.uuid == BlockDeviceMapping.instance_uuid)
                     .where(BlockDeviceMapping.destination_type == "volume",
                            BlockDeviceMapping.volume_id.is_not(None), BlockDeviceMapping.attachment_id.is_not(None),
                            Instance.deleted.is_(False), Instance.task_state.is_(None)))
    return [dict(r._mapping) for r in rows]


async def all_attachments(client: VolumeClient) -> list[dict[str, Any]] | None:
    """Every attachment of every project, page by page; None when a page's marker went meanwhile
    (the next pass reads them again)."""
    found: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        try:
            page = await client.attachments_list(limit=PAGE, marker=marker)
        except VolumeNotFound:
            return None
        found += page
        if len(page) < PAGE:
            return found
        marker = str(page[-1]["id"])


class VolumeAttachAudit:
    def __init__(self, c: ConductorContext) -> None:
        self.c = c

    async def run(self) -> int:
        """Undoes unfinished attaches and detaches, then mends stale attachment ids; the count undone."""
        client = self.c.volume
        if client is None:
            return 0
        undone = await self._undo(client)
        await self.adopt(client)
        return undone

    async def adopt(self, client: VolumeClient) -> int:
        """Mappings whose attachment is gone take the volume's one attachment for their server;
        the count mended. The mappings are read before the attachments, so an attachment a
        mapping names was made before the listing: missing from it, it was deleted."""
        bdms = await self.c.db.read(attached)
        if not bdms:
            return 0
        try:
            listing = await all_attachments(client)
        except (VolumeError, OSError) as exc:
            log.warning("listing the block-storage service's attachments failed: %s", exc)
            return 0
        if listing is None:
            return 0
        ids = {str(a["id"]) for a in listing}
        by_server: dict[tuple[Any, Any], list[str]] = {}  # one pass over the listing, not one per mapping
        for a in listing:
            by_server.setdefault((a.get("volume_id"), a.get("instance")), []).append(str(a["id"]))
        mended = 0
        for bdm in bdms:
            if str(bdm["attachment_id"]) in ids:
                continue
            held = by_server.get((bdm["volume_id"], bdm["instance_uuid"]), [])
            if len(held) != 1:
                continue  # detached (the mapping is the detach's to remove), or no single one to take
            try:
                att = await client.attachment_get(held[0])
            except (VolumeError, OSError) as exc:
                log.warning("reading attachment %s of volume %s failed: %s", held[0], bdm["volume_id"], exc)
                continue
            info = dict(att.get("connection_info") or {}) or None
            if bdm["host"] and info is None:
                # Not connected: a hosted server's mapping without a connection would be taken
                # for an interrupted attach (above) and undone.
                continue
            stale = str(bdm["attachment_id"])
            if info is not None and att.get("status") != "attached":
                # Connected but never completed: the swap was cut off between compute's update and
                # its complete, and the volume would stay ``attaching`` for good.
                try:
                    await client.attachment_complete(held[0])
                except (VolumeError, OSError) as exc:
                    log.warning("completing attachment %s of volume %s failed: %s", held[0], bdm["volume_id"], exc)
                    continue
            if await self.c.db.write(lambda s, u=bdm["uuid"], old=stale, new=held[0], i=info:
                                     block_devices.adopt(s, u, old, new, i)):
                log.warning("mapping of volume %s on %s named attachment %s, which is gone: it takes %s",
                            bdm["volume_id"], bdm["instance_uuid"], stale, held[0])
                mended += 1
        return mended

    async def _undo(self, client: VolumeClient) -> int:
        # Longer than an attach may take (its agent call waits up to rpc_timeout): a live one is never touched.
        older = self.c.task_grace + 2 * timedelta(seconds=self.c.config.compute.rpc_timeout)
        undone = 0
        for bdm in await self.c.db.read(lambda s: unfinished(s, older)):
            try:
                ids = {str(bdm["attachment_id"])} if bdm["attachment_id"] else set()
                # The attachment may exist before the mapping learnt its id.
                found = await client.attachments_list(volume_id=bdm["volume_id"], instance_id=bdm["instance_uuid"])
                ids |= {str(a["id"]) for a in found}
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
