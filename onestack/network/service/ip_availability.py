"""Network IP availability: per network and per subnet, how many addresses its allocation pools
hold (``total_ips``; the whole cidr for a subnet without pools) and how many are allocated
(``used_ips``). Three queries whatever the number of networks."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.errors import NetworkNotFound

N, SUB = models.Network, models.Subnet
# The filters Neutron supports here (neutron.db.network_ip_availability_db.SUPPORTED_FILTERS).
FILTERS: Mapping[str, Any] = {"network_id": N.id, "network_name": N.name, "project_id": N.project_id,
                              "tenant_id": N.project_id, "ip_version": SUB.ip_version}


def availabilities(s: Session, filters: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """One entry per network matching ``filters`` (any of a filter's values), sorted by network id.
    An ``ip_version`` filter keeps only subnets of that version, and networks having one."""
    net_stmt = select(N.id, N.name, N.project_id)
    for key in ("network_id", "network_name", "project_id", "tenant_id"):
        if filters.get(key):
            net_stmt = net_stmt.where(FILTERS[key].in_(list(filters[key])))
    versions = list(filters.get("ip_version") or [])
    if versions:
        net_stmt = net_stmt.where(N.id.in_(select(SUB.network_id).where(SUB.ip_version.in_(versions))))
    nets = s.execute(net_stmt.order_by(N.id)).all()
    ids = [n.id for n in nets]
    if not ids:
        return []
    sub_stmt = select(SUB.id, SUB.network_id, SUB.name, SUB.cidr, SUB.ip_version).where(SUB.network_id.in_(ids))
    if versions:
        sub_stmt = sub_stmt.where(SUB.ip_version.in_(versions))
    subnets = s.execute(sub_stmt.order_by(SUB.network_id, SUB.id)).all()
    sub_ids = [r.id for r in subnets]
    totals = _pool_sizes(s, sub_ids)
    ipa = models.IPAllocation
    used: dict[str, int] = {}
    if sub_ids:
        for subnet_id, count in s.execute(select(ipa.subnet_id, func.count()).where(ipa.subnet_id.in_(sub_ids))
                                          .group_by(ipa.subnet_id)):
            used[subnet_id] = int(count)
    out: dict[str, dict[str, Any]] = {
        n.id: {"network_id": n.id, "network_name": n.name, "project_id": n.project_id, "tenant_id": n.project_id,
               "subnet_ip_availability": [], "used_ips": 0, "total_ips": 0} for n in nets}
    for r in subnets:
        total = totals.get(r.id)
        if total is None:  # no allocation pools: the whole cidr, as Neutron counts it
            total = ipaddress.ip_network(r.cidr, strict=False).num_addresses
        entry = {"subnet_id": r.id, "subnet_name": r.name, "cidr": r.cidr, "ip_version": r.ip_version,
                 "used_ips": used.get(r.id, 0), "total_ips": total}
        net = out[r.network_id]
        net["subnet_ip_availability"].append(entry)
        net["used_ips"] += entry["used_ips"]
        net["total_ips"] += total
    return list(out.values())


def _pool_sizes(s: Session, subnet_ids: Sequence[str]) -> dict[str, int]:
    if not subnet_ids:
        return {}
    ap = models.AllocationPool
    sizes: dict[str, int] = {}
    for subnet_id, first, last in s.execute(select(ap.subnet_id, ap.first_ip, ap.last_ip)
                                            .where(ap.subnet_id.in_(list(subnet_ids)))):
        span = int(ipaddress.ip_address(last)) - int(ipaddress.ip_address(first)) + 1
        sizes[subnet_id] = sizes.get(subnet_id, 0) + span
    return sizes


def availability(s: Session, network_id: str) -> dict[str, Any]:
    found = availabilities(s, {"network_id": [network_id]})
    if not found:
        raise NetworkNotFound(network_id)
    return found[0]
