"""Auto-allocated topology ("get me a network"): on a project's first GET, a network with a
subnet from each default subnet pool (IPv4 and IPv6, as Neutron), a router with its gateway on
the default external network and an interface on each subnet, recorded in
``network_auto_allocated_topologies``; DELETE tears them down.

Without a default IPv4 pool (Neutron would refuse with "No default subnetpools defined"), the
IPv4 subnet takes the first /26 of ``FALLBACK_RANGE`` that no subnet of the project overlaps, so
a cloud without pools still gives a working topology.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.config import NetworkConfig
from onestack.network import models
from onestack.network.errors import AutoAllocationFailure
from onestack.network.service import networks, router_interfaces, routers, subnetpools, subnets
from onestack.network.service.routers import INTERNAL

T = models.AutoAllocatedTopology
FALLBACK_RANGE = ipaddress.ip_network("10.128.0.0/16")
FALLBACK_PREFIX = 26


def response(network_id: str, project_id: str) -> dict[str, Any]:
    return {"id": network_id, "project_id": project_id, "tenant_id": project_id}


def default_external_network(s: Session) -> str:
    n = models.Network
    found = s.scalar(select(n.id).where(n.router_external.is_(True), n.is_default.is_(True))
                     .order_by(n.created_at, n.id).limit(1))
    if found is None:
        raise AutoAllocationFailure("No default router:external network")
    return str(found)


def dry_run(s: Session, project_id: str) -> dict[str, Any]:
    """``?fields=dry-run``: would a GET succeed? (a default external network is what it needs)"""
    default_external_network(s)
    return {"id": "dry-run=pass", "project_id": project_id, "tenant_id": project_id}


def _free_cidr(s: Session, project_id: str) -> str:
    sub = models.Subnet
    used = [ipaddress.ip_network(c) for c in s.scalars(select(sub.cidr).where(sub.project_id == project_id,
                                                                              sub.ip_version == 4))]
    for candidate in FALLBACK_RANGE.subnets(new_prefix=FALLBACK_PREFIX):
        if not any(candidate.overlaps(u) for u in used):
            return str(candidate)
    raise AutoAllocationFailure("Unable to provide project private network")


def get_or_create(s: Session, project_id: str, config: NetworkConfig) -> dict[str, Any]:
    """The project's topology, built now (in this one transaction) if it has none."""
    found = s.scalar(select(T.network_id).where(T.project_id == project_id))
    if found is not None:
        return response(str(found), project_id)
    external = default_external_network(s)
    net = networks.create(s, INTERNAL, project_id, {"name": "auto_allocated_network", "admin_state_up": True,
                                                    "shared": False}, config.default_mtu)
    made = []
    for version in (4, 6):
        pool = subnetpools.default_pool(s, INTERNAL, version)
        subnet_attrs: dict[str, Any] = {"name": f"auto_allocated_subnet_v{version}", "network_id": net["id"],
                                        "ip_version": version}
        if pool is not None:
            subnet_attrs["subnetpool_id"] = pool.id
        elif version == 4:
            subnet_attrs["cidr"] = _free_cidr(s, project_id)
        else:
            continue
        made.append(subnets.create(s, INTERNAL, project_id, subnet_attrs, config))
    router = routers.create(s, INTERNAL, project_id, {"name": "auto_allocated_router", "admin_state_up": True,
                                                      "external_gateway_info": {"network_id": external}}, config)
    for subnet in made:
        router_interfaces.add(s, INTERNAL, router["id"], {"subnet_id": subnet["id"]}, config)
    s.add(T(project_id=project_id, network_id=net["id"], router_id=router["id"]))
    s.flush()
    return response(net["id"], project_id)


def delete(s: Session, project_id: str, config: NetworkConfig) -> None:
    """Remove the project's topology: router (interfaces, gateway), then the network with its subnets."""
    row = s.get(T, project_id)
    if row is None:
        return
    network_id, router_id = row.network_id, row.router_id
    s.delete(row)
    s.flush()
    if router_id and s.get(models.Router, router_id) is not None:
        rp = models.RouterPort
        for port_id in list(s.scalars(select(rp.port_id).where(rp.router_id == router_id,
                                                               rp.port_type == routers.INTERFACE))):
            router_interfaces.remove(s, INTERNAL, router_id, {"port_id": port_id}, config)
        routers.delete_router(s, INTERNAL, router_id)
    if s.get(models.Network, network_id) is not None:
        networks.delete_network(s, INTERNAL, network_id)
