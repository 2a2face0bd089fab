"""What the volume services say about themselves: ``volume_services`` rows (heartbeats) and the
pools each ``cinder-volume`` backend reports (``volume_pools``), and what a host should have.

The scheduler writes its own ``cinder-scheduler`` row (it has the database); agents report
through ``VolumeServerAPI.report_state`` (server_rpc.py). A pool's allocated capacity is
counted from the volume rows placed on it, as Cinder's volume manager counts it, so a volume
the scheduler just placed is counted before its agent has made it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, case, delete, func, select, update
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.rpcapi import BackendReport, DesiredState, PoolReport
from onestack.volume.service.common import now
from onestack.volume.service.specs import backup_spec, snapshot_spec, volume_spec

VOLUME_BINARY, SCHEDULER_BINARY, BACKUP_BINARY = "cinder-volume", "cinder-scheduler", "cinder-backup"
_CAPACITIES = ("total_capacity_gb", "free_capacity_gb")


def heartbeat(s: Session, host: str, binary: str, availability_zone: str,
              agent_host: str | None = None) -> models.VolumeService:
    """Register or refresh a service row."""
    stamp = now()
    row = s.get(models.VolumeService, (host, binary))
    if row is None:
        next_id = (s.scalar(select(func.max(models.VolumeService.id))) or 0) + 1
        row = models.VolumeService(host=host, binary=binary, id=next_id, created_at=stamp, disabled=False,
                                   frozen=False, replication_status="disabled")
        s.add(row)
    row.availability_zone = availability_zone
    row.agent_host = agent_host
    row.updated_at = stamp
    return row


def allocated_gb(s: Session, pool_name: str) -> float:
    total = s.scalar(select(func.coalesce(func.sum(models.Volume.size), 0)).where(models.Volume.host == pool_name))
    return float(total or 0)


def report_state(s: Session, host: str, backends: list[BackendReport]) -> None:
    """An agent's heartbeat: its backends' service rows and their pools, replaced by the report."""
    stamp = now()
    for backend in backends:
        backend_host = backend["backend_host"]
        zone = backend["availability_zone"]
        heartbeat(s, backend_host, VOLUME_BINARY, zone, host)
        reported = {p["name"] for p in backend["pools"]}
        gone = delete(models.Pool).where(models.Pool.backend_host == backend_host)
        s.execute(gone.where(models.Pool.name.not_in(sorted(reported))) if reported else gone)
        for report in backend["pools"]:
            _upsert_pool(s, host, backend_host, zone, report, stamp)


def _upsert_pool(s: Session, host: str, backend_host: str, zone: str, report: PoolReport, stamp: Any) -> None:
    # Counted before a new row is added: the query would flush it half-filled (NOT NULL columns).
    allocated = allocated_gb(s, report["name"])
    pool = s.get(models.Pool, report["name"])
    if pool is None:
        pool = models.Pool(name=report["name"])
        s.add(pool)
    caps: dict[str, Any] = dict(report.get("capabilities") or {})
    numbers: dict[str, float] = {}
    for key in _CAPACITIES:
        value: Any = report.get(key, 0)
        if isinstance(value, str):  # 'infinite' / 'unknown'
            caps[key] = value
            numbers[key] = 0.0
        else:
            numbers[key] = float(value)
    pool.backend_host, pool.agent_host, pool.availability_zone = backend_host, host, zone
    pool.total_capacity_gb, pool.free_capacity_gb = numbers["total_capacity_gb"], numbers["free_capacity_gb"]
    pool.allocated_capacity_gb = allocated
    pool.provisioned_capacity_gb = max(float(report.get("provisioned_capacity_gb") or 0), allocated)
    pool.reserved_percentage = int(report.get("reserved_percentage") or 0)
    pool.max_over_subscription_ratio = float(report.get("max_over_subscription_ratio") or 1.0)
    pool.thin_provisioning_support = bool(report.get("thin_provisioning_support"))
    pool.thick_provisioning_support = bool(report.get("thick_provisioning_support"))
    pool.capabilities = caps
    pool.updated_at = stamp


def consume(s: Session, pool_name: str, size: int) -> None:
    """The scheduler placed ``size`` GiB on the pool: count it until the next report (Cinder's
    consume_from_volume). Free space is taken only on a thick pool: a thin volume takes no real
    space when made (its size is in provisioned capacity), and taking it anyway would refuse
    every thin request after a large one until the next report."""
    pool = s.get(models.Pool, pool_name)
    if pool is None:
        return
    pool.allocated_capacity_gb = (pool.allocated_capacity_gb or 0) + size
    pool.provisioned_capacity_gb = (pool.provisioned_capacity_gb or 0) + size
    thick = not pool.thin_provisioning_support
    if thick and not isinstance((pool.capabilities or {}).get("free_capacity_gb"), str):
        pool.free_capacity_gb = max(0.0, pool.free_capacity_gb - size)


_POOL = models.Pool


def _less(column: Any) -> Any:
    left = func.coalesce(column, 0) - bindparam("size")
    return case((left < 0, 0.0), else_=left)


# Built once: they run on every create and every delete (only the pool and the size change).
_CONSUME_THIN = update(_POOL).where(_POOL.name == bindparam("pool")).values(
    allocated_capacity_gb=func.coalesce(_POOL.allocated_capacity_gb, 0) + bindparam("size"),
    provisioned_capacity_gb=func.coalesce(_POOL.provisioned_capacity_gb, 0) + bindparam("size")) \
    .execution_options(synchronize_session=False)
_RELEASE = update(_POOL).where(_POOL.name == bindparam("pool")).values(
    allocated_capacity_gb=_less(_POOL.allocated_capacity_gb),
    provisioned_capacity_gb=_less(_POOL.provisioned_capacity_gb)).execution_options(synchronize_session=False)


def consume_thin(s: Session, pool_name: str, size: int) -> None:
    """``consume`` for a pool the caller knows is thin: one UPDATE, no read, and atomic against
    another scheduler placing on the same pool at once (PostgreSQL's parallel writers)."""
    s.execute(_CONSUME_THIN, {"pool": pool_name, "size": size})


def release(s: Session, pool_name: str | None, size: int) -> None:
    """A volume of ``size`` GiB left the pool (deleted): it no longer counts as allocated. One
    UPDATE (no read; atomic against a concurrent one)."""
    if not pool_name:
        return
    s.execute(_RELEASE, {"pool": pool_name, "size": size})


def desired_state(s: Session, host: str) -> DesiredState:
    """Every volume placed on ``host``'s backends, their snapshots, and the backups it made."""
    volumes = list(s.scalars(select(models.Volume).where(models.Volume.host.startswith(f"{host}@", autoescape=True))
                             .order_by(models.Volume.id)))
    ids = [v.id for v in volumes]
    snapshots = list(s.scalars(select(models.Snapshot).where(models.Snapshot.volume_id.in_(ids))
                               .order_by(models.Snapshot.id))) if ids else []
    backups = list(s.scalars(select(models.Backup).where(models.Backup.host == host).order_by(models.Backup.id)))
    by_type: dict[str, dict[str, str]] = {}
    return DesiredState(volumes=[volume_spec(s, v, by_type) for v in volumes],
                        snapshots=[snapshot_spec(n) for n in snapshots],
                        backups=[backup_spec(b) for b in backups])
