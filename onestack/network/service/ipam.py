"""IPAM: which addresses a port gets on which subnets, as Neutron's pluggable IPAM does.

An address is one ``network_ip_allocations`` row; its primary key (subnet, address) is what keeps
two ports from holding one address, whatever the database and however many writers. The next
free address is found by probing the allocations one window of candidates at a time from a
per-process cursor (next_free.py), never by reading them all; a writer that loses the race for it
(another transaction committed it first) gets the primary-key conflict — on PostgreSQL an
INSERT ... ON CONFLICT DO NOTHING that inserts nothing, elsewhere inside a savepoint — and tries
another. On SQLite writers are serialised, so what a writer reads is what it can insert.

IPv6 SLAAC and DHCPv6-stateless subnets give every (non-router) port on the network an EUI-64
address computed from its MAC; nothing chooses it.
"""

from __future__ import annotations

import ipaddress
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, delete, null, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from onestack.core.db import insert_unless_taken
from onestack.network import models
from onestack.network.errors import (
    AllocationOnAutoAddressSubnet,
    InvalidInput,
    InvalidIpForNetwork,
    InvalidIpForSubnet,
    IpAddressAlreadyAllocated,
    IpAddressGenerationFailure,
    IpAddressGenerationFailureNoMatchingSubnet,
    PortNotFound,
    SubnetNotFound,
)
from onestack.network.service import next_free

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Net = ipaddress.IPv4Network | ipaddress.IPv6Network

ROUTER_INTERFACE_OWNERS = ("network:router_interface", "network:router_interface_distributed",
                           "network:ha_router_replicated_interface", "network:router_centralized_snat")
ROUTER_PORT_OWNERS = (*ROUTER_INTERFACE_OWNERS, "network:router_gateway")
AUTO_MODES = ("slaac", "dhcpv6-stateless")
A = models.IPAllocation
LOG = logging.getLogger(__name__)
# Races a writer may lose on one subnet before it checks the subnet is still there.
MAX_LOST = 16
MYSQL_NO_PARENT_ROW = 1452  # ER_NO_REFERENCED_ROW_2: a foreign key's parent row is missing


# --- address arithmetic ---------------------------------------------------------------------------

def is_auto_address(ip_version: int, ra_mode: str | None, address_mode: str | None) -> bool:
    """Neutron's is_auto_address_subnet: addresses come from SLAAC, not from IPAM's choice."""
    if ip_version != 6:
        return False
    return address_mode in AUTO_MODES or (address_mode is None and ra_mode in AUTO_MODES)


def eui64(cidr: str, mac: str) -> str:
    """The EUI-64 address of ``mac`` in the /64 ``cidr`` (RFC 4291 appendix A)."""
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    iid = bytes(octets[:3]) + b"\xff\xfe" + bytes(octets[3:])
    net = ipaddress.IPv6Network(cidr)
    return str(ipaddress.IPv6Address(int(net.network_address) | int.from_bytes(iid, "big")))


def default_pools(cidr: str, gateway: str | None) -> list[tuple[IP, IP]]:
    """Neutron's generate_pools: the cidr less its network address and IPv4 broadcast (an IPv4
    /31 or /32 keeps every address, RFC 3021), less the gateway."""
    net = ipaddress.ip_network(cidr)
    first, last = int(net.network_address), int(net.broadcast_address)
    if first == last:
        return [(net.network_address, net.network_address)]  # a single-address subnet
    lo, hi = first + 1, last
    if net.version == 4:
        lo, hi = (first + 1, last - 1) if net.prefixlen <= 30 else (first, last)
    pools = [(lo, hi)]
    if gateway is not None:
        gw = int(ipaddress.ip_address(gateway))
        if lo <= gw <= hi:
            pools = [(a, b) for a, b in ((lo, gw - 1), (gw + 1, hi)) if a <= b]
    return [(_addr(a, net.version), _addr(b, net.version)) for a, b in pools]


def default_gateway(cidr: str) -> str:
    """Neutron's default gateway: the first host of an IPv4 subnet, the subnet-router anycast
    address (the network address) of an IPv6 one."""
    net = ipaddress.ip_network(cidr)
    return str(net.network_address + 1 if net.version == 4 else net.network_address)


def usable_range(cidr: str) -> tuple[int, int]:
    """Where allocation pools may lie (Neutron's validate_allocation_pools bounds)."""
    net = ipaddress.ip_network(cidr)
    first, last = int(net.network_address), int(net.broadcast_address)
    if net.version == 4:
        return (first + 1, last - 1) if net.prefixlen <= 30 else (first, last)
    return first + 1, last


def _addr(value: int, version: int) -> IP:
    return ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value)


def ip_valid_on_subnet(cidr: str, ip: str, device_owner: str = "") -> bool:
    """Neutron's check_subnet_ip: inside the cidr, not the network address (router ports may have
    it on IPv6) nor the IPv4 broadcast."""
    net, addr = ipaddress.ip_network(cidr), ipaddress.ip_address(ip)
    if addr.version != net.version or addr not in net:
        return False
    if net.version == 6:
        return device_owner in (*ROUTER_PORT_OWNERS, "") or addr != net.network_address
    return addr not in (net.network_address, net.broadcast_address)


def sort_key(ip: str) -> tuple[int, int]:
    addr = ipaddress.ip_address(ip)
    return addr.version, int(addr)


# --- the subnets a port may get addresses from ------------------------------------------------------

class SubnetColumns(Protocol):
    """What IPAM reads of a subnet: a ``models.Subnet`` or the row ``subnets_of`` selects."""

    @property
    def id(self) -> str: ...
    @property
    def network_id(self) -> str: ...
    @property
    def ip_version(self) -> int: ...
    @property
    def cidr(self) -> str: ...
    @property
    def enable_dhcp(self) -> bool: ...
    @property
    def ipv6_ra_mode(self) -> str | None: ...
    @property
    def ipv6_address_mode(self) -> str | None: ...


@dataclass
class SubnetInfo:
    row: SubnetColumns
    pools: list[tuple[int, int]]
    service_types: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def auto_address(self) -> bool:
        return is_auto_address(self.row.ip_version, self.row.ipv6_ra_mode, self.row.ipv6_address_mode)


def _subnets_statements() -> tuple[Any, Any]:
    """``subnets_of``'s two questions, built once (every port create asks them): the network's
    subnets, and their pools (first, last) and service types (type, NULL) in one round trip."""
    # Core (the tables' columns, no ORM rows): ``subnets_of`` flushes first, as the ORM's autoflush would.
    sub = cast(Table, models.Subnet.__table__).c
    p, st = cast(Table, models.AllocationPool.__table__).c, cast(Table, models.SubnetServiceType.__table__).c
    ids: Any = bindparam("ids", expanding=True)
    return (select(sub.id, sub.network_id, sub.ip_version, sub.cidr, sub.enable_dhcp, sub.ipv6_ra_mode,
                   sub.ipv6_address_mode).where(sub.network_id == bindparam("network"))
            .order_by(sub.created_at, sub.id),
            union_all(select(p.subnet_id, p.first_ip, p.last_ip).where(p.subnet_id.in_(ids)),
                      select(st.subnet_id, st.service_type, null()).where(st.subnet_id.in_(ids))))


_SUBNETS, _POOLS_AND_TYPES = _subnets_statements()


def subnets_of(s: Session, network_id: str) -> list[SubnetInfo]:
    """Every subnet of the network with its pools and service types (oldest first)."""
    s.flush()  # a subnet changed in this transaction is read as changed
    rows: list[Any] = list(s.execute(_SUBNETS, {"network": network_id}))
    if not rows:
        return []
    ids = [r.id for r in rows]
    pools: dict[str, list[tuple[int, int]]] = {i: [] for i in ids}
    types: dict[str, list[str]] = {i: [] for i in ids}
    for subnet_id, first, last in s.execute(_POOLS_AND_TYPES, {"ids": ids}):
        if last is None:
            types[subnet_id].append(first)
        else:
            pools[subnet_id].append((int(ipaddress.ip_address(first)), int(ipaddress.ip_address(last))))
    return [SubnetInfo(r, sorted(pools[r.id]), sorted(types[r.id])) for r in rows]


def candidates(subnets: Sequence[SubnetInfo], device_owner: str, network_id: str) -> list[SubnetInfo]:
    """The subnets whose service types admit ``device_owner`` (those with types first); a network
    with subnets none of which admit it is Neutron's IpAddressGenerationFailureNoMatchingSubnet."""
    found = [i for i in subnets if not i.service_types or device_owner in i.service_types
             or (device_owner == "network:dhcp" and i.row.enable_dhcp)]
    if subnets and not found:
        raise IpAddressGenerationFailureNoMatchingSubnet(
            f"No valid service subnet for the given device owner, network {network_id}, "
            f"service type {device_owner}.")
    return sorted(found, key=lambda i: not i.service_types)


# --- what a port asks for -------------------------------------------------------------------------

@dataclass(frozen=True)
class Wanted:
    """One address to allocate: a given one, the EUI-64 one, or any free one of ``choices`` (in order)."""

    choices: tuple[SubnetInfo, ...]
    ip: str | None = None


def _subnet_for(s: Session, fixed: Mapping[str, Any], subnets: Sequence[SubnetInfo], network_id: str,
                device_owner: str) -> SubnetInfo:
    """Neutron's _get_subnet_for_fixed_ip: the subnet a fixed_ips entry means, or its 400/404."""
    if not subnets:
        raise InvalidInput("IP allocation requires subnets for network")
    ip = fixed.get("ip_address")
    if fixed.get("subnet_id") is not None:
        match = next((i for i in subnets if i.id == fixed["subnet_id"]), None)
        if match is None:
            if s.get(models.Subnet, fixed["subnet_id"]) is None:
                raise SubnetNotFound(fixed["subnet_id"])
            raise InvalidInput(f"Failed to create port on network {network_id}, because fixed_ips "
                               f"included invalid subnet {fixed['subnet_id']}")
        if ip is not None and not ip_valid_on_subnet(match.row.cidr, ip, device_owner):
            raise InvalidIpForSubnet(f"IP address {ip} is not a valid IP for the specified subnet.")
        return match
    if ip is None:
        raise InvalidInput("IP allocation requires subnet_id or ip_address")
    for info in subnets:
        if ip_valid_on_subnet(info.row.cidr, ip, device_owner):
            return info
    raise InvalidIpForNetwork(f"IP address {ip} is not a valid IP for any of the subnets on the specified network.")


def requested(s: Session, fixed_ips: Sequence[Mapping[str, Any]], subnets: Sequence[SubnetInfo],
              network_id: str, device_owner: str, max_ips: int, mac: str | None = None) -> list[Wanted]:
    """What explicit ``fixed_ips`` ask for (Neutron's _test_fixed_ips_for_port); on a SLAAC
    subnet only a router interface names an address, or a port its own EUI-64 one."""
    out: list[Wanted] = []
    for fixed in fixed_ips:
        info = _subnet_for(s, fixed, subnets, network_id, device_owner)
        ip = fixed.get("ip_address")
        if ip is not None:
            if info.auto_address and device_owner not in ROUTER_INTERFACE_OWNERS and not (
                    mac is not None and ipaddress.ip_address(ip) == ipaddress.ip_address(eui64(info.row.cidr, mac))):
                raise AllocationOnAutoAddressSubnet(ip, info.id)
            out.append(Wanted((info,), ip))
        elif device_owner in ROUTER_INTERFACE_OWNERS or not info.auto_address:
            out.append(Wanted((info,)))
    if len(out) > max_ips:
        raise InvalidInput("Exceeded maximum amount of fixed ips per port.")
    return out


def implicit(subnets: Sequence[SubnetInfo]) -> list[Wanted]:
    """A port that asked for no fixed_ips: one address of the first IPv4 subnet with room, one of
    the first stateful IPv6 subnet with room."""
    v4 = tuple(i for i in subnets if i.row.ip_version == 4)
    v6 = tuple(i for i in subnets if i.row.ip_version == 6 and not i.auto_address)
    return [Wanted(group) for group in (v4, v6) if group]


def auto_addresses(subnets: Sequence[SubnetInfo], mac: str, device_owner: str,
                   already: Sequence[str] = ()) -> list[Wanted]:
    """The EUI-64 address on each SLAAC / DHCPv6-stateless subnet not ``already`` handled (router
    interfaces get none; a router's gateway port does)."""
    if device_owner in ROUTER_INTERFACE_OWNERS:
        return []
    return [Wanted((i,), eui64(i.row.cidr, mac)) for i in subnets if i.auto_address and i.id not in already]


# --- allocating and releasing ----------------------------------------------------------------------

def _sqlite(s: Session) -> bool:
    return s.get_bind().dialect.name == "sqlite"


def _insert(s: Session, row: models.IPAllocation) -> bool:
    """Insert one allocation; False if another transaction holds that address."""
    dialect = s.get_bind().dialect.name
    if dialect == "sqlite":
        # One writer at a time: the caller's read of the allocations is current, so no conflict.
        s.add(row)
        s.flush()
        return True
    if dialect == "postgresql":
        try:
            return insert_unless_taken(s, row, ("subnet_id", "ip_address"))
        except IntegrityError as exc:
            # Only a foreign key is left to fail: the subnet or the port went meanwhile.
            if "subnet_id" in str(getattr(getattr(exc.orig, "diag", None), "constraint_name", "") or ""):
                raise SubnetNotFound(row.subnet_id) from None
            raise PortNotFound(row.port_id) from None
    try:
        with s.begin_nested():
            s.add(row)
        return True
    except IntegrityError as exc:
        # MySQL/MariaDB: the error says which key failed. A parent gone is not decided by a reread:
        # at REPEATABLE READ this transaction's snapshot still shows it.
        orig = exc.orig
        if orig is not None and orig.args and orig.args[0] == MYSQL_NO_PARENT_ROW:
            if "(`subnet_id`)" in str(orig.args[-1]):
                raise SubnetNotFound(row.subnet_id) from None
            raise PortNotFound(row.port_id) from None
        return False


def allocate_given(s: Session, info: SubnetInfo, ip: str, port_id: str) -> str:
    ip = str(ipaddress.ip_address(ip))
    if _sqlite(s) and s.get(A, (info.id, ip)) is not None:
        raise IpAddressAlreadyAllocated(ip, info.id)
    if not _insert(s, A(subnet_id=info.id, ip_address=ip, port_id=port_id, network_id=info.row.network_id)):
        raise IpAddressAlreadyAllocated(ip, info.id)
    return ip


def allocate_free(s: Session, info: SubnetInfo, port_id: str) -> str | None:
    """The next free address of the subnet's pools, allocated to ``port_id``; None if exhausted."""
    lost: set[int] = set()
    while True:
        free = next_free.find(s, info.id, info.row.ip_version, info.pools, lost)
        if not free:
            return None
        if len(lost) >= MAX_LOST and s.get(models.Subnet, info.id) is None:
            raise SubnetNotFound(info.id)  # deleted under us: every insert fails on its foreign key
        # The lowest first; after losing a race, or while other processes race this one on the
        # subnet (several API workers), a random one of the next few spreads the racers out.
        spread = lost or next_free.contended(info.id)
        n = next_free.claim(s, info.id, random.sample(free, len(free)) if spread else free)
        if n is None:
            continue  # this process's other writers took them all meanwhile
        ip = str(_addr(n, info.row.ip_version))
        if _insert(s, A(subnet_id=info.id, ip_address=ip, port_id=port_id, network_id=info.row.network_id)):
            return ip
        LOG.debug("lost the race for %s on subnet %s; trying another", ip, info.id)
        next_free.unclaim(info.id, n)
        lost.add(n)


def allocate(s: Session, wanted: Sequence[Wanted], port_id: str, network_id: str) -> list[tuple[str, str]]:
    """Allocate every wanted address to ``port_id``: (subnet id, address) pairs."""
    done: list[tuple[str, str]] = []
    # Given addresses first, so that one asked for is not handed to a request for any (as Neutron).
    for w in sorted(wanted, key=lambda w: w.ip is None):
        if w.ip is not None:
            done.append((w.choices[0].id, allocate_given(s, w.choices[0], w.ip, port_id)))
            continue
        for info in w.choices:
            got = allocate_free(s, info, port_id)
            if got is not None:
                done.append((info.id, got))
                break
        else:
            raise IpAddressGenerationFailure(network_id)
    return done


_ALLOCATIONS = cast(Table, A.__table__)
_RELEASE = delete(_ALLOCATIONS).where(_ALLOCATIONS.c.port_id == bindparam("port"))
_RELEASE_RETURNING = _RELEASE.returning(_ALLOCATIONS.c.subnet_id, _ALLOCATIONS.c.ip_address)


def release(s: Session, port_id: str, pairs: Sequence[tuple[str, str]] | None = None) -> None:
    """Give back ``pairs`` (subnet id, address) of the port, or all its addresses."""
    if pairs is None:
        # Built once, on the table (every port delete runs it): no ORM bulk delete's search of the
        # session (allocations are inserted flushed and never changed as objects, so none is stale).
        if s.get_bind().dialect.delete_returning:
            pairs = [(sid, ip) for sid, ip in s.execute(_RELEASE_RETURNING, {"port": port_id})]
        else:
            pairs = held(s, port_id)
            s.execute(_RELEASE, {"port": port_id})
    else:
        for subnet_id, ip in pairs:
            s.execute(delete(A).where(A.port_id == port_id, A.subnet_id == subnet_id, A.ip_address == ip))
    by_subnet: dict[str, list[str]] = {}
    for subnet_id, ip in pairs:
        by_subnet.setdefault(subnet_id, []).append(ip)
    for subnet_id, ips in by_subnet.items():
        next_free.released(subnet_id, ips)


def held(s: Session, port_id: str) -> list[tuple[str, str]]:
    return [(sid, ip) for sid, ip in s.execute(select(A.subnet_id, A.ip_address).where(A.port_id == port_id))]


def changes(original: Sequence[tuple[str, str]], new: Sequence[Wanted], subnets: Sequence[SubnetInfo],
            device_owner: str) -> tuple[list[Wanted], list[tuple[str, str]]]:
    """What a fixed_ips update adds and removes (Neutron's _get_changed_ips_for_port): given
    addresses already held stay, a bare subnet reuses the port's address there, and addresses on
    SLAAC subnets stay unless the port is a router's."""
    by_ip = {ip: (sid, ip) for sid, ip in original}
    add: list[Wanted] = []
    for w in new:
        if w.ip is not None and by_ip.pop(str(ipaddress.ip_address(w.ip)), None) is None:
            add.append(w)
    by_subnet: dict[str, list[tuple[str, str]]] = {}
    for pair in by_ip.values():
        by_subnet.setdefault(pair[0], []).append(pair)
    for w in new:
        if w.ip is None:
            held_here = by_subnet.get(w.choices[0].id)
            if held_here:
                held_here.pop()
            else:
                add.append(w)
    auto = {i.id for i in subnets if i.auto_address}
    router = device_owner in ROUTER_INTERFACE_OWNERS
    remove = [pair for pairs in by_subnet.values() for pair in pairs if router or pair[0] not in auto]
    return add, remove
