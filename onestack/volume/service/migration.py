"""Moving a detached volume's data to another pool (``os-migrate_volume``, or a retype with
migration policy ``on-demand``), with the volume keeping its id.

``begin`` (the API, admin's ``os-migrate_volume``) checks the request as Cinder does and marks
``migration_status`` ``starting`` (status ``maintenance`` with ``lock_volume``); the scheduler
then checks the destination passes the volume's type (``to_host``; it fails → ``error``).
``start`` (the scheduler, in the retype's or migration's transaction) records the target pool
and the new type in admin metadata (hidden from users), marks ``migration_status``
``migrating`` and counts the volume on the target; the target's agent is then asked to
``create_volume`` the same id on the target pool cloned from the volume where it is (the file
driver reads the source disk at its provider location: one machine or a shared file system).
``finish`` (its ``volume_created`` report) moves the row there: host, provider location and
type change, ``migration_status`` ``success``, the status back to what it was; the caller then
asks the source's agent to delete the old disk. A failed copy leaves the volume where it was,
``migration_status`` ``error``, and the half-made target disk is removed by the agent.

After a crash: a migration still ``starting`` (its scheduler cast lost) ends in ``error``
(``abandoned_starts``); one ``migrating`` is in the target agent's desired state
(``migrations_to``), whose reconcile pass runs the copy again, reports a finished disk, or
reports the request lost (→ ``error``).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.errors import InvalidHost, InvalidVolume
from onestack.volume.rpcapi import DesiredState, ModelUpdate, SourceSpec, VolumeSpec
from onestack.volume.service import heartbeats
from onestack.volume.service.attachments import NOT_MIGRATING, cas, volume
from onestack.volume.service.common import Caller, now
from onestack.volume.service.specs import backend_of, extra_specs, volume_spec

TARGET_KEY, TYPE_KEY = "migration_host", "migration_type_id"
STARTING, MIGRATING = "starting", "migrating"
A = models.VolumeAdminMetadata
V = models.Volume


def begin(s: Session, caller: Caller, volume_id: str, host: str | None, cluster: str | None, lock: bool) -> None:
    """Admin's ``os-migrate_volume``: Cinder's checks, then ``migration_status`` ``starting``."""
    vol = volume(s, caller, volume_id)
    wanted = cluster or host or ""
    svc = models.VolumeService
    # No backend belongs to a cluster here: a cluster names no service.
    found = None if cluster else s.scalar(select(svc.host).where(svc.host == backend_of(host),
                                                                  svc.binary == "cinder-volume"))
    if found is None:
        raise InvalidHost(f"No available service named {wanted}")
    has_snapshots = s.scalar(select(models.Snapshot.id).where(models.Snapshot.volume_id == vol.id).limit(1))
    values = {"migration_status": STARTING, "previous_status": vol.status}
    if lock:
        values["status"] = "maintenance"
    if (has_snapshots is not None or host in (vol.host, backend_of(vol.host)) or vol.group_id
            or not cas(s, vol.id, values, status=("available", "in-use"), migration_status=NOT_MIGRATING,
                       group_id=None, host=vol.host)):
        raise InvalidVolume(f"Volume {vol.id} status must be available or in-use, must not be migrating, have "
                            "snapshots, be replicated, be part of a group and destination host/cluster must be "
                            "different than the current one")


def not_started(s: Session, volume_id: str) -> None:
    """The scheduler could not be asked, or no pool there takes the volume: ``error``."""
    v = s.get(V, volume_id)
    if v is not None and v.migration_status == STARTING:
        _fail(s, v)


def _fail(s: Session, v: models.Volume) -> None:
    v.migration_status, v.updated_at = "error", now()
    if v.status in ("maintenance", "retyping"):
        v.status = v.previous_status if v.previous_status in ("available", "in-use") else "available"


def abandoned_starts(s: Session, older_than: float) -> int:
    """Migrations still ``starting`` after ``older_than`` seconds (their scheduler cast was lost)
    end in ``error``; how many."""
    cutoff = now() - timedelta(seconds=older_than)
    rows = list(s.scalars(select(V).where(V.migration_status == STARTING, V.updated_at <= cutoff)
                          .order_by(V.id).limit(50)))
    for v in rows:
        _fail(s, v)
    return len(rows)


def desired_state(s: Session, host: str) -> DesiredState:
    """``heartbeats.desired_state``, the volumes being migrated onto the host, and those of its
    volumes in a migration now (an attached one's target disk takes the volume's name before
    its row moves: the agent must not take that disk for a leftover meanwhile)."""
    moving = s.scalars(select(V.id).where(V.migration_status.in_((MIGRATING, "completing")),
                                          V.host.startswith(f"{host}@", autoescape=True)).order_by(V.id))
    return DesiredState(**heartbeats.desired_state(s, host), migrations=migrations_to(s, host), moving=list(moving))


def migrations_to(s: Session, host: str) -> list[VolumeSpec]:
    """The volumes being copied onto ``host``'s backends, as the target's create sees them."""
    rows = s.execute(select(V, A.value).join(A, (A.volume_id == V.id) & (A.key == TARGET_KEY))
                     .where(V.migration_status == MIGRATING, A.value.startswith(f"{host}@", autoescape=True))
                     .order_by(V.id)).all()
    return [VolumeSpec(**{**volume_spec(s, v), "host": target, "status": "creating", "provider_location": None})
            for v, target in rows]


def start(s: Session, v: models.Volume, target_pool: str, new_type_id: str) -> tuple[VolumeSpec, SourceSpec]:
    """Mark the migration; returns the volume as the target should have it, and its source."""
    source = volume_spec(s, v)
    s.execute(delete(A).where(A.volume_id == v.id, A.key.in_((TARGET_KEY, TYPE_KEY))))
    s.add_all([A(volume_id=v.id, key=TARGET_KEY, value=target_pool), A(volume_id=v.id, key=TYPE_KEY, value=new_type_id)])
    v.migration_status, v.updated_at = MIGRATING, now()
    heartbeats.consume(s, target_pool, v.size)
    target = VolumeSpec(**{**source, "host": target_pool, "status": "creating", "volume_type_id": new_type_id,
                           "extra_specs": extra_specs(s, new_type_id), "provider_location": None})
    return target, SourceSpec(volume=source)


def is_migrating(v: models.Volume) -> bool:
    return v.status != "creating" and v.migration_status == MIGRATING


def finish(s: Session, v: models.Volume, update: ModelUpdate, error: str | None) -> VolumeSpec | None:
    """The copy is done (or failed): returns the old disk to delete, None when there is none."""
    marks = {r.key: r.value for r in s.scalars(select(A).where(A.volume_id == v.id, A.key.in_((TARGET_KEY, TYPE_KEY))))}
    s.execute(delete(A).where(A.volume_id == v.id, A.key.in_((TARGET_KEY, TYPE_KEY))))
    target, new_type = marks.get(TARGET_KEY), marks.get(TYPE_KEY) or v.volume_type_id
    if v.status in ("retyping", "maintenance"):
        v.status = v.previous_status if v.previous_status in ("available", "in-use") else "available"
    v.updated_at = now()
    if error or not target or not new_type:
        v.migration_status = "error"
        if target:
            heartbeats.release(s, target, v.size)
        return None
    old = VolumeSpec(**{**volume_spec(s, v), "status": "deleting"})
    heartbeats.release(s, v.host, v.size)
    v.host, v.volume_type_id, v.migration_status = target, new_type, "success"
    if "provider_location" in update:
        v.provider_location = update["provider_location"]
    v.multiattach = extra_specs(s, new_type).get("multiattach", "").strip().lower() == "<is> true"
    return old
