"""What operators look at and switch: the services the agents and the scheduler report
(``/os-services``, ``/os-hosts``), availability zones, pools (``/scheduler-stats``) and a
backend's capabilities. A service is up while its last report is younger than
``volume.service_down_time`` seconds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.errors import (
    HostNotFound,
    Invalid,
    NotFound,
    ServiceOnHostNotFound,
)
from onestack.volume.service.common import iso, now
from onestack.volume.service.specs import backend_name, extra_specs

VOLUME_BINARY = "cinder-volume"


@dataclass(frozen=True)
class ServiceView:
    row: models.VolumeService
    up: bool
    last_seen: datetime
    # Any pool of the backend reported (3.49 backend_state: down when none is there).
    has_pools: bool


def _is_up(row: models.VolumeService, down_after: int, at: datetime) -> bool:
    seen = row.updated_at or row.created_at
    return at - seen <= timedelta(seconds=down_after)


def _on_host(column: Any, host: str) -> Any:
    """``host`` itself or anything below it (``host@backend``, ``host@backend#pool``)."""
    return or_(column == host, column.startswith(f"{host}@", autoescape=True),
               column.startswith(f"{host}#", autoescape=True))


def list_services(s: Session, down_after: int, host: str | None = None,
                  binary: str | None = None) -> list[ServiceView]:
    svc = models.VolumeService
    stmt = select(svc).order_by(svc.binary, svc.host)
    if host:
        stmt = stmt.where(_on_host(svc.host, host))
    if binary:
        stmt = stmt.where(svc.binary == binary)
    pool_hosts = set(s.scalars(select(models.Pool.backend_host).distinct()))
    at = now()
    return [ServiceView(r, _is_up(r, down_after, at), r.updated_at or r.created_at, r.host in pool_hosts)
            for r in s.scalars(stmt)]


def _service(s: Session, host: str, binary: str) -> models.VolumeService:
    row = s.get(models.VolumeService, (host, binary))
    if row is None:
        raise ServiceOnHostNotFound(binary, host)
    return row


def set_disabled(s: Session, host: str, binary: str, disabled: bool, reason: str | None) -> None:
    row = _service(s, host, binary)
    row.disabled = disabled
    # updated_at stays: it is the last heartbeat, and a switch is not one.
    row.disabled_reason = reason if disabled else None


def _volume_services(s: Session, host: str) -> list[models.VolumeService]:
    svc = models.VolumeService
    return list(s.scalars(select(svc).where(svc.binary == VOLUME_BINARY, _on_host(svc.host, host))
                          .order_by(svc.host)))


def set_frozen(s: Session, host: str, frozen: bool) -> None:
    rows = _volume_services(s, host)
    if not rows:
        raise Invalid(f"Invalid input received: No service found with host={host}")
    for row in rows:
        row.frozen = frozen


def failover(s: Session, host: str) -> None:
    rows = _volume_services(s, host)
    if not rows:
        raise Invalid(f"Invalid input received: No service found with host={host}")
    # The file backends have no replication targets: there is nothing to fail over to.
    raise Invalid("Invalid input received: Host replication_status must be enabled to perform failover.")


def availability_zones(s: Session, down_after: int, configured: str) -> list[tuple[str, bool]]:
    """Every zone a volume service is in (and the configured one): available while one is up and enabled."""
    zones: dict[str, bool] = {configured: False}
    at = now()
    svc = models.VolumeService
    for row in s.scalars(select(svc).where(svc.binary == VOLUME_BINARY).order_by(svc.host)):
        usable = _is_up(row, down_after, at) and not row.disabled
        zones[row.availability_zone] = zones.get(row.availability_zone, False) or usable
    return sorted(zones.items())


def pools(s: Session, name: str | None = None, volume_type: str | None = None) -> list[models.Pool]:
    """The pools, by name; with ``volume_type`` (id or name) those of its ``volume_backend_name``."""
    p = models.Pool
    stmt = select(p).order_by(p.name)
    if name:
        stmt = stmt.where(p.name == name)
    rows = list(s.scalars(stmt))
    if volume_type:
        t = models.VolumeType
        vtype = s.get(t, volume_type) or s.scalar(select(t).where(t.name == volume_type))
        if vtype is None:
            raise NotFound(f"Volume type {volume_type} could not be found.")
        wanted = backend_name(extra_specs(s, vtype.id))
        if wanted is not None:
            rows = [r for r in rows if (r.capabilities or {}).get("volume_backend_name") == wanted]
    return rows


def pool_capabilities(p: models.Pool) -> dict[str, Any]:
    caps = dict(p.capabilities or {})
    caps.update({
        "pool_name": p.name.split("#", 1)[-1], "total_capacity_gb": p.total_capacity_gb,
        "free_capacity_gb": p.free_capacity_gb, "allocated_capacity_gb": p.allocated_capacity_gb,
        "provisioned_capacity_gb": p.provisioned_capacity_gb, "reserved_percentage": p.reserved_percentage,
        "max_over_subscription_ratio": p.max_over_subscription_ratio,
        "thin_provisioning_support": p.thin_provisioning_support,
        "thick_provisioning_support": p.thick_provisioning_support,
        "timestamp": iso(p.updated_at), "updated": iso(p.updated_at),
    })
    caps.setdefault("QoS_support", False)
    return caps


def backend_capabilities(s: Session, host: str) -> dict[str, Any]:
    """``/capabilities/{host@backend}``: what the backend's pools report, as Cinder's driver answers."""
    svc = s.get(models.VolumeService, (host, VOLUME_BINARY))
    rows = list(s.scalars(select(models.Pool).where(models.Pool.backend_host == host).order_by(models.Pool.name)))
    if svc is None or not rows:
        raise NotFound(f"Can't find service: {host}")
    caps = rows[0].capabilities or {}
    return {
        "namespace": f"OS::Storage::Capabilities::{host}",
        "vendor_name": str(caps.get("vendor_name", "onestack")),
        "volume_backend_name": str(caps.get("volume_backend_name", host.split("@", 1)[-1])),
        "pool_name": None, "driver_version": str(caps.get("driver_version", "1.0.0")),
        "storage_protocol": str(caps.get("storage_protocol", "file")),
        "display_name": None, "description": None, "visibility": None, "replication_targets": [],
        "properties": {
            "thin_provisioning": {"title": "Thin Provisioning", "description": "Sets thin provisioning.",
                                  "type": "boolean"},
        },
    }


def host_resources(s: Session, host: str) -> list[dict[str, str]]:
    """``/os-hosts/{host}``: volume and snapshot counts and sizes on a volume host, in total and by project."""
    if not _volume_services(s, host):
        raise HostNotFound(host)
    v, sn = models.Volume, models.Snapshot
    by_project: dict[str, list[int]] = {}
    for project, count, size in s.execute(
            select(v.project_id, func.count(), func.coalesce(func.sum(v.size), 0))
            .where(_on_host(v.host, host)).group_by(v.project_id).order_by(v.project_id)).tuples():
        by_project[project] = [int(count), int(size), 0, 0]
    vol_ids = select(v.id).where(_on_host(v.host, host))
    for project, count, size in s.execute(
            select(sn.project_id, func.count(), func.coalesce(func.sum(sn.volume_size), 0))
            .where(sn.volume_id.in_(vol_ids)).group_by(sn.project_id).order_by(sn.project_id)).tuples():
        by_project.setdefault(project, [0, 0, 0, 0])[2:] = [int(count), int(size)]

    def entry(project: str, numbers: Sequence[int]) -> dict[str, str]:
        return {"host": host, "project": project, "volume_count": str(numbers[0]),
                "total_volume_gb": str(numbers[1]), "snapshot_count": str(numbers[2]),
                "total_snapshot_gb": str(numbers[3])}

    total = [sum(n[i] for n in by_project.values()) for i in range(4)]
    return [entry("(total)", total), *(entry(p, by_project[p]) for p in sorted(by_project))]
