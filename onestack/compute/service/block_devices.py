"""A server's block device mappings (Nova's BDMs): the volumes attached to it or asked for at boot.

Rows are written by the API (attach, detach, boot) and read by the server view
(``os-extended-volumes:volumes_attached``). Device names are given as libvirt's Nova gives
them: the next free ``/dev/vdX`` after the root disk ``/dev/vda`` (a name the user asks for is
not honoured, as Nova does not since Queens).
"""

from __future__ import annotations

import string
import uuid as uuidlib
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.compute.models import BlockDeviceMapping
from onestack.compute.service import instances
from onestack.core.api.faults import BadRequest
from onestack.core.ids import isotime

ROOT_DEVICE = "/dev/vda"

_COLUMNS = [c.key for c in BlockDeviceMapping.__mapper__.column_attrs]


def to_dict(row: BlockDeviceMapping) -> dict[str, Any]:
    data = {k: getattr(row, k) for k in _COLUMNS}
    data["created_at"] = isotime(row.created_at)
    return data


def _rows(s: Session, instance_uuid: str) -> list[BlockDeviceMapping]:
    return list(s.scalars(select(BlockDeviceMapping).where(BlockDeviceMapping.instance_uuid == instance_uuid)
                          .order_by(BlockDeviceMapping.id)))


def of_server(s: Session, instance_uuid: str) -> list[dict[str, Any]]:
    """The server's mappings in the order they were made (the boot disk first)."""
    return [to_dict(r) for r in _rows(s, instance_uuid)]


def attached_of(s: Session, uuids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Per server, ``[{id, delete_on_termination}]`` of its volumes (the server view's field)."""
    found: dict[str, list[dict[str, Any]]] = {u: [] for u in uuids}
    if uuids:
        stmt = (select(BlockDeviceMapping.instance_uuid, BlockDeviceMapping.volume_id,
                       BlockDeviceMapping.delete_on_termination)
                .where(BlockDeviceMapping.instance_uuid.in_(uuids), BlockDeviceMapping.volume_id.is_not(None),
                       BlockDeviceMapping.destination_type == "volume")
                .order_by(BlockDeviceMapping.instance_uuid, BlockDeviceMapping.id))
        for inst, vol, dot in s.execute(stmt):
            found[inst].append({"id": vol, "delete_on_termination": bool(dot)})
    return found


def by_volume(s: Session, instance_uuid: str, volume_id: str) -> dict[str, Any] | None:
    row = s.scalar(select(BlockDeviceMapping).where(BlockDeviceMapping.instance_uuid == instance_uuid,
                                                    BlockDeviceMapping.volume_id == volume_id))
    return None if row is None else to_dict(row)


def next_device(used: list[str | None]) -> str:
    taken = {d for d in used if d} | {ROOT_DEVICE}
    for letter in string.ascii_lowercase[1:]:
        name = f"/dev/vd{letter}"
        if name not in taken:
            return name
    raise BadRequest("No free disk device names for prefix 'vd'")


def add(s: Session, instance_uuid: str, values: dict[str, Any]) -> dict[str, Any]:
    """A new mapping; ``device_name`` assigned when absent (or taken)."""
    used = [r.device_name for r in _rows(s, instance_uuid)]
    device = values.get("device_name")
    if not device or device in used:
        device = ROOT_DEVICE if values.get("boot_index") == 0 and ROOT_DEVICE not in used else next_device(used)
    row = BlockDeviceMapping(uuid=str(uuidlib.uuid4()), instance_uuid=instance_uuid,
                             **{**values, "device_name": device})
    s.add(row)
    s.flush()
    return to_dict(row)


def reserve_attach(s: Session, instance_uuid: str, volume_id: str, tag: str | None,
                   delete_on_termination: bool) -> dict[str, Any]:
    """The row of a volume being attached; Nova's 400 when the server already has the volume."""
    if by_volume(s, instance_uuid, volume_id) is not None:
        raise BadRequest(f"Invalid volume: volume {volume_id} already attached")
    return add(s, instance_uuid, {"source_type": "volume", "destination_type": "volume", "volume_id": volume_id,
                                  "tag": tag, "delete_on_termination": delete_on_termination})


def update(s: Session, bdm_uuid: str, values: dict[str, Any]) -> None:
    row = s.scalar(select(BlockDeviceMapping).where(BlockDeviceMapping.uuid == bdm_uuid))
    if row is not None:
        for key, value in values.items():
            setattr(row, key, value)


def adopt(s: Session, bdm_uuid: str, stale: str, attachment_id: str, connection_info: dict[str, Any] | None) -> bool:
    """The mapping takes ``attachment_id`` (and its connection) if it still names ``stale``:
    whoever changed it meanwhile (a swap, a detach) knew better."""
    row = s.scalar(select(BlockDeviceMapping).where(BlockDeviceMapping.uuid == bdm_uuid,
                                                    BlockDeviceMapping.attachment_id == stale).with_for_update())
    if row is None:
        return False
    row.attachment_id = attachment_id
    row.connection_info = connection_info
    return True


def remove(s: Session, bdm_uuid: str) -> None:
    s.execute(delete(BlockDeviceMapping).where(BlockDeviceMapping.uuid == bdm_uuid))


def remove_all(s: Session, instance_uuid: str) -> list[dict[str, Any]]:
    """Forget the server's mappings (it is gone); what they were, for the volume clean-up."""
    rows = of_server(s, instance_uuid)
    s.execute(delete(BlockDeviceMapping).where(BlockDeviceMapping.instance_uuid == instance_uuid))
    return rows


def of_volume(s: Session, volume_id: str) -> list[dict[str, Any]]:
    """The mappings of one volume on live servers (more than one: a multiattach volume), each
    with its server's ``host``, ``vm_state`` and ``task_state`` (Nova's BDM get_by_volume)."""
    found = []
    for row in s.scalars(select(BlockDeviceMapping).where(BlockDeviceMapping.volume_id == volume_id)
                         .order_by(BlockDeviceMapping.id)):
        inst = instances.by_uuid(s, row.instance_uuid)
        if inst is None or inst.deleted:
            continue
        found.append({**to_dict(row), "host": inst.host, "vm_state": inst.vm_state, "task_state": inst.task_state})
    return found
