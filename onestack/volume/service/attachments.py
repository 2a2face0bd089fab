"""Attachments (Cinder's volume_attachment rows) and the attach state machine they drive.

The 3.27+ attachments API and the older volume actions (os-reserve, os-attach, os-detach...)
share these steps: reserve a volume for a consumer, record the connection once the agent made
one, mark it attached, and finish a detach (the row goes; the volume returns to ``available``
when no attachment remains, else stays ``in-use``).

Status changes that race are compare-and-set UPDATEs (``... WHERE status IN (...)``): of two
concurrent reserves of one volume, the database lets exactly one through.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from onestack.core.api.faults import Conflict
from onestack.volume import models
from onestack.volume.errors import AttachmentNotFound, InvalidVolume, VolumeNotFound
from onestack.volume.rpcapi import VolumeSpec
from onestack.volume.service.common import (
    Caller,
    Listing,
    ListQuery,
    created,
    get_visible,
    list_rows,
    new_id,
    now,
)
from onestack.volume.service.specs import volume_spec

A = models.Attachment
V = models.Volume

# Cinder's AVAILABLE_MIGRATION_STATUS: a volume in one of these is not being migrated.
NOT_MIGRATING = (None, "deleting", "error", "success")


def build_or(values: Collection[str] | str) -> str:
    """Cinder's utils.build_or_str: ``a or b or c``."""
    return values if isinstance(values, str) else " or ".join(values)


def cas(s: Session, volume_id: str, values: Mapping[str, Any], **expected: Any) -> bool:
    """Update the volume only if every ``expected`` column holds (one value, or any of a tuple).

    One UPDATE statement: the database decides between concurrent callers.
    """
    stmt = update(V).where(V.id == volume_id)
    for name, want in expected.items():
        column = getattr(V, name)
        if isinstance(want, tuple):
            options = [w for w in want if w is not None]
            cond = column.in_(options)
            if None in want:
                cond = cond | column.is_(None)
            stmt = stmt.where(cond)
        elif want is None:
            stmt = stmt.where(column.is_(None))
        else:
            stmt = stmt.where(column == want)
    result = s.execute(stmt.values(**values, updated_at=now()).execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0) == 1)


def volume(s: Session, caller: Caller, volume_id: str) -> models.Volume:
    return get_visible(s, V, volume_id, caller, VolumeNotFound)


def admin_meta(s: Session, volume_id: str) -> dict[str, str]:
    rows = s.scalars(select(models.VolumeAdminMetadata).where(models.VolumeAdminMetadata.volume_id == volume_id)
                     .order_by(models.VolumeAdminMetadata.key))
    return {r.key: r.value for r in rows}


def set_admin_meta(s: Session, volume_id: str, key: str, value: str) -> None:
    row = s.get(models.VolumeAdminMetadata, (volume_id, key))
    if row is None:
        s.add(models.VolumeAdminMetadata(volume_id=volume_id, key=key, value=value))
    else:
        row.value = value


def drop_admin_meta(s: Session, volume_id: str, key: str) -> None:
    s.execute(delete(models.VolumeAdminMetadata).where(models.VolumeAdminMetadata.volume_id == volume_id,
                                                       models.VolumeAdminMetadata.key == key))


def attachments_of(s: Session, volume_id: str) -> list[models.Attachment]:
    return list(s.scalars(select(A).where(A.volume_id == volume_id).order_by(A.created_at, A.id)))


def finish_detach(s: Session, volume_id: str, attachment_id: str | None) -> None:
    """Drop the attachment; the volume is ``in-use`` while another attachment remains, else
    ``available``/``detached`` and its ``attached_mode`` goes (Cinder's volume_detached)."""
    if attachment_id is not None:
        s.execute(delete(A).where(A.id == attachment_id))
    remaining = attachments_of(s, volume_id)
    values: dict[str, Any]
    if remaining:
        values = {"status": "in-use", "attach_status": "attached"}
    else:
        values = {"attach_status": "detached"}
        vol = s.get(V, volume_id)
        # An upload (or a migration) under way keeps its status; it ends in its own time.
        if vol is not None and vol.status != "uploading" and vol.migration_status in (None, "success", "error"):
            values["status"] = "available"
        drop_admin_meta(s, volume_id, "attached_mode")
    s.execute(update(V).where(V.id == volume_id).values(**values, updated_at=now()))


# --- the attachments API (3.27+) ---------------------------------------------------------------


@dataclass
class Reserved:
    attachment: models.Attachment
    volume: VolumeSpec
    project_id: str


def _visible_attachment(s: Session, caller: Caller, attachment_id: str) -> tuple[models.Attachment, models.Volume]:
    row = s.get(A, attachment_id)
    vol = s.get(V, row.volume_id) if row is not None else None
    if row is None or vol is None or not (caller.is_admin or vol.project_id == caller.project_id):
        raise AttachmentNotFound(attachment_id)
    return row, vol


def attach_target(s: Session, caller: Caller, volume_id: str) -> tuple[str, bool]:
    """The volume's project, and whether the attachment would be one more on an in-use bootable
    multiattach volume (Cinder's ``volume:multiattach_bootable_volume`` check); 404 if not visible."""
    vol = volume(s, caller, volume_id)
    return vol.project_id, bool(vol.multiattach and vol.bootable and vol.status == "in-use")


def attachment_project(s: Session, caller: Caller, attachment_id: str) -> str:
    return _visible_attachment(s, caller, attachment_id)[1].project_id


def reserve(s: Session, caller: Caller, volume_id: str, instance_uuid: str | None, mode: str) -> Reserved:
    """Cinder's attachment_create without a connector: the volume ``reserved``, a ``reserved`` row."""
    vol = volume(s, caller, volume_id)
    if "error" in vol.status:
        raise InvalidVolume("Volume attachments can not be created if the volume is in an error state. "
                            f"The Volume {vol.id} currently has a status of: {vol.status} ")
    statuses: tuple[str, ...] = ("available", "in-use", "downloading") if vol.multiattach else ("available",
                                                                                               "downloading")
    if not cas(s, vol.id, {"status": "reserved"}, status=statuses, multiattach=vol.multiattach):
        s.refresh(vol)
        # The same server attaching again (a migration between hosts) may reserve an in-use volume.
        same = instance_uuid is not None and vol.status in ("in-use", "reserved") and any(
            a.instance_uuid == instance_uuid for a in attachments_of(s, vol.id))
        if not same:
            raise InvalidVolume(f"Volume {vol.id} status must be {build_or(statuses)} to reserve, but the current "
                                f"status is {vol.status}.")
    readonly = admin_meta(s, vol.id).get("readonly") == "True"
    row = A(id=new_id(), volume_id=vol.id, instance_uuid=instance_uuid, attach_status="reserved",
            attach_mode="ro" if readonly else mode, created_at=created())
    s.add(row)
    s.flush()
    s.refresh(vol)
    return Reserved(row, volume_spec(s, vol), vol.project_id)


def for_update(s: Session, caller: Caller, attachment_id: str) -> Reserved:
    """The attachment and its volume, before asking the agent for a connection (PUT)."""
    row, vol = _visible_attachment(s, caller, attachment_id)
    if "error" in vol.status:
        raise Conflict("Volume attachments can not be updated if the volume is in an error state. "
                       f"The Volume {vol.id} currently has a status of: {vol.status} ")
    if not vol.host:
        raise InvalidVolume(f"Volume {vol.id} is not on any backend yet.")
    return Reserved(row, volume_spec(s, vol), vol.project_id)


def flat_connection(info: Mapping[str, Any], attachment_id: str, connector: Mapping[str, Any],
                    mode: str) -> dict[str, Any]:
    """An agent's connection info as Cinder's attachments carry it: the driver's data keys beside
    driver_volume_type, with ``access_mode``, ``attachment_id`` and ``enforce_multipath``."""
    data = dict(info.get("data") or {})
    flat = {**data, **{k: v for k, v in info.items() if k != "data"}}
    flat.update(access_mode=mode, attachment_id=attachment_id,
                enforce_multipath=connector.get("enforce_multipath", False))
    return flat


def connected(s: Session, attachment_id: str, connector: dict[str, Any], connection_info: dict[str, Any],
              mode: str) -> models.Attachment:
    """Record the agent's connection: the attachment and the volume ``attaching`` (db.volume_attached
    with mark_attached False)."""
    row = s.get(A, attachment_id)
    if row is None:
        raise AttachmentNotFound(attachment_id)
    row.connector = connector
    row.connection_info = connection_info
    row.attach_status = "attaching"
    row.attached_host = str(connector.get("host") or "") or None
    row.mountpoint = str(connector.get("mountpoint") or "na")
    row.attach_mode = mode
    row.attach_time = now()
    row.updated_at = now()
    s.execute(update(V).where(V.id == row.volume_id).values(status="attaching", attach_status="attaching",
                                                             updated_at=now()))
    set_admin_meta(s, row.volume_id, "attached_mode", mode)
    return row


def unreserve_failed(s: Session, attachment_id: str) -> None:
    """The agent could not connect: the attachment is ``error_attaching`` (Cinder keeps the row)."""
    s.execute(update(A).where(A.id == attachment_id).values(attach_status="error_attaching", updated_at=now()))


def complete(s: Session, caller: Caller, attachment_id: str) -> None:
    """os-complete (3.44): the attachment ``attached``, the volume ``in-use``/``attached``."""
    row, vol = _visible_attachment(s, caller, attachment_id)
    row.attach_status = "attached"
    row.updated_at = now()
    vol.status, vol.attach_status, vol.updated_at = "in-use", "attached", now()


def show(s: Session, caller: Caller, attachment_id: str) -> models.Attachment:
    return _visible_attachment(s, caller, attachment_id)[0]


@dataclass
class Removal:
    attachment: models.Attachment
    volume: VolumeSpec


def for_delete(s: Session, caller: Caller, attachment_id: str) -> Removal:
    row, vol = _visible_attachment(s, caller, attachment_id)
    return Removal(row, volume_spec(s, vol))


# The volume's status after an attachment goes follows the furthest-along one left (Cinder's
# attachment_delete): attached > attaching > detaching > reserved.
_AFTER_DELETE = (("attached", "in-use"), ("attaching", "attaching"), ("detaching", "detaching"),
                 ("reserved", "reserved"))


def delete_attachment(s: Session, attachment_id: str, volume_id: str) -> list[models.Attachment]:
    """The row goes; what remains of the volume's attachments (Cinder's answer to DELETE)."""
    s.execute(delete(A).where(A.id == attachment_id))
    remaining = attachments_of(s, volume_id)
    left = {a.attach_status for a in remaining}
    for attach_status, status in _AFTER_DELETE:
        if attach_status in left:
            s.execute(update(V).where(V.id == volume_id).values(status=status, attach_status=attach_status,
                                                                 updated_at=now()))
            return remaining
    if remaining:  # only failed ones left: Cinder's default
        s.execute(update(V).where(V.id == volume_id).values(status="available", attach_status="detached",
                                                             updated_at=now()))
    else:
        finish_detach(s, volume_id, None)
    return remaining


COLUMNS = {"volume_id": A.volume_id, "instance_uuid": A.instance_uuid, "attach_status": A.attach_status,
           "status": A.attach_status, "created_at": A.created_at, "updated_at": A.updated_at, "id": A.id}


def list_attachments(s: Session, caller: Caller, lq: ListQuery) -> Listing:
    stmt = select(A).join(V, V.id == A.volume_id)
    if not (caller.is_admin and lq.all_projects):
        stmt = stmt.where(V.project_id == (lq.project_id if caller.is_admin and lq.project_id else caller.project_id))
    elif lq.project_id is not None:
        stmt = stmt.where(V.project_id == lq.project_id)
    return list_rows(s, stmt, A, lq, COLUMNS)
