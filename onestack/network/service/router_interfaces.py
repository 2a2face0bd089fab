"""A router's interfaces: ``add_router_interface`` by subnet (a new ``network:router_interface``
port with the subnet's gateway IP) or by an existing port, and ``remove_router_interface``."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.config import NetworkConfig
from onestack.network import models
from onestack.network.errors import (
    BadRequest,
    PortInUse,
    RouterInterfaceInUseByFloatingIP,
    RouterInterfaceInUseByRoute,
    RouterInterfaceNotFound,
    RouterInterfaceNotFoundForSubnet,
    SubnetMismatchForPort,
)
from onestack.network.service import ports, routers, subnets
from onestack.network.service.common import Caller
from onestack.network.service.routers import INTERFACE, INTERNAL


def _info(router: models.Router, port: models.Port, subnet_ids: list[str]) -> dict[str, Any]:
    return {"id": router.id, "project_id": port.project_id, "tenant_id": port.project_id, "port_id": port.id,
            "network_id": port.network_id, "subnet_id": subnet_ids[-1] if subnet_ids else None,
            "subnet_ids": subnet_ids}


def _subnets_of_port(s: Session, port_id: str) -> list[models.Subnet]:
    a, sub = models.IPAllocation, models.Subnet
    ids = sorted(set(s.scalars(select(a.subnet_id).where(a.port_id == port_id))))
    return list(s.scalars(select(sub).where(sub.id.in_(ids)).order_by(sub.id))) if ids else []


def _shared_with(s: Session, network_id: str, project_id: str | None) -> bool:
    r = models.RbacPolicy
    return s.scalar(select(r.id).where(r.object_type == "network", r.object_id == network_id,
                                       r.action == "access_as_shared", r.target_project == project_id)
                    .limit(1)) is not None


def _ipv6_port_on_network(s: Session, router_id: str, network_id: str, other_than: str = "") -> str | None:
    """The router's interface port on ``network_id`` holding an IPv6 address, if any: a router
    has one such port per network, and new IPv6 subnets of the network become its prefixes."""
    rp, p, a = models.RouterPort, models.Port, models.IPAllocation
    for port_id, ip in s.execute(select(rp.port_id, a.ip_address).join(p, p.id == rp.port_id)
                                 .join(a, a.port_id == rp.port_id)
                                 .where(rp.router_id == router_id, rp.port_type == INTERFACE,
                                        p.network_id == network_id, rp.port_id != other_than)
                                 .order_by(rp.port_id)):
        if ipaddress.ip_address(ip).version == 6:
            return str(port_id)
    return None


def _fixed_ips(s: Session, port_id: str) -> list[dict[str, str]]:
    a = models.IPAllocation
    return [{"subnet_id": sub, "ip_address": ip} for sub, ip in
            s.execute(select(a.subnet_id, a.ip_address).where(a.port_id == port_id).order_by(a.ip_address))]


def add(s: Session, caller: Caller, router_id: str, info: Mapping[str, Any], config: NetworkConfig) -> dict[str, Any]:
    """Attach by ``subnet_id`` or ``port_id`` (checked by the API: exactly one is given)."""
    router = routers.get_row(s, caller, router_id)
    routers.hold(s, router)
    if info.get("port_id"):
        port = ports.get_row(s, caller, info["port_id"])
        if port.device_id:
            raise PortInUse(port.id, port.network_id, port.device_id)
        subs = _subnets_of_port(s, port.id)
        if not subs:
            raise BadRequest("router", "Router port must have at least one fixed IP")
        routers.check_dup_subnets(s, router, subs)
        if len([x for x in subs if x.ip_version == 4]) > 1:
            raise BadRequest("router", "Cannot have multiple IPv4 subnets on router port")
        if any(x.ip_version == 6 for x in subs):
            other = _ipv6_port_on_network(s, router.id, port.network_id, other_than=port.id)
            if other is not None:
                raise BadRequest("router", f"Router already contains IPv6 port {other} belonging to network id "
                                           f"{port.network_id}. Only one IPv6 port from the same network subnet "
                                           "can be connected to a router.")
        ports.update(s, INTERNAL, port.id, {"device_id": router.id, "device_owner": INTERFACE}, config)
        port_id = port.id
    else:
        subnet = subnets.get_row(s, caller, info["subnet_id"])
        if not subnet.gateway_ip:
            raise BadRequest("router", "Subnet for router interface must have a gateway IP")
        if (not caller.is_admin and subnet.project_id != caller.project_id
                and not _shared_with(s, subnet.network_id, caller.project_id)):
            raise BadRequest("router", f"Cannot add interface to router because subnet {subnet.id} is not owned "
                                       "by project making the request")
        if subnet.ip_version == 6 and subnet.ipv6_ra_mode is None and subnet.ipv6_address_mode is not None:
            raise BadRequest("router", f"IPv6 subnet {subnet.id} configured to receive RAs from an external "
                                       "router cannot be added to Neutron Router.")
        routers.check_dup_subnets(s, router, [subnet])
        wanted = {"subnet_id": subnet.id, "ip_address": subnet.gateway_ip}
        existing = _ipv6_port_on_network(s, router.id, subnet.network_id) if subnet.ip_version == 6 else None
        if existing is not None:
            # Another prefix of the network: the router's IPv6 port takes it, as Neutron does.
            ports.update(s, INTERNAL, existing, {"fixed_ips": [*_fixed_ips(s, existing), wanted]}, config)
            held = s.get(models.Port, existing)
            assert held is not None
            return _info(router, held, [subnet.id])
        view = ports.create(s, INTERNAL, router.project_id, {
            "network_id": subnet.network_id, "fixed_ips": [wanted],
            "admin_state_up": True, "device_id": router.id, "device_owner": INTERFACE, "name": ""}, config)
        port_id = view["id"]
    s.add(models.RouterPort(router_id=router.id, port_id=port_id, port_type=INTERFACE))
    s.flush()
    row = s.get(models.Port, port_id)
    assert row is not None
    return _info(router, row, [x.id for x in _subnets_of_port(s, port_id)])


def _check_not_in_use(s: Session, router: models.Router, subnet: models.Subnet) -> None:
    """Floating IPs (and port forwardings) reaching ports of ``subnet`` through this router, or
    extra routes whose nexthop is on it, keep the interface."""
    cidr = ipaddress.ip_network(subnet.cidr)
    a = models.IPAllocation
    subnet_ports = set(s.scalars(select(a.port_id).where(a.subnet_id == subnet.id)))
    f, pf = models.FloatingIP, models.PortForwarding
    for fixed_port, fixed_ip in s.execute(select(f.fixed_port_id, f.fixed_ip_address).where(f.router_id == router.id)):
        if fixed_ip and ipaddress.ip_address(fixed_ip) in cidr and fixed_port in subnet_ports:
            raise RouterInterfaceInUseByFloatingIP(router.id, subnet.id)
    for port_id, ip in s.execute(select(pf.internal_port_id, pf.internal_ip_address).join(f, f.id == pf.floatingip_id)
                                 .where(f.router_id == router.id)):
        if ip and ipaddress.ip_address(ip).version == cidr.version and ipaddress.ip_address(ip) in cidr \
                and port_id in subnet_ports:
            raise RouterInterfaceInUseByFloatingIP(router.id, subnet.id)
    for route in routers.loads_routes(s, router.id):
        hop = ipaddress.ip_address(route["nexthop"])
        if hop.version == cidr.version and hop in cidr:
            raise RouterInterfaceInUseByRoute(router.id, subnet.id)


def remove(s: Session, caller: Caller, router_id: str, info: Mapping[str, Any],
           config: NetworkConfig) -> dict[str, Any]:
    """Detach by ``port_id`` (optionally checked against ``subnet_id``) or by ``subnet_id``; a
    port with further prefixes only loses the subnet's address."""
    router = routers.get_row(s, caller, router_id)
    routers.hold(s, router)
    rp = models.RouterPort
    if info.get("port_id"):
        port_id = info["port_id"]
        owned = s.scalar(select(rp.port_id).where(rp.router_id == router.id, rp.port_id == port_id,
                                                  rp.port_type == INTERFACE))
        if owned is None:
            raise RouterInterfaceNotFound(router.id, port_id)
        subs = _subnets_of_port(s, port_id)
        if info.get("subnet_id") and info["subnet_id"] not in [x.id for x in subs]:
            raise SubnetMismatchForPort(port_id, info["subnet_id"])
    else:
        subnet = subnets.get_row(s, caller, info["subnet_id"])
        a = models.IPAllocation
        found = s.scalar(select(rp.port_id).join(a, a.port_id == rp.port_id)
                         .where(rp.router_id == router.id, rp.port_type == INTERFACE, a.subnet_id == subnet.id)
                         .order_by(rp.port_id).limit(1))
        if found is None:
            raise RouterInterfaceNotFoundForSubnet(router.id, subnet.id)
        port_id = found
        subs = [subnet]
    for sub in subs:
        _check_not_in_use(s, router, sub)
    row = s.get(models.Port, port_id)
    assert row is not None
    answer = _info(router, row, [x.id for x in subs])
    answer["subnet_id"] = subs[0].id if subs else None
    if not info.get("port_id") and len(_subnets_of_port(s, port_id)) > 1:
        kept = [f for f in _fixed_ips(s, port_id) if f["subnet_id"] != subs[0].id]
        ports.update(s, INTERNAL, port_id, {"fixed_ips": kept}, config)
        return answer
    s.query(rp).filter(rp.port_id == port_id).delete()
    s.flush()
    ports.delete(s, INTERNAL, port_id, internal=True)
    s.flush()
    return answer
