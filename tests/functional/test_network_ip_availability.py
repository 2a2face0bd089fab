"""/v2.0/network-ip-availabilities: totals from allocation pools, used addresses, filters, policy."""

from __future__ import annotations

from typing import Any

from tests.functional.cloud import RunningCloud
from tests.functional.network_support import error_of, neutron


def _used_on(admin: Any, subnet_id: str) -> int:
    """Addresses allocated on the subnet, counted from the ports (DHCP ports included, if any)."""
    return sum(1 for p in admin.network.ports() for ip in p.fixed_ips if ip["subnet_id"] == subnet_id)


def test_totals_and_used(cloud: RunningCloud, admin: Any, demo: Any) -> None:
    net = demo.network.create_network(name="ipa-net")
    try:
        sub = demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.150.0.0/24", name="ipa-sub",
                                         allocation_pools=[{"start": "10.150.0.10", "end": "10.150.0.19"},
                                                           {"start": "10.150.0.100", "end": "10.150.0.149"}])
        v6 = demo.network.create_subnet(network_id=net.id, ip_version=6, cidr="2001:db8:150::/120", name="ipa-v6")
        ports = [demo.network.create_port(network_id=net.id, fixed_ips=[{"subnet_id": sub.id}]) for _ in range(3)]
        got = admin.network.get_network_ip_availability(net.id)
        assert got.network_id == net.id and got.network_name == "ipa-net"
        assert got.project_id == demo.current_project_id
        by_subnet = {s["subnet_id"]: s for s in got.subnet_ip_availability}
        v4 = by_subnet[sub.id]
        assert v4 == {"subnet_id": sub.id, "subnet_name": "ipa-sub", "cidr": "10.150.0.0/24", "ip_version": 4,
                      "total_ips": 60, "used_ips": _used_on(admin, sub.id)}
        assert v4["used_ips"] >= 3
        # Neutron's default IPv6 gateway is the subnet-router anycast address (::), outside the
        # pools, so the pool is ::1 to ::ff.
        assert by_subnet[v6.id]["total_ips"] == 255 and by_subnet[v6.id]["ip_version"] == 6
        assert got.total_ips == 60 + 255
        assert got.used_ips == v4["used_ips"] + by_subnet[v6.id]["used_ips"]
        for p in ports:
            demo.network.delete_port(p.id)
        assert admin.network.get_network_ip_availability(net.id).used_ips == got.used_ips - 3
    finally:
        for p in demo.network.ports(network_id=net.id):
            if not p.device_owner.startswith("network:"):
                demo.network.delete_port(p.id)
        demo.network.delete_network(net.id)


def test_filters_and_raw_shape(cloud: RunningCloud, admin: Any, demo: Any, alt: Any) -> None:
    mine = demo.network.create_network(name="ipa-filter")
    theirs = alt.network.create_network(name="ipa-filter-alt")
    empty = demo.network.create_network(name="ipa-empty")
    try:
        demo.network.create_subnet(network_id=mine.id, ip_version=4, cidr="10.151.0.0/28")
        http = neutron(cloud, "devstack-admin")
        body = http.get("/v2.0/network-ip-availabilities?network_name=ipa-filter&network_name=ipa-filter-alt"
                        "&network_name=ipa-empty").json()["network_ip_availabilities"]
        assert {n["network_id"] for n in body} == {mine.id, theirs.id, empty.id}
        shape = next(n for n in body if n["network_id"] == empty.id)
        assert shape == {"network_id": empty.id, "network_name": "ipa-empty", "project_id": demo.current_project_id,
                         "tenant_id": demo.current_project_id, "subnet_ip_availability": [], "total_ips": 0,
                         "used_ips": 0}
        got = http.get(f"/v2.0/network-ip-availabilities?project_id={alt.current_project_id}"
                       "&network_name=ipa-filter-alt").json()["network_ip_availabilities"]
        assert [n["network_id"] for n in got] == [theirs.id]
        got = http.get("/v2.0/network-ip-availabilities?ip_version=4&network_name=ipa-filter"
                       "&network_name=ipa-empty").json()["network_ip_availabilities"]
        assert [n["network_id"] for n in got] == [mine.id]
        assert [n["total_ips"] for n in got] == [13]
        got = http.get(f"/v2.0/network-ip-availabilities?network_id={mine.id}&ip_version=6").json()
        assert got == {"network_ip_availabilities": []}
        got = http.get(f"/v2.0/network-ip-availabilities/{mine.id}?fields=network_id&fields=total_ips").json()
        assert got == {"network_ip_availability": {"network_id": mine.id, "total_ips": 13}}
        r = http.get("/v2.0/network-ip-availabilities?bogus=1")
        assert r.status_code == 400 and "[bogus] is invalid attribute for filtering" in error_of(r)["message"]
        r = http.get("/v2.0/network-ip-availabilities/5e4a8a64-cc1e-4f3b-9a6b-8a3d1a2f0c11")
        assert r.status_code == 404 and error_of(r)["type"] == "NetworkNotFound"
    finally:
        for s in demo.network.subnets(network_id=mine.id):
            demo.network.delete_subnet(s.id)
        demo.network.delete_network(mine.id)
        demo.network.delete_network(empty.id)
        alt.network.delete_network(theirs.id)


def test_admin_only(cloud: RunningCloud, demo: Any) -> None:
    """As Neutron's policy hook on reads: a member's list is empty, its own network's show not found."""
    http = neutron(cloud)
    net = demo.network.create_network(name="ipa-policy")
    try:
        r = http.get("/v2.0/network-ip-availabilities")
        assert r.status_code == 200 and r.json() == {"network_ip_availabilities": []}
        r = http.get(f"/v2.0/network-ip-availabilities/{net.id}")
        assert r.status_code == 404 and error_of(r)["type"] == "NetworkNotFound"
    finally:
        demo.network.delete_network(net.id)


def test_extension_listed(demo: Any) -> None:
    assert "network-ip-availability" in {e.alias for e in demo.network.extensions()}
