"""Sets of IP prefixes, as subnet pools need them: compacting a prefix list, taking allocated
subnets out of a pool, and picking the first free prefix of a length.

Neutron does this with ``netaddr.IPSet``; the standard library's ``ipaddress`` is enough: a
set is kept as a sorted list of disjoint networks (what ``collapse_addresses`` returns).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def network(cidr: str) -> Net:
    """``cidr`` as a network, host bits cleared (``10.0.0.5/24`` is ``10.0.0.0/24``)."""
    return ipaddress.ip_network(cidr, strict=False)


def compact(cidrs: Iterable[str | Net]) -> list[Net]:
    """The smallest sorted list of disjoint networks covering ``cidrs`` (overlaps and adjacent
    halves merged); IPv4 ones first if both versions are given."""
    nets = [c if isinstance(c, ipaddress.IPv4Network | ipaddress.IPv6Network) else network(c) for c in cidrs]
    out: list[Net] = []
    for version in (4, 6):
        same = [n for n in nets if n.version == version]
        if same:
            out.extend(ipaddress.collapse_addresses(same))  # type: ignore[type-var]
    return out


def as_text(nets: Iterable[Net]) -> list[str]:
    return [str(n) for n in nets]


def _minus(net: Net, holes: list[Net]) -> list[Net]:
    """``net`` without every hole that overlaps it."""
    parts = [net]
    for hole in holes:
        if hole.version != net.version:
            continue
        nxt: list[Net] = []
        for part in parts:
            if not part.overlaps(hole):
                nxt.append(part)
            elif hole.supernet_of(part):  # type: ignore[arg-type]
                continue
            else:  # the hole lies inside the part
                nxt.extend(part.address_exclude(hole))  # type: ignore[arg-type]
        parts = nxt
    return parts


def difference(pool: Iterable[str | Net], taken: Iterable[str | Net]) -> list[Net]:
    """What of ``pool`` is not in ``taken``, compacted and sorted by address."""
    holes = compact(taken)
    return compact([part for net in compact(pool) for part in _minus(net, holes)])


def overlaps(a: Iterable[str | Net], b: Iterable[str | Net]) -> bool:
    right = compact(b)
    return any(x.overlaps(y) for x in compact(a) for y in right)


def is_subset(inner: Iterable[str | Net], outer: Iterable[str | Net]) -> bool:
    """Every address of ``inner`` is in ``outer``."""
    return not difference(inner, outer)


def available(pool: Iterable[str | Net], taken: Iterable[str | Net]) -> list[Net]:
    """The free blocks of ``pool``, smallest first (longest prefix), by address within a size:
    allocating from the smallest block that fits keeps large blocks whole, as Neutron does."""
    return sorted(difference(pool, taken), key=lambda n: -n.prefixlen)


def first_free(pool: Iterable[str | Net], taken: Iterable[str | Net], prefixlen: int) -> Net | None:
    """The first free ``/prefixlen`` of ``pool`` not overlapping ``taken``, or None."""
    for block in available(pool, taken):
        if prefixlen >= block.prefixlen:
            first: Net = next(block.subnets(new_prefix=prefixlen))  # type: ignore[assignment]
            return first
    return None


def fits(pool: Iterable[str | Net], taken: Iterable[str | Net], wanted: Net) -> bool:
    """``wanted`` lies inside one free block of ``pool``."""
    return any(block.supernet_of(wanted) for block in available(pool, taken)  # type: ignore[arg-type]
               if block.version == wanted.version)
