"""The scheduler's work with the database: place a new volume, retype one, find lost requests.

Placing is one write transaction: read the live pools, filter and weigh them
(scheduler/select.py), then write the volume's ``host`` only if it is still ``creating`` and
unplaced (a compare-and-set: two schedulers, or a re-scheduling pass racing the original
request, place it once) and count the volume on the pool. The cast to the pool's agent goes
after the commit; a lost cast is repaired by the agent's reconcile pass (the volume is in its
desired state, ``creating``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from onestack.core.config import Config
from onestack.core.db import Database
from onestack.volume import models
from onestack.volume.rpcapi import RequestSpec, SourceSpec, VolumeAgentAPI, VolumeSpec
from onestack.volume.scheduler import registry
from onestack.volume.scheduler.filters.base import PoolFilter
from onestack.volume.scheduler.pool_state import PoolState, Request, live_pools
from onestack.volume.scheduler.select import candidates
from onestack.volume.scheduler.weighers.base import PoolWeigher
from onestack.volume.service import heartbeats, migrate_attached, migration
from onestack.volume.service.common import now
from onestack.volume.service.messages import VOLUME, Action, Detail, record
from onestack.volume.service.specs import (
    agent_host,
    backend_of,
    backup_spec,
    extra_specs,
    snapshot_spec,
    volume_spec,
)

log = logging.getLogger("onestack.volume.scheduler")


@dataclass(frozen=True)
class Placed:
    agent_host: str
    volume: VolumeSpec


_V = models.Volume
# The compare-and-set of a new volume's host (or its error), built once: they run on every create.
_UNPLACED = (_V.id == bindparam("volume_id"), _V.status == "creating", _V.host.is_(None))
_PLACE = update(_V).where(*_UNPLACED).values(host=bindparam("pool"), updated_at=bindparam("stamp")) \
    .returning(_V.size, _V.provider_location, _V.volume_type_id, _V.multiattach) \
    .execution_options(synchronize_session=False)
_NO_POOL = update(_V).where(*_UNPLACED).values(status="error", updated_at=bindparam("stamp")) \
    .returning(_V.project_id).execution_options(synchronize_session=False)


def place(s: Session, spec: RequestSpec, filters: Sequence[PoolFilter], weighers: Sequence[PoolWeigher],
          service_down_time: float) -> Placed | None:
    """Choose the volume's pool and write it; no pool → ``error`` and a user message. None when
    there is nothing for the agent to do (placed already, gone, no longer creating, no pool).

    Three statements on the usual path: the live pools, the compare-and-set of the host (its
    RETURNING gives what the agent's spec needs, so the row is never read), and the pool's
    counters (one UPDATE on a thin pool)."""
    request = Request.from_spec(spec)
    chosen = candidates(live_pools(s, service_down_time, now()), request, filters, weighers)
    if not chosen:
        project_id = s.scalar(_NO_POOL, {"volume_id": spec["volume_id"], "stamp": now()})
        if project_id is not None:
            record(s, project_id, VOLUME, spec["volume_id"], Action.SCHEDULE_ALLOCATE_VOLUME,
                   Detail.NO_BACKEND_AVAILABLE)
            log.warning("volume %s: no valid backend for %s GiB", spec["volume_id"], request.size)
        return None
    pool = chosen[0]
    row = s.execute(_PLACE, {"volume_id": spec["volume_id"], "pool": pool.name, "stamp": now()}).one_or_none()
    if row is None:
        return None  # gone, no longer creating, or someone else placed it meanwhile
    size, provider_location, volume_type_id, multiattach = row
    if pool.thin_provisioning_support:
        heartbeats.consume_thin(s, pool.name, size)
    else:
        heartbeats.consume(s, pool.name, size)
    # The agent's spec from what this transaction wrote (the host just set, the request's extra
    # specs): no refresh and no extra-specs query on every create.
    volume = VolumeSpec(id=spec["volume_id"], size=size, host=pool.name, status="creating",
                        provider_location=provider_location, volume_type_id=volume_type_id,
                        extra_specs=dict(spec.get("extra_specs") or {}), multiattach=multiattach)
    return Placed(pool.agent_host or (agent_host(pool.name) or ""), volume)


@dataclass(frozen=True)
class Migration:
    agent_host: str
    volume: VolumeSpec
    source: SourceSpec


def retype(s: Session, volume_id: str, new_type_id: str, migration_policy: str,
           filters: Sequence[PoolFilter], weighers: Sequence[PoolWeigher], service_down_time: float) -> Migration | None:
    """A ``retyping`` volume. When its own backend passes the new type, the type changes in place
    and the volume returns to its previous status. Otherwise, with policy ``on-demand``, a
    volume without snapshots moves to the best pool that passes on the same agent host (moving
    data between hosts is not supported): detached, under its id (service/migration.py);
    attached, through a target volume and compute's swap (service/migrate_attached.py), as
    Cinder's retype does. The Migration returned is the agent's work. Else it returns to its
    previous status unchanged, as Cinder's scheduler leaves a volume no backend can take."""
    v = s.get(models.Volume, volume_id)
    if v is None or v.status != "retyping":
        return None
    current = backend_of(v.host)
    request = Request(size=v.size, extra_specs=extra_specs(s, new_type_id), availability_zone=v.availability_zone,
                      exists_on=current)
    passing = candidates(live_pools(s, service_down_time, now()), request, filters, weighers)
    if any(p.backend_host == current for p in passing):
        v.volume_type_id = new_type_id
        v.multiattach = request.extra_specs.get("multiattach", "").strip().lower() == "<is> true"
    elif migration_policy == "on-demand" and (target := _migration_target(s, v, passing)) is not None:
        if v.attach_status == "attached":
            volume, source = migrate_attached.start(s, v, target, new_type_id)
        else:
            volume, source = migration.start(s, v, target, new_type_id)
        return Migration(agent_host(target) or "", volume, source)
    else:
        log.warning("volume %s: no backend for type %s (policy %s)", v.id, new_type_id, migration_policy)
    v.status = v.previous_status if v.previous_status in ("available", "in-use") else (
        "in-use" if v.attach_status == "attached" else "available")
    v.updated_at = now()
    return None


def migrate(s: Session, volume_id: str, host: str, filters: Sequence[PoolFilter], weighers: Sequence[PoolWeigher],
            service_down_time: float) -> Migration | None:
    """An ``os-migrate_volume`` (``starting``): the destination ``host`` (a pool, or a backend and
    its best pool) must pass the volume's own type, as Cinder's ``host_passes_filters``; else
    ``migration_status`` ``error``. The Migration returned is the target agent's work."""
    v = s.get(models.Volume, volume_id)
    if v is None or v.migration_status != migration.STARTING:
        return None
    request = Request(size=v.size, extra_specs=extra_specs(s, v.volume_type_id), availability_zone=None)
    passing = [p for p in candidates(live_pools(s, service_down_time, now()), request, filters, weighers)
               if host in (p.name, p.backend_host) and p.name != v.host]  # never onto itself
    if not passing:
        log.warning("volume %s: %s does not take it (no valid backend); its migration fails", v.id, host)
        migration.not_started(s, v.id)
        return None
    if v.attach_status == "attached":
        # Cinder's path for an attached volume: a target volume, then compute's swap (service/migrate_attached.py).
        volume, source = migrate_attached.start(s, v, passing[0].name)
    else:
        volume, source = migration.start(s, v, passing[0].name, v.volume_type_id)
    return Migration(passing[0].agent_host or agent_host(passing[0].name) or "", volume, source)


def _migration_target(s: Session, v: models.Volume, passing: Sequence[PoolState]) -> str | None:
    if s.scalar(select(models.Snapshot.id).where(models.Snapshot.volume_id == v.id).limit(1)) is not None:
        return None  # snapshots stay with their volume
    here = agent_host(v.host)
    return next((p.name for p in passing if p.agent_host == here), None)


def request_spec(s: Session, v: models.Volume) -> RequestSpec:
    """The request that placed (or should place) a volume, rebuilt from its row."""
    source = SourceSpec()
    same_backend: str | None = None
    if v.snapshot_id and (snap := s.get(models.Snapshot, v.snapshot_id)) is not None:
        source["snapshot"] = snapshot_spec(snap)
        origin = s.get(models.Volume, snap.volume_id)
        same_backend = origin.host if origin is not None else snap.host
    elif v.source_volid and (src := s.get(models.Volume, v.source_volid)) is not None:
        source["volume"] = volume_spec(s, src)
        same_backend = src.host
    elif v.backup_id and (b := s.get(models.Backup, v.backup_id)) is not None:
        source["backup"] = backup_spec(b)
    elif v.image_id:
        source["image_id"] = v.image_id
    return RequestSpec(volume_id=v.id, size=v.size, volume_type_id=v.volume_type_id,
                       extra_specs=extra_specs(s, v.volume_type_id), availability_zone=v.availability_zone,
                       multiattach=v.multiattach, same_backend_as=same_backend, source=source)


def unplaced(s: Session, older_than: float, limit: int = 50) -> list[RequestSpec]:
    """Volumes still ``creating`` with no host after ``older_than`` seconds: their request was
    lost (a cast dropped, a scheduler that died), oldest first."""
    cutoff = now() - timedelta(seconds=older_than)
    rows = s.scalars(select(models.Volume).where(
        models.Volume.status == "creating", models.Volume.host.is_(None), models.Volume.created_at <= cutoff)
        .order_by(models.Volume.created_at, models.Volume.id).limit(limit))
    return [request_spec(s, v) for v in rows]


class VolumeSchedulerManager:
    """``VolumeSchedulerAPI``'s implementation."""

    def __init__(self, config: Config, db: Database, agents: VolumeAgentAPI) -> None:
        self.config = config
        self.db = db
        self.agents = agents
        self.filters, self.weighers = registry.from_config(config.volume)

    async def create_volume(self, spec: RequestSpec) -> None:
        placed = await self.db.write(place, spec, self.filters, self.weighers, self.config.volume.service_down_time)
        if placed is None:
            return
        try:
            await self.agents.create_volume(host=placed.agent_host, volume=placed.volume,
                                            source=spec.get("source") or SourceSpec())
        except Exception as exc:  # noqa: BLE001 - the agent's reconcile pass finds the volume
            log.warning("volume %s: cast to agent %s failed: %s", spec["volume_id"], placed.agent_host, exc)

    async def retype(self, volume_id: str, new_type_id: str, migration_policy: str) -> None:
        await self._copy(volume_id, await self.db.write(retype, volume_id, new_type_id, migration_policy,
                                                        self.filters, self.weighers,
                                                        self.config.volume.service_down_time))

    async def migrate_volume(self, volume_id: str, host: str) -> None:
        await self._copy(volume_id, await self.db.write(migrate, volume_id, host, self.filters, self.weighers,
                                                        self.config.volume.service_down_time))

    async def _copy(self, volume_id: str, moving: Migration | None) -> None:
        """Cast a migration's copy to the target's agent."""
        if moving is None:
            return
        try:
            await self.agents.create_volume(host=moving.agent_host, volume=moving.volume, source=moving.source)
        except Exception as exc:  # noqa: BLE001 - the target agent's reconcile pass finds it (migrations_to)
            log.warning("volume %s: cast of its migration to %s failed: %s", volume_id, moving.agent_host, exc)

    async def reschedule(self, older_than: float) -> int:
        """Place again every volume whose request was lost; how many were found."""
        failed = await self.db.write(migration.abandoned_starts, older_than)
        if failed:
            log.warning("%d migrations never reached the scheduler: now in error", failed)
        await self.repair_attached_migrations(self.config.volume.attached_migration_timeout)
        specs = await self.db.read(unplaced, older_than)
        for spec in specs:
            log.info("volume %s: still unplaced, scheduling it again", spec["volume_id"])
            await self.create_volume(spec)
        return len(specs)

    async def repair_attached_migrations(self, older_than: float) -> int:
        """Roll each stalled attached migration forward or back (migrate_attached.stalled); how many."""
        repairs = await self.db.write(migrate_attached.stalled, older_than)
        for repair in repairs:
            gone = repair.delete
            if repair.rename is not None:
                moved, target = repair.rename
                log.warning("volume %s: its migration to %s stalled after the swap: completing it",
                            repair.volume_id, repair.new_id)
                try:
                    update = await self.agents.update_migrated_volume(host=agent_host(target["host"]) or "",
                                                                      volume=moved, new_volume=target)
                except Exception as exc:  # noqa: BLE001 - the source disk is intact: roll back instead
                    log.warning("volume %s: rename on %s failed (%s): rolling back", repair.volume_id,
                                target["host"], exc)
                    gone = await self.db.write(migrate_attached.failed, repair.volume_id, repair.new_id)
                else:
                    gone = await self.db.write(migrate_attached.finish, repair.volume_id, repair.new_id, update)
                    await migrate_attached.refresh_connections(self.db, self.agents, repair.volume_id)
            else:
                log.warning("volume %s: its migration to %s stalled before the swap ended: rolled back",
                            repair.volume_id, repair.new_id)
            if gone is not None:
                try:
                    await self.agents.delete_volume(host=agent_host(gone["host"]) or "", volume=gone)
                except Exception as exc:  # noqa: BLE001 - the agent's reconcile pass deletes what is deleting
                    log.warning("volume %s: delete of %s not cast: %s", repair.volume_id, gone["id"], exc)
        return len(repairs)
