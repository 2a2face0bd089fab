"""Subnet pools through openstacksdk and raw HTTP: fields, prefixes, bounds, defaults, sharing,
address scopes, prefix operations, quota, paging; subnets allocated from pools."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from openstack import exceptions as sdk_exc

from tests.functional.cloud import RunningCloud
from tests.functional.network_support import error_of, neutron


@pytest.fixture(scope="module", autouse=True)
def _no_bootstrap_defaults(admin: Any) -> Iterator[None]:
    """These tests make default pools of their own: DevStack's (the bootstrap's) step aside meanwhile."""
    pools = list(admin.network.subnet_pools(is_default=True))
    for pool in pools:
        admin.network.update_subnet_pool(pool, is_default=False)
    yield
    for pool in pools:
        admin.network.update_subnet_pool(pool.id, is_default=True)



def test_create_show_list_update_delete(demo: Any) -> None:
    pool = demo.network.create_subnet_pool(name="sp-basic", prefixes=["10.100.0.0/25", "10.100.0.128/25"],
                                           default_prefixlen=26)
    try:
        assert pool.prefixes == ["10.100.0.0/24"]
        assert pool.ip_version == 4 and pool.minimum_prefix_length == 8 and pool.maximum_prefix_length == 32
        assert pool.default_prefix_length == 26 and pool.is_shared is False and pool.is_default is False
        assert pool.project_id == demo.current_project_id and pool.revision_number == 0
        assert demo.network.get_subnet_pool(pool.id).name == "sp-basic"
        assert pool.id in [p.id for p in demo.network.subnet_pools(name="sp-basic")]
        grown = demo.network.update_subnet_pool(pool, prefixes=["10.100.0.0/24", "10.101.0.0/24"],
                                                description="d")
        assert grown.prefixes == ["10.100.0.0/24", "10.101.0.0/24"] and grown.revision_number == 1
    finally:
        demo.network.delete_subnet_pool(pool.id)
    with pytest.raises(sdk_exc.NotFoundException):
        demo.network.get_subnet_pool(pool.id)


def test_view_fields(cloud: RunningCloud) -> None:
    http = neutron(cloud)
    r = http.post("/v2.0/subnetpools", json={"subnetpool": {"name": "sp-raw", "prefixes": ["2001:db8:1::/48"]}})
    assert r.status_code == 201, r.text
    body = r.json()["subnetpool"]
    try:
        assert set(body) == {"id", "name", "project_id", "tenant_id", "prefixes", "ip_version", "default_prefixlen",
                             "min_prefixlen", "max_prefixlen", "is_default", "shared", "default_quota",
                             "address_scope_id", "description", "tags", "revision_number", "created_at",
                             "updated_at"}
        # Neutron shows the prefix lengths as strings.
        assert (body["min_prefixlen"], body["max_prefixlen"], body["default_prefixlen"]) == ("64", "128", "64")
        assert body["ip_version"] == 6 and body["default_quota"] is None and body["address_scope_id"] is None
    finally:
        assert http.delete(f"/v2.0/subnetpools/{body['id']}").status_code == 204


BAD = [
    ({"subnetpool": {"prefixes": ["10.0.0.0/8"]}}, 400, "Required attribute 'name' not specified"),
    ({"subnetpool": {"name": "x"}}, 400, "Required attribute 'prefixes' not specified"),
    ({"subnetpool": {"name": "x", "prefixes": []}}, 400, "Empty subnet pool prefix list."),
    ({"subnetpool": {"name": "x", "prefixes": ["10.0.0/8"]}}, 400, "'10.0.0/8' is not a valid IP subnet"),
    ({"subnetpool": {"name": "x", "prefixes": ["10.0.0.0/8", "2001:db8::/32"]}}, 400,
     "Cannot mix IPv4 and IPv6 prefixes in a subnet pool."),
    ({"subnetpool": {"name": "x", "prefixes": ["10.0.0.0/8"], "min_prefixlen": 24, "max_prefixlen": 16}}, 400,
     "Illegal prefix bounds: min_prefixlen=24, max_prefixlen=16."),
    ({"subnetpool": {"name": "x", "prefixes": ["10.0.0.0/8"], "max_prefixlen": 33}}, 400,
     "Illegal prefix bounds: max_prefixlen=33, ip_version_max=32."),
    ({"subnetpool": {"name": "x", "prefixes": ["10.0.0.0/8"], "default_quota": -1}}, 400, "should be non-negative"),
    ({"subnetpool": {"name": "x", "prefixes": ["10.0.0.0/8"], "shared": True}}, 403, "create_subnetpool:shared"),
    ({"subnetpool": {"name": "x", "prefixes": ["10.0.0.0/8"], "is_default": True}}, 403,
     "create_subnetpool:is_default"),
    ({"subnetpool": {"name": "x", "prefixes": ["10.0.0.0/8"], "ip_version": 4}}, 400,
     "Attribute 'ip_version' not allowed in POST"),
]


@pytest.mark.parametrize(("body", "status", "fragment"), BAD)
def test_bad_input_changes_nothing(cloud: RunningCloud, body: dict[str, Any], status: int, fragment: str) -> None:
    http = neutron(cloud)
    before = http.get("/v2.0/subnetpools").json()["subnetpools"]
    r = http.post("/v2.0/subnetpools", json=body)
    assert r.status_code == status, r.text
    assert fragment in error_of(r)["message"]
    assert http.get("/v2.0/subnetpools").json()["subnetpools"] == before


def test_update_rules(cloud: RunningCloud, demo: Any) -> None:
    http = neutron(cloud)
    pool = demo.network.create_subnet_pool(name="sp-update", prefixes=["10.102.0.0/16"])
    try:
        url = f"/v2.0/subnetpools/{pool.id}"
        r = http.put(url, json={"subnetpool": {"prefixes": ["10.102.0.0/17"]}})
        assert r.status_code == 400 and error_of(r)["type"] == "IllegalSubnetPoolPrefixUpdate"
        assert "Existing prefixes must be a subset of the new prefixes" in error_of(r)["message"]
        r = http.put(url, json={"subnetpool": {"shared": True}})
        assert r.status_code == 400 and "Cannot update read-only attribute shared" in error_of(r)["message"]
        r = http.put(url, json={"subnetpool": {"is_default": True}})
        assert r.status_code == 403
        r = http.put(url, json={"subnetpool": {"min_prefixlen": 20, "default_prefixlen": 16}})
        assert r.status_code == 400 and error_of(r)["type"] == "IllegalSubnetPoolPrefixBounds"
        r = http.put(url, json={"subnetpool": {"name": "n"}}, headers={"If-Match": "revision_number=9"})
        assert r.status_code == 412
        r = http.put(url, json={"subnetpool": {"min_prefixlen": 20, "default_prefixlen": 24, "max_prefixlen": 28,
                                                "default_quota": 4096}})
        assert r.status_code == 200, r.text
        got = r.json()["subnetpool"]
        assert (got["min_prefixlen"], got["default_prefixlen"], got["max_prefixlen"]) == ("20", "24", "28")
        assert got["default_quota"] == 4096 and got["prefixes"] == ["10.102.0.0/16"]
    finally:
        demo.network.delete_subnet_pool(pool.id)


def test_add_and_remove_prefixes(cloud: RunningCloud, demo: Any) -> None:
    http = neutron(cloud)
    pool = demo.network.create_subnet_pool(name="sp-ops", prefixes=["10.103.0.0/24"])
    try:
        url = f"/v2.0/subnetpools/{pool.id}"
        r = http.put(f"{url}/add_prefixes", json={"prefixes": ["10.103.1.0/24", "10.104.0.0/16"]})
        assert r.status_code == 200, r.text
        assert r.json() == {"prefixes": ["10.103.0.0/23", "10.104.0.0/16"]}
        r = http.put(f"{url}/remove_prefixes", json={"prefixes": ["10.104.0.0/17"]})
        assert r.json() == {"prefixes": ["10.103.0.0/23", "10.104.128.0/17"]}
        assert demo.network.get_subnet_pool(pool.id).prefixes == ["10.103.0.0/23", "10.104.128.0/17"]
        bodies: list[dict[str, Any]] = [{"prefixes": []}, {"prefixes": "10.0.0.0/8"}, {"nothing": 1}]
        for body in bodies:
            r = http.put(f"{url}/add_prefixes", json=body)
            assert r.status_code == 400 and "Request body contains invalid data" in error_of(r)["message"]
        r = http.put(f"{url}/add_prefixes", json={"prefixes": ["2001:db8::/64"]})
        assert r.status_code == 400 and error_of(r)["type"] == "PrefixVersionMismatch"
        r = http.put(f"{url}/add_prefixes", json={"prefixes": ["nonsense"]})
        assert r.status_code == 400
    finally:
        demo.network.delete_subnet_pool(pool.id)


def test_visibility_sharing_and_defaults(cloud: RunningCloud, admin: Any, demo: Any, alt: Any) -> None:
    private = demo.network.create_subnet_pool(name="sp-private", prefixes=["10.105.0.0/16"])
    shared = admin.network.create_subnet_pool(name="sp-shared", prefixes=["10.106.0.0/16"], shared=True)
    try:
        with pytest.raises(sdk_exc.NotFoundException):
            alt.network.get_subnet_pool(private.id)
        seen = {p.id for p in alt.network.subnet_pools()}
        assert shared.id in seen and private.id not in seen
        assert alt.network.get_subnet_pool(shared.id).is_shared is True
        with pytest.raises(sdk_exc.ForbiddenException):
            alt.network.update_subnet_pool(shared.id, name="mine")
        with pytest.raises(sdk_exc.ForbiddenException):
            alt.network.delete_subnet_pool(shared.id)
        r = neutron(cloud, "devstack-alt").put(f"/v2.0/subnetpools/{shared.id}/add_prefixes",
                                               json={"prefixes": ["10.107.0.0/16"]})
        assert r.status_code == 403
        first = admin.network.update_subnet_pool(shared.id, is_default=True)
        assert first.is_default is True
        second = admin.network.create_subnet_pool(name="sp-second", prefixes=["10.108.0.0/16"])
        try:
            with pytest.raises(sdk_exc.BadRequestException, match="Only one default may exist per IP family"):
                admin.network.update_subnet_pool(second.id, is_default=True)
        finally:
            admin.network.delete_subnet_pool(second.id)
        admin.network.update_subnet_pool(shared.id, is_default=False)
    finally:
        demo.network.delete_subnet_pool(private.id)
        admin.network.delete_subnet_pool(shared.id)


def test_address_scope_association(cloud: RunningCloud, demo: Any) -> None:
    http = neutron(cloud)
    scope = demo.network.create_address_scope(name="as-pools", ip_version=4)
    scope6 = demo.network.create_address_scope(name="as-pools6", ip_version=6)
    a = demo.network.create_subnet_pool(name="sp-a", prefixes=["10.110.0.0/16"], address_scope_id=scope.id)
    b = demo.network.create_subnet_pool(name="sp-b", prefixes=["10.110.128.0/17", "10.111.0.0/16"])
    try:
        assert a.address_scope_id == scope.id
        r = http.put(f"/v2.0/subnetpools/{b.id}", json={"subnetpool": {"address_scope_id": scope.id}})
        assert r.status_code == 409 and error_of(r)["type"] == "AddressScopePrefixConflict"
        r = http.put(f"/v2.0/subnetpools/{b.id}", json={"subnetpool": {"address_scope_id": scope6.id}})
        assert r.status_code == 400
        assert error_of(r)["type"] == "IllegalSubnetPoolIpVersionAssociationToAddressScope"
        r = http.post("/v2.0/subnetpools", json={"subnetpool": {"name": "x", "prefixes": ["10.112.0.0/16"],
                                                                 "address_scope_id": scope6.id}})
        assert r.status_code == 400
        # A scope the caller cannot see is not found.
        r = neutron(cloud, "devstack-alt").post("/v2.0/subnetpools", json={"subnetpool": {
            "name": "x", "prefixes": ["10.113.0.0/16"], "address_scope_id": scope.id}})
        assert r.status_code == 404 and error_of(r)["type"] == "AddressScopeNotFound"
        # b stayed out of the scope, so a may grow over b's prefixes; not over those of a pool in the scope.
        r = http.put(f"/v2.0/subnetpools/{a.id}/add_prefixes", json={"prefixes": ["10.111.0.0/24"]})
        assert r.status_code == 200
        c = demo.network.create_subnet_pool(name="sp-c", prefixes=["10.114.0.0/16"], address_scope_id=scope.id)
        r = http.put(f"/v2.0/subnetpools/{a.id}/add_prefixes", json={"prefixes": ["10.114.0.0/24"]})
        assert r.status_code == 409 and error_of(r)["type"] == "AddressScopePrefixConflict"
        demo.network.delete_subnet_pool(c.id)
        moved = demo.network.update_subnet_pool(a.id, address_scope_id=None)
        assert moved.address_scope_id is None
        assert [p.id for p in demo.network.subnet_pools(address_scope_id=scope.id)] == []
    finally:
        demo.network.delete_subnet_pool(a.id)
        demo.network.delete_subnet_pool(b.id)
        demo.network.delete_address_scope(scope.id)
        demo.network.delete_address_scope(scope6.id)


def test_filters_sorting_paging_fields(cloud: RunningCloud, demo: Any) -> None:
    made = [demo.network.create_subnet_pool(name=f"sp-page-{i}", prefixes=[f"10.{120 + i}.0.0/16"],
                                            default_prefixlen=20 + i) for i in range(4)]
    try:
        http = neutron(cloud)
        url = "/v2.0/subnetpools?name=sp-page-0&name=sp-page-1&name=sp-page-2&name=sp-page-3" \
              "&sort_key=default_prefixlen&sort_dir=desc&limit=3&fields=name&fields=id"
        names: list[str] = []
        while url:
            body = http.get(url).json()
            names += [p["name"] for p in body["subnetpools"]]
            assert all(set(p) == {"id", "name"} for p in body["subnetpools"])
            nxt = [link["href"] for link in body.get("subnetpools_links", []) if link["rel"] == "next"]
            url = nxt[0].split("/networking", 1)[1] if nxt else ""
        assert names == ["sp-page-3", "sp-page-2", "sp-page-1", "sp-page-0"]
        got = http.get("/v2.0/subnetpools?default_prefixlen=21&ip_version=4").json()["subnetpools"]
        assert [p["name"] for p in got] == ["sp-page-1"]
        assert http.get("/v2.0/subnetpools?bogus=1").status_code == 400
    finally:
        for p in made:
            demo.network.delete_subnet_pool(p.id)


def test_extensions_listed(demo: Any) -> None:
    aliases = {e.alias for e in demo.network.extensions()}
    assert {"subnet_allocation", "default-subnetpools", "subnetpool-prefix-ops", "subnet_onboard"} <= aliases


# --- subnets allocated from pools ---------------------------------------------------------------

def _subnet(http: Any, network_id: str, **attrs: Any) -> Any:
    return http.post("/v2.0/subnets", json={"subnet": {"network_id": network_id, "ip_version": 4, **attrs}})


def test_subnets_from_a_pool(cloud: RunningCloud, demo: Any) -> None:
    http = neutron(cloud)
    pool = demo.network.create_subnet_pool(name="sp-alloc", prefixes=["10.130.0.0/24"], default_prefixlen=26,
                                           max_prefixlen=28)
    net = demo.network.create_network(name="sp-alloc-net")
    try:
        first = demo.network.create_subnet(network_id=net.id, ip_version=4, subnet_pool_id=pool.id)
        assert first.cidr == "10.130.0.0/26" and first.subnet_pool_id == pool.id
        assert first.gateway_ip == "10.130.0.1"
        # The smallest free block that fits is used first: the /26 beside the first subnet.
        small = demo.network.create_subnet(network_id=net.id, ip_version=4, subnet_pool_id=pool.id, prefix_length=28)
        assert small.cidr == "10.130.0.64/28"
        given = demo.network.create_subnet(network_id=net.id, ip_version=4, subnet_pool_id=pool.id,
                                           cidr="10.130.0.128/25")
        assert given.cidr == "10.130.0.128/25" and given.subnet_pool_id == pool.id
        r = _subnet(http, net.id, subnetpool_id=pool.id)
        assert r.status_code == 409, r.text
        assert error_of(r) == {"type": "SubnetAllocationError", "detail": "",
                               "message": "Failed to allocate subnet: Insufficient prefix space to allocate "
                                          "subnet size /26."}
        r = _subnet(http, net.id, subnetpool_id=pool.id, cidr="10.130.0.0/27")
        assert r.status_code == 409 and "available set of prefixes" in error_of(r)["message"]
        r = _subnet(http, net.id, subnetpool_id=pool.id, prefixlen=29)
        assert r.status_code == 400 and error_of(r)["type"] == "MaxPrefixSubnetAllocationError"
        r = _subnet(http, net.id, subnetpool_id=pool.id, prefixlen=28, cidr="10.130.0.96/28")
        assert r.status_code == 400 and "cidr and prefixlen must not be supplied together" in error_of(r)["message"]
        r = _subnet(http, net.id, subnetpool_id=pool.id, ip_version=6)
        assert r.status_code == 400 and "Cannot allocate IPv6 subnet from IPv4 subnet pool" in error_of(r)["message"]
        r = http.delete(f"/v2.0/subnetpools/{pool.id}")
        assert r.status_code == 400 and error_of(r)["type"] == "SubnetPoolDeleteError"
        r = http.put(f"/v2.0/subnetpools/{pool.id}/remove_prefixes", json={"prefixes": ["10.130.0.0/26"]})
        assert r.status_code == 400 and error_of(r)["type"] == "IllegalSubnetPoolPrefixUpdate"
        assert pool.id in {s.subnet_pool_id for s in demo.network.subnets(network_id=net.id)}
    finally:
        for s in demo.network.subnets(network_id=net.id):
            demo.network.delete_subnet(s.id)
        demo.network.delete_network(net.id)
        demo.network.delete_subnet_pool(pool.id)


def test_subnet_from_the_default_pool(cloud: RunningCloud, admin: Any, demo: Any) -> None:
    http = neutron(cloud)
    net = demo.network.create_network(name="sp-default-net")
    try:
        r = _subnet(http, net.id, use_default_subnetpool=True)
        assert r.status_code == 400 and "No default subnetpool found for IPv4" in error_of(r)["message"]
        pool = admin.network.create_subnet_pool(name="sp-default", prefixes=["10.131.0.0/16"], default_prefixlen=24,
                                                shared=True, is_default=True)
        try:
            r = _subnet(http, net.id, use_default_subnetpool=True)
            assert r.status_code == 201, r.text
            got = r.json()["subnet"]
            assert got["cidr"] == "10.131.0.0/24" and got["subnetpool_id"] == pool.id
            assert "use_default_subnetpool" not in got
            r = _subnet(http, net.id, use_default_subnetpool=True, subnetpool_id=pool.id)
            assert r.status_code == 400 and "cannot both be specified" in error_of(r)["message"]
            http.delete(f"/v2.0/subnets/{got['id']}")
        finally:
            admin.network.delete_subnet_pool(pool.id)
    finally:
        demo.network.delete_network(net.id)


def test_network_affinity_and_address_scope_of_networks(cloud: RunningCloud, demo: Any) -> None:
    http = neutron(cloud)
    scope = demo.network.create_address_scope(name="as-net", ip_version=4)
    pool = demo.network.create_subnet_pool(name="sp-net", prefixes=["10.132.0.0/16"], default_prefixlen=24,
                                           address_scope_id=scope.id)
    other = demo.network.create_subnet_pool(name="sp-net-other", prefixes=["10.133.0.0/16"], default_prefixlen=24)
    net = demo.network.create_network(name="sp-scope-net")
    try:
        assert demo.network.get_network(net.id).ipv4_address_scope_id is None
        sub = demo.network.create_subnet(network_id=net.id, ip_version=4, subnet_pool_id=pool.id)
        shown = http.get(f"/v2.0/networks/{net.id}").json()["network"]
        assert shown["ipv4_address_scope"] == scope.id and shown["ipv6_address_scope"] is None
        r = _subnet(http, net.id, subnetpool_id=other.id)
        assert r.status_code == 400 and error_of(r)["type"] == "NetworkAddressScopeAffinityError"
        r = _subnet(http, net.id, cidr="192.168.77.0/24")
        assert r.status_code == 400 and error_of(r)["type"] == "NetworkAddressScopeAffinityError"
        r = http.put(f"/v2.0/subnetpools/{pool.id}", json={"subnetpool": {"address_scope_id": None}})
        assert r.status_code == 200
        assert http.get(f"/v2.0/networks/{net.id}").json()["network"]["ipv4_address_scope"] is None
        r = _subnet(http, net.id, subnetpool_id=other.id)
        assert r.status_code == 400 and error_of(r)["type"] == "NetworkSubnetPoolAffinityError"
        demo.network.delete_subnet(sub.id)
    finally:
        demo.network.delete_network(net.id)
        demo.network.delete_subnet_pool(pool.id)
        demo.network.delete_subnet_pool(other.id)
        demo.network.delete_address_scope(scope.id)


def _concurrently(cloud: RunningCloud, network_id: str, pool_id: str, count: int, prefixlen: int) -> list[Any]:
    def create(_: int) -> Any:
        with neutron(cloud) as http:
            return _subnet(http, network_id, subnetpool_id=pool_id, prefixlen=prefixlen)

    with ThreadPoolExecutor(count) as ex:
        return list(ex.map(create, range(count)))


def test_concurrent_allocations_never_overlap(cloud: RunningCloud, demo: Any) -> None:
    pool = demo.network.create_subnet_pool(name="sp-race", prefixes=["10.140.0.0/22"])
    net = demo.network.create_network(name="sp-race-net")
    try:
        results = _concurrently(cloud, net.id, pool.id, 20, 28)
        assert [r.status_code for r in results] == [201] * 20, [r.text for r in results if r.status_code != 201]
        cidrs = [ipaddress.IPv4Network(r.json()["subnet"]["cidr"]) for r in results]
        assert all(c.subnet_of(ipaddress.IPv4Network("10.140.0.0/22")) for c in cidrs)
        assert not [(a, b) for i, a in enumerate(cidrs) for b in cidrs[i + 1:] if a.overlaps(b)]
    finally:
        for s in demo.network.subnets(network_id=net.id):
            demo.network.delete_subnet(s.id)
        demo.network.delete_network(net.id)
        demo.network.delete_subnet_pool(pool.id)


def test_concurrent_allocations_exhaust_the_pool_exactly(cloud: RunningCloud, demo: Any) -> None:
    pool = demo.network.create_subnet_pool(name="sp-exhaust", prefixes=["10.141.0.0/24"])
    net = demo.network.create_network(name="sp-exhaust-net")
    try:
        results = _concurrently(cloud, net.id, pool.id, 12, 26)
        made = sorted(r.json()["subnet"]["cidr"] for r in results if r.status_code == 201)
        assert made == ["10.141.0.0/26", "10.141.0.128/26", "10.141.0.192/26", "10.141.0.64/26"]
        refused = [error_of(r)["type"] for r in results if r.status_code != 201]
        assert refused == ["SubnetAllocationError"] * 8
    finally:
        for s in demo.network.subnets(network_id=net.id):
            demo.network.delete_subnet(s.id)
        demo.network.delete_network(net.id)
        demo.network.delete_subnet_pool(pool.id)


def test_onboard_network_subnets(cloud: RunningCloud, demo: Any, alt: Any) -> None:
    http = neutron(cloud)
    pool = demo.network.create_subnet_pool(name="sp-onboard", prefixes=["10.160.0.0/24"])
    net = demo.network.create_network(name="sp-onboard-net")
    try:
        a = demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.161.0.0/24")
        b = demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.162.0.0/25")
        v6 = demo.network.create_subnet(network_id=net.id, ip_version=6, cidr="2001:db8:161::/64")
        url = f"/v2.0/subnetpools/{pool.id}/onboard_network_subnets"
        r = neutron(cloud, "devstack-alt").put(url, json={"network_id": net.id})
        assert r.status_code == 404  # alt sees neither the pool nor the network
        r = http.put(url, json={})
        assert r.status_code == 400 and "network_id must be specified" in error_of(r)["message"]
        r = http.put(url, json={"network_id": net.id})
        assert r.status_code == 200, r.text
        assert sorted(r.json(), key=lambda x: x["cidr"]) == [{"id": a.id, "cidr": "10.161.0.0/24"},
                                                             {"id": b.id, "cidr": "10.162.0.0/25"}]
        assert demo.network.get_subnet_pool(pool.id).prefixes == ["10.160.0.0/24", "10.161.0.0/24",
                                                                  "10.162.0.0/25"]
        assert {s.id: s.subnet_pool_id for s in demo.network.subnets(network_id=net.id)} == {
            a.id: pool.id, b.id: pool.id, v6.id: None}
        r = http.put(url, json={"network_id": net.id})
        assert r.status_code == 400 and error_of(r)["type"] == "IllegalSubnetPoolUpdate"
        # Onboarded prefixes are allocated: only the pool's own /24 is left to hand out.
        other = demo.network.create_network(name="sp-onboard-net2")
        try:
            got = demo.network.create_subnet(network_id=other.id, ip_version=4, subnet_pool_id=pool.id,
                                             prefix_length=25)
            assert got.cidr == "10.160.0.0/25"
            demo.network.delete_subnet(got.id)
        finally:
            demo.network.delete_network(other.id)
    finally:
        for s in demo.network.subnets(network_id=net.id):
            demo.network.delete_subnet(s.id)
        demo.network.delete_network(net.id)
        demo.network.delete_subnet_pool(pool.id)
