"""Hypervisors (``os-hypervisors``): compute nodes as their agents last reported them.

Each node is shown with its host's nova-compute service (state up/down, status enabled or
disabled); a node whose service is gone is skipped, as Nova does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestack.compute.models import ComputeNode, Instance, Service
from onestack.compute.scheduler.snapshot import service_is_up
from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.ids import utcnow

COMPUTE = "nova-compute"


@dataclass
class Hypervisor:
    node: ComputeNode
    service: Service
    up: bool
    workload: int = 0
    servers: list[dict[str, str]] = field(default_factory=list)


def _services(s: Session, hosts: set[str]) -> dict[str, Service]:
    return {r.host: r for r in s.scalars(select(Service).where(Service.binary == COMPUTE, Service.host.in_(hosts)))}


def _workloads(s: Session, hosts: set[str]) -> dict[str, int]:
    """Nova's current_workload: servers on the host with an action in flight."""
    rows = s.execute(select(Instance.host, func.count()).where(
        Instance.host.in_(hosts), Instance.deleted.is_(False), Instance.task_state.is_not(None))
        .group_by(Instance.host))
    return {str(host): int(n) for host, n in rows}


def _servers(s: Session, hosts: set[str]) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for host, name, uuid in s.execute(select(Instance.host, Instance.display_name, Instance.uuid).where(
            Instance.host.in_(hosts), Instance.deleted.is_(False)).order_by(Instance.id)):
        found.setdefault(str(host), []).append({"name": name, "uuid": uuid})
    return found


def assemble(s: Session, nodes: list[ComputeNode], down_after: float, with_servers: bool = False) -> list[Hypervisor]:
    hosts = {n.host for n in nodes}
    services = _services(s, hosts)
    workloads = _workloads(s, hosts)
    servers = _servers(s, hosts) if with_servers else {}
    out = []
    for node in nodes:
        svc = services.get(node.host)
        if svc is None:
            continue  # the service was deleted; its node waits for clean-up
        out.append(Hypervisor(node, svc, service_is_up(svc, down_after), workloads.get(node.host, 0),
                              servers.get(node.host, [])))
    return out


def _marker_node(s: Session, marker: str, by_uuid: bool) -> ComputeNode:
    node = None
    if by_uuid:
        node = s.scalar(select(ComputeNode).where(ComputeNode.uuid == marker))
    elif marker.isdigit():
        node = s.get(ComputeNode, int(marker))
    if node is None:
        raise BadRequest(f"marker [{marker}] not found")
    return node


def page(s: Session, limit: int | None, marker: str | None, by_uuid: bool) -> list[ComputeNode]:
    query = select(ComputeNode).order_by(ComputeNode.id)
    if marker is not None:
        query = query.where(ComputeNode.id > _marker_node(s, marker, by_uuid).id)
    if limit is not None:
        query = query.limit(limit)
    return list(s.scalars(query))


def search(s: Session, pattern: str) -> list[ComputeNode]:
    """Nodes whose hypervisor hostname contains ``pattern`` (SQL LIKE, any case), else Nova's 404.

    Case-insensitive on every database, as host names are and as Nova's LIKE is on MySQL's default
    collation (SQLite's LIKE folded ASCII case, PostgreSQL's does not: ILIKE there).
    """
    nodes = list(s.scalars(select(ComputeNode).where(ComputeNode.hypervisor_hostname.ilike(f"%{pattern}%"))
                           .order_by(ComputeNode.id)))
    if not nodes:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return nodes


def get(s: Session, ident: str, by_uuid: bool) -> ComputeNode:
    node = None
    if by_uuid:
        node = s.scalar(select(ComputeNode).where(ComputeNode.uuid == ident))
    elif ident.isdigit():
        node = s.get(ComputeNode, int(ident))
    if node is None:
        raise NotFound(f"Hypervisor with ID '{ident}' could not be found.")
    return node


def statistics(s: Session) -> dict[str, int]:
    """Sums over the nodes of enabled compute services (Nova's hypervisor statistics)."""
    enabled = set(s.scalars(select(Service.host).where(Service.binary == COMPUTE, Service.disabled.is_(False))))
    nodes = [n for n in s.scalars(select(ComputeNode)) if n.host in enabled]
    workloads = _workloads(s, {n.host for n in nodes})
    stats = {"count": len(nodes), "vcpus": 0, "memory_mb": 0, "local_gb": 0, "vcpus_used": 0, "memory_mb_used": 0,
             "local_gb_used": 0, "free_ram_mb": 0, "free_disk_gb": 0, "current_workload": 0, "running_vms": 0,
             "disk_available_least": 0}
    for node in nodes:
        for key, value in resources(node).items():
            stats[key] += value
    stats["current_workload"] = sum(workloads.values())
    return stats


def resources(node: ComputeNode) -> dict[str, int]:
    """The capacity fields shown before microversion 2.88."""
    free_disk = node.local_gb - node.local_gb_used
    return {"vcpus": node.vcpus, "memory_mb": node.memory_mb, "local_gb": node.local_gb,
            "vcpus_used": node.vcpus_used, "memory_mb_used": node.memory_mb_used,
            "local_gb_used": node.local_gb_used, "free_ram_mb": node.memory_mb - node.memory_mb_used,
            "free_disk_gb": free_disk, "running_vms": node.running_vms, "disk_available_least": free_disk}


def uptime(node: ComputeNode, now: datetime | None = None) -> str:
    """The host's uptime in the shape of the ``uptime`` command (what Nova relays from libvirt hosts).

    The host came up when its agent (re)started and reported ``started``.
    """
    now = now or utcnow()
    up = max(now - node.started_at, timedelta(0))
    days, rest = up.days, up.seconds
    hours, minutes = rest // 3600, (rest % 3600) // 60
    since = f"{days} day{'s' if days != 1 else ''}, {hours:2d}:{minutes:02d}" if days else f"{hours:2d}:{minutes:02d}"
    return f" {now:%H:%M:%S} up {since},  0 users,  load average: 0.00, 0.00, 0.00"


def cpu_info(node: ComputeNode) -> dict[str, Any]:
    return dict(node.cpu_info or {})


def node_exists(s: Session, host: str) -> bool:
    """Whether ``host`` has a compute node (a hypervisor) at all."""
    return s.scalar(select(ComputeNode.id).where(ComputeNode.host == host).limit(1)) is not None


def listing(s: Session, pattern: str | None, limit: int | None, marker: str | None, by_uuid: bool,
            down_after: float, with_servers: bool) -> list[Hypervisor]:
    """The nodes matching ``pattern``, or one page of all of them."""
    nodes = search(s, pattern) if pattern is not None else page(s, limit, marker, by_uuid)
    return assemble(s, nodes, down_after, with_servers)


def one(s: Session, ident: str, by_uuid: bool, down_after: float, with_servers: bool) -> Hypervisor:
    found = assemble(s, [get(s, ident, by_uuid)], down_after, with_servers)
    if not found:
        raise NotFound(f"Hypervisor with ID '{ident}' could not be found.")
    return found[0]


def matching(s: Session, pattern: str, down_after: float, with_servers: bool) -> list[Hypervisor]:
    return assemble(s, search(s, pattern), down_after, with_servers)
