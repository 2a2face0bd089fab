"""Volume transfers: a project offers one of its volumes (``awaiting-transfer``) under a random
auth key; another project that knows the key takes it (and its snapshots, unless the transfer
says ``no_snapshots``), its own quota permitting. Only a salt and a hash of the key are kept.

No work on a host: the data does not move, only the rows' owner."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.errors import InvalidAuthKey, InvalidVolume, TransferNotFound, VolumeNotFound
from onestack.volume.service import quotas
from onestack.volume.service.common import (
    Caller,
    ListQuery,
    created,
    get_visible,
    list_rows,
    new_id,
    now,
)
from onestack.volume.service.snapshots import quota_deltas

T = models.Transfer
COLUMNS = {"name": T.name, "volume_id": T.volume_id, "created_at": T.created_at, "updated_at": T.updated_at,
           "source_project_id": T.source_project_id}
KEY_LENGTH = 16  # Cinder's volume_transfer_key_length
SALT_LENGTH = 8
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class Created:
    row: models.Transfer
    auth_key: str  # shown once, in the create response


def _hash(salt: str, auth_key: str) -> str:
    return hashlib.sha256(f"{salt}{auth_key}".encode()).hexdigest()


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _own(s: Session, transfer_id: str, caller: Caller) -> models.Transfer:
    row = s.get(T, transfer_id)
    if row is None or not (caller.is_admin or row.source_project_id == caller.project_id):
        raise TransferNotFound(transfer_id)
    return row


def get(s: Session, transfer_id: str, caller: Caller) -> models.Transfer:
    return _own(s, transfer_id, caller)


def list_transfers(s: Session, caller: Caller, lq: ListQuery) -> tuple[list[models.Transfer], int | None]:
    stmt = select(T)
    if not (caller.is_admin and lq.all_projects):
        stmt = stmt.where(T.source_project_id == (lq.project_id if caller.is_admin and lq.project_id
                                                  else caller.project_id))
    listing = list_rows(s, stmt, T, lq, COLUMNS)
    return listing.rows, listing.count


def create(s: Session, caller: Caller, volume_id: str, name: str | None, no_snapshots: bool) -> Created:
    volume = get_visible(s, models.Volume, volume_id, caller, VolumeNotFound)
    if volume.status != "available":
        raise InvalidVolume("status must be available")
    if volume.encrypted:
        raise InvalidVolume("Cannot transfer an encrypted volume without its key.")  # no key manager here
    if not no_snapshots:
        sn = models.Snapshot
        busy = s.scalar(select(func.count()).select_from(sn).where(sn.volume_id == volume.id,
                                                                   sn.status != "available"))
        if busy:
            raise InvalidVolume(f"One or more snapshots of volume {volume.id} are not available.")
    if s.scalar(select(T.id).where(T.volume_id == volume.id)) is not None:
        raise InvalidVolume("status must be available")
    auth_key, salt = _random(KEY_LENGTH), _random(SALT_LENGTH)
    row = T(id=new_id(), volume_id=volume.id, source_project_id=volume.project_id, name=name, salt=salt,
            crypt_hash=_hash(salt, auth_key), no_snapshots=no_snapshots, created_at=created())
    s.add(row)
    volume.previous_status = volume.status
    volume.status = "awaiting-transfer"
    volume.updated_at = now()
    s.flush()
    return Created(row, auth_key)


def delete_transfer(s: Session, caller: Caller, transfer_id: str) -> None:
    row = _own(s, transfer_id, caller)
    volume = s.get(models.Volume, row.volume_id)
    if volume is not None and volume.status == "awaiting-transfer":
        volume.status = "available"
        volume.updated_at = now()
    s.delete(row)


def accept(s: Session, caller: Caller, transfer_id: str, auth_key: str) -> models.Transfer:
    """Move the volume (and its snapshots) to the caller's project; the transfer goes."""
    row = s.get(T, transfer_id)
    if row is None:
        raise TransferNotFound(transfer_id)
    if not hmac.compare_digest(_hash(row.salt, auth_key), row.crypt_hash):
        raise InvalidAuthKey(f"Attempt to transfer {transfer_id} with invalid auth key.")
    volume = s.get(models.Volume, row.volume_id)
    if volume is None:
        raise VolumeNotFound(row.volume_id)
    if volume.status != "awaiting-transfer":
        raise InvalidVolume("status must be awaiting-transfer")
    snaps: list[models.Snapshot] = []
    if not row.no_snapshots:
        snaps = list(s.scalars(select(models.Snapshot).where(models.Snapshot.volume_id == volume.id)
                               .order_by(models.Snapshot.id)))
    type_name = s.scalar(select(models.VolumeType.name).where(models.VolumeType.id == volume.volume_type_id))
    deltas = {"volumes": 1, "gigabytes": volume.size}
    if type_name is not None:
        deltas[f"volumes_{type_name}"] = 1
        deltas[f"gigabytes_{type_name}"] = volume.size
    for key, amount in quota_deltas(s, len(snaps), sum(x.volume_size for x in snaps), volume.volume_type_id).items():
        deltas[key] = deltas.get(key, 0) + amount
    quotas.check(s, caller.project_id, deltas)
    stamp = now()
    volume.project_id, volume.user_id = caller.project_id, caller.user_id
    volume.status = "available"
    volume.updated_at = stamp
    for snap in snaps:
        snap.project_id, snap.user_id = caller.project_id, caller.user_id
        snap.updated_at = stamp
    s.delete(row)
    s.flush()
    return row
