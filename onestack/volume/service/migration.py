"""Moving a volume's data to another backend of the same agent host (a retype with migration
policy ``on-demand``), with the volume keeping its id.

``start`` (the scheduler, in the retype's transaction) records the target pool and the new
type in admin metadata (hidden from users), marks ``migration_status`` ``migrating`` and counts
the volume on the target; the agent is then asked to ``create_volume`` the same id on the target
pool cloned from the volume where it is. ``finish`` (its ``volume_created`` report) moves the
row there: host, provider location and type change, ``migration_status`` ``success``, the
status back to what it was; the caller then asks the agent to delete the old disk. A failed
copy leaves the volume where it was, ``migration_status`` ``error``.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.rpcapi import ModelUpdate, SourceSpec, VolumeSpec
from onestack.volume.service import heartbeats
from onestack.volume.service.common import now
from onestack.volume.service.specs import extra_specs, volume_spec

TARGET_KEY, TYPE_KEY = "migration_host", "migration_type_id"
MIGRATING = "migrating"
A = models.VolumeAdminMetadata


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
    return v.status == "retyping" and v.migration_status == MIGRATING


def finish(s: Session, v: models.Volume, update: ModelUpdate, error: str | None) -> VolumeSpec | None:
    """The copy is done (or failed): returns the old disk to delete, None when there is none."""
    marks = {r.key: r.value for r in s.scalars(select(A).where(A.volume_id == v.id, A.key.in_((TARGET_KEY, TYPE_KEY))))}
    s.execute(delete(A).where(A.volume_id == v.id, A.key.in_((TARGET_KEY, TYPE_KEY))))
    target, new_type = marks.get(TARGET_KEY), marks.get(TYPE_KEY)
    back = v.previous_status if v.previous_status in ("available", "in-use") else "available"
    v.status, v.updated_at = back, now()
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
