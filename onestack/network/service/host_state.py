"""What one host should have wired: the desired state its network agent converges to.

- ports bound to the host (``binding:host_id``), its DHCP ports among them, except routers' and
  floating IPs' (those are wired as parts of routers), each with its network's segment and MTU;
- each such port's filter: its security groups' rules (a remote group resolved to the fixed IPs
  of that group's ports), or none without port security or for a DHCP port (a network device's
  port is trusted, as Neutron's firewall drivers treat ``network:`` owners);
- DHCP for every ``enable_dhcp`` subnet of a network with a port on the host: a lease for every
  port of the network with an address on that subnet;
- the routers it hosts (``service/agent_scheduler.py: routers_of``).

Every list is sorted, so equal state is equal data (the agent compares by equality). One query
per table, whatever the number of ports.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.rpcapi import (
    DhcpSpec,
    FilterRule,
    FilterSpec,
    FixedIP,
    HostState,
    Lease,
    PortSpec,
    RouterGateway,
    RouterInterface,
    RouterSpec,
)

GATEWAY = "network:router_gateway"
DHCP = "network:dhcp"


def desired_state(s: Session, host: str, only: set[str] | None, excluded: set[str]) -> HostState:
    """``only``/``excluded``: the routers the host runs (None: every one but ``excluded``)."""
    port = models.Port
    rows = s.scalars(select(port).where(port.binding_host_id == host, or_(
        ~port.device_owner.startswith("network:"), port.device_owner == DHCP)).order_by(port.id)).all()
    ids = [r.id for r in rows]
    ips = _fixed_ips(s, ids)
    networks = {n.id: n for n in s.scalars(select(models.Network).where(
        models.Network.id.in_(sorted({r.network_id for r in rows}))))}
    # Each statement of a read is its own snapshot (db.py): a network deleted since the ports were
    # read took its ports with it. Leave them out; the next pass reads the state after the delete.
    rows = [r for r in rows if r.network_id in networks]
    ports: dict[str, PortSpec] = {}
    for r in rows:
        net = networks[r.network_id]
        ports[r.id] = {"id": r.id, "network_id": r.network_id, "mac_address": r.mac_address,
                       "fixed_ips": ips.get(r.id, []), "admin_state_up": r.admin_state_up,
                       "device_owner": r.device_owner, "device_id": r.device_id, "mtu": net.mtu,
                       "network_type": net.provider_network_type,
                       "physical_network": net.provider_physical_network,
                       "segmentation_id": net.provider_segmentation_id}
    return {"ports": ports, "filters": _filters(s, rows, ips), "dhcp": _dhcp(s, sorted(networks)),
            "routers": _routers(s, only, excluded) if only is None or only else {}}


def _fixed_ips(s: Session, port_ids: list[str]) -> dict[str, list[FixedIP]]:
    found: dict[str, list[FixedIP]] = defaultdict(list)
    if not port_ids:
        return found
    alloc = models.IPAllocation
    for a in s.execute(select(alloc.port_id, alloc.subnet_id, alloc.ip_address).where(alloc.port_id.in_(port_ids))
                       .order_by(alloc.port_id, alloc.subnet_id, alloc.ip_address)):
        found[a.port_id].append({"subnet_id": a.subnet_id, "ip_address": a.ip_address})
    return found


def _filters(s: Session, rows: Any, ips: dict[str, list[FixedIP]]) -> dict[str, FilterSpec]:
    ids = [r.id for r in rows]
    if not ids:
        return {}
    psg = models.PortSecurityGroup
    groups_of: dict[str, list[str]] = defaultdict(list)
    for port_id, sg_id in s.execute(select(psg.port_id, psg.security_group_id).where(psg.port_id.in_(ids))):
        groups_of[port_id].append(sg_id)
    sg_ids = sorted({g for gs in groups_of.values() for g in gs})
    rule = models.SecurityGroupRule
    rules_of: dict[str, list[models.SecurityGroupRule]] = defaultdict(list)
    for rr in s.scalars(select(rule).where(rule.security_group_id.in_(sg_ids))) if sg_ids else ():
        rules_of[rr.security_group_id].append(rr)
    stateful: dict[str, bool] = {g: st for g, st in s.execute(
        select(models.SecurityGroup.id, models.SecurityGroup.stateful).where(models.SecurityGroup.id.in_(sg_ids)))}
    remote = _group_members(s, sorted({rr.remote_group_id for rs in rules_of.values() for rr in rs
                                      if rr.remote_group_id}))
    pairs: dict[str, list[str]] = defaultdict(list)
    aap = models.AllowedAddressPair
    for port_id, address in s.execute(select(aap.port_id, aap.ip_address).where(aap.port_id.in_(ids))):
        pairs[port_id].append(address)
    out: dict[str, FilterSpec] = {}
    for r in rows:
        groups = sorted(groups_of.get(r.id, []))
        rules: list[FilterRule] = []
        secured = r.port_security_enabled and r.device_owner != DHCP
        if secured:
            seen: set[tuple[Any, ...]] = set()
            for g in groups:
                for rr in rules_of.get(g, []):
                    fr: FilterRule = {
                        "direction": rr.direction, "ethertype": rr.ethertype, "protocol": rr.protocol,
                        "port_range_min": rr.port_range_min, "port_range_max": rr.port_range_max,
                        "remote_ip_prefix": rr.remote_ip_prefix, "remote_group_id": rr.remote_group_id,
                        "remote_ips": remote.get(rr.remote_group_id, []) if rr.remote_group_id else []}
                    key = tuple(str(v) for v in fr.values())
                    if key not in seen:
                        seen.add(key)
                        rules.append(fr)
            rules.sort(key=lambda fr: tuple(str(v) for v in fr.values()))
        out[r.id] = {"port_id": r.id, "port_security": secured,
                     "stateful": all(stateful.get(g, True) for g in groups), "mac_address": r.mac_address,
                     "addresses": sorted({ip["ip_address"] for ip in ips.get(r.id, [])} | set(pairs.get(r.id, []))),
                     "rules": rules}
    return out


def _group_members(s: Session, group_ids: list[str]) -> dict[str, list[str]]:
    """The fixed IPs of the ports in each group (what a rule with that remote group matches)."""
    if not group_ids:
        return {}
    psg, alloc = models.PortSecurityGroup, models.IPAllocation
    found: dict[str, set[str]] = defaultdict(set)
    for sg_id, ip in s.execute(select(psg.security_group_id, alloc.ip_address)
                               .join(alloc, alloc.port_id == psg.port_id)
                               .where(psg.security_group_id.in_(group_ids))):
        found[sg_id].add(ip)
    return {g: sorted(v) for g, v in found.items()}


def _dhcp(s: Session, network_ids: list[str]) -> dict[str, DhcpSpec]:
    if not network_ids:
        return {}
    sub = models.Subnet
    subnets = s.scalars(select(sub).where(sub.network_id.in_(network_ids), sub.enable_dhcp.is_(True))).all()
    ids = [x.id for x in subnets]
    if not ids:
        return {}
    dns: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for d in s.scalars(select(models.DnsNameServer).where(models.DnsNameServer.subnet_id.in_(ids))):
        dns[d.subnet_id].append((d.order, d.address))
    routes: dict[str, list[dict[str, str]]] = defaultdict(list)
    for h in s.scalars(select(models.HostRoute).where(models.HostRoute.subnet_id.in_(ids))):
        routes[h.subnet_id].append({"destination": h.destination, "nexthop": h.nexthop})
    leases: dict[str, list[Lease]] = defaultdict(list)
    alloc, port = models.IPAllocation, models.Port
    for a in s.execute(select(alloc.subnet_id, alloc.ip_address, port.id, port.mac_address)
                       .join(port, port.id == alloc.port_id).where(alloc.subnet_id.in_(ids))):
        leases[a.subnet_id].append({"mac_address": a.mac_address, "ip_address": a.ip_address, "port_id": a.id})
    out: dict[str, DhcpSpec] = {}
    for x in subnets:
        out[x.id] = {"subnet_id": x.id, "network_id": x.network_id, "cidr": x.cidr, "ip_version": x.ip_version,
                     "gateway_ip": x.gateway_ip, "dns_nameservers": [a for _, a in sorted(dns.get(x.id, []))],
                     "host_routes": sorted(routes.get(x.id, []), key=lambda r: (r["destination"], r["nexthop"])),
                     "leases": sorted(leases.get(x.id, []), key=lambda lease: (lease["ip_address"], lease["port_id"]))}
    return out


def _routers(s: Session, only: set[str] | None, excluded: set[str]) -> dict[str, RouterSpec]:
    stmt = select(models.Router).order_by(models.Router.id)
    if only is not None:
        stmt = stmt.where(models.Router.id.in_(sorted(only)))
    routers = [r for r in s.scalars(stmt) if r.id not in excluded]
    if not routers:
        return {}
    rp, port = models.RouterPort, models.Port
    members = s.execute(select(rp.router_id, rp.port_id, rp.port_type, port.mac_address, port.network_id)
                        .join(port, port.id == rp.port_id)).all()
    port_ids = sorted({m.port_id for m in members} | {r.gw_port_id for r in routers if r.gw_port_id})
    ips = _fixed_ips(s, port_ids)
    cidrs: dict[str, str] = {sid: cidr for sid, cidr in s.execute(
        select(models.Subnet.id, models.Subnet.cidr).where(models.Subnet.id.in_(
            sorted({ip["subnet_id"] for v in ips.values() for ip in v}))))}
    gw_net = {m.port_id: (m.network_id, m.mac_address) for m in members}
    gw_net.update({p.id: (p.network_id, p.mac_address) for p in s.execute(
        select(port.id, port.network_id, port.mac_address)
        .where(port.id.in_([r.gw_port_id for r in routers if r.gw_port_id])))})
    interfaces: dict[str, list[RouterInterface]] = defaultdict(list)
    for m in members:
        if m.port_type == GATEWAY:
            continue
        for ip in ips.get(m.port_id, []):
            interfaces[m.router_id].append({"port_id": m.port_id, "subnet_id": ip["subnet_id"],
                                            "ip_address": ip["ip_address"], "cidr": cidrs.get(ip["subnet_id"], ""),
                                            "mac_address": m.mac_address})
    routes: dict[str, list[dict[str, str]]] = defaultdict(list)
    for rr in s.scalars(select(models.RouterRoute)):
        routes[rr.router_id].append({"destination": rr.destination, "nexthop": rr.nexthop})
    fips: dict[str, list[Any]] = defaultdict(list)
    fip = models.FloatingIP
    for f in s.scalars(select(fip).where(fip.router_id.is_not(None), fip.fixed_port_id.is_not(None))):
        assert f.router_id is not None and f.fixed_port_id is not None
        fips[f.router_id].append({"id": f.id, "floating_ip_address": f.floating_ip_address,
                                  "fixed_ip_address": f.fixed_ip_address or "", "port_id": f.fixed_port_id})
    out: dict[str, RouterSpec] = {}
    for r in routers:
        gateway: RouterGateway | None = None
        if r.gw_port_id and r.gw_port_id in gw_net:
            net_id, mac = gw_net[r.gw_port_id]
            gateway = {"port_id": r.gw_port_id, "network_id": net_id, "mac_address": mac,
                       "fixed_ips": ips.get(r.gw_port_id, [])}
        out[r.id] = {"id": r.id, "admin_state_up": r.admin_state_up,
                     "interfaces": sorted(interfaces.get(r.id, []), key=lambda i: (i["port_id"], i["ip_address"])),
                     "gateway": gateway, "enable_snat": r.enable_snat,
                     "routes": sorted(routes.get(r.id, []), key=lambda x: (x["destination"], x["nexthop"])),
                     "floating_ips": sorted(fips.get(r.id, []), key=lambda x: x["id"])}
    return out
