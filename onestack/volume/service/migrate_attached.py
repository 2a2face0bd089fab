"""Migrating an attached volume: Cinder's target volume, compute's swap, ``os-migrate_volume_completion``.

``start`` (the scheduler, for an ``in-use`` volume) adds Cinder's migration target: a new row on
the destination pool (``creating``, ``migration_status`` ``target:<id>``, outside quota) that the
target's agent creates as a copy of the volume; the volume is ``migrating``. When the copy is
``available``, ``swap_request`` names the servers the volume is attached to: the server asks
compute to swap each onto the target (compute's ``PUT os-volume_attachments``), and compute,
after attaching the target in the volume's place, calls ``complete``: the two rows exchange
their disks (host, provider location) and attachments, so the volume keeps its id on the new
pool and the target id, now holding the old disk, is deleted; the attachments' connections
(made on the target's disk, renamed now) are asked of the agent again and recorded, the
attachments staying ``attached`` (``refresh_connections``). A failed copy or swap ends the
migration ``error`` with the volume where it was and the target deleted. A retype with policy
``on-demand`` of an attached volume takes the same path with the new type on the target, which
the volume takes at the end.

As Cinder, ``complete`` first marks the volume ``completing``: from there its migration rolls
forward (Cinder's ``_clean_temporary_volume`` keeps the target once the completion began).
After a crash, ``stalled`` (the scheduler's periodic pass) finds migrations whose two rows have
not moved for a while with the copy ended: a ``completing`` one, or one whose servers hold only
the target (compute swapped them all but never called the completion), rolls forward (the
target's disk renamed, ``finish``); any other rolls back (``failed``: the target deleted, the
volume as it was, ``migration_status`` ``error``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from onestack.core.api.request import Database
from onestack.volume import models
from onestack.volume.errors import InvalidVolume
from onestack.volume.rpcapi import ModelUpdate, SourceSpec, VolumeAgentAPI, VolumeSpec
from onestack.volume.service import heartbeats
from onestack.volume.service.attachments import flat_connection, volume
from onestack.volume.service.common import Caller, new_id, now
from onestack.volume.service.specs import agent_host, extra_specs, volume_spec
from onestack.volume.service.volumes import destroy

log = logging.getLogger("onestack.volume.migration")

MIGRATING, COMPLETING = "migrating", "completing"
ACTIVE = (MIGRATING, COMPLETING)
TARGET = "target:"
V = models.Volume
A = models.Attachment


def start(s: Session, v: models.Volume, target_pool: str,
          new_type_id: str | None = None) -> tuple[VolumeSpec, SourceSpec]:
    """The target row on ``target_pool`` (of ``new_type_id`` for a retype); the volume as the
    target agent should create it, and its source."""
    type_id = new_type_id or v.volume_type_id
    multiattach = v.multiattach if type_id == v.volume_type_id else (
        extra_specs(s, type_id).get("multiattach", "").strip().lower() == "<is> true")
    temp = V(id=new_id(), project_id=v.project_id, user_id=v.user_id, name=v.name, description=v.description,
             size=v.size, status="creating", attach_status="detached", availability_zone=v.availability_zone,
             volume_type_id=type_id, host=target_pool, bootable=v.bootable, multiattach=multiattach,
             encrypted=v.encrypted, replication_status="disabled", use_quota=False,
             migration_status=TARGET + v.id, created_at=now(), updated_at=None)
    s.add(temp)
    s.flush()
    v.migration_status, v.updated_at = MIGRATING, now()
    heartbeats.consume(s, target_pool, v.size)
    return volume_spec(s, temp), SourceSpec(volume=volume_spec(s, v))


@dataclass
class Swap:
    """The target ``new_id`` of ``old_id`` is made: compute swaps each server onto it."""

    old_id: str
    new_id: str
    servers: list[str] = field(default_factory=list)
    copy_failed: bool = False


def swap_request(s: Session, new_id: str) -> Swap | None:
    """After a ``volume_created`` report: the swap to ask of compute when ``new_id`` is a
    migration target (``copy_failed`` when it could not be made: the migration fails)."""
    temp = s.get(V, new_id)
    if temp is None or not (temp.migration_status or "").startswith(TARGET):
        return None
    vol = s.get(V, str(temp.migration_status).removeprefix(TARGET))
    if vol is None or vol.migration_status != MIGRATING:
        return None
    if temp.status != "available":
        return Swap(vol.id, new_id, copy_failed=True)
    servers = s.scalars(select(A.instance_uuid).where(A.volume_id == vol.id, A.instance_uuid.is_not(None))
                        .order_by(A.created_at, A.id))
    return Swap(vol.id, new_id, sorted({u for u in servers if u}))


def failed(s: Session, old_id: str, new_id: str) -> VolumeSpec | None:
    """The copy or the swap failed: the volume stays where it is (``error``); the target to delete
    (its pool's space is given back when its delete is reported)."""
    vol, temp = s.get(V, old_id), s.get(V, new_id)
    if vol is not None and vol.migration_status in ACTIVE:
        vol.migration_status, vol.updated_at = "error", now()
        if vol.status in ("maintenance", "retyping"):  # locked by the migration (lock_volume), or a retype's
            vol.status = vol.previous_status if vol.previous_status in ("available", "in-use") else "in-use"
    if temp is None or temp.status == "deleting":
        return None
    temp.status, temp.migration_status, temp.updated_at = "deleting", None, now()
    return volume_spec(s, temp)


@dataclass
class Completed:
    """``rename``: the swap succeeded; the target's agent renames its disk (the volume as it will
    be there, and the target), then ``finish`` exchanges the rows. ``delete``: the target to delete."""

    save_volume_id: str
    rename: tuple[VolumeSpec, VolumeSpec] | None = None
    delete: VolumeSpec | None = None


def complete(s: Session, caller: Caller, volume_id: str, new_volume_id: str, error: bool) -> Completed:
    """Cinder's ``migrate_volume_completion``: its API's checks, in their order."""
    vol, new = volume(s, caller, volume_id), volume(s, caller, new_volume_id)
    if not (vol.migration_status or new.migration_status):
        has = s.scalar(select(A.id).where(A.volume_id == vol.id).limit(1)) is not None
        if not error and has and vol.id != new.id:
            # Not a migration (compute swapped two volumes itself): the attachments follow the swap.
            _exchange_attachments(s, vol, new)
        return Completed(new.id)
    if not vol.migration_status:
        raise InvalidVolume("Source volume not mid-migration.")
    if not new.migration_status:
        raise InvalidVolume("Destination volume not mid-migration.")
    expected = TARGET + vol.id
    if new.migration_status != expected:
        raise InvalidVolume(f"Destination has migration_status {new.migration_status}, expected {expected}.")
    if error:
        return Completed(vol.id, delete=failed(s, vol.id, new.id))
    # Cinder's mark: the completion began, so a crash from here on rolls the migration forward.
    vol.migration_status, vol.updated_at = COMPLETING, now()
    return Completed(vol.id, rename=(VolumeSpec(**{**volume_spec(s, vol), "host": new.host or ""}),
                                     volume_spec(s, new)))


def finish(s: Session, volume_id: str, new_volume_id: str, update: ModelUpdate) -> VolumeSpec | None:
    """The target's disk bears the volume's name: the volume moves there with the attachments
    compute made on the target, and the target row goes; the old disk to delete."""
    vol, new = s.get(V, volume_id), s.get(V, new_volume_id)
    if vol is None or new is None or vol.migration_status not in ACTIVE or new.migration_status != TARGET + vol.id:
        return None  # completed already (a repeated call)
    old_disk = VolumeSpec(**{**volume_spec(s, vol), "status": "deleting"})
    heartbeats.release(s, vol.host, vol.size)  # the target pool counted it at the start
    vol.host, vol.volume_type_id, vol.multiattach = new.host, new.volume_type_id, new.multiattach
    vol.provider_location = update.get("provider_location", new.provider_location)
    _exchange_attachments(s, vol, new)
    vol.migration_status, vol.updated_at = "success", now()
    destroy(s, new)
    return old_disk


@dataclass
class Connection:
    attachment_id: str
    connector: dict[str, Any]
    mode: str


def connections(s: Session, volume_id: str) -> tuple[VolumeSpec, list[Connection]] | None:
    """The volume as it is now and its attachments that hold a connection (those with a connector)."""
    vol = s.get(V, volume_id)
    if vol is None:
        return None
    rows = s.scalars(select(A).where(A.volume_id == volume_id, A.connector.is_not(None)).order_by(A.id))
    return volume_spec(s, vol), [Connection(a.id, dict(a.connector or {}), a.attach_mode or "rw") for a in rows
                                 if a.connector]


def reconnected(s: Session, attachment_id: str, info: dict[str, Any]) -> None:
    """The attachment's connection as its agent gives it now; its status stays as it is."""
    s.execute(update(A).where(A.id == attachment_id).values(connection_info=info, updated_at=now()))


async def refresh_connections(db: Database, agents: VolumeAgentAPI, volume_id: str) -> None:
    """After ``finish``: the disk compute connected (the target's) took the volume's name, so each
    attachment's recorded connection is asked of the volume's agent again and recorded, the
    attachment staying ``attached``. Compute reads it there (no attachment update, which would make
    the attachment and the volume ``attaching`` for a moment: no server listed). A failure is
    logged: the attachment keeps the connection it had."""
    found = await db.read(connections, volume_id)
    if found is None:
        return
    spec, held = found
    for c in held:
        try:
            info = await agents.initialize_connection(host=agent_host(spec["host"]) or "", volume=spec,
                                                      connector={**c.connector, "mode": c.mode})
        except Exception as exc:  # noqa: BLE001 - a timeout or the agent's error alike
            log.warning("volume %s: connection of attachment %s not refreshed after its migration: %s",
                        volume_id, c.attachment_id, exc)
            continue
        await db.write(reconnected, c.attachment_id, flat_connection(dict(info), c.attachment_id, c.connector,
                                                                     c.mode))


def _exchange_attachments(s: Session, a: models.Volume, b: models.Volume) -> None:
    """Attachment rows, status and attach status change volumes (the server's disk is now ``b``'s)."""
    ids_a = list(s.scalars(select(A.id).where(A.volume_id == a.id)))
    ids_b = list(s.scalars(select(A.id).where(A.volume_id == b.id)))
    if ids_b:
        s.execute(update(A).where(A.id.in_(ids_b)).values(volume_id=a.id))
    if ids_a:
        s.execute(update(A).where(A.id.in_(ids_a)).values(volume_id=b.id))
    a.status, b.status = ("in-use" if ids_b else "available"), ("in-use" if ids_a else "available")
    a.attach_status, b.attach_status = ("attached" if ids_b else "detached"), ("attached" if ids_a else "detached")
    a.updated_at = b.updated_at = now()


@dataclass
class Repair:
    """A stalled migration: ``rename`` (as ``Completed.rename``) rolls it forward; ``delete`` is
    the target to delete after it rolled back (None: nothing left to delete)."""

    volume_id: str
    new_id: str
    rename: tuple[VolumeSpec, VolumeSpec] | None = None
    delete: VolumeSpec | None = None


def stalled(s: Session, older_than: float, limit: int = 20) -> list[Repair]:
    """Attached migrations whose volume, target and the target's attachments have not changed
    for ``older_than`` seconds with the copy ended (a target still ``creating`` is the target
    agent's to drive): what their process (the server's swap request, compute's swap, the
    completion) was doing died with it. Each is rolled back here or returned to roll forward."""
    cutoff = now() - timedelta(seconds=older_than)
    targets = list(s.scalars(select(V).where(V.migration_status.startswith(TARGET, autoescape=True),
                                             V.status.not_in(("creating", "deleting")))
                             .order_by(V.id).limit(limit)))
    repairs = []
    for temp in targets:
        vol = s.get(V, str(temp.migration_status).removeprefix(TARGET))
        if vol is None or vol.migration_status not in ACTIVE:
            continue  # not a migration now (an admin's reset): left as it is
        held = {a.attach_status for a in s.scalars(select(A).where(A.volume_id == vol.id))}
        on_target = list(s.scalars(select(A).where(A.volume_id == temp.id)))
        latest = _latest([vol.updated_at, temp.updated_at, temp.created_at]
                          + [a.updated_at or a.created_at for a in on_target])
        if latest is not None and latest > cutoff:
            continue  # still moving: compute's swap or the completion may be under way
        if vol.migration_status == COMPLETING or (not held and any(a.attach_status == "attached" for a in on_target)):
            repairs.append(Repair(vol.id, temp.id, rename=(
                VolumeSpec(**{**volume_spec(s, vol), "host": temp.host or ""}), volume_spec(s, temp))))
        else:
            repairs.append(Repair(vol.id, temp.id, delete=failed(s, vol.id, temp.id)))
    return repairs


def _latest(stamps: list[datetime | None]) -> datetime | None:
    return max((t for t in stamps if t is not None), default=None)
