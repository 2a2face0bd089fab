"""Ports through openstacksdk and raw HTTP: defaults, MACs, fixed IPs, security groups, port
security, address pairs, DHCP options, binding, filters, update, delete rules, isolation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openstack import exceptions as sdk_exc

from tests.functional.cloud import RunningCloud
from tests.functional.network_support import error_of, neutron


@pytest.fixture
def net(demo: Any) -> Iterator[Any]:
    network = demo.network.create_network(name="pt-net")
    network.sub = demo.network.create_subnet(network_id=network.id, ip_version=4, cidr="10.50.0.0/24")
    yield network
    for port in demo.network.ports(network_id=network.id):
        demo.network.delete_port(port.id)
    demo.network.delete_network(network.id)


def _post(cloud: RunningCloud, body: dict[str, Any], who: str = "devstack") -> Any:
    return neutron(cloud, who).post("/v2.0/ports", json={"port": body})


def test_defaults(demo: Any, net: Any) -> None:
    port = demo.network.create_port(network_id=net.id, name="pt-a")
    assert port.status == "DOWN" and port.is_admin_state_up is True
    assert port.mac_address.startswith("fa:16:3e:")
    assert port.fixed_ips == [{"subnet_id": net.sub.id, "ip_address": "10.50.0.3"}]  # .2: the DHCP port's
    assert port.device_id == "" and port.device_owner == ""
    assert port.is_port_security_enabled is True and port.allowed_address_pairs == []
    assert port.extra_dhcp_opts == [] and port.binding_vnic_type == "normal"
    assert port.propagate_uplink_status is True and port.ip_allocation == "immediate"  # Neutron 29's default
    # The project's default group, the same for every port of the project.
    assert len(port.security_group_ids) == 1
    assert demo.network.create_port(network_id=net.id).security_group_ids == port.security_group_ids
    # binding:* other than vnic_type is for admins only.
    assert port.binding_host_id is None and port.binding_vif_type is None
    assert demo.network.get_port(port.id).name == "pt-a"
    demo.network.delete_port(port.id)
    with pytest.raises(sdk_exc.NotFoundException):
        demo.network.get_port(port.id)


def test_given_ip_and_mac(cloud: RunningCloud, admin: Any, demo: Any, net: Any) -> None:
    port = demo.network.create_port(network_id=net.id, fixed_ips=[{"ip_address": "10.50.0.77"}],
                                    mac_address="fa:16:3e:00:11:22")
    assert port.fixed_ips == [{"subnet_id": net.sub.id, "ip_address": "10.50.0.77"}]
    assert port.mac_address == "fa:16:3e:00:11:22"
    r = _post(cloud, {"network_id": net.id, "fixed_ips": [{"ip_address": "10.50.0.77"}]})
    assert r.status_code == 409 and error_of(r)["type"] == "IpAddressAlreadyAllocated"
    r = _post(cloud, {"network_id": net.id, "mac_address": "fa:16:3e:00:11:22"})
    assert r.status_code == 409 and error_of(r)["type"] == "MacAddressInUse"
    for body, status, kind in (
        ({"fixed_ips": [{"ip_address": "10.50.0.0"}]}, 400, "InvalidIpForNetwork"),
        ({"fixed_ips": [{"ip_address": "10.50.0.255"}]}, 400, "InvalidIpForNetwork"),
        ({"fixed_ips": [{"ip_address": "10.99.0.5"}]}, 400, "InvalidIpForNetwork"),
        ({"fixed_ips": [{"subnet_id": net.sub.id, "ip_address": "10.99.0.5"}]}, 400, "InvalidIpForSubnet"),
        ({"fixed_ips": [{"subnet_id": "5e4a8a64-cc1e-4f3b-9a6b-8a3d1a2f0c11"}]}, 404, "SubnetNotFound"),
        ({"fixed_ips": [{"ip_address": "10.50.0.5"}, {"ip_address": "10.50.0.5"}]}, 400, "HTTPBadRequest"),
        ({"mac_address": "01:00:00:00:00:01"}, 400, "HTTPBadRequest"),
        ({"fixed_ips": [{"ip_address": f"10.50.0.{i}"} for i in range(10, 16)]}, 400, "InvalidInput"),
    ):
        r = _post(cloud, {"network_id": net.id, **body})
        assert r.status_code == status and error_of(r)["type"] == kind, (body, r.text)
    # Outside the pools is fine for a given address.
    sub = demo.network.update_subnet(net.sub, allocation_pools=[{"start": "10.50.0.100", "end": "10.50.0.110"}])
    assert sub.allocation_pools == [{"start": "10.50.0.100", "end": "10.50.0.110"}]
    outside = demo.network.create_port(network_id=net.id, fixed_ips=[{"ip_address": "10.50.0.20"}])
    assert outside.fixed_ips[0]["ip_address"] == "10.50.0.20"
    assert demo.network.create_port(network_id=net.id).fixed_ips[0]["ip_address"] == "10.50.0.100"


def test_port_on_network_without_subnets_has_no_ips(demo: Any) -> None:
    bare = demo.network.create_network(name="pt-bare")
    try:
        port = demo.network.create_port(network_id=bare.id)
        assert port.fixed_ips == []
    finally:
        for p in demo.network.ports(network_id=bare.id):
            demo.network.delete_port(p.id)
        demo.network.delete_network(bare.id)


def test_ipv6_slaac_and_stateful(demo: Any, net: Any) -> None:
    slaac = demo.network.create_subnet(network_id=net.id, ip_version=6, cidr="fd00:50::/64",
                                       ipv6_ra_mode="slaac", ipv6_address_mode="slaac")
    port = demo.network.create_port(network_id=net.id, mac_address="fa:16:3e:12:34:56")
    assert sorted(f["ip_address"] for f in port.fixed_ips) == ["10.50.0.3", "fd00:50::f816:3eff:fe12:3456"]
    # Explicit v4 only: the SLAAC address still comes.
    port2 = demo.network.create_port(network_id=net.id, fixed_ips=[{"subnet_id": net.sub.id}])
    assert {f["subnet_id"] for f in port2.fixed_ips} == {net.sub.id, slaac.id}
    stateful = demo.network.create_subnet(network_id=net.id, ip_version=6, cidr="fd00:51::/64",
                                          ipv6_ra_mode="dhcpv6-stateful", ipv6_address_mode="dhcpv6-stateful")
    port3 = demo.network.create_port(network_id=net.id)
    assert {f["subnet_id"] for f in port3.fixed_ips} == {net.sub.id, slaac.id, stateful.id}
    # ::1 is the DHCP port's (an IPv6 subnet's gateway is its network address).
    assert [f["ip_address"] for f in port3.fixed_ips if f["subnet_id"] == stateful.id] == ["fd00:51::2"]
    # Deleting the SLAAC subnet takes the ports' SLAAC addresses with it.
    demo.network.delete_subnet(slaac.id)
    assert {f["subnet_id"] for f in demo.network.get_port(port.id).fixed_ips} == {net.sub.id}


def test_slaac_address_cannot_be_given(cloud: RunningCloud, demo: Any, net: Any) -> None:
    early = demo.network.create_port(network_id=net.id, mac_address="fa:16:3e:00:00:52")
    slaac = demo.network.create_subnet(network_id=net.id, ip_version=6, cidr="fd00:52::/64",
                                       ipv6_address_mode="slaac")
    # A port already on the network gets its address on the new SLAAC subnet.
    assert "fd00:52::f816:3eff:fe00:52" in [f["ip_address"] for f in demo.network.get_port(early.id).fixed_ips]
    r = _post(cloud, {"network_id": net.id, "fixed_ips": [{"ip_address": "fd00:52::99"}]})
    assert r.status_code == 400 and error_of(r)["type"] == "AllocationOnAutoAddressSubnet"
    # Its own EUI-64 address a port may name.
    own = demo.network.create_port(network_id=net.id, mac_address="fa:16:3e:00:00:53",
                                   fixed_ips=[{"subnet_id": slaac.id, "ip_address": "fd00:52::f816:3eff:fe00:53"}])
    assert [f["ip_address"] for f in own.fixed_ips if f["subnet_id"] == slaac.id] == ["fd00:52::f816:3eff:fe00:53"]
    # Asking for an IPv4 address alone keeps the SLAAC one.
    assert [f["subnet_id"] for f in own.fixed_ips] == [slaac.id]
    kept = demo.network.update_port(own, fixed_ips=[{"subnet_id": net.sub.id}])
    assert {f["subnet_id"] for f in kept.fixed_ips} == {net.sub.id, slaac.id}


def test_security_groups_and_port_security(cloud: RunningCloud, demo: Any, net: Any) -> None:
    r = _post(cloud, {"network_id": net.id, "security_groups": ["5e4a8a64-cc1e-4f3b-9a6b-8a3d1a2f0c11"]})
    assert r.status_code == 404 and error_of(r)["type"] == "SecurityGroupNotFound"
    r = _post(cloud, {"network_id": net.id, "port_security_enabled": False,
                      "security_groups": [demo.network.create_port(network_id=net.id).security_group_ids[0]]})
    assert r.status_code == 400 and error_of(r)["type"] == "PortSecurityAndIPRequiredForSecurityGroups"
    r = _post(cloud, {"network_id": net.id, "port_security_enabled": False,
                      "allowed_address_pairs": [{"ip_address": "10.0.0.9"}]})
    assert r.status_code == 409 and error_of(r)["type"] == "AddressPairAndPortSecurityRequired"
    open_port = demo.network.create_port(network_id=net.id, port_security_enabled=False)
    assert open_port.security_group_ids == [] and open_port.is_port_security_enabled is False
    none = demo.network.create_port(network_id=net.id, security_groups=[])
    assert none.security_group_ids == []
    # Disabling port security while groups remain: 409; with the groups cleared: fine.
    guarded = demo.network.create_port(network_id=net.id)
    http = neutron(cloud)
    r = http.put(f"/v2.0/ports/{guarded.id}", json={"port": {"port_security_enabled": False}})
    assert r.status_code == 409 and error_of(r)["type"] == "PortSecurityPortHasSecurityGroup"
    r = http.put(f"/v2.0/ports/{guarded.id}", json={"port": {"port_security_enabled": False, "security_groups": []}})
    assert r.status_code == 200 and r.json()["port"]["security_groups"] == []
    # A network without port security makes ports without it.
    plain = demo.network.create_network(name="pt-nosec", port_security_enabled=False)
    try:
        p = demo.network.create_port(network_id=plain.id)
        assert p.is_port_security_enabled is False and p.security_group_ids == []
    finally:
        demo.network.delete_port(p.id)
        demo.network.delete_network(plain.id)


def test_address_pairs_and_dhcp_opts(cloud: RunningCloud, demo: Any, net: Any) -> None:
    port = demo.network.create_port(network_id=net.id, allowed_address_pairs=[
        {"ip_address": "10.60.0.0/24"}, {"ip_address": "10.50.0.200", "mac_address": "fa:16:3e:aa:bb:cc"}],
        extra_dhcp_opts=[{"opt_name": "bootfile-name", "opt_value": "pxelinux.0"},
                         {"opt_name": "tftp-server", "opt_value": "10.0.0.1", "ip_version": 4}])
    assert port.allowed_address_pairs == [{"ip_address": "10.50.0.200", "mac_address": "fa:16:3e:aa:bb:cc"},
                                          {"ip_address": "10.60.0.0/24", "mac_address": port.mac_address}]
    assert port.extra_dhcp_opts == [{"opt_name": "bootfile-name", "opt_value": "pxelinux.0", "ip_version": 4},
                                    {"opt_name": "tftp-server", "opt_value": "10.0.0.1", "ip_version": 4}]
    http = neutron(cloud)
    r = http.put(f"/v2.0/ports/{port.id}", json={"port": {"extra_dhcp_opts": [
        {"opt_name": "tftp-server", "opt_value": None}, {"opt_name": "server-ip-address", "opt_value": "10.0.0.2"}]}})
    assert r.status_code == 200
    assert [o["opt_name"] for o in r.json()["port"]["extra_dhcp_opts"]] == ["bootfile-name", "server-ip-address"]
    for opts in ([{"opt_name": "x"}], [{"opt_name": "", "opt_value": "v"}], [{"opt_name": "x", "opt_value": "v",
                                                                             "ip_version": 5}],
                 [{"opt_name": "x", "opt_value": "a\nb"}], [{"opt_name": "x" * 65, "opt_value": "v"}]):
        r = http.put(f"/v2.0/ports/{port.id}", json={"port": {"extra_dhcp_opts": opts}})
        assert r.status_code == 400, (opts, r.text)
    for pairs, kind in (([{"mac_address": "fa:16:3e:aa:bb:cc"}], "AllowedAddressPairsMissingIP"),
                        ([{"ip_address": "10.1.1.1"}, {"ip_address": "10.1.1.1"}], "DuplicateAddressPairInRequest"),
                        ([{"ip_address": f"10.1.1.{i}"} for i in range(11)], "AllowedAddressPairExhausted"),
                        ([{"ip_address": "nonsense"}], "HTTPBadRequest")):
        r = http.put(f"/v2.0/ports/{port.id}", json={"port": {"allowed_address_pairs": pairs}})
        assert r.status_code == 400 and error_of(r)["type"] == kind, r.text


def test_update_fixed_ips(cloud: RunningCloud, demo: Any, net: Any) -> None:
    port = demo.network.create_port(network_id=net.id, fixed_ips=[{"ip_address": "10.50.0.10"}])
    up = demo.network.update_port(port, fixed_ips=[{"ip_address": "10.50.0.10"}, {"ip_address": "10.50.0.11"}])
    assert [f["ip_address"] for f in up.fixed_ips] == ["10.50.0.10", "10.50.0.11"]
    up = demo.network.update_port(port, fixed_ips=[{"ip_address": "10.50.0.11"}])
    assert [f["ip_address"] for f in up.fixed_ips] == ["10.50.0.11"]
    # Released: another port may take it now.
    assert demo.network.create_port(network_id=net.id, fixed_ips=[{"ip_address": "10.50.0.10"}])
    up = demo.network.update_port(port, fixed_ips=[{"subnet_id": net.sub.id}])
    assert [f["ip_address"] for f in up.fixed_ips] == ["10.50.0.11"]  # a bare subnet keeps what is held there
    r = neutron(cloud).put(f"/v2.0/ports/{port.id}", json={"port": {"fixed_ips": [{"ip_address": "10.50.0.10"}]}})
    assert r.status_code == 409 and error_of(r)["type"] == "IpAddressAlreadyAllocated"
    assert [f["ip_address"] for f in demo.network.get_port(port.id).fixed_ips] == ["10.50.0.11"]
    up = demo.network.update_port(port, fixed_ips=[])
    assert up.fixed_ips == []


def test_binding_admin_only(cloud: RunningCloud, admin: Any, demo: Any, net: Any) -> None:
    r = _post(cloud, {"network_id": net.id, "binding:host_id": "node1"})
    assert r.status_code == 403
    port = admin.network.create_port(network_id=net.id, project_id=demo.current_project_id,
                                     binding_host_id="node1", binding_profile={"a": 1})
    assert port.binding_host_id == "node1" and port.binding_vif_type == "ovs"
    assert port.binding_vif_details == {"port_filter": True, "connectivity": "l2", "bridge_name": "br-int",
                                        "datapath_type": "system"}
    assert port.binding_profile == {"a": 1}
    seen = neutron(cloud).get(f"/v2.0/ports/{port.id}").json()["port"]
    assert "binding:host_id" not in seen and "binding:vif_type" not in seen and seen["binding:vnic_type"] == "normal"
    assert [p.id for p in admin.network.ports(binding_host_id="node1")] == [port.id]
    # A bound port's MAC cannot change; an unbound one's can (admins only), null regenerates it.
    http = neutron(cloud, "devstack-admin")
    r = http.put(f"/v2.0/ports/{port.id}", json={"port": {"mac_address": "fa:16:3e:01:02:03"}})
    assert r.status_code == 409 and error_of(r)["type"] == "PortBound"
    unbound = admin.network.update_port(port, binding_host_id="")
    assert unbound.binding_vif_type == "unbound" and unbound.binding_vif_details == {}
    r = http.put(f"/v2.0/ports/{port.id}", json={"port": {"mac_address": None}})
    assert r.status_code == 200 and r.json()["port"]["mac_address"] != port.mac_address
    assert r.json()["port"]["mac_address"].startswith("fa:16:3e:")
    r = neutron(cloud).put(f"/v2.0/ports/{port.id}", json={"port": {"mac_address": "fa:16:3e:01:02:03"}})
    assert r.status_code == 403


def test_filters(cloud: RunningCloud, demo: Any, net: Any) -> None:
    a = demo.network.create_port(network_id=net.id, fixed_ips=[{"ip_address": "10.50.0.31"}], device_id="dev-1",
                                 device_owner="compute:nova")
    b = demo.network.create_port(network_id=net.id, fixed_ips=[{"ip_address": "10.50.0.42"}])
    http = neutron(cloud)

    def ids(query: str) -> list[str]:
        r = http.get(f"/v2.0/ports?network_id={net.id}&{query}")
        assert r.status_code == 200, r.text
        return sorted(p["id"] for p in r.json()["ports"])

    assert ids("fixed_ips=ip_address%3D10.50.0.31") == [a.id]
    [dhcp] = list(demo.network.ports(network_id=net.id, device_owner="network:dhcp"))
    assert ids(f"fixed_ips=subnet_id%3D{net.sub.id}") == sorted([a.id, b.id, dhcp.id])
    assert ids("fixed_ips=ip_address_substr%3D.42") == [b.id]
    assert ids("device_id=dev-1") == [a.id]
    assert ids("device_owner=compute:nova") == [a.id]
    assert ids(f"mac_address={b.mac_address}") == [b.id]
    assert ids(f"security_groups={a.security_group_ids[0]}") == sorted([a.id, b.id])
    assert ids("security_groups=5e4a8a64-cc1e-4f3b-9a6b-8a3d1a2f0c11") == []
    assert http.get("/v2.0/ports?fixed_ips=nonsense").status_code == 400
    body = http.get(f"/v2.0/ports?network_id={net.id}&sort_key=mac_address&limit=1&fields=id").json()
    assert len(body["ports"]) == 1 and set(body["ports"][0]) == {"id"} and body["ports_links"]


def test_l3_ports_refused_by_port_api(cloud: RunningCloud, admin: Any, demo: Any, net: Any) -> None:
    """A router interface whose router exists is the router's to remove (only checkable where routers exist)."""
    r = neutron(cloud, "devstack-admin").get("/v2.0/routers")
    if r.status_code == 404:
        pytest.skip("no routers API on this branch")
    router = demo.network.create_router(name="pt-r")
    try:
        port = admin.network.create_port(network_id=net.id, device_owner="network:router_interface",
                                         device_id=router.id, project_id=demo.current_project_id)
        r = neutron(cloud).delete(f"/v2.0/ports/{port.id}")
        assert r.status_code == 409 and error_of(r)["type"] == "ServicePortInUse"
    finally:
        demo.network.delete_router(router.id)


def test_isolation_and_shared(cloud: RunningCloud, admin: Any, demo: Any, alt: Any, net: Any) -> None:
    port = demo.network.create_port(network_id=net.id)
    with pytest.raises(sdk_exc.NotFoundException):
        alt.network.get_port(port.id)
    assert port.id not in [p.id for p in alt.network.ports()]
    http = neutron(cloud, "devstack-alt")
    assert http.put(f"/v2.0/ports/{port.id}", json={"port": {"name": "x"}}).status_code == 404
    assert http.delete(f"/v2.0/ports/{port.id}").status_code == 404
    r = _post(cloud, {"network_id": net.id}, "devstack-alt")
    assert r.status_code == 404 and error_of(r)["type"] == "NetworkNotFound"
    shared = admin.network.create_network(name="pt-shared", shared=True)
    try:
        admin.network.create_subnet(network_id=shared.id, ip_version=4, cidr="10.51.0.0/24")
        mine = alt.network.create_port(network_id=shared.id)
        assert mine.project_id == alt.current_project_id and len(mine.security_group_ids) == 1
        # The network's owner sees ports others made on it.
        assert admin.network.get_port(mine.id).id == mine.id
        listed = neutron(cloud, "devstack-admin").get(f"/v2.0/ports?network_id={shared.id}").json()["ports"]
        # ... and the network's DHCP port.
        assert min((p["device_owner"], p["id"]) for p in listed) == ("", mine.id)
        assert sorted(p["device_owner"] for p in listed) == ["", "network:dhcp"]
        r = _post(cloud, {"network_id": shared.id, "fixed_ips": [{"ip_address": "10.51.0.9"}]}, "devstack-alt")
        assert r.status_code == 403  # only the network's owner picks addresses
        alt.network.delete_port(mine.id)
    finally:
        admin.network.delete_network(shared.id)


def test_external_network_not_for_ports_of_others(cloud: RunningCloud, admin: Any) -> None:
    ext = admin.network.create_network(name="pt-ext", is_router_external=True)
    try:
        r = _post(cloud, {"network_id": ext.id})
        assert r.status_code == 404 and error_of(r)["type"] == "HTTPNotFound"
    finally:
        admin.network.delete_network(ext.id)


def test_extensions_listed(demo: Any) -> None:
    aliases = {e.alias for e in demo.network.extensions()}
    assert {"allowed-address-pairs", "extra_dhcp_opt", "binding", "subnet-service-types",
            "ip-substring-filtering", "port-mac-address-regenerate"} <= aliases


def test_bulk_create_all_or_none(cloud: RunningCloud, demo: Any, net: Any) -> None:
    http = neutron(cloud)
    r = http.post("/v2.0/ports", json={"ports": [{"network_id": net.id, "name": "pt-b1"},
                                                 {"network_id": net.id, "name": "pt-b2"}]})
    assert r.status_code == 201, r.text
    made = r.json()["ports"]
    assert [p["name"] for p in made] == ["pt-b1", "pt-b2"]
    assert len({p["fixed_ips"][0]["ip_address"] for p in made}) == 2
    before = len(list(demo.network.ports(network_id=net.id)))
    r = http.post("/v2.0/ports", json={"ports": [{"network_id": net.id, "name": "pt-b3"},
                                                 {"network_id": net.id, "fixed_ips": [{"ip_address": "10.99.0.1"}]}]})
    assert r.status_code == 400 and error_of(r)["type"] == "InvalidIpForNetwork"
    assert len(list(demo.network.ports(network_id=net.id))) == before
    assert http.post("/v2.0/ports", json={"ports": []}).status_code == 400
