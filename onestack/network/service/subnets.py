"""Subnets: an address range on a network with its gateway, allocation pools, DNS servers, host
routes and service types; IPv4 and IPv6 (SLAAC, DHCPv6 stateful and stateless), with Neutron's
checks and wording.

No DHCP port is made for ``enable_dhcp``: the network agent serves DHCP from the subnet itself.
A subnet asked without a ``cidr`` (``subnetpool_id``, ``use_default_subnetpool``, ``prefixlen``)
takes its cidr from ``subnetpools.allocate_cidr`` (h/pools) when that exists.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session

from onestack.core.config import NetworkConfig
from onestack.network import models
from onestack.network.errors import (
    DNSNameServersExhausted,
    GatewayConflictWithAllocationPools,
    GatewayIpInUse,
    HostRoutesExhausted,
    HTTPNotFound,
    InvalidAllocationPool,
    InvalidInput,
    NetworkMTUSubnetConflict,
    OutOfBoundsAllocationPool,
    OverlappingAllocationPools,
    SubnetInUse,
    SubnetNotFound,
)
from onestack.network.service import ipam, networks, next_free, quotas, subnetpools
from onestack.network.service.common import (
    Caller,
    Listing,
    ListQuery,
    check_revision,
    delete_tags,
    new_id,
    paged,
    rbac_granted,
    stamp_new,
    standard_view,
    tags_of,
    touch,
)

S = models.Subnet
TAG_TYPE = "subnets"
MAX_DNS_NAMESERVERS = 5     # Neutron's max_dns_nameservers
MAX_HOST_ROUTES = 20        # Neutron's max_subnet_host_routes
IPV6_MIN_MTU = networks.IPV6_MIN_MTU
# Ports that go with the subnet rather than keep it in use.
OWN_PORTS = networks.OWN_PORTS


# --- who sees what ------------------------------------------------------------------------------

def visible(caller: Caller) -> Any:
    """Subnets ``caller`` may see: their own, and those of networks shared with them (Neutron's
    subnets inherit their network's RBAC entries)."""
    if caller.is_admin:
        return None
    return or_(S.project_id == caller.project_id,
               rbac_granted("network", S.network_id, "access_as_shared", caller.project_id))


def _visible_stmt(caller: Caller) -> Select[Any]:
    cond = visible(caller)
    return select(S) if cond is None else select(S).where(cond)


def listing(caller: Caller) -> Listing:
    return Listing(
        tag_type=TAG_TYPE, id_column=S.id,
        columns={"id": S.id, "name": S.name, "project_id": S.project_id, "tenant_id": S.project_id,
                 "network_id": S.network_id, "ip_version": S.ip_version, "cidr": S.cidr,
                 "gateway_ip": S.gateway_ip, "enable_dhcp": S.enable_dhcp, "ipv6_ra_mode": S.ipv6_ra_mode,
                 "ipv6_address_mode": S.ipv6_address_mode, "subnetpool_id": S.subnetpool_id,
                 "segment_id": S.segment_id, "description": S.description,
                 "revision_number": S.revision_number, "created_at": S.created_at, "updated_at": S.updated_at},
        conditions={"service_types": _has_service_type,
                    "dns_nameservers": _has_nameserver,
                    "shared": lambda values: _shared(caller, values)},
    )


def _shared(caller: Caller, values: list[Any]) -> Any:
    """``shared=true|false``: subnets of networks shared with the caller (or not)."""
    shared = rbac_granted("network", S.network_id, "access_as_shared", caller.project_id)
    if all(values):
        return shared
    return ~shared if not any(values) else S.id.is_not(None)


def _has_service_type(values: list[Any]) -> Any:
    st = models.SubnetServiceType
    return S.id.in_(select(st.subnet_id).where(st.service_type.in_(values)))


def _has_nameserver(values: list[Any]) -> Any:
    d = models.DnsNameServer
    return S.id.in_(select(d.subnet_id).where(d.address.in_(values)))


def get_row(s: Session, caller: Caller, subnet_id: str) -> models.Subnet:
    """The subnet if ``caller`` may see it, else 404 ``SubnetNotFound``."""
    row: models.Subnet | None = s.scalar(_visible_stmt(caller).where(S.id == subnet_id))
    if row is None:
        raise SubnetNotFound(subnet_id)
    return row


def network_for_new(s: Session, caller: Caller, network_id: str, project_id: str) -> models.Network:
    """The network a new subnet or port of ``project_id`` goes on: 404 ``NetworkNotFound`` if
    the caller cannot see it, and a plain 404 for a non-admin on another project's network that
    is not shared with them (Neutron's _validate_network_tenant_ownership: seeing an external
    network is not leave to build on it)."""
    net = networks.get_row(s, caller, network_id)
    may_build_on(s, caller, network_id, net.project_id, project_id)
    return net


def may_build_on(s: Session, caller: Caller, network_id: str, network_project: str, project_id: str) -> None:
    """``network_for_new``'s check for a network the caller sees (``network_project`` its project)."""
    if caller.is_admin or network_project == project_id:
        return
    if s.scalar(select(rbac_granted("network", models.Network.id, "access_as_shared", caller.project_id))
                .where(models.Network.id == network_id)):
        return
    raise HTTPNotFound("The resource could not be found.")


def policy_target(s: Session, caller: Caller, network_id: str) -> dict[str, Any]:
    """What create/update/delete policies of subnets and ports see of the network."""
    project = networks.project_of(s, caller, network_id)
    return {"network:project_id": project, "network:tenant_id": project}


# --- views --------------------------------------------------------------------------------------

def views(s: Session, caller: Caller, rows: Sequence[models.Subnet]) -> list[dict[str, Any]]:
    """The API view of each subnet; one query per related table for the whole page."""
    ids = [r.id for r in rows]
    if not ids:
        return []
    pools: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
    p = models.AllocationPool
    for sid, first, last in s.execute(select(p.subnet_id, p.first_ip, p.last_ip).where(p.subnet_id.in_(ids))):
        pools[sid].append((first, last))
    dns: dict[str, list[tuple[int, str]]] = {i: [] for i in ids}
    d = models.DnsNameServer
    for sid, address, order in s.execute(select(d.subnet_id, d.address, d.order).where(d.subnet_id.in_(ids))):
        dns[sid].append((order, address))
    routes: dict[str, list[dict[str, str]]] = {i: [] for i in ids}
    h = models.HostRoute
    for sid, dest, hop in s.execute(select(h.subnet_id, h.destination, h.nexthop).where(h.subnet_id.in_(ids))):
        routes[sid].append({"destination": dest, "nexthop": hop})
    types: dict[str, list[str]] = {i: [] for i in ids}
    st = models.SubnetServiceType
    for sid, stype in s.execute(select(st.subnet_id, st.service_type).where(st.subnet_id.in_(ids))):
        types[sid].append(stype)
    tags = tags_of(s, TAG_TYPE, ids)
    return [{
        "id": r.id, "name": r.name, "project_id": r.project_id, "tenant_id": r.project_id,
        "network_id": r.network_id, "ip_version": r.ip_version, "cidr": r.cidr, "gateway_ip": r.gateway_ip,
        "allocation_pools": [{"start": a, "end": b} for a, b in sorted(pools[r.id], key=lambda x: ipam.sort_key(x[0]))],
        "dns_nameservers": [a for _, a in sorted(dns[r.id])],
        "host_routes": sorted(routes[r.id], key=lambda x: (x["destination"], x["nexthop"])),
        "enable_dhcp": r.enable_dhcp, "ipv6_ra_mode": r.ipv6_ra_mode, "ipv6_address_mode": r.ipv6_address_mode,
        "subnetpool_id": r.subnetpool_id, "segment_id": r.segment_id, "service_types": sorted(types[r.id]),
        "tags": tags[r.id], **standard_view(r),
    } for r in rows]


def list_subnets(s: Session, caller: Caller, q: ListQuery) -> list[dict[str, Any]]:
    return views(s, caller, paged(s, _visible_stmt(caller), listing(caller), q, S))


def show(s: Session, caller: Caller, subnet_id: str) -> dict[str, Any]:
    return views(s, caller, [get_row(s, caller, subnet_id)])[0]


# --- checks (Neutron's _validate_subnet and the IPAM backend's pool checks) -------------------------

def _check_version(ip_version: int, value: str, name: str) -> None:
    version = ipaddress.ip_network(value, strict=False).version if "/" in value else ipaddress.ip_address(value).version
    if version != ip_version:
        raise InvalidInput(f"{name} '{value}' does not match the ip_version '{ip_version}'")


def _check_gateway(cidr: str, ip_version: int, gateway: str | None) -> None:
    if gateway is None:
        return
    _check_version(ip_version, gateway, "gateway_ip")
    net, gw = ipaddress.ip_network(cidr), ipaddress.ip_address(gateway)
    # A gateway outside the cidr is allowed (Neutron cannot know the gateway's own subnet).
    if net.version == 4 and gw in net and gw in (net.network_address, net.broadcast_address):
        raise InvalidInput("Gateway is not valid on subnet")


def _pool_text(first: Any, last: Any) -> str:
    return f"{first}-{last}"


def _parse_pools(given: Sequence[Mapping[str, Any]], ip_version: int) -> list[tuple[ipam.IP, ipam.IP]]:
    out = []
    for pool in given:
        try:
            first, last = ipaddress.ip_address(pool["start"]), ipaddress.ip_address(pool["end"])
        except (KeyError, TypeError, ValueError):
            raise InvalidAllocationPool(f"The allocation pool {dict(pool)} is not valid.") from None
        if first.version != last.version or first.version != ip_version or int(last) < int(first):
            raise InvalidAllocationPool(f"The allocation pool {dict(pool)} is not valid.")
        out.append((first, last))
    return out


def _check_pools(pools: Sequence[tuple[ipam.IP, ipam.IP]], cidr: str, gateway: str | None) -> None:
    lo, hi = ipam.usable_range(cidr)
    for first, last in pools:
        if int(first) < lo or int(last) > hi:
            raise OutOfBoundsAllocationPool(_pool_text(first, last), cidr)
    ordered = sorted(pools, key=lambda pool: int(pool[0]))
    for (a1, b1), (a2, b2) in itertools.pairwise(ordered):
        if int(a2) <= int(b1):
            raise OverlappingAllocationPools(_pool_text(a1, b1), _pool_text(a2, b2), cidr)
    if gateway is not None:
        gw = ipaddress.ip_address(gateway)
        for first, last in pools:
            if gw.version == first.version and int(first) <= int(gw) <= int(last):
                raise GatewayConflictWithAllocationPools(_pool_text(first, last), gateway)


def _check_dns(subnet_id: str, ip_version: int, servers: Sequence[str]) -> None:
    if len(servers) > MAX_DNS_NAMESERVERS:
        raise DNSNameServersExhausted(subnet_id, MAX_DNS_NAMESERVERS)
    for server in servers:
        _check_version(ip_version, server, "dns_nameserver")


def _check_routes(subnet_id: str, ip_version: int, routes: Sequence[Mapping[str, str]]) -> None:
    if len(routes) > MAX_HOST_ROUTES:
        raise HostRoutesExhausted(subnet_id, MAX_HOST_ROUTES)
    for route in routes:
        _check_version(ip_version, route["nexthop"], "nexthop")
        _check_version(ip_version, route["destination"], "destination")


def _check_ipv6_modes(ip_version: int, ra_mode: str | None, address_mode: str | None, enable_dhcp: bool,
                      cidr: str) -> None:
    if ip_version == 4:
        for name, value in (("ipv6_ra_mode", ra_mode), ("ipv6_address_mode", address_mode)):
            if value is not None:
                raise InvalidInput(f"{name} is not valid when ip_version is 4")
        return
    if (ra_mode or address_mode) and not enable_dhcp:
        raise InvalidInput("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False")
    if ra_mode and address_mode and ra_mode != address_mode:
        raise InvalidInput(f"ipv6_ra_mode set to '{ra_mode}' with ipv6_address_mode set to '{address_mode}' "
                           "is not valid. If both attributes are set, they must be the same value")
    if ipam.is_auto_address(6, ra_mode, address_mode) and ipaddress.ip_network(cidr).prefixlen != 64:
        raise InvalidInput(f"Invalid CIDR {cidr} for IPv6 address mode. OpenStack uses the EUI-64 address "
                           "format, which requires the prefix to be /64")


def _check_dhcp_range(cidr: str, ip_version: int) -> None:
    """What Neutron refuses for a subnet with DHCP on (at create, or when DHCP is turned on)."""
    net = ipaddress.ip_network(cidr)
    if (ip_version == 4 and net.prefixlen > 30) or (ip_version == 6 and net.prefixlen > 126):
        raise InvalidInput("Subnet has a prefix length that is incompatible with DHCP service enabled")
    if net.is_multicast:
        raise InvalidInput("Multicast IP subnet is not supported if enable_dhcp is True")
    if net.is_loopback:
        raise InvalidInput("Loopback IP subnet is not supported if enable_dhcp is True")
    if ip_version == 4 and int(net.network_address) == 0:
        raise InvalidInput("First IP '0.0.0.0' of network is not supported if enable_dhcp is True.")


def _check_overlap(s: Session, network_id: str, cidr: str) -> None:
    net = ipaddress.ip_network(cidr)
    if net.prefixlen == 0:
        raise InvalidInput("0 is not allowed as CIDR prefix length")
    for other in s.scalars(select(S.cidr).where(S.network_id == network_id)):
        if ipaddress.ip_network(other).overlaps(net):
            raise InvalidInput(f"Requested subnet with cidr: {cidr} for network: {network_id} overlaps with "
                               "another subnet")


def _cidr_from_pool(s: Session, caller: Caller, project_id: str, attrs: Mapping[str, Any]) -> tuple[str, str | None]:
    """The cidr of a new subnet and the pool it came from (Neutron's _get_subnetpool_id); the
    allocator also keeps a network's subnets to one pool or one address scope."""
    found = subnetpools.allocate_cidr(
        s, caller, project_id, attrs["network_id"], cidr=attrs.get("cidr"), prefixlen=attrs.get("prefixlen"),
        subnetpool_id=attrs.get("subnetpool_id"), use_default_subnetpool=bool(attrs.get("use_default_subnetpool")),
        ip_version=attrs.get("ip_version"), allocation_pools=bool(attrs.get("allocation_pools")))
    return found.cidr, found.subnetpool_id


# --- create, update, delete ---------------------------------------------------------------------------

def create(s: Session, caller: Caller, project_id: str, attrs: Mapping[str, Any],
           config: NetworkConfig) -> dict[str, Any]:
    """A subnet for ``project_id`` from checked ``attrs`` (the API applied policy and defaults),
    and the network's DHCP port on it."""
    net = network_for_new(s, caller, attrs["network_id"], project_id)
    # Subnets of one network are made one at a time (a row lock on server databases), so that
    # two overlapping ones cannot both pass the overlap check.
    # The MTU as of the lock: an update lowering it takes the same lock before it looks at subnets.
    mtu = s.scalar(select(models.Network.mtu).where(models.Network.id == net.id).with_for_update())
    ip_version = int(attrs["ip_version"])
    if ip_version == 6 and mtu is not None and mtu < IPV6_MIN_MTU:
        raise NetworkMTUSubnetConflict(net.id, IPV6_MIN_MTU)
    given_cidr, pool_id = _cidr_from_pool(s, caller, project_id, attrs)
    _check_version(ip_version, given_cidr, "cidr")
    cidr = str(ipaddress.ip_network(given_cidr, strict=False))  # host bits cleared, as Neutron stores it
    if ip_version == 6 and int(ipaddress.ip_network(cidr).network_address) == 0:
        raise InvalidInput("IPv6 subnet '::' is not supported")
    _check_overlap(s, net.id, cidr)
    enable_dhcp = attrs.get("enable_dhcp", True)
    if enable_dhcp:
        _check_dhcp_range(cidr, ip_version)
    ra_mode, address_mode = attrs.get("ipv6_ra_mode"), attrs.get("ipv6_address_mode")
    _check_ipv6_modes(ip_version, ra_mode, address_mode, enable_dhcp, cidr)
    gateway = attrs["gateway_ip"] if "gateway_ip" in attrs else ipam.default_gateway(cidr)
    _check_gateway(cidr, ip_version, gateway)
    subnet_id = new_id()
    if attrs.get("allocation_pools"):
        pools = _parse_pools(attrs["allocation_pools"], ip_version)
        _check_pools(pools, cidr, gateway)
    else:
        pools = ipam.default_pools(cidr, gateway)
    dns = list(attrs.get("dns_nameservers") or [])
    routes = list(attrs.get("host_routes") or [])
    _check_dns(subnet_id, ip_version, dns)
    _check_routes(subnet_id, ip_version, routes)
    quotas.check(s, project_id, "subnet")
    row = S(id=subnet_id, project_id=project_id, network_id=net.id, name=attrs.get("name") or "",
            description=attrs.get("description") or "", ip_version=ip_version, cidr=cidr, gateway_ip=gateway,
            enable_dhcp=enable_dhcp, ipv6_ra_mode=ra_mode, ipv6_address_mode=address_mode,
            subnetpool_id=pool_id, segment_id=None)
    stamp_new(row)
    s.add(row)
    s.flush()
    _store_pools(s, subnet_id, pools)
    _store_dns(s, subnet_id, dns)
    _store_routes(s, subnet_id, routes)
    _store_types(s, subnet_id, attrs.get("service_types") or [])
    if ipam.is_auto_address(ip_version, ra_mode, address_mode):
        _address_existing_ports(s, row)
    _sync_dhcp(s, net.id, config)
    touch(net)  # Neutron bumps the network's revision when its subnets change
    s.flush()
    return views(s, caller, [row])[0]


def _lock_network(s: Session, network_id: str) -> None:
    s.execute(select(models.Network.id).where(models.Network.id == network_id).with_for_update())


def _sync_dhcp(s: Session, network_id: str, config: NetworkConfig) -> None:
    from onestack.network.service import dhcp_ports  # it imports ports, which imports this module

    s.flush()
    dhcp_ports.sync_network(s, network_id, config, reschedule=True)


def _address_existing_ports(s: Session, row: models.Subnet) -> None:
    """A new SLAAC / DHCPv6-stateless subnet gives every port already on the network (router
    interfaces aside) its EUI-64 address there, as Neutron does after creating one."""
    p = models.Port
    found = s.execute(select(p.id, p.mac_address, p.device_owner).where(
        p.network_id == row.network_id, p.device_owner.not_in(ipam.ROUTER_INTERFACE_OWNERS)))
    info = next(i for i in ipam.subnets_of(s, row.network_id) if i.id == row.id)
    for port_id, mac, owner in list(found):
        if info.service_types and owner not in info.service_types:
            continue
        ipam.allocate(s, ipam.auto_addresses([info], mac, owner), port_id, row.network_id)
        port = s.get(p, port_id)
        if port is not None:
            touch(port)


def create_many(s: Session, caller: Caller, items: Sequence[tuple[str, Mapping[str, Any]]],
                config: NetworkConfig) -> list[dict[str, Any]]:
    """Several subnets in one transaction (Neutron's bulk create: all or none)."""
    return [create(s, caller, project_id, attrs, config) for project_id, attrs in items]


def _store_pools(s: Session, subnet_id: str, pools: Sequence[tuple[Any, Any]]) -> None:
    s.execute(delete(models.AllocationPool).where(models.AllocationPool.subnet_id == subnet_id))
    for first, last in pools:
        s.add(models.AllocationPool(subnet_id=subnet_id, first_ip=str(first), last_ip=str(last)))


def _store_dns(s: Session, subnet_id: str, servers: Sequence[str]) -> None:
    s.execute(delete(models.DnsNameServer).where(models.DnsNameServer.subnet_id == subnet_id))
    for order, address in enumerate(servers):
        s.add(models.DnsNameServer(subnet_id=subnet_id, address=address, order=order))


def _store_routes(s: Session, subnet_id: str, routes: Sequence[Mapping[str, str]]) -> None:
    s.execute(delete(models.HostRoute).where(models.HostRoute.subnet_id == subnet_id))
    for route in routes:
        s.add(models.HostRoute(subnet_id=subnet_id, destination=route["destination"], nexthop=route["nexthop"]))


def _store_types(s: Session, subnet_id: str, types: Sequence[str]) -> None:
    s.execute(delete(models.SubnetServiceType).where(models.SubnetServiceType.subnet_id == subnet_id))
    for stype in dict.fromkeys(types):
        s.add(models.SubnetServiceType(subnet_id=subnet_id, service_type=stype))


def update(s: Session, caller: Caller, subnet_id: str, attrs: Mapping[str, Any], config: NetworkConfig,
           revision: int | None = None) -> dict[str, Any]:
    row = get_row(s, caller, subnet_id)
    check_revision(row, revision)
    enable_dhcp = attrs.get("enable_dhcp", row.enable_dhcp)
    if enable_dhcp != row.enable_dhcp:
        # The DHCP sync below takes the network's row lock: take it before this row's, in the order
        # subnet delete takes them, or the two would deadlock.
        _lock_network(s, row.network_id)
    if enable_dhcp and not row.enable_dhcp:
        _check_dhcp_range(row.cidr, row.ip_version)
    if row.ip_version == 6 and not enable_dhcp and (row.ipv6_ra_mode or row.ipv6_address_mode):
        raise InvalidInput("Cannot disable enable_dhcp with ipv6 attributes set")
    gateway = attrs.get("gateway_ip", row.gateway_ip)
    if "gateway_ip" in attrs:
        _check_gateway(row.cidr, row.ip_version, gateway)
        if gateway != row.gateway_ip and row.gateway_ip is not None:
            _check_gateway_free(s, row)
    if "allocation_pools" in attrs:
        pools = _parse_pools(attrs["allocation_pools"] or [], row.ip_version)
        _check_pools(pools, row.cidr, gateway)
        _store_pools(s, row.id, pools)
    elif "gateway_ip" in attrs and gateway is not None:
        p = models.AllocationPool
        current = [(ipaddress.ip_address(a), ipaddress.ip_address(b))
                   for a, b in s.execute(select(p.first_ip, p.last_ip).where(p.subnet_id == row.id))]
        _check_pools(current, row.cidr, gateway)
    if "dns_nameservers" in attrs:
        _check_dns(row.id, row.ip_version, attrs["dns_nameservers"] or [])
        _store_dns(s, row.id, attrs["dns_nameservers"] or [])
    if "host_routes" in attrs:
        _check_routes(row.id, row.ip_version, attrs["host_routes"] or [])
        _store_routes(s, row.id, attrs["host_routes"] or [])
    if "service_types" in attrs:
        _store_types(s, row.id, attrs["service_types"] or [])
    for key in ("name", "description"):
        if key in attrs:
            setattr(row, key, attrs[key] or "")
    dhcp_changed = row.enable_dhcp != enable_dhcp
    row.enable_dhcp = enable_dhcp
    row.gateway_ip = gateway
    touch(row)
    if dhcp_changed:
        _sync_dhcp(s, row.network_id, config)
    s.flush()
    return views(s, caller, [row])[0]


def _check_gateway_free(s: Session, row: models.Subnet) -> None:
    """The gateway of a subnet a router interface holds cannot move (Neutron's GatewayIpInUse)."""
    a, p = models.IPAllocation, models.Port
    holder = s.scalar(select(a.port_id).join(p, p.id == a.port_id).where(
        a.subnet_id == row.id, a.ip_address == row.gateway_ip,
        p.device_owner.in_(ipam.ROUTER_INTERFACE_OWNERS)).limit(1))
    if holder is not None:
        raise GatewayIpInUse(str(row.gateway_ip), holder)


def delete_subnet(s: Session, caller: Caller, subnet_id: str, config: NetworkConfig,
                  revision: int | None = None) -> None:
    """Delete the subnet; 409 ``SubnetInUse`` while ports other than the network's own hold an
    address on it (SLAAC addresses of ordinary ports go with the subnet, as in Neutron)."""
    row = get_row(s, caller, subnet_id)
    check_revision(row, revision)
    # The network's row lock first, as network delete and the DHCP agent's sync take it: a sync that
    # re-addresses the DHCP port meanwhile either commits before this looks (its address on this subnet
    # is deleted below) or waits and finds the subnet gone, never adds an address behind this delete.
    _lock_network(s, row.network_id)
    a, p = models.IPAllocation, models.Port
    holders = select(a.port_id).join(p, p.id == a.port_id).where(a.subnet_id == row.id,
                                                                 p.device_owner.not_in(OWN_PORTS))
    if ipam.is_auto_address(row.ip_version, row.ipv6_ra_mode, row.ipv6_address_mode):
        holders = holders.where(p.device_owner.in_(ipam.ROUTER_INTERFACE_OWNERS))
    if s.scalar(holders.limit(1)) is not None:
        raise SubnetInUse(row.id)
    s.execute(delete(a).where(a.subnet_id == row.id))
    delete_tags(s, TAG_TYPE, row.id)
    for model in (models.AllocationPool, models.DnsNameServer, models.HostRoute, models.SubnetServiceType):
        s.execute(delete(model).where(model.subnet_id == row.id))
    net = s.get(models.Network, row.network_id)
    s.delete(row)
    next_free.forget(row.id)  # a hint only: dropped even if this rolls back
    if net is not None:
        _sync_dhcp(s, net.id, config)  # the DHCP port loses its address here, or goes with the last subnet
        touch(net)
    s.flush()
