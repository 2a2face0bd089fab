"""Subnets through openstacksdk and raw HTTP: defaults, IPv4/IPv6 rules, pools, gateway, DNS,
routes, service types, update, delete while in use, isolation, filters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openstack import exceptions as sdk_exc

from tests.functional.cloud import RunningCloud
from tests.functional.network_support import error_of, neutron


@pytest.fixture
def net(demo: Any) -> Iterator[Any]:
    network = demo.network.create_network(name="sn-net")
    yield network
    for port in demo.network.ports(network_id=network.id):
        demo.network.delete_port(port.id)
    demo.network.delete_network(network.id)


def _post(cloud: RunningCloud, body: dict[str, Any], who: str = "devstack") -> Any:
    return neutron(cloud, who).post("/v2.0/subnets", json={"subnet": body})


def test_ipv4_defaults(demo: Any, net: Any) -> None:
    sub = demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.20.0.0/24", name="sn-a")
    assert sub.cidr == "10.20.0.0/24" and sub.gateway_ip == "10.20.0.1"
    assert sub.allocation_pools == [{"start": "10.20.0.2", "end": "10.20.0.254"}]
    assert sub.is_dhcp_enabled is True and sub.dns_nameservers == [] and sub.host_routes == []
    assert sub.ipv6_ra_mode is None and sub.ipv6_address_mode is None and sub.subnet_pool_id is None
    assert sub.segment_id is None and sub.service_types == [] and sub.revision_number == 0
    assert sub.project_id == demo.current_project_id
    assert demo.network.get_network(net.id).subnet_ids == [sub.id]
    assert demo.network.get_subnet(sub.id).name == "sn-a"
    assert [s.id for s in demo.network.subnets(network_id=net.id)] == [sub.id]
    demo.network.delete_subnet(sub.id)
    with pytest.raises(sdk_exc.NotFoundException):
        demo.network.get_subnet(sub.id)
    assert demo.network.get_network(net.id).subnet_ids == []


def test_host_bits_cleared_and_gateway_none(demo: Any, net: Any) -> None:
    sub = demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.21.0.77/28", gateway_ip=None)
    assert sub.cidr == "10.21.0.64/28" and sub.gateway_ip is None
    assert sub.allocation_pools == [{"start": "10.21.0.65", "end": "10.21.0.78"}]


def test_gateway_and_pools_given(demo: Any, net: Any) -> None:
    sub = demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.22.0.0/24", gateway_ip="10.22.0.254",
                                     allocation_pools=[{"start": "10.22.0.100", "end": "10.22.0.110"},
                                                       {"start": "10.22.0.10", "end": "10.22.0.20"}],
                                     dns_nameservers=["8.8.8.8", "1.1.1.1"],
                                     host_routes=[{"destination": "192.168.0.0/16", "nexthop": "10.22.0.3"}])
    assert sub.gateway_ip == "10.22.0.254"
    assert sub.allocation_pools == [{"start": "10.22.0.10", "end": "10.22.0.20"},
                                    {"start": "10.22.0.100", "end": "10.22.0.110"}]
    assert sub.dns_nameservers == ["8.8.8.8", "1.1.1.1"]  # order kept
    assert sub.host_routes == [{"destination": "192.168.0.0/16", "nexthop": "10.22.0.3"}]


def test_gateway_in_middle_splits_default_pool(demo: Any, net: Any) -> None:
    sub = demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.23.0.0/28", gateway_ip="10.23.0.5")
    assert sub.allocation_pools == [{"start": "10.23.0.1", "end": "10.23.0.4"},
                                    {"start": "10.23.0.6", "end": "10.23.0.14"}]


@pytest.mark.parametrize("body, status, kind, fragment", [
    ({"cidr": "10.30.0.0/24", "gateway_ip": "10.30.0.255"}, 400, "InvalidInput", "Gateway is not valid on subnet"),
    ({"cidr": "10.30.0.0/24", "gateway_ip": "10.30.0.0"}, 400, "InvalidInput", "Gateway is not valid on subnet"),
    ({"cidr": "10.30.0.0/24", "allocation_pools": [{"start": "10.30.0.1", "end": "10.30.0.20"}]}, 409,
     "GatewayConflictWithAllocationPools", "Gateway ip 10.30.0.1 conflicts with allocation pool"),
    ({"cidr": "10.30.0.0/24", "allocation_pools": [{"start": "10.30.0.9", "end": "10.30.1.20"}]}, 400,
     "OutOfBoundsAllocationPool", "spans beyond the subnet cidr"),
    ({"cidr": "10.30.0.0/24", "allocation_pools": [{"start": "10.30.0.20", "end": "10.30.0.9"}]}, 400,
     "InvalidAllocationPool", "is not valid"),
    ({"cidr": "10.30.0.0/24", "allocation_pools": [{"start": "10.30.0.5", "end": "10.30.0.20"},
                                                   {"start": "10.30.0.15", "end": "10.30.0.30"}]}, 409,
     "OverlappingAllocationPools", "Found overlapping allocation pools"),
    ({"cidr": "10.30.0.0/24", "dns_nameservers": ["8.8.8.8", "8.8.8.8"]}, 400, "HTTPBadRequest",
     "Duplicate nameserver '8.8.8.8'"),
    ({"cidr": "10.30.0.0/24", "dns_nameservers": [f"8.8.8.{i}" for i in range(6)]}, 400,
     "DNSNameServersExhausted", "exceeds the limit 5"),
    ({"cidr": "fd00::/64"}, 400, "InvalidInput", "cidr 'fd00::/64' does not match the ip_version '4'"),
    ({"cidr": "10.30.0.0/24", "ipv6_ra_mode": "slaac"}, 400, "InvalidInput",
     "ipv6_ra_mode is not valid when ip_version is 4"),
    ({"cidr": "0.0.0.0/0"}, 400, "InvalidInput", "0 is not allowed as CIDR prefix length"),
    ({}, 400, "BadRequest", "a subnetpool must be specified in the absence of a cidr"),
    ({"cidr": "10.30.0.0/24", "bogus": 1}, 400, "HTTPBadRequest", "Unrecognized attribute(s) 'bogus'"),
    ({"cidr": "10.30.0.0/24", "host_routes": [{"destination": "10.1.2.3/8", "nexthop": "10.30.0.9"}]}, 400,
     "HTTPBadRequest", "'10.1.2.3/8' is not a valid CIDR"),
    ({"cidr": "10.30.0.0/31"}, 400, "InvalidInput", "incompatible with DHCP service enabled"),
    ({"cidr": "224.0.0.0/24"}, 400, "InvalidInput", "Multicast IP subnet is not supported"),
    ({"cidr": "not-a-cidr"}, 400, "HTTPBadRequest", "Invalid input for cidr"),
])
def test_bad_subnets_refused(cloud: RunningCloud, demo: Any, net: Any, body: dict[str, Any], status: int,
                             kind: str, fragment: str) -> None:
    r = _post(cloud, {"network_id": net.id, "ip_version": 4, **body})
    assert r.status_code == status, r.text
    err = error_of(r)
    assert err["type"] == kind and fragment in err["message"], err
    assert list(demo.network.subnets(network_id=net.id)) == []


def test_overlap_on_same_network_refused(cloud: RunningCloud, demo: Any, net: Any) -> None:
    demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.31.0.0/24")
    r = _post(cloud, {"network_id": net.id, "ip_version": 4, "cidr": "10.31.0.128/25"})
    assert r.status_code == 400
    assert "overlaps with another subnet" in error_of(r)["message"]
    other = demo.network.create_network(name="sn-other")
    try:  # the same range on another network is fine
        demo.network.create_subnet(network_id=other.id, ip_version=4, cidr="10.31.0.0/24")
    finally:
        demo.network.delete_network(other.id)


@pytest.mark.parametrize("ra, addr, ok", [
    ("slaac", "slaac", True), ("dhcpv6-stateful", "dhcpv6-stateful", True),
    ("dhcpv6-stateless", "dhcpv6-stateless", True), (None, "slaac", True), ("slaac", None, True),
    ("slaac", "dhcpv6-stateful", False),
])
def test_ipv6_mode_combinations(cloud: RunningCloud, net: Any, ra: str | None, addr: str | None, ok: bool) -> None:
    body: dict[str, Any] = {"network_id": net.id, "ip_version": 6, "cidr": "fd00:40::/64"}
    if ra:
        body["ipv6_ra_mode"] = ra
    if addr:
        body["ipv6_address_mode"] = addr
    r = _post(cloud, body)
    if ok:
        assert r.status_code == 201, r.text
        sub = r.json()["subnet"]
        assert sub["ipv6_ra_mode"] == ra and sub["ipv6_address_mode"] == addr
        assert sub["gateway_ip"] == "fd00:40::"  # Neutron's default: the subnet-router anycast address
        assert sub["allocation_pools"] == [{"start": "fd00:40::1", "end": "fd00:40::ffff:ffff:ffff:ffff"}]
        neutron(cloud).delete(f"/v2.0/subnets/{sub['id']}")
    else:
        assert r.status_code == 400 and "must be the same value" in error_of(r)["message"]


def test_ipv6_slaac_needs_64_and_dhcp(cloud: RunningCloud, net: Any) -> None:
    r = _post(cloud, {"network_id": net.id, "ip_version": 6, "cidr": "fd00:41::/80", "ipv6_address_mode": "slaac"})
    assert r.status_code == 400 and "requires the prefix to be /64" in error_of(r)["message"]
    r = _post(cloud, {"network_id": net.id, "ip_version": 6, "cidr": "fd00:41::/64", "ipv6_address_mode": "slaac",
                      "enable_dhcp": False})
    assert r.status_code == 400 and "cannot be set when enable_dhcp is set to False" in error_of(r)["message"]


def test_update(cloud: RunningCloud, demo: Any, net: Any) -> None:
    sub = demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.32.0.0/24")
    up = demo.network.update_subnet(sub, name="sn-new", dns_nameservers=["9.9.9.9"], gateway_ip="10.32.0.254",
                                    allocation_pools=[{"start": "10.32.0.2", "end": "10.32.0.100"}],
                                    host_routes=[{"destination": "10.0.0.0/8", "nexthop": "10.32.0.9"}],
                                    enable_dhcp=False)
    assert up.name == "sn-new" and up.dns_nameservers == ["9.9.9.9"] and up.gateway_ip == "10.32.0.254"
    assert up.allocation_pools == [{"start": "10.32.0.2", "end": "10.32.0.100"}]
    assert up.is_dhcp_enabled is False and up.revision_number == 1
    http = neutron(cloud)
    r = http.put(f"/v2.0/subnets/{sub.id}", json={"subnet": {"cidr": "10.33.0.0/24"}})
    assert r.status_code == 400 and "Cannot update read-only attribute cidr" in error_of(r)["message"]
    r = http.put(f"/v2.0/subnets/{sub.id}", json={"subnet": {"gateway_ip": "10.32.0.50"}})
    assert r.status_code == 409 and error_of(r)["type"] == "GatewayConflictWithAllocationPools"
    r = http.put(f"/v2.0/subnets/{sub.id}", json={"subnet": {"gateway_ip": None}})
    assert r.status_code == 200 and r.json()["subnet"]["gateway_ip"] is None


def test_service_types_admin_only(cloud: RunningCloud, admin: Any, demo: Any, net: Any) -> None:
    r = _post(cloud, {"network_id": net.id, "ip_version": 4, "cidr": "10.34.0.0/24",
                      "service_types": ["compute:nova"]})
    assert r.status_code == 403
    sub = admin.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.34.0.0/24",
                                      service_types=["network:floatingip"], project_id=demo.current_project_id)
    assert sub.service_types == ["network:floatingip"]
    r = _post(cloud, {"network_id": net.id, "ip_version": 4, "cidr": "10.35.0.0/24", "service_types": ["bogus"]},
              "devstack-admin")
    assert r.status_code == 400 and error_of(r)["type"] == "InvalidSubnetServiceType"
    # A plain port finds no subnet its device_owner may use.
    r = neutron(cloud).post("/v2.0/ports", json={"port": {"network_id": net.id}})
    assert r.status_code == 409 and error_of(r)["type"] == "IpAddressGenerationFailureNoMatchingSubnet"


def test_delete_in_use(cloud: RunningCloud, demo: Any, net: Any) -> None:
    sub = demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.36.0.0/24")
    port = demo.network.create_port(network_id=net.id)
    r = neutron(cloud).delete(f"/v2.0/subnets/{sub.id}")
    assert r.status_code == 409 and error_of(r)["type"] == "SubnetInUse"
    demo.network.delete_port(port.id)
    demo.network.delete_subnet(sub.id)


def test_isolation(cloud: RunningCloud, demo: Any, alt: Any, admin: Any, net: Any) -> None:
    sub = demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.37.0.0/24")
    with pytest.raises(sdk_exc.NotFoundException):
        alt.network.get_subnet(sub.id)
    assert sub.id not in [s.id for s in alt.network.subnets()]
    http = neutron(cloud, "devstack-alt")
    assert http.put(f"/v2.0/subnets/{sub.id}", json={"subnet": {"name": "x"}}).status_code == 404
    assert http.delete(f"/v2.0/subnets/{sub.id}").status_code == 404
    r = _post(cloud, {"network_id": net.id, "ip_version": 4, "cidr": "10.38.0.0/24"}, "devstack-alt")
    assert r.status_code == 404 and error_of(r)["type"] == "NetworkNotFound"
    # A shared network's subnets are seen by all; only its owner adds subnets to it.
    shared = admin.network.create_network(name="sn-shared", shared=True)
    try:
        ssub = admin.network.create_subnet(network_id=shared.id, ip_version=4, cidr="10.39.0.0/24")
        assert alt.network.get_subnet(ssub.id).cidr == "10.39.0.0/24"
        r = _post(cloud, {"network_id": shared.id, "ip_version": 4, "cidr": "10.40.0.0/24"}, "devstack-alt")
        assert r.status_code == 403
    finally:
        admin.network.delete_network(shared.id)


def test_filters_sort_fields(cloud: RunningCloud, demo: Any, net: Any) -> None:
    a = demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.41.0.0/24", name="sn-f1")
    b = demo.network.create_subnet(network_id=net.id, ip_version=6, cidr="fd00:41::/64", name="sn-f2")
    http = neutron(cloud)
    body = http.get(f"/v2.0/subnets?network_id={net.id}&ip_version=6&fields=id&fields=cidr").json()
    assert body["subnets"] == [{"id": b.id, "cidr": "fd00:41::/64"}]
    body = http.get(f"/v2.0/subnets?network_id={net.id}&sort_key=name&sort_dir=desc").json()
    assert [s["id"] for s in body["subnets"]] == [b.id, a.id]
    assert http.get(f"/v2.0/subnets?cidr=10.41.0.0/24&network_id={net.id}").json()["subnets"][0]["id"] == a.id
    assert http.get("/v2.0/subnets?bogus=1").status_code == 400


def test_quota(cloud: RunningCloud, admin: Any, alt: Any) -> None:
    """quota ``subnet``: set through the table the quotas API (h/secgroups' or later) manages."""
    net = alt.network.create_network(name="sn-quota")
    try:
        count = len(list(alt.network.subnets(project_id=alt.current_project_id)))  # not shared networks' subnets
        http = neutron(cloud, "devstack-admin")
        r = http.put(f"/v2.0/quotas/{alt.current_project_id}", json={"quota": {"subnet": count + 1}})
        if r.status_code == 404:
            pytest.skip("no quotas API on this branch")
        alt.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.42.0.0/24")
        r = _post(cloud, {"network_id": net.id, "ip_version": 4, "cidr": "10.43.0.0/24"}, "devstack-alt")
        assert r.status_code == 409 and error_of(r)["type"] == "OverQuota"
        http.delete(f"/v2.0/quotas/{alt.current_project_id}")
    finally:
        alt.network.delete_network(net.id)


def test_bulk_create(cloud: RunningCloud, demo: Any, net: Any) -> None:
    r = neutron(cloud).post("/v2.0/subnets", json={"subnets": [
        {"network_id": net.id, "ip_version": 4, "cidr": "10.44.0.0/24"},
        {"network_id": net.id, "ip_version": 6, "cidr": "fd00:44::/64"}]})
    assert r.status_code == 201, r.text
    assert [s["cidr"] for s in r.json()["subnets"]] == ["10.44.0.0/24", "fd00:44::/64"]
    r = neutron(cloud).post("/v2.0/subnets", json={"subnets": [
        {"network_id": net.id, "ip_version": 4, "cidr": "10.45.0.0/24"},
        {"network_id": net.id, "ip_version": 4, "cidr": "10.45.0.0/25"}]})
    assert r.status_code == 400 and "overlaps" in error_of(r)["message"]
    assert sorted(s.cidr for s in demo.network.subnets(network_id=net.id)) == ["10.44.0.0/24", "fd00:44::/64"]


def test_external_network_subnets_hidden(cloud: RunningCloud, admin: Any, demo: Any) -> None:
    """As Tempest's test_external_network_visibility: others see an external network, not its subnets."""
    ext = admin.network.create_network(name="sn-ext", is_router_external=True)
    try:
        sub = admin.network.create_subnet(network_id=ext.id, ip_version=4, cidr="10.46.0.0/24")
        assert demo.network.get_network(ext.id).subnet_ids == [sub.id]
        assert list(demo.network.subnets(network_id=ext.id)) == []
    finally:
        admin.network.delete_network(ext.id)


def test_small_subnet_without_dhcp(demo: Any, net: Any) -> None:
    sub = demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.47.0.0/31", enable_dhcp=False,
                                     gateway_ip=None)
    assert sub.allocation_pools == [{"start": "10.47.0.0", "end": "10.47.0.1"}] and sub.cidr == "10.47.0.0/31"
    with pytest.raises(sdk_exc.BadRequestException):
        demo.network.update_subnet(sub, enable_dhcp=True)


def test_ipv6_needs_mtu_1280(cloud: RunningCloud, demo: Any) -> None:
    small = demo.network.create_network(name="sn-mtu", mtu=1000)
    try:
        r = _post(cloud, {"network_id": small.id, "ip_version": 6, "cidr": "fd00:48::/64"})
        assert r.status_code == 409 and error_of(r)["type"] == "NetworkMTUSubnetConflict"
        assert demo.network.create_subnet(network_id=small.id, ip_version=4, cidr="10.48.0.0/24").cidr
    finally:
        demo.network.delete_network(small.id)
