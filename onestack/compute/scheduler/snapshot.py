"""Host states for one request: placement's candidates joined with the compute tables.

Placement says which compute nodes have room (and their capacity and usage); the compute
tables add what filters need beyond resources — service up/enabled, zones and aggregates,
hypervisor facts, and the instances the request's hints and server group refer to.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestack.client.placement import Candidate
from onestack.compute.bdm_flags import VOLUME_BACKED
from onestack.compute.models import Aggregate as AggregateRow
from onestack.compute.models import ComputeNode, Instance, ServerGroup, Service
from onestack.compute.scheduler.host_state import Aggregate, HostState
from onestack.compute.scheduler.request import Flavor, InstanceGroup, RequestSpec
from onestack.core.ids import utcnow

COMPUTE_BINARY = "nova-compute"


def service_is_up(svc: Service, down_after: float) -> bool:
    if svc.forced_down:
        return False
    seen = svc.last_seen_up or svc.updated_at or svc.created_at
    return seen is not None and utcnow() - seen <= timedelta(seconds=down_after)


def aggregates(s: Session) -> list[Aggregate]:
    return [Aggregate(id=a.id, name=a.name, uuid=a.uuid, hosts=[h.host for h in a.hosts],
                      metadata={m.key: m.value for m in a.metadata_items})
            for a in s.scalars(select(AggregateRow))]


def request_spec(s: Session, instances: list[Instance], ignore_hosts: Iterable[str] = ()) -> RequestSpec:
    """The scheduler's view of a boot request (all rows share flavor, image, hints, group)."""
    first = instances[0]
    meta: dict[str, Any] = first.system_metadata or {}
    fl = first.flavor
    group = None
    if first.server_group:
        row = s.scalar(select(ServerGroup).where(ServerGroup.uuid == first.server_group))
        if row is not None:
            members = [m.instance_uuid for m in row.members]
            hosts = sorted({str(h) for (h,) in s.execute(select(Instance.host).where(
                Instance.uuid.in_(members), Instance.host.is_not(None), Instance.deleted.is_(False)))})
            group = InstanceGroup(uuid=row.uuid, policy=row.policy, rules=dict(row.rules or {}),
                                  members=[m for m in members if m not in {i.uuid for i in instances}], hosts=hosts)
    forced_host, forced_node = meta.get("forced_host"), meta.get("forced_node")
    return RequestSpec(
        # A volume-backed server needs no local root disk (Nova's is_bfv).
        flavor=Flavor(vcpus=fl["vcpus"], memory_mb=fl["memory_mb"], root_gb=0 if meta.get(VOLUME_BACKED) else fl["root_gb"],
                      ephemeral_gb=fl.get("ephemeral_gb", 0), swap=fl.get("swap", 0) or 0,
                      extra_specs=dict(fl.get("extra_specs") or {}), name=fl.get("name", "")),
        image_properties=dict(meta.get("image_properties") or {}),
        availability_zone=meta.get("requested_az"), num_instances=len(instances),
        instance_uuids=[i.uuid for i in instances], scheduler_hints=dict(meta.get("scheduler_hints") or {}),
        instance_group=group, project_id=first.project_id, ignore_hosts=list(ignore_hosts),
        force_hosts=[forced_host] if forced_host else [], force_nodes=[forced_node] if forced_node else [],
    )


def host_states(s: Session, candidates: list[Candidate], spec: RequestSpec, down_after: float) -> list[HostState]:
    by_rp = {c.provider_uuid: c for c in candidates}
    # One statement for the nodes, their hosts' compute services ((host, binary) is unique) and
    # their hosts' live instance counts: each statement is a round trip on every boot.
    count = (select(func.count()).where(Instance.host == ComputeNode.host, Instance.deleted.is_(False))
             .correlate(ComputeNode).scalar_subquery())
    rows = s.execute(select(ComputeNode, Service, count)
                     .outerjoin(Service, (Service.host == ComputeNode.host) & (Service.binary == COMPUTE_BINARY))
                     .where(ComputeNode.uuid.in_(list(by_rp)))).all()
    nodes = [node for node, _svc, _n in rows]
    services = {node.host: svc for node, svc, _n in rows if svc is not None}
    counts = {node.host: n for node, _svc, n in rows}
    all_aggs = aggregates(s)
    # Only the instances some filter or weigher will ask about: hinted ones and group members.
    wanted = set(spec.hint("same_host")) | set(spec.hint("different_host"))
    if spec.instance_group is not None:
        wanted |= set(spec.instance_group.members)
    placed: dict[str, dict[str, str | None]] = {}
    if wanted:
        for uuid, host, group in s.execute(select(Instance.uuid, Instance.host, Instance.server_group).where(
                Instance.uuid.in_(wanted), Instance.deleted.is_(False), Instance.host.is_not(None))):
            placed.setdefault(str(host), {})[uuid] = group
    states: list[HostState] = []
    for node in nodes:
        cand = by_rp[node.uuid]
        inv = cand.inventories
        svc = services.get(node.host)

        def cap(rc: str, key: str, inv: dict[str, dict[str, Any]] = inv) -> int:
            return int(inv.get(rc, {}).get(key, 0))

        states.append(HostState(
            host=node.host, nodename=node.hypervisor_hostname, uuid=node.uuid,
            aggregates=[a for a in all_aggs if node.host in a.hosts],
            service_up=svc is not None and service_is_up(svc, down_after),
            service_disabled=bool(svc and svc.disabled), forced_down=bool(svc and svc.forced_down),
            vcpus_total=node.vcpus, vcpus_used=cap("VCPU", "used"),
            memory_mb=node.memory_mb, memory_mb_used=cap("MEMORY_MB", "used"),
            disk_gb=node.local_gb, disk_gb_used=cap("DISK_GB", "used"),
            cpu_allocation_ratio=node.cpu_allocation_ratio, ram_allocation_ratio=node.ram_allocation_ratio,
            disk_allocation_ratio=node.disk_allocation_ratio,
            num_instances=int(counts.get(node.host, 0)), instances=placed.get(node.host, {}),
            hypervisor_type=node.hypervisor_type, hypervisor_version=node.hypervisor_version,
            hypervisor_hostname=node.hypervisor_hostname, cpu_info=dict(node.cpu_info or {}),
            supported_instances=[(str(node.cpu_info.get("arch", "x86_64")), node.hypervisor_type.lower(), "hvm")],
            traits=frozenset(cand.traits),
        ))
    states.sort(key=lambda h: h.host)
    return states
