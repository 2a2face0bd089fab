"""Floating IPs through openstacksdk, the CLI and raw HTTP: allocation on ``public``, the
association rules (reachability, one floating IP per fixed IP, several IPv4 addresses), status,
``port_details``, what a port's deletion and a router's gateway do, pools, filters, isolation."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from openstack import exceptions as sdk_exc

from tests.functional.cloud import RunningCloud
from tests.functional.l3_support import public_network, topology
from tests.functional.network_support import error_of, neutron

PUBLIC = ipaddress.ip_network("172.24.4.0/24")


def test_create_through_the_cli(cloud: RunningCloud, demo: Any) -> None:
    fip = cloud.cli("floating", "ip", "create", "public", cloud="devstack")
    try:
        assert ipaddress.ip_address(fip["floating_ip_address"]) in PUBLIC
        assert fip["status"] == "DOWN" and fip["port_id"] is None and fip["router_id"] is None
        assert fip["project_id"] == demo.current_project_id
        shown = demo.network.get_ip(fip["id"])
        assert shown.floating_network_id == public_network(demo).id
        assert shown.port_details is None and shown.qos_policy_id is None
        assert shown.dns_name == "" and shown.dns_domain == ""
    finally:
        cloud.cli("floating", "ip", "delete", fip["id"], cloud="devstack", json_out=False)
    with pytest.raises(sdk_exc.NotFoundException):
        demo.network.get_ip(fip["id"])


def test_floating_port_is_network_owned_and_freed(admin: Any, demo: Any) -> None:
    fip = demo.network.create_ip(floating_network_id=public_network(demo).id)
    [port] = list(admin.network.ports(device_id=fip.id))
    assert port.device_owner == "network:floatingip" and port.project_id == ""
    assert port.fixed_ips[0]["ip_address"] == fip.floating_ip_address
    demo.network.delete_ip(fip.id)
    assert list(admin.network.ports(device_id=fip.id)) == []


def test_create_rules(cloud: RunningCloud, admin: Any, demo: Any) -> None:
    http = neutron(cloud)
    net = demo.network.create_network(name="fip-notext")
    try:
        r = http.post("/v2.0/floatingips", json={"floatingip": {"floating_network_id": net.id}})
        assert r.status_code == 400 and error_of(r)["type"] == "BadRequest"
        assert f"Network {net.id} is not a valid external network" in error_of(r)["message"]
    finally:
        demo.network.delete_network(net.id)
    public = public_network(demo)
    r = http.post("/v2.0/floatingips", json={"floatingip": {"floating_network_id": public.id,
                                                           "floating_ip_address": "172.24.4.150"}})
    assert r.status_code == 403 and error_of(r)["type"] == "PolicyNotAuthorized"
    r = http.post("/v2.0/floatingips", json={"floatingip": {}})
    assert r.status_code == 400 and "floating_network_id" in error_of(r)["message"]
    r = http.post("/v2.0/floatingips", json={"floatingip": {"floating_network_id": "0b0e1d4c-95a8-4d6d-8d1b-5c0d5d1b0a11"}})
    assert r.status_code == 404 and error_of(r)["type"] == "NetworkNotFound"
    fip = admin.network.create_ip(floating_network_id=public.id, floating_ip_address="172.24.4.150",
                                  project_id=demo.current_project_id)
    try:
        assert fip.floating_ip_address == "172.24.4.150" and fip.project_id == demo.current_project_id
        r = neutron(cloud, "devstack-admin").post("/v2.0/floatingips", json={"floatingip": {
            "floating_network_id": public.id, "floating_ip_address": "172.24.4.150"}})
        assert r.status_code == 409, r.text
    finally:
        admin.network.delete_ip(fip.id)


def test_associate_and_disassociate(cloud: RunningCloud, demo: Any) -> None:
    public = public_network(demo)
    with topology(demo, "fip-assoc", "10.60.1.0/24") as topo:
        port = topo.port(name="fip-vm-port")
        fip = topo.fip(public)
        assoc = demo.network.update_ip(fip, port_id=port.id)
        assert assoc.port_id == port.id and assoc.router_id == topo.router.id
        assert assoc.fixed_ip_address == port.fixed_ips[0]["ip_address"]
        assert assoc.status == "ACTIVE"
        details = assoc.port_details
        assert details["name"] == "fip-vm-port" and details["network_id"] == topo.network.id
        assert details["mac_address"] == port.mac_address
        assert set(details) == {"name", "network_id", "mac_address", "admin_state_up", "status", "device_id",
                                "device_owner"}
        found = [f.id for f in demo.network.ips(port_id=port.id)]
        assert found == [fip.id]
        # One floating IP per fixed IP on one external network.
        second = topo.fip(public)
        r = neutron(cloud).put(f"/v2.0/floatingips/{second.id}", json={"floatingip": {"port_id": port.id}})
        assert r.status_code == 409 and error_of(r)["type"] == "FloatingIPPortAlreadyAssociated"
        # The router's gateway and interface are needed while the floating IP is associated.
        r = neutron(cloud).put(f"/v2.0/routers/{topo.router.id}", json={"router": {"external_gateway_info": {}}})
        assert r.status_code == 409 and error_of(r)["type"] == "RouterExternalGatewayInUseByFloatingIp"
        r = neutron(cloud).put(f"/v2.0/routers/{topo.router.id}/remove_router_interface",
                               json={"subnet_id": topo.subnet.id})
        assert r.status_code == 409 and error_of(r)["type"] == "RouterInterfaceInUseByFloatingIP"
        r = neutron(cloud).put(f"/v2.0/floatingips/{fip.id}", json={"floatingip": {"port_id": None}})
        free = r.json()["floatingip"]
        assert free["port_id"] is None and free["fixed_ip_address"] is None and free["router_id"] is None
        assert free["status"] == "DOWN" and free["port_details"] is None


def test_associate_at_create_and_unreachable_port(cloud: RunningCloud, demo: Any) -> None:
    public = public_network(demo)
    with topology(demo, "fip-unrouted", "10.60.2.0/24", routed=False) as topo:
        port = topo.port()
        r = neutron(cloud).post("/v2.0/floatingips", json={"floatingip": {
            "floating_network_id": public.id, "port_id": port.id}})
        assert r.status_code == 404 and error_of(r)["type"] == "ExternalGatewayForFloatingIPNotFound"
        assert [f for f in demo.network.ips(floating_network_id=public.id, port_id=port.id)] == []
    with topology(demo, "fip-atcreate", "10.60.3.0/24") as topo:
        port = topo.port()
        fip = topo.fip(public, port_id=port.id)
        assert fip.port_id == port.id and fip.status == "ACTIVE" and fip.router_id == topo.router.id


def test_port_with_two_ipv4_addresses_needs_fixed_ip(cloud: RunningCloud, demo: Any) -> None:
    public = public_network(demo)
    with topology(demo, "fip-two", "10.60.4.0/24") as topo:
        port = topo.port(fixed_ips=[{"subnet_id": topo.subnet.id, "ip_address": "10.60.4.20"},
                                    {"subnet_id": topo.subnet.id, "ip_address": "10.60.4.21"}])
        fip = topo.fip(public)
        r = neutron(cloud).put(f"/v2.0/floatingips/{fip.id}", json={"floatingip": {"port_id": port.id}})
        assert r.status_code == 400 and "has multiple fixed IPv4 addresses" in error_of(r)["message"]
        r = neutron(cloud).put(f"/v2.0/floatingips/{fip.id}", json={"floatingip": {
            "port_id": port.id, "fixed_ip_address": "10.60.4.99"}})
        assert r.status_code == 400 and "does not have fixed ip" in error_of(r)["message"]
        done = demo.network.update_ip(fip, port_id=port.id, fixed_ip_address="10.60.4.21")
        assert done.fixed_ip_address == "10.60.4.21"
        # The other address may take a floating IP of its own.
        other = topo.fip(public, port_id=port.id, fixed_ip_address="10.60.4.20")
        assert other.fixed_ip_address == "10.60.4.20"
        r = neutron(cloud).put(f"/v2.0/floatingips/{fip.id}", json={"floatingip": {"fixed_ip_address": "10.60.4.21"}})
        assert r.status_code == 400
        assert "fixed_ip_address cannot be specified without a port_id" in error_of(r)["message"]


def test_deleting_the_port_disassociates(demo: Any) -> None:
    public = public_network(demo)
    with topology(demo, "fip-portgone", "10.60.5.0/24") as topo:
        port = topo.port()
        fip = topo.fip(public, port_id=port.id)
        demo.network.delete_port(port.id)
        after = demo.network.get_ip(fip.id)
        assert after.port_id is None and after.fixed_ip_address is None and after.router_id is None
        assert after.status == "DOWN"


def test_other_projects(cloud: RunningCloud, demo: Any, alt: Any) -> None:
    public = public_network(demo)
    with topology(demo, "fip-iso", "10.60.6.0/24") as topo:
        port = topo.port()
        fip = topo.fip(public)
        with pytest.raises(sdk_exc.NotFoundException):
            alt.network.get_ip(fip.id)
        assert fip.id not in [f.id for f in alt.network.ips()]
        mine = alt.network.create_ip(floating_network_id=public.id)
        try:
            r = neutron(cloud, "devstack-alt").put(f"/v2.0/floatingips/{mine.id}",
                                                   json={"floatingip": {"port_id": port.id}})
            assert r.status_code == 404 and error_of(r)["type"] == "PortNotFound"
        finally:
            alt.network.delete_ip(mine.id)
        with pytest.raises(sdk_exc.NotFoundException):
            alt.network.delete_ip(fip.id, ignore_missing=False)


def test_pools_and_filters(cloud: RunningCloud, admin: Any, demo: Any) -> None:
    public = public_network(demo)
    pools = neutron(cloud).get("/v2.0/floatingip_pools").json()["floatingip_pools"]
    [pool] = [p for p in pools if p["network_id"] == public.id]
    assert pool["subnet_name"] == "public-subnet" and pool["cidr"] == "172.24.4.0/24"
    assert pool["project_id"] == demo.current_project_id
    made = [demo.network.create_ip(floating_network_id=public.id, description=f"fip-filter-{i}") for i in range(2)]
    try:
        http = neutron(cloud)
        address = made[1].floating_ip_address
        found = http.get(f"/v2.0/floatingips?floating_ip_address={address}").json()["floatingips"]
        assert [f["id"] for f in found] == [made[1].id]
        down = http.get("/v2.0/floatingips?status=DOWN&description=fip-filter-0").json()["floatingips"]
        assert [f["id"] for f in down] == [made[0].id]
        assert http.get("/v2.0/floatingips?bogus=1").status_code == 400
    finally:
        for f in made:
            demo.network.delete_ip(f.id)


def test_extensions_listed(demo: Any) -> None:
    aliases = {e.alias for e in demo.network.extensions()}
    assert {"fip-port-details", "floatingip-pools", "floating-ip-port-forwarding"} <= aliases


def test_the_associated_fixed_ip_stays(cloud: RunningCloud, demo: Any) -> None:
    public = public_network(demo)
    with topology(demo, "fip-keepip", "10.60.7.0/24") as topo:
        port = topo.port(fixed_ips=[{"subnet_id": topo.subnet.id, "ip_address": "10.60.7.30"}])
        topo.fip(public, port_id=port.id)
        r = neutron(cloud).put(f"/v2.0/ports/{port.id}", json={"port": {"fixed_ips": [
            {"subnet_id": topo.subnet.id, "ip_address": "10.60.7.31"}]}})
        assert r.status_code == 400 and "has been associated to a floating ip" in error_of(r)["message"]
        assert demo.network.get_port(port.id).fixed_ips[0]["ip_address"] == "10.60.7.30"
        # Adding an address keeps the associated one: allowed.
        r = neutron(cloud).put(f"/v2.0/ports/{port.id}", json={"port": {"fixed_ips": [
            {"subnet_id": topo.subnet.id, "ip_address": "10.60.7.30"},
            {"subnet_id": topo.subnet.id, "ip_address": "10.60.7.32"}]}})
        assert r.status_code == 200, r.text

