"""Subnet pools: prefixes compacted as Neutron's IPSet does, prefix length bounds, one default
pool per IP version, address scopes (same IP version, no overlap with the scope's other pools,
network affinity), prefixes that only grow (or shrink by ``remove_prefixes`` where unused), and
``allocate_cidr``: the prefix a new subnet gets from its pool.

Allocations from one pool are serialised by a compare-and-swap on ``SubnetPool.hash``, as
Neutron's SubnetAllocator does: each allocation swaps the hash it read for a new one, so of two
concurrent transactions that read the same hash one swaps, the other finds it changed, re-reads
(it then sees the winner's subnet once that commits) and tries again.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Select, delete, or_, select, update
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.errors import (
    AddressScopePrefixConflict,
    BadRequest,
    EmptySubnetPoolPrefixList,
    IllegalSubnetPoolIpVersionAssociationToAddressScope,
    IllegalSubnetPoolPrefixBounds,
    IllegalSubnetPoolPrefixUpdate,
    IllegalSubnetPoolUpdate,
    InvalidInput,
    MaxPrefixSubnetAllocationError,
    MinPrefixSubnetAllocationError,
    NetworkAddressScopeAffinityError,
    NetworkSubnetPoolAffinityError,
    NotAuthorized,
    PrefixVersionMismatch,
    SubnetAllocationError,
    SubnetPoolDeleteError,
    SubnetPoolInUse,
    SubnetPoolNotFound,
    SubnetPoolQuotaExceeded,
)
from onestack.network.service import address_scopes, quotas
from onestack.network.service import prefix_sets as ps
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

P = models.SubnetPool
PX = models.SubnetPoolPrefix
TAG_TYPE = "subnetpools"
RBAC_TYPE = "subnetpool"
# Per IP version: the longest prefix, the default min_prefixlen, the unit default_quota counts in.
MAX_PREFIXLEN = {4: 32, 6: 128}
DEFAULT_MIN_PREFIXLEN = {4: 8, 6: 64}
QUOTA_UNIT = {4: 32, 6: 64}
# Compare-and-swap attempts on the pool's hash before giving up with SubnetPoolInUse.
_CAS_TRIES = 20


def visible(caller: Caller) -> Any:
    """Pools ``caller`` may see: their own and shared ones (to all, or to them by RBAC)."""
    if caller.is_admin:
        return None
    return or_(P.project_id == caller.project_id, P.shared.is_(True),
               rbac_granted(RBAC_TYPE, P.id, "access_as_shared", caller.project_id))


def _visible_stmt(caller: Caller) -> Select[Any]:
    cond = visible(caller)
    return select(P) if cond is None else select(P).where(cond)


def listing() -> Listing:
    return Listing(
        tag_type=TAG_TYPE, id_column=P.id,
        columns={"id": P.id, "name": P.name, "project_id": P.project_id, "tenant_id": P.project_id,
                 "ip_version": P.ip_version, "default_prefixlen": P.default_prefixlen,
                 "min_prefixlen": P.min_prefixlen, "max_prefixlen": P.max_prefixlen, "shared": P.shared,
                 "is_default": P.is_default, "default_quota": P.default_quota,
                 "address_scope_id": P.address_scope_id, "description": P.description,
                 "revision_number": P.revision_number, "created_at": P.created_at, "updated_at": P.updated_at})


def get_row(s: Session, caller: Caller, subnetpool_id: str) -> models.SubnetPool:
    """The pool if ``caller`` may see it, else 404 ``SubnetPoolNotFound``."""
    row: models.SubnetPool | None = s.scalar(_visible_stmt(caller).where(P.id == subnetpool_id))
    if row is None:
        raise SubnetPoolNotFound(subnetpool_id)
    return row


def prefixes_of(s: Session, ids: Sequence[str]) -> dict[str, list[str]]:
    """Each pool's prefixes, sorted by address (not as text: 10.2/16 before 10.10/16)."""
    found: dict[str, list[ps.Net]] = {i: [] for i in ids}
    if ids:
        for pool_id, cidr in s.execute(select(PX.subnetpool_id, PX.cidr).where(PX.subnetpool_id.in_(list(ids)))):
            found[pool_id].append(ps.network(cidr))
    return {i: ps.as_text(ps.compact(nets)) for i, nets in found.items()}


def views(s: Session, rows: Sequence[models.SubnetPool]) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    prefixes = prefixes_of(s, ids)
    tags = tags_of(s, TAG_TYPE, ids)
    return [_view(r, prefixes[r.id], tags[r.id]) for r in rows]


def _view(row: models.SubnetPool, prefixes: list[str], tags: list[str]) -> dict[str, Any]:
    # Neutron shows the three prefix lengths as strings (db_base_plugin_common._make_subnetpool_dict).
    return {"id": row.id, "name": row.name, "project_id": row.project_id, "tenant_id": row.project_id,
            "prefixes": prefixes, "ip_version": row.ip_version, "default_prefixlen": str(row.default_prefixlen),
            "min_prefixlen": str(row.min_prefixlen), "max_prefixlen": str(row.max_prefixlen),
            "is_default": row.is_default, "shared": row.shared, "default_quota": row.default_quota,
            "address_scope_id": row.address_scope_id, "tags": tags, **standard_view(row)}


def list_pools(s: Session, caller: Caller, q: ListQuery) -> list[dict[str, Any]]:
    return views(s, paged(s, _visible_stmt(caller), listing(), q, P))


def show(s: Session, caller: Caller, subnetpool_id: str) -> dict[str, Any]:
    return views(s, [get_row(s, caller, subnetpool_id)])[0]


# --- reading a pool's attributes (Neutron's SubnetPoolReader) ----------------------------------------


@dataclass(frozen=True)
class PoolSpec:
    """A pool's checked settings: what create and update store."""

    prefixes: list[ps.Net]
    ip_version: int
    min_prefixlen: int
    max_prefixlen: int
    default_prefixlen: int


def read_spec(attrs: Mapping[str, Any]) -> PoolSpec:
    """Prefixes compacted and of one IP version; bounds defaulted (min 8 or 64, max 32 or 128,
    default = min) and ordered ``min <= default <= max <= 32|128``."""
    given = attrs.get("prefixes") or []
    if not given:
        raise EmptySubnetPoolPrefixList()
    nets = [ps.network(p) for p in given]
    version = nets[0].version
    if any(n.version != version for n in nets):
        raise PrefixVersionMismatch()
    low = attrs.get("min_prefixlen")
    low = DEFAULT_MIN_PREFIXLEN[version] if low is None else low
    high = attrs.get("max_prefixlen")
    high = MAX_PREFIXLEN[version] if high is None else high
    default = attrs.get("default_prefixlen")
    default = low if default is None else default
    if low > high:
        raise IllegalSubnetPoolPrefixBounds("min_prefixlen", low, "max_prefixlen", high)
    if high > MAX_PREFIXLEN[version]:
        raise IllegalSubnetPoolPrefixBounds("max_prefixlen", high, "ip_version_max", MAX_PREFIXLEN[version])
    if default < low:
        raise IllegalSubnetPoolPrefixBounds("default_prefixlen", default, "min_prefixlen", low)
    if default > high:
        raise IllegalSubnetPoolPrefixBounds("default_prefixlen", default, "max_prefixlen", high)
    return PoolSpec(ps.compact(nets), version, low, high, default)


def _check_no_other_default(s: Session, ip_version: int, pool_id: str | None) -> None:
    """One default pool per IP family, whoever owns it."""
    other = s.scalar(select(P.id).where(P.is_default.is_(True), P.ip_version == ip_version,
                                        P.id != (pool_id or "")).limit(1))
    if other is not None:
        raise InvalidInput("A default subnetpool for this IP family has already been set. Only one default "
                           "may exist per IP family")


def _check_scope(s: Session, caller: Caller, scope_id: str | None, pool_id: str, spec: PoolSpec) -> None:
    """The pool may join ``scope_id``: visible to the caller, same IP version, its subnets' networks
    would not mix scopes, and no prefix of another pool in the scope overlaps."""
    if scope_id is None:
        return
    scope = address_scopes.accessible(s, caller, scope_id)
    if scope.ip_version != spec.ip_version:
        raise IllegalSubnetPoolIpVersionAssociationToAddressScope(pool_id, scope_id, scope.ip_version)
    _check_network_affinity(s, pool_id, spec.ip_version)
    others = [i for i in s.scalars(select(P.id).where(P.address_scope_id == scope_id, P.id != pool_id))]
    for other in prefixes_of(s, others).values():
        if ps.overlaps(other, spec.prefixes):
            raise AddressScopePrefixConflict()


def _check_network_affinity(s: Session, pool_id: str, ip_version: int) -> None:
    """Re-scoping the pool must not leave a network with subnets of this IP version in two scopes:
    every such subnet on the pool's networks must come from this pool."""
    sub = models.Subnet
    nets = select(sub.network_id).where(sub.subnetpool_id == pool_id).scalar_subquery()
    stray = s.scalar(select(sub.id).where(sub.network_id.in_(nets), sub.ip_version == ip_version,
                                          or_(sub.subnetpool_id.is_(None), sub.subnetpool_id != pool_id)).limit(1))
    if stray is not None:
        raise NetworkAddressScopeAffinityError()


def _store_prefixes(s: Session, pool_id: str, nets: Iterable[ps.Net]) -> None:
    s.execute(delete(PX).where(PX.subnetpool_id == pool_id))
    for net in nets:
        s.add(PX(subnetpool_id=pool_id, cidr=str(net)))


def create(s: Session, caller: Caller, project_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
    """A pool for ``project_id`` from checked ``attrs`` (the API applied policy)."""
    quotas.check(s, project_id, "subnetpool")
    spec = read_spec(attrs)
    pool_id = new_id()
    if attrs.get("is_default"):
        _check_no_other_default(s, spec.ip_version, None)
    _check_scope(s, caller, attrs.get("address_scope_id"), pool_id, spec)
    row = P(id=pool_id, project_id=project_id, name=attrs.get("name") or "",
            description=attrs.get("description") or "", ip_version=spec.ip_version,
            default_prefixlen=spec.default_prefixlen, min_prefixlen=spec.min_prefixlen,
            max_prefixlen=spec.max_prefixlen, shared=bool(attrs.get("shared", False)),
            is_default=bool(attrs.get("is_default", False)), default_quota=attrs.get("default_quota"),
            address_scope_id=attrs.get("address_scope_id"), hash=new_id())
    stamp_new(row)
    s.add(row)
    s.flush()
    _store_prefixes(s, pool_id, spec.prefixes)
    s.flush()
    return views(s, [row])[0]


def _lock(s: Session, pool_id: str) -> None:
    """Swap the pool's hash for a new one (compare-and-swap): holds off every other allocation from
    the pool, and any change of its prefixes, until this transaction ends."""
    for _ in range(_CAS_TRIES):
        current = s.scalar(select(P.hash).where(P.id == pool_id))
        if current is None:
            raise SubnetPoolNotFound(pool_id)
        result = cast(CursorResult[Any], s.execute(
            update(P).where(P.id == pool_id, P.hash == current).values(hash=new_id())
            .execution_options(synchronize_session=False)))
        if result.rowcount == 1:
            return
    raise SubnetPoolInUse(pool_id)


def _allocated(s: Session, pool_id: str) -> list[str]:
    return list(s.scalars(select(models.Subnet.cidr).where(models.Subnet.subnetpool_id == pool_id)))


def update_pool(s: Session, caller: Caller, subnetpool_id: str, attrs: Mapping[str, Any],
                revision: int | None = None) -> dict[str, Any]:
    row = get_row(s, caller, subnetpool_id)
    check_revision(row, revision)
    _lock(s, row.id)
    s.refresh(row)
    current = prefixes_of(s, [row.id])[row.id]
    if row.address_scope_id and not caller.is_admin:
        scope = address_scopes.scopes_of(s, [row.address_scope_id]).get(row.address_scope_id)
        if scope is not None and scope.project_id != caller.project_id:
            raise IllegalSubnetPoolUpdate(f"subnetpool {row.id} cannot be updated when associated with shared "
                                          f"address scope {row.address_scope_id}")
    merged = {"min_prefixlen": row.min_prefixlen, "max_prefixlen": row.max_prefixlen,
              "default_prefixlen": row.default_prefixlen, "prefixes": current}
    merged.update({k: v for k, v in attrs.items() if k in merged})
    if "prefixes" in attrs and not ps.is_subset(current, attrs["prefixes"] or []):
        raise IllegalSubnetPoolPrefixUpdate("Existing prefixes must be a subset of the new prefixes")
    spec = read_spec(merged)
    if spec.ip_version != row.ip_version:
        raise PrefixVersionMismatch()
    if attrs.get("is_default") and not row.is_default:
        _check_no_other_default(s, row.ip_version, row.id)
    scope_id = attrs.get("address_scope_id", row.address_scope_id)
    _check_scope(s, caller, scope_id, row.id, spec)
    row.min_prefixlen, row.max_prefixlen = spec.min_prefixlen, spec.max_prefixlen
    row.default_prefixlen = spec.default_prefixlen
    row.address_scope_id = scope_id
    for key in ("name", "description"):
        if key in attrs:
            setattr(row, key, attrs[key] or "")
    if "is_default" in attrs:
        row.is_default = bool(attrs["is_default"])
    if "default_quota" in attrs:
        row.default_quota = attrs["default_quota"]
    if ps.as_text(spec.prefixes) != current:
        _store_prefixes(s, row.id, spec.prefixes)
    touch(row)
    s.flush()
    return views(s, [row])[0]


def add_prefixes(s: Session, caller: Caller, subnetpool_id: str, prefixes: list[str]) -> dict[str, Any]:
    """``PUT .../add_prefixes``: the pool grows by ``prefixes`` (compacted with what it has)."""
    row = get_row(s, caller, subnetpool_id)
    if not prefixes:
        return {"prefixes": prefixes_of(s, [row.id])[row.id]}
    current = prefixes_of(s, [row.id])[row.id]
    updated = update_pool(s, caller, subnetpool_id, {"prefixes": [*current, *prefixes]})
    return {"prefixes": updated["prefixes"]}


def remove_prefixes(s: Session, caller: Caller, subnetpool_id: str, prefixes: list[str]) -> dict[str, Any]:
    """``PUT .../remove_prefixes``: the pool shrinks, unless a subnet uses what would go."""
    row = get_row(s, caller, subnetpool_id)
    _lock(s, row.id)
    current = prefixes_of(s, [row.id])[row.id]
    if not prefixes or not ps.overlaps(current, prefixes):
        return {"prefixes": current}
    if ps.overlaps(_allocated(s, row.id), prefixes):
        raise IllegalSubnetPoolPrefixUpdate("One or more the prefixes to be removed is in use by a subnet")
    left = ps.difference(current, prefixes)
    _store_prefixes(s, row.id, left)
    touch(row)
    s.flush()
    return {"prefixes": ps.as_text(left)}


def delete_pool(s: Session, caller: Caller, subnetpool_id: str, revision: int | None = None) -> None:
    row = get_row(s, caller, subnetpool_id)
    check_revision(row, revision)
    _lock(s, row.id)  # an allocation racing the delete either commits first (then we refuse) or waits
    if s.scalar(select(models.Subnet.id).where(models.Subnet.subnetpool_id == row.id).limit(1)) is not None:
        raise SubnetPoolDeleteError("Subnet pool has existing allocations")
    s.execute(delete(PX).where(PX.subnetpool_id == row.id))
    r = models.RbacPolicy
    s.execute(delete(r).where(r.object_type == RBAC_TYPE, r.object_id == row.id))
    delete_tags(s, TAG_TYPE, row.id)
    s.delete(row)
    s.flush()


def onboard_network_subnets(s: Session, caller: Caller, subnetpool_id: str,
                            network_id: str | None) -> list[dict[str, str]]:
    """``PUT .../onboard_network_subnets``: the network's subnets of the pool's IP version join the
    pool, their cidrs added to its prefixes; refused if one overlaps what the pool has allocated."""
    # Imported here: networks imports this module for its views.
    from onestack.network.service import networks

    if not network_id:
        raise InvalidInput("network_id must be specified.")
    net = networks.get_row(s, caller, network_id)
    if not caller.is_admin and net.project_id != caller.project_id:
        raise NotAuthorized()
    row = get_row(s, caller, subnetpool_id)
    sub = models.Subnet
    joining = list(s.scalars(select(sub).where(sub.network_id == net.id, sub.ip_version == row.ip_version)
                             .order_by(sub.id)))
    allocated = _allocated(s, row.id)
    for subnet in joining:
        if ps.overlaps([subnet.cidr], allocated):
            raise IllegalSubnetPoolUpdate(f"Onboarding subnet {subnet.id}: {subnet.cidr} conflicts with allocated "
                                          f"prefixes in subnet pool {row.id}")
    if joining:
        current = prefixes_of(s, [row.id])[row.id]
        update_pool(s, caller, row.id, {"prefixes": [*current, *(x.cidr for x in joining)]})
        for subnet in joining:
            subnet.subnetpool_id = row.id
            touch(subnet)
        s.flush()
    return [{"id": x.id, "cidr": x.cidr} for x in joining]


# --- subnets from pools ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    """What a new subnet gets: its cidr, the pool it came from (None: the user's own cidr)."""

    cidr: str
    subnetpool_id: str | None
    ip_version: int


def default_pool(s: Session, caller: Caller, ip_version: int) -> models.SubnetPool | None:
    row: models.SubnetPool | None = s.scalar(_visible_stmt(caller).where(
        P.is_default.is_(True), P.ip_version == ip_version).order_by(P.id).limit(1))
    return row


def allocate_cidr(s: Session, caller: Caller, project_id: str, network_id: str, *, cidr: str | None = None,
                  prefixlen: int | None = None, subnetpool_id: str | None = None,
                  use_default_subnetpool: bool = False, ip_version: int | None = None,
                  allocation_pools: bool = False) -> Allocation:
    """The cidr of a subnet being created on ``network_id`` for ``project_id``, in the caller's
    transaction (the subnet row must be inserted in it too).

    Without a pool (no ``subnetpool_id``, no ``use_default_subnetpool``) ``cidr`` is the user's and
    is returned as it is (normalised). With a pool: the first free ``/prefixlen`` of the pool (the
    pool's ``default_prefixlen`` if none is asked), or the given ``cidr`` if it is free in the pool.
    Either way the network's subnets of that IP version must keep to one pool or one address scope.
    ``allocation_pools``: whether the request gave allocation pools (only with a given cidr).
    """
    if cidr is not None and prefixlen is not None:
        raise BadRequest("subnets", "cidr and prefixlen must not be supplied together")
    if subnetpool_id and use_default_subnetpool:
        raise BadRequest("subnets", "subnetpool_id and use_default_subnetpool cannot both be specified")
    wanted = ps.network(cidr) if cidr is not None else None
    pool: models.SubnetPool | None = None
    if subnetpool_id:
        pool = get_row(s, caller, subnetpool_id)
    elif use_default_subnetpool:
        version = wanted.version if wanted is not None else ip_version
        if version is None:
            raise BadRequest("subnets", "ip_version must be specified in the absence of cidr and subnetpool_id")
        pool = default_pool(s, caller, version)
        if pool is None:
            raise BadRequest("subnets", f"No default subnetpool found for IPv{version}")
    if pool is None:
        if wanted is None:
            raise BadRequest("subnets", "a subnetpool must be specified in the absence of a cidr")
        _check_affinity(s, network_id, wanted.version, None)
        return Allocation(str(wanted), None, wanted.version)
    if wanted is None and allocation_pools:
        raise BadRequest("subnets", "allocation_pools allowed only for specific subnet requests.")
    if ip_version is not None and ip_version != pool.ip_version:
        raise BadRequest("subnets", f"Cannot allocate IPv{ip_version} subnet from IPv{pool.ip_version} subnet pool")
    _check_affinity(s, network_id, pool.ip_version, pool)
    length = wanted.prefixlen if wanted is not None else (pool.default_prefixlen if prefixlen is None else prefixlen)
    if length > pool.max_prefixlen:
        raise MaxPrefixSubnetAllocationError(length, pool.max_prefixlen)
    if length < pool.min_prefixlen:
        raise MinPrefixSubnetAllocationError(length, pool.min_prefixlen)
    _lock(s, pool.id)
    _check_pool_quota(s, pool, project_id, length)
    prefixes = prefixes_of(s, [pool.id])[pool.id]
    taken = _allocated(s, pool.id)
    if wanted is not None:
        if not ps.fits(prefixes, taken, wanted):
            raise SubnetAllocationError("Cannot allocate requested subnet from the available set of prefixes")
        return Allocation(str(wanted), pool.id, pool.ip_version)
    found = ps.first_free(prefixes, taken, length)
    if found is None:
        raise SubnetAllocationError(f"Insufficient prefix space to allocate subnet size /{length}")
    return Allocation(str(found), pool.id, pool.ip_version)


def _check_pool_quota(s: Session, pool: models.SubnetPool, project_id: str, prefixlen: int) -> None:
    """``default_quota``: how much of the pool one project may hold, in /32s (IPv4) or /64s (IPv6)."""
    if not pool.default_quota:
        return
    unit = QUOTA_UNIT[pool.ip_version]
    sub = models.Subnet
    held = s.scalars(select(sub.cidr).where(sub.subnetpool_id == pool.id, sub.project_id == project_id))
    used = sum(2.0 ** (unit - ipaddress.ip_network(c).prefixlen) for c in held)
    if used + 2.0 ** (unit - prefixlen) > pool.default_quota:
        raise SubnetPoolQuotaExceeded()


def _check_affinity(s: Session, network_id: str, ip_version: int, pool: models.SubnetPool | None) -> None:
    """A network's subnets of one IP version come from one pool, or all share one address scope."""
    sub = models.Subnet
    rows = s.execute(select(sub.subnetpool_id, P.address_scope_id).outerjoin(P, P.id == sub.subnetpool_id)
                     .where(sub.network_id == network_id, sub.ip_version == ip_version)).all()
    scopes = {scope for _, scope in rows if scope}
    network_scope = min(scopes) if scopes else None
    if network_scope is not None and (pool is None or pool.address_scope_id != network_scope):
        raise NetworkAddressScopeAffinityError()
    for pool_id, _ in rows:
        if pool is not None:
            if pool_id != pool.id and network_scope is None:
                raise NetworkSubnetPoolAffinityError()
        elif pool_id:
            raise NetworkSubnetPoolAffinityError()


def network_scopes(s: Session, network_ids: Sequence[str]) -> dict[str, dict[int, str]]:
    """``ipv4_address_scope`` / ``ipv6_address_scope`` of each network: the scope of the pools its
    subnets came from, by IP version (one query for a page of networks)."""
    found: dict[str, dict[int, str]] = {i: {} for i in network_ids}
    if not network_ids:
        return found
    sub = models.Subnet
    stmt = (select(sub.network_id, P.ip_version, P.address_scope_id).join(P, P.id == sub.subnetpool_id)
            .where(sub.network_id.in_(list(network_ids)), P.address_scope_id.is_not(None))
            .order_by(sub.network_id, P.address_scope_id))
    for net_id, version, scope in s.execute(stmt):
        found[net_id].setdefault(version, str(scope))
    return found
