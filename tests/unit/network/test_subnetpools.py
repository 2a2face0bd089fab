"""The subnet pool service over a real (SQLite) session: reading pools, address scope rules,
allocate_cidr's choices and errors, the hash swapped by every allocation."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.network import errors, models
from onestack.network.service import address_scopes, subnetpools
from onestack.network.service.common import Caller, new_id, stamp_new

ADMIN = Caller(project_id="admin-p", is_admin=True)
ME = Caller(project_id="p1", is_admin=False)
OTHER = Caller(project_id="p2", is_admin=False)


def network(s: Session, project: str = "p1") -> str:
    row = models.Network(id=new_id(), project_id=project, name="n")
    stamp_new(row)
    s.add(row)
    s.flush()
    return row.id


def subnet(s: Session, net: str, alloc: subnetpools.Allocation, project: str = "p1") -> None:
    row = models.Subnet(id=new_id(), project_id=project, network_id=net, ip_version=alloc.ip_version,
                        cidr=alloc.cidr, subnetpool_id=alloc.subnetpool_id)
    stamp_new(row)
    s.add(row)
    s.flush()


def pool(s: Session, caller: Caller = ME, **attrs: Any) -> dict[str, Any]:
    return subnetpools.create(s, caller, caller.project_id or "admin-p", {"name": "sp", **attrs})


def test_create_compacts_prefixes_and_defaults_bounds(s: Session) -> None:
    sp = pool(s, prefixes=["10.0.0.0/25", "10.0.0.128/25", "10.10.0.0/16", "10.2.0.5/16"])
    assert sp["prefixes"] == ["10.0.0.0/24", "10.2.0.0/16", "10.10.0.0/16"]
    assert (sp["ip_version"], sp["min_prefixlen"], sp["max_prefixlen"], sp["default_prefixlen"]) == (4, "8", "32", "8")
    v6 = pool(s, prefixes=["2001:db8::/48"])
    assert (v6["ip_version"], v6["min_prefixlen"], v6["max_prefixlen"]) == (6, "64", "128")


@pytest.mark.parametrize(("attrs", "error"), [
    ({"prefixes": []}, errors.EmptySubnetPoolPrefixList),
    ({"prefixes": ["10.0.0.0/8", "2001:db8::/32"]}, errors.PrefixVersionMismatch),
    ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 24, "max_prefixlen": 16}, errors.IllegalSubnetPoolPrefixBounds),
    ({"prefixes": ["10.0.0.0/8"], "max_prefixlen": 33}, errors.IllegalSubnetPoolPrefixBounds),
    ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 16, "default_prefixlen": 8}, errors.IllegalSubnetPoolPrefixBounds),
])
def test_create_refuses_bad_pools(s: Session, attrs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        pool(s, **attrs)


def test_one_default_pool_per_ip_version(s: Session) -> None:
    pool(s, ADMIN, prefixes=["10.0.0.0/8"], is_default=True)
    pool(s, ADMIN, prefixes=["2001:db8::/32"], is_default=True)
    with pytest.raises(errors.InvalidInput, match="already been set"):
        pool(s, ADMIN, prefixes=["192.168.0.0/16"], is_default=True)


def test_prefixes_only_grow_and_remove_refuses_used_ones(s: Session) -> None:
    sp = pool(s, prefixes=["10.0.0.0/24"], default_prefixlen=26)
    with pytest.raises(errors.IllegalSubnetPoolPrefixUpdate):
        subnetpools.update_pool(s, ME, sp["id"], {"prefixes": ["10.0.0.0/25"]})
    assert subnetpools.add_prefixes(s, ME, sp["id"], ["10.0.1.0/24"])["prefixes"] == ["10.0.0.0/23"]
    net = network(s)
    subnet(s, net, subnetpools.allocate_cidr(s, ME, "p1", net, subnetpool_id=sp["id"]))
    with pytest.raises(errors.IllegalSubnetPoolPrefixUpdate, match="in use by a subnet"):
        subnetpools.remove_prefixes(s, ME, sp["id"], ["10.0.0.0/24"])
    assert subnetpools.remove_prefixes(s, ME, sp["id"], ["10.0.1.0/24"])["prefixes"] == ["10.0.0.0/24"]
    with pytest.raises(errors.SubnetPoolDeleteError):
        subnetpools.delete_pool(s, ME, sp["id"])


def test_allocations_are_disjoint_until_exhausted_and_swap_the_hash(s: Session) -> None:
    sp = pool(s, prefixes=["10.0.0.0/24"], default_prefixlen=26)
    net = network(s)
    hashes, got = set(), []
    for _ in range(4):
        alloc = subnetpools.allocate_cidr(s, ME, "p1", net, subnetpool_id=sp["id"])
        subnet(s, net, alloc)
        got.append(alloc.cidr)
        hashes.add(s.scalar(select(models.SubnetPool.hash).where(models.SubnetPool.id == sp["id"])))
    assert got == ["10.0.0.0/26", "10.0.0.64/26", "10.0.0.128/26", "10.0.0.192/26"]
    assert len(hashes) == 4
    with pytest.raises(errors.SubnetAllocationError, match="Insufficient prefix space to allocate subnet size /26"):
        subnetpools.allocate_cidr(s, ME, "p1", net, subnetpool_id=sp["id"])


def test_specific_cidr_and_prefixlen_bounds(s: Session) -> None:
    sp = pool(s, prefixes=["10.0.0.0/16"], min_prefixlen=20, max_prefixlen=28, default_prefixlen=24)
    net = network(s)
    alloc = subnetpools.allocate_cidr(s, ME, "p1", net, subnetpool_id=sp["id"], cidr="10.0.5.0/24")
    assert alloc == subnetpools.Allocation("10.0.5.0/24", sp["id"], 4)
    subnet(s, net, alloc)
    with pytest.raises(errors.SubnetAllocationError, match="available set of prefixes"):
        subnetpools.allocate_cidr(s, ME, "p1", net, subnetpool_id=sp["id"], cidr="10.0.5.0/25")
    with pytest.raises(errors.SubnetAllocationError):
        subnetpools.allocate_cidr(s, ME, "p1", net, subnetpool_id=sp["id"], cidr="10.9.0.0/24")
    with pytest.raises(errors.MaxPrefixSubnetAllocationError):
        subnetpools.allocate_cidr(s, ME, "p1", net, subnetpool_id=sp["id"], prefixlen=29)
    with pytest.raises(errors.MinPrefixSubnetAllocationError):
        subnetpools.allocate_cidr(s, ME, "p1", net, subnetpool_id=sp["id"], prefixlen=19)
    # The smallest free block is the /24 beside the taken one: a /28 comes from there.
    assert subnetpools.allocate_cidr(s, ME, "p1", net, subnetpool_id=sp["id"], prefixlen=28).cidr == "10.0.4.0/28"


def test_request_errors(s: Session) -> None:
    net = network(s)
    sp = pool(s, prefixes=["10.0.0.0/16"], default_prefixlen=24)
    with pytest.raises(errors.BadRequest, match="must not be supplied together"):
        subnetpools.allocate_cidr(s, ME, "p1", net, cidr="10.0.0.0/24", prefixlen=24)
    with pytest.raises(errors.BadRequest, match="a subnetpool must be specified"):
        subnetpools.allocate_cidr(s, ME, "p1", net, prefixlen=24)
    with pytest.raises(errors.BadRequest, match="No default subnetpool found for IPv4"):
        subnetpools.allocate_cidr(s, ME, "p1", net, use_default_subnetpool=True, ip_version=4)
    with pytest.raises(errors.BadRequest, match="Cannot allocate IPv6 subnet from IPv4 subnet pool"):
        subnetpools.allocate_cidr(s, ME, "p1", net, subnetpool_id=sp["id"], ip_version=6)
    with pytest.raises(errors.BadRequest, match="allocation_pools allowed only"):
        subnetpools.allocate_cidr(s, ME, "p1", net, subnetpool_id=sp["id"], allocation_pools=True)
    with pytest.raises(errors.SubnetPoolNotFound):
        subnetpools.allocate_cidr(s, OTHER, "p2", net, subnetpool_id=sp["id"])
    plain = subnetpools.allocate_cidr(s, ME, "p1", net, cidr="192.168.1.7/24")
    assert plain == subnetpools.Allocation("192.168.1.0/24", None, 4)


def test_default_pool_and_network_affinity(s: Session) -> None:
    default = pool(s, ADMIN, prefixes=["10.0.0.0/8"], default_prefixlen=24, is_default=True, shared=True)
    other = pool(s, prefixes=["172.16.0.0/12"], default_prefixlen=24)
    net = network(s)
    alloc = subnetpools.allocate_cidr(s, ME, "p1", net, use_default_subnetpool=True, ip_version=4)
    assert alloc.subnetpool_id == default["id"] and alloc.cidr == "10.0.0.0/24"
    subnet(s, net, alloc)
    with pytest.raises(errors.NetworkSubnetPoolAffinityError):
        subnetpools.allocate_cidr(s, ME, "p1", net, subnetpool_id=other["id"])
    with pytest.raises(errors.NetworkSubnetPoolAffinityError):
        subnetpools.allocate_cidr(s, ME, "p1", net, cidr="192.168.0.0/24")
    # Another IP version keeps its own pool.
    assert subnetpools.allocate_cidr(s, ME, "p1", net, cidr="2001:db8::/64").subnetpool_id is None


def test_pool_quota_counts_the_projects_addresses(s: Session) -> None:
    sp = pool(s, ADMIN, prefixes=["10.0.0.0/16"], default_prefixlen=24, default_quota=512, shared=True)
    net = network(s)
    for _ in range(2):
        subnet(s, net, subnetpools.allocate_cidr(s, ME, "p1", net, subnetpool_id=sp["id"]))
    with pytest.raises(errors.SubnetPoolQuotaExceeded):
        subnetpools.allocate_cidr(s, ME, "p1", net, subnetpool_id=sp["id"])
    other_net = network(s, "p2")
    assert subnetpools.allocate_cidr(s, OTHER, "p2", other_net, subnetpool_id=sp["id"]).cidr == "10.0.2.0/24"


def test_address_scope_rules(s: Session) -> None:
    scope = address_scopes.create(s, ME, "p1", {"name": "as", "ip_version": 4})
    scope6 = address_scopes.create(s, ME, "p1", {"name": "as6", "ip_version": 6})
    a = pool(s, prefixes=["10.0.0.0/16"], address_scope_id=scope["id"])
    with pytest.raises(errors.AddressScopePrefixConflict):
        pool(s, prefixes=["10.0.128.0/17"], address_scope_id=scope["id"])
    with pytest.raises(errors.IllegalSubnetPoolIpVersionAssociationToAddressScope):
        pool(s, prefixes=["10.1.0.0/16"], address_scope_id=scope6["id"])
    with pytest.raises(errors.AddressScopeNotFound):
        pool(s, OTHER, prefixes=["10.1.0.0/16"], address_scope_id=scope["id"])
    b = pool(s, prefixes=["10.1.0.0/16"])
    with pytest.raises(errors.AddressScopePrefixConflict):
        subnetpools.update_pool(s, ME, b["id"], {"address_scope_id": scope["id"], "prefixes": ["10.0.0.0/8"]})
    assert subnetpools.update_pool(s, ME, b["id"], {"address_scope_id": scope["id"]})["address_scope_id"] == scope["id"]
    with pytest.raises(errors.AddressScopeInUse):
        address_scopes.delete(s, ME, scope["id"])
    net = network(s)
    subnet(s, net, subnetpools.allocate_cidr(s, ME, "p1", net, subnetpool_id=a["id"], prefixlen=24))
    assert subnetpools.network_scopes(s, [net]) == {net: {4: scope["id"]}}
    # Both pools are in the scope: one network may take subnets from each.
    assert subnetpools.allocate_cidr(s, ME, "p1", net, subnetpool_id=b["id"], prefixlen=24).cidr == "10.1.0.0/24"
    assert address_scopes.update(s, ME, scope["id"], {"shared": True})["shared"] is True
    with pytest.raises(errors.AddressScopeUpdateError, match="can't be unshared"):
        address_scopes.update(s, ME, scope["id"], {"shared": False})


def test_subnetpool_quota_of_the_project(s: Session) -> None:
    s.add(models.Quota(project_id="p1", resource="subnetpool", limit=1))
    pool(s, prefixes=["10.0.0.0/16"])
    with pytest.raises(errors.OverQuota, match="subnetpool"):
        pool(s, prefixes=["10.1.0.0/16"])
    pool(s, OTHER, prefixes=["10.1.0.0/16"])
