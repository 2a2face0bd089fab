"""Hosts as Nova's deprecated ``os-hosts`` shows them: enabled services' hosts, a host's sums."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.compute.models import ComputeNode, Instance, Service
from onestack.compute.service import availability_zones as az_svc
from onestack.compute.service import services as svc
from onestack.core.api.faults import NotFound


def enabled_hosts(s: Session, zone: str | None) -> list[dict[str, str]]:
    zones = az_svc.zones_by_host(s)
    hosts = []
    for row in s.scalars(select(Service).where(Service.disabled.is_(False)).order_by(Service.id)):
        where = svc.zone_of(row, zones)
        if zone and where != zone:
            continue
        hosts.append({"host_name": row.host, "service": row.topic, "zone": where})
    return hosts


def compute_host(s: Session, host: str) -> Service:
    """The host's nova-compute service; Nova's 404 when the host has none (no cell mapping)."""
    row = svc.compute_service(s, host)
    if row is None:
        raise NotFound(f"Host '{host}' is not mapped to any cell")
    return row


def _resource(host: str, project: str, cpu: int, memory_mb: int, disk_gb: int) -> dict[str, Any]:
    return {"resource": {"host": host, "project": project, "cpu": cpu, "memory_mb": memory_mb, "disk_gb": disk_gb}}


def _sizes(inst: Instance) -> tuple[int, int, int]:
    flavor = inst.flavor or {}
    vcpus = int(flavor.get("vcpus", inst.vcpus) or 0)
    memory = int(flavor.get("memory_mb", inst.memory_mb) or 0)
    disk = int(flavor.get("root_gb", inst.root_gb) or 0) + int(flavor.get("ephemeral_gb", inst.ephemeral_gb) or 0)
    return vcpus, memory, disk


def host_detail(s: Session, host: str) -> list[dict[str, Any]]:
    """(total), (used_now) from the node; (used_max) and one row per project from the servers."""
    compute_host(s, host)
    node = s.scalar(select(ComputeNode).where(ComputeNode.host == host).order_by(ComputeNode.id).limit(1))
    if node is None:
        raise NotFound(f"Compute host {host} could not be found.")
    rows = [_resource(host, "(total)", node.vcpus, node.memory_mb, node.local_gb),
            _resource(host, "(used_now)", node.vcpus_used, node.memory_mb_used, node.local_gb_used)]
    servers = s.scalars(select(Instance).where(Instance.host == host, Instance.deleted.is_(False))
                        .order_by(Instance.id))
    total = [0, 0, 0]
    projects: dict[str, list[int]] = {}
    for inst in servers:
        sizes = _sizes(inst)
        mine = projects.setdefault(inst.project_id, [0, 0, 0])
        for i, value in enumerate(sizes):
            total[i] += value
            mine[i] += value
    rows.append(_resource(host, "(used_max)", *total))
    rows.extend(_resource(host, project, *sums) for project, sums in projects.items())
    return rows
