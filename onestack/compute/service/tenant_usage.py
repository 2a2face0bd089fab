"""Simple tenant usage: server hours in a period, per project (Nova's os-simple-tenant-usage).

A server is billed from when it launched (or the period start, if later) to when it was
terminated (or the period end). Servers that never launched cost nothing and are not listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from onestack.compute.models import Instance
from onestack.core.api.faults import BadRequest
from onestack.core.ids import utcnow

TERMINATED = "terminated"


@dataclass
class ProjectUsage:
    tenant_id: str
    start: datetime
    stop: datetime
    total_hours: float = 0.0
    total_vcpus_usage: float = 0.0
    total_memory_mb_usage: float = 0.0
    total_local_gb_usage: float = 0.0
    server_usages: list[dict[str, Any]] = field(default_factory=list)


def hours_for(launched: datetime | None, terminated: datetime | None, start: datetime, stop: datetime) -> float:
    if launched is None or launched > stop or (terminated is not None and terminated < start):
        return 0.0
    begin = max(launched, start)
    end = min(stop, terminated) if terminated is not None else stop
    return (end - begin).total_seconds() / 3600.0


def active_in(s: Session, start: datetime, stop: datetime, project_id: str | None, limit: int | None,
              marker: str | None) -> list[Instance]:
    """Servers alive at some point of the period (deleted ones included), by project then uuid."""
    query = select(Instance).where(or_(Instance.terminated_at.is_(None), Instance.terminated_at > start),
                                   Instance.launched_at < stop)
    if project_id:
        query = query.where(Instance.project_id == project_id)
    if marker is not None:
        row = s.scalar(select(Instance).where(Instance.uuid == marker))
        if row is None:
            raise BadRequest(f"Marker {marker} could not be found.")
        query = query.where(or_(Instance.project_id > row.project_id,
                                (Instance.project_id == row.project_id) & (Instance.uuid > row.uuid)))
    query = query.order_by(Instance.project_id, Instance.uuid)
    if limit is not None:
        query = query.limit(limit)
    return list(s.scalars(query))


def server_usage(inst: Instance, start: datetime, stop: datetime, now: datetime) -> dict[str, Any]:
    flavor = inst.flavor or {}
    hours = hours_for(inst.launched_at, inst.terminated_at, start, stop)
    launched = inst.launched_at or inst.created_at
    ended = inst.terminated_at
    state = TERMINATED if ended is not None else inst.vm_state
    return {
        "instance_id": inst.uuid, "name": inst.display_name, "hours": hours,
        "memory_mb": int(flavor.get("memory_mb", inst.memory_mb)),
        "local_gb": int(flavor.get("root_gb", inst.root_gb)) + int(flavor.get("ephemeral_gb", inst.ephemeral_gb)),
        "vcpus": int(flavor.get("vcpus", inst.vcpus)), "tenant_id": inst.project_id,
        "flavor": str(flavor.get("name", "")), "started_at": launched, "ended_at": ended, "state": state,
        "uptime": max(0, int(((ended or now) - launched).total_seconds())),
    }


def usage(s: Session, start: datetime, stop: datetime, project_id: str | None = None, limit: int | None = None,
          marker: str | None = None) -> tuple[list[ProjectUsage], list[dict[str, Any]]]:
    """Per-project summaries (in project order) and every server usage on this page."""
    now = utcnow()
    summaries: dict[str, ProjectUsage] = {}
    servers: list[dict[str, Any]] = []
    for inst in active_in(s, start, stop, project_id, limit, marker):
        info = server_usage(inst, start, stop, now)
        summary = summaries.setdefault(inst.project_id, ProjectUsage(inst.project_id, start, stop))
        summary.total_hours += info["hours"]
        summary.total_vcpus_usage += info["vcpus"] * info["hours"]
        summary.total_memory_mb_usage += info["memory_mb"] * info["hours"]
        summary.total_local_gb_usage += info["local_gb"] * info["hours"]
        summary.server_usages.append(info)
        servers.append(info)
    return list(summaries.values()), servers
