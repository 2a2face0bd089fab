"""What ``POST /volumes/{id}/action`` does to the rows, action by action, in Cinder's words.

Each function runs in one write transaction and returns what the API must then send to an
agent or the scheduler (a ``VolumeSpec``), after the transaction committed the new status.
Status moves are compare-and-set (``attachments.cas``), so concurrent requests cannot both
pass a check that only one of them may pass.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, NotFound
from onestack.volume import models
from onestack.volume.errors import (
    InvalidInput,
    InvalidSnapshot,
    InvalidVolume,
    InvalidVolumeAttachMode,
    SnapshotNotFound,
    VolumeNotFound,
    VolumeTypeNotFound,
    VolumeTypeNotFoundByName,
)
from onestack.volume.rpcapi import SnapshotSpec, VolumeSpec
from onestack.volume.service import quotas
from onestack.volume.service.attachments import (
    NOT_MIGRATING,
    admin_meta,
    attachments_of,
    build_or,
    cas,
    finish_detach,
    set_admin_meta,
    volume,
)
from onestack.volume.service.common import Caller, created, iso, new_id, now
from onestack.volume.service.specs import (
    backend_name,
    backend_of,
    extra_specs,
    snapshot_spec,
    volume_spec,
)

V = models.Volume

VOLUME_STATUSES = ("creating", "available", "deleting", "error", "error_deleting", "error_managing", "managing",
                   "attaching", "in-use", "detaching", "maintenance", "restoring-backup", "error_restoring",
                   "reserved", "awaiting-transfer", "backing-up", "error_backing-up", "error_extending",
                   "downloading", "uploading", "retyping", "extending")
ATTACH_STATUSES = ("attached", "detached")
MIGRATION_STATUSES = ("migrating", "error", "success", "completing", "none", "starting")
# The statuses a volume may be deleted (or unmanaged) from without force (Cinder's delete).
DELETABLE = ("available", "error", "error_restoring", "error_extending", "error_managing")


def project_of(s: Session, caller: Caller, volume_id: str) -> str:
    """The volume's project, for the policy target; 404 when the caller may not see it."""
    return volume(s, caller, volume_id).project_id


# --- size, status, flags ----------------------------------------------------------------------


def extend(s: Session, caller: Caller, volume_id: str, new_size: int, attached: bool) -> VolumeSpec:
    """available (in-use when ``attached``, 3.42) → extending; the added gigabytes against quota."""
    vol = volume(s, caller, volume_id)
    if new_size <= vol.size:
        raise InvalidInput("New size for extend must be greater than current size. "
                           f"(current: {vol.size}, extended: {new_size}).")
    expected = "in-use" if attached else "available"
    if not cas(s, vol.id, {"status": "extending", "previous_status": vol.status}, status=expected):
        # Cinder prints its condition dict as is.
        raise InvalidVolume(f"Volume {vol.id} status must be '{ {'status': expected} }' to extend, "
                            f"currently {vol.status}.")
    type_name = _type_name(s, vol.volume_type_id)
    delta = new_size - vol.size
    deltas = {"gigabytes": delta}
    if type_name:
        deltas[f"gigabytes_{type_name}"] = delta
    # Raising here rolls the status change back with the transaction.
    quotas.check(s, vol.project_id, deltas, volume_size=new_size)
    s.refresh(vol)
    return volume_spec(s, vol)


def reset_status(s: Session, volume_id: str, update_: dict[str, Any]) -> None:
    """Admin: set status / attach_status / migration_status as given (values checked by the API)."""
    vol = s.get(V, volume_id)
    if vol is None:
        raise VolumeNotFound(volume_id)
    status = update_.get("status")
    # Cinder's tuple lacks a comma ('error_deleting' 'detaching'), so only 'deleting' is refused.
    if status == "deleting":
        raise BadRequest(f"Cannot reset-state to {status}")
    if status == "in-use" and not attachments_of(s, vol.id):
        raise BadRequest("Cannot reset-state to in-use because volume does not have any attachments.")
    for key, value in update_.items():
        setattr(vol, key, value)
    vol.updated_at = now()
    if update_.get("attach_status") == "detached":
        s.execute(delete(models.Attachment).where(models.Attachment.volume_id == vol.id))
        s.execute(delete(models.VolumeAdminMetadata).where(models.VolumeAdminMetadata.volume_id == vol.id,
                                                           models.VolumeAdminMetadata.key == "attached_mode"))


def set_bootable(s: Session, caller: Caller, volume_id: str, bootable: bool) -> None:
    vol = volume(s, caller, volume_id)
    if vol.status == "maintenance":
        raise InvalidVolume("The volume cannot be updated during maintenance.")
    vol.bootable, vol.updated_at = bootable, now()


def update_readonly(s: Session, caller: Caller, volume_id: str, readonly: bool) -> None:
    vol = volume(s, caller, volume_id)
    if vol.status != "available":
        raise InvalidVolume(f"Volume {vol.id} status must be available to update readonly flag, but current "
                            f"status is: {vol.status}.")
    set_admin_meta(s, vol.id, "readonly", str(readonly))
    vol.updated_at = now()


# --- retype -----------------------------------------------------------------------------------


@dataclass
class Retype:
    """``spec`` set: the scheduler must find the new type a backend (the volume is ``retyping``)."""

    spec: VolumeSpec | None
    new_type_id: str


def _type_name(s: Session, type_id: str | None) -> str | None:
    return s.scalar(select(models.VolumeType.name).where(models.VolumeType.id == type_id)) if type_id else None


def _find_type(s: Session, name_or_id: str) -> models.VolumeType:
    found = s.get(models.VolumeType, name_or_id)
    if found is not None:
        return found
    by_name = s.scalar(select(models.VolumeType).where(models.VolumeType.name == name_or_id))
    if by_name is None:
        # Cinder looks a UUID-like value up as an id, anything else as a name.
        try:
            uuid.UUID(name_or_id)
        except ValueError:
            raise VolumeTypeNotFoundByName(name_or_id) from None
        raise VolumeTypeNotFound(name_or_id)
    return by_name


def _is_true(spec: str | None) -> bool:
    return (spec or "").strip().lower() in ("<is> true", "true")


def type_is_multiattach(s: Session, name_or_id: str) -> bool:
    """Whether the named type makes volumes multiattach (False for an unknown type: retype 404s it)."""
    try:
        return _is_true(extra_specs(s, _find_type(s, name_or_id).id).get("multiattach"))
    except (VolumeTypeNotFound, VolumeTypeNotFoundByName):
        return False


def retype(s: Session, caller: Caller, volume_id: str, new_type: str, migration_policy: str | None) -> Retype:
    vol = volume(s, caller, volume_id)
    target = _find_type(s, new_type)
    specs = extra_specs(s, target.id)
    to_multiattach = _is_true(specs.get("multiattach"))
    if vol.multiattach != to_multiattach and vol.status != "available":
        raise InvalidInput("Invalid volume_type passed, retypes affecting multiattach are only allowed on available "
                           f"volumes, the specified volume however currently has a status of: {vol.status}.")
    encrypted = s.get(models.VolumeTypeEncryption, target.id) is not None
    if to_multiattach and encrypted:
        raise InvalidInput("Retype requested both encryption and multi-attach, which is not supported.")
    if (vol.status not in ("available", "in-use") or vol.migration_status not in NOT_MIGRATING or vol.group_id
            or vol.volume_type_id == target.id):
        raise InvalidVolume("Retype needs volume to be in available or in-use state, not be part of an active "
                            "migration or a consistency group, requested type has to be different that the one "
                            "from the volume, and for in-use volumes front-end qos specs cannot change.")
    quotas.check(s, vol.project_id, {f"volumes_{target.name}": 1, f"gigabytes_{target.name}": vol.size})
    wanted = backend_name(specs)
    here = _backend_name(s, vol.host)
    if wanted is None or (here is not None and wanted == here):
        # The backend it is on serves the new type: nothing moves, only the type changes.
        vol.volume_type_id, vol.multiattach, vol.updated_at = target.id, to_multiattach, now()
        return Retype(None, target.id)
    if not cas(s, vol.id, {"status": "retyping", "previous_status": vol.status},
               status=("available", "in-use"), volume_type_id=vol.volume_type_id):
        raise InvalidVolume("Retype needs volume to be in available or in-use state.")
    s.refresh(vol)
    return Retype(volume_spec(s, vol), target.id)


def _backend_name(s: Session, host: str | None) -> str | None:
    """The ``volume_backend_name`` of the pool the volume lives on (else the backend part of its host)."""
    if not host:
        return None
    pool = s.get(models.Pool, host)
    if pool is not None and pool.capabilities.get("volume_backend_name"):
        return str(pool.capabilities["volume_backend_name"])
    backend = backend_of(host) or ""
    return backend.split("@", 1)[1] if "@" in backend else None


def retype_failed(s: Session, volume_id: str) -> None:
    """The scheduler could not be asked: the volume returns to its previous status."""
    s.execute(update(V).where(V.id == volume_id, V.status == "retyping")
              .values(status=func.coalesce(V.previous_status, "available"), updated_at=now()))


# --- images -----------------------------------------------------------------------------------

# The image properties that describe the image itself, not carried over to a new image.
_NOT_INHERITED = {"checksum", "container_format", "disk_format", "image_id", "image_name", "min_disk", "min_ram",
                  "size", "os_hash_algo", "os_hash_value", "signature_verified"}


@dataclass
class Upload:
    volume: VolumeSpec
    properties: dict[str, str]  # volume_image_metadata carried into the new image
    description: str | None
    updated_at: str | None
    volume_type: dict[str, Any] | None


def begin_upload(s: Session, caller: Caller, volume_id: str, force: bool) -> Upload:
    vol = volume(s, caller, volume_id)
    statuses: tuple[str, ...] = ("available", "in-use") if force else ("available",)
    if not cas(s, vol.id, {"status": "uploading", "previous_status": vol.status}, status=statuses):
        raise InvalidVolume(f"Volume {vol.id} status must be {build_or(statuses)}")
    s.refresh(vol)
    props = {k: v for k, v in image_metadata(s, vol.id).items() if k not in _NOT_INHERITED}
    vtype = s.get(models.VolumeType, vol.volume_type_id)
    type_view = None if vtype is None else {
        "id": vtype.id, "name": vtype.name, "description": vtype.description, "is_public": vtype.is_public,
        "qos_specs_id": vtype.qos_specs_id, "extra_specs": extra_specs(s, vtype.id), "deleted": False,
        "deleted_at": None, "created_at": iso(vtype.created_at), "updated_at": iso(vtype.updated_at)}
    return Upload(volume_spec(s, vol), props, vol.description, iso(vol.updated_at), type_view)


def upload_failed(s: Session, volume_id: str) -> None:
    """The image record could not be made: back to where the volume was."""
    s.execute(update(V).where(V.id == volume_id, V.status == "uploading")
              .values(status=func.coalesce(V.previous_status, "available"), previous_status=None, updated_at=now()))


def image_metadata(s: Session, volume_id: str) -> dict[str, str]:
    rows = s.scalars(select(models.VolumeImageMetadata).where(models.VolumeImageMetadata.volume_id == volume_id)
                     .order_by(models.VolumeImageMetadata.key))
    return {r.key: r.value for r in rows}


def show_image_metadata(s: Session, caller: Caller, volume_id: str) -> dict[str, str]:
    return image_metadata(s, volume(s, caller, volume_id).id)


def set_image_metadata(s: Session, caller: Caller, volume_id: str, metadata: dict[str, str]) -> dict[str, str]:
    vol = volume(s, caller, volume_id)
    if vol.status in ("maintenance", "uploading"):
        raise InvalidVolume(f"Updating volume metadata is not allowed for volumes in {vol.status} status.")
    for key, value in metadata.items():
        row = s.get(models.VolumeImageMetadata, (vol.id, key))
        if row is None:
            s.add(models.VolumeImageMetadata(volume_id=vol.id, key=key, value=value))
        else:
            row.value = value
    s.flush()
    return image_metadata(s, vol.id)


def unset_image_metadata(s: Session, caller: Caller, volume_id: str, key: str) -> None:
    vol = volume(s, caller, volume_id)
    if key not in image_metadata(s, vol.id):
        raise NotFound(f"Glance metadata for volume/snapshot {vol.id} cannot be found.")
    if vol.status in ("maintenance", "uploading"):
        raise InvalidVolume(f"Deleting volume metadata is not allowed for volumes in {vol.status} status.")
    s.execute(delete(models.VolumeImageMetadata).where(models.VolumeImageMetadata.volume_id == vol.id,
                                                       models.VolumeImageMetadata.key == key))


# --- revert to snapshot (3.40) ----------------------------------------------------------------


@dataclass
class Revert:
    volume: VolumeSpec
    snapshot: SnapshotSpec


def revert(s: Session, caller: Caller, volume_id: str, snapshot_id: str | None) -> Revert:
    vol = volume(s, caller, volume_id)
    sn = models.Snapshot
    latest = s.scalar(select(sn).where(sn.volume_id == vol.id).order_by(sn.created_at.desc(), sn.id.desc()).limit(1))
    if latest is None:
        raise BadRequest(f"Volume {vol.id} doesn't have any snapshots.")
    if snapshot_id is None or snapshot_id != latest.id:
        raise BadRequest(f"Specified snapshot {snapshot_id} is None or not the latest one of volume {vol.id}.")
    if vol.size != latest.volume_size:
        raise BadRequest(f"Can't revert volume {vol.id} to its latest snapshot {snapshot_id}. The volume size must "
                         "be equal to the snapshot size.")
    if not cas(s, vol.id, {"status": "reverting"}, status="available"):
        raise Conflict(str(InvalidVolume(f"Can't revert volume {vol.id} to its latest snapshot {latest.id}. "
                                         "Volume's status must be 'available'.")))
    done = s.execute(update(sn).where(sn.id == latest.id, sn.status == "available")
                     .values(status="restoring", updated_at=now()).execution_options(synchronize_session=False))
    if getattr(done, "rowcount", 0) != 1:
        raise Conflict(str(InvalidSnapshot(f"Can't revert volume {vol.id} to its latest snapshot {latest.id}. "
                                           "Snapshot's status must be 'available'.")))
    s.refresh(vol)
    s.refresh(latest)
    return Revert(volume_spec(s, vol), snapshot_spec(latest))


# --- the old attach flow: reserve, attach, detach, connections ------------------------------


def reserve(s: Session, caller: Caller, volume_id: str) -> None:
    vol = volume(s, caller, volume_id)
    statuses: tuple[str, ...] = ("available", "in-use") if vol.multiattach else ("available",)
    if not cas(s, vol.id, {"status": "attaching"}, status=statuses, multiattach=vol.multiattach):
        s.refresh(vol)
        raise InvalidVolume(f"Volume status must be {build_or(statuses)} to reserve, but the status is "
                            f"{vol.status}.")


def unreserve(s: Session, caller: Caller, volume_id: str) -> None:
    vol = volume(s, caller, volume_id)
    target = "in-use" if attachments_of(s, vol.id) else "available"
    cas(s, vol.id, {"status": target}, status="attaching")  # not reserved: nothing to do, as Cinder


def begin_detaching(s: Session, caller: Caller, volume_id: str) -> None:
    vol = volume(s, caller, volume_id)
    moved = cas(s, vol.id, {"status": "detaching"}, status="in-use", attach_status="attached",
                migration_status=NOT_MIGRATING)
    if not moved and vol.migration_status in NOT_MIGRATING:
        raise InvalidVolume("Unable to detach volume. Volume status must be 'in-use' and attach_status must be "
                            "'attached' to detach.")


def roll_detaching(s: Session, caller: Caller, volume_id: str) -> None:
    vol = volume(s, caller, volume_id)
    cas(s, vol.id, {"status": "in-use"}, status="detaching")


def attach(s: Session, caller: Caller, volume_id: str, instance_uuid: str | None, host_name: str | None,
           mountpoint: str, mode: str) -> None:
    """os-attach: the volume is attached at once (Cinder's attach_volume, done where the rows are)."""
    vol = volume(s, caller, volume_id)
    if vol.status == "maintenance":
        raise InvalidVolume("The volume cannot be attached in maintenance mode.")
    meta = admin_meta(s, vol.id)
    if "readonly" not in meta:
        set_admin_meta(s, vol.id, "readonly", "False")
    if meta.get("readonly") == "True" and mode != "ro":
        raise InvalidVolumeAttachMode(mode, vol.id)
    current = attachments_of(s, vol.id)
    for a in current:
        same = (instance_uuid and a.instance_uuid == instance_uuid) or (
            host_name and not instance_uuid and a.attached_host == host_name)
        if same and a.attach_status == "attached":
            return  # attached there already: nothing to do
    allowed = ("available", "attaching", "reserved", "in-use") if vol.multiattach else ("available", "attaching",
                                                                                         "reserved")
    if vol.status == "in-use" and not vol.multiattach and not vol.migration_status:
        raise BadRequest("Error attaching volume - InvalidVolume: Invalid volume: volume is already attached")
    if not cas(s, vol.id, {"status": "in-use", "attach_status": "attached"}, status=allowed):
        raise BadRequest(f"Error attaching volume - InvalidVolume: Invalid volume: Volume {vol.id} status must be "
                         f"{build_or(allowed)} to attach, but current status is: {vol.status}.")
    stamp = created()
    s.add(models.Attachment(id=new_id(), volume_id=vol.id, instance_uuid=instance_uuid, attached_host=host_name,
                            mountpoint=mountpoint, attach_time=stamp, attach_status="attached", attach_mode=mode,
                            created_at=stamp))
    set_admin_meta(s, vol.id, "attached_mode", mode)


def detach(s: Session, caller: Caller, volume_id: str, attachment_id: str | None, what: str = "detaching") -> None:
    """os-detach (and the second half of os-force_detach)."""
    vol = volume(s, caller, volume_id)
    if vol.status == "maintenance":
        raise InvalidVolume("The volume cannot be detached in maintenance mode.")
    current = attachments_of(s, vol.id)
    if attachment_id is not None:
        found = next((a for a in current if a.id == attachment_id), None)
        if found is None:
            raise BadRequest(f"Error {what} volume - VolumeAttachmentNotFound: Volume attachment could not be "
                             f"found with filter: attachment_id = {attachment_id}.")
    elif len(current) > 1:
        raise BadRequest(f"Error {what} volume - InvalidVolume: Invalid volume: Detach volume failed: More than "
                         "one attachment, but no attachment_id provided.")
    elif not current:
        # Not attached: Cinder marks it available; a volume in no attach state is left alone.
        if vol.status in ("attaching", "reserved", "in-use", "detaching"):
            vol.status, vol.attach_status, vol.updated_at = "available", "detached", now()
        return
    else:
        attachment_id = current[0].id
    finish_detach(s, vol.id, attachment_id)


@dataclass
class Connection:
    volume: VolumeSpec
    access_mode: str
    encrypted: bool


def for_connection(s: Session, caller: Caller, volume_id: str) -> Connection:
    vol = volume(s, caller, volume_id)
    if vol.status == "maintenance":
        raise InvalidVolume("The volume connection cannot be initialized in maintenance mode.")
    if not vol.host:
        raise InvalidVolume(f"Volume {vol.id} is not on any backend yet.")
    meta = admin_meta(s, vol.id)
    ro = meta.get("readonly") == "True" or meta.get("attached_mode") == "ro"
    return Connection(volume_spec(s, vol), "ro" if ro else "rw", vol.encrypted)


def for_terminate(s: Session, caller: Caller, volume_id: str) -> VolumeSpec | None:
    vol = volume(s, caller, volume_id)
    return volume_spec(s, vol) if vol.host else None


def after_terminate(s: Session, volume_id: str) -> None:
    """Cinder unreserves after terminate_connection: attaching → in-use/available."""
    target = "in-use" if attachments_of(s, volume_id) else "available"
    cas(s, volume_id, {"status": target}, status="attaching")


# --- unmanage ---------------------------------------------------------------------------------


def unmanage(s: Session, caller: Caller, volume_id: str) -> None:
    """os-unmanage: the row goes, the disk stays where the backend has it."""
    vol = volume(s, caller, volume_id)
    count = s.scalar(select(func.count()).select_from(models.Snapshot).where(models.Snapshot.volume_id == vol.id))
    if count:
        raise InvalidVolume(f"Volume still has {count} dependent snapshots.")
    if (vol.status not in DELETABLE or vol.attach_status == "attached" or vol.migration_status not in NOT_MIGRATING
            or vol.group_id):
        raise InvalidVolume("Volume status must be available or error or error_restoring or error_extending or "
                            "error_managing and must not be migrating, attached, belong to a group, have "
                            "snapshots, awaiting a transfer, or be disassociated from snapshots after volume "
                            "transfer.")
    s.delete(vol)


def snapshot_project(s: Session, caller: Caller, snapshot_id: str) -> str:
    snap = s.get(models.Snapshot, snapshot_id)
    if snap is None or not (caller.is_admin or snap.project_id == caller.project_id):
        raise SnapshotNotFound(snapshot_id)
    return snap.project_id
