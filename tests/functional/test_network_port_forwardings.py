"""Port forwardings of a floating IP through openstacksdk and raw HTTP: create, show, list,
update, delete; port ranges; collisions; the rule that a floating IP is either associated with a
port or forwards ports, never both."""

from __future__ import annotations

from typing import Any

import pytest
from openstack import exceptions as sdk_exc

from tests.functional.cloud import RunningCloud
from tests.functional.l3_support import public_network, topology
from tests.functional.network_support import error_of, neutron


def test_crud(cloud: RunningCloud, demo: Any) -> None:
    public = public_network(demo)
    with topology(demo, "pf-crud", "10.70.1.0/24") as topo:
        port = topo.port()
        fip = topo.fip(public)
        pf = demo.network.create_port_forwarding(floatingip_id=fip.id, internal_port_id=port.id,
                                                 internal_ip_address=port.fixed_ips[0]["ip_address"],
                                                 internal_port=22, external_port=2222, protocol="tcp",
                                                 description="ssh")
        assert pf.internal_port == 22 and pf.external_port == 2222 and pf.protocol == "tcp"
        assert pf.internal_ip_address == port.fixed_ips[0]["ip_address"] and pf.description == "ssh"
        shown = demo.network.get_port_forwarding(pf.id, fip.id)
        assert shown.internal_port_id == port.id
        assert [p.id for p in demo.network.port_forwardings(fip.id)] == [pf.id]
        # The floating IP is now bound to the router that reaches the port, and lists the forwarding.
        bound = demo.network.get_ip(fip.id)
        assert bound.router_id == topo.router.id and bound.port_id is None
        assert [p["id"] for p in bound.port_forwardings] == [pf.id]
        updated = demo.network.update_port_forwarding(pf.id, fip.id, external_port=2022)
        assert updated.external_port == 2022
        body = neutron(cloud).get(f"/v2.0/floatingips/{fip.id}/port_forwardings/{pf.id}").json()["port_forwarding"]
        assert body["external_port_range"] == "2022:2022" and body["internal_port_range"] == "22:22"
        # A floating IP that forwards ports is not associated with a port, nor deleted.
        r = neutron(cloud).put(f"/v2.0/floatingips/{fip.id}", json={"floatingip": {"port_id": port.id}})
        assert r.status_code == 409 and error_of(r)["type"] == "FipInUseByPortForwarding"
        r = neutron(cloud).delete(f"/v2.0/floatingips/{fip.id}")
        assert r.status_code == 409 and error_of(r)["type"] == "FipInUseByPortForwarding"
        demo.network.delete_port_forwarding(pf.id, fip.id)
        with pytest.raises(sdk_exc.NotFoundException):
            demo.network.get_port_forwarding(pf.id, fip.id)
        assert demo.network.get_ip(fip.id).router_id is None


def test_rules(cloud: RunningCloud, demo: Any, alt: Any) -> None:
    public = public_network(demo)
    http = neutron(cloud)
    with topology(demo, "pf-rules", "10.70.2.0/24") as topo:
        port = topo.port()
        ip = port.fixed_ips[0]["ip_address"]
        fip = topo.fip(public)
        url = f"/v2.0/floatingips/{fip.id}/port_forwardings"
        base = {"internal_port_id": port.id, "internal_ip_address": ip, "protocol": "tcp"}
        r = http.post(url, json={"port_forwarding": {**base, "internal_port": 80, "external_port": 8080}})
        assert r.status_code == 201, r.text
        # The same external port again, and a range overlapping it.
        r = http.post(url, json={"port_forwarding": {**base, "internal_port": 81, "external_port": 8080}})
        assert r.status_code == 400 and "port collision" in error_of(r)["message"]
        r = http.post(url, json={"port_forwarding": {**base, "internal_port_range": "100:110",
                                                     "external_port_range": "8075:8085"}})
        assert r.status_code == 400 and "port collision" in error_of(r)["message"]
        # Ranges: N-N or 1-N.
        r = http.post(url, json={"port_forwarding": {**base, "internal_port_range": "100:105",
                                                     "external_port_range": "9000:9010"}})
        assert r.status_code == 400 and "must be N-N or 1-N" in error_of(r)["message"]
        r = http.post(url, json={"port_forwarding": {**base, "internal_port_range": "100:110",
                                                     "external_port_range": "9000:9010"}})
        assert r.status_code == 201 and r.json()["port_forwarding"]["external_port"] is None
        # The same protocol udp is another socket.
        r = http.post(url, json={"port_forwarding": {**base, "protocol": "udp", "internal_port": 80,
                                                     "external_port": 8080}})
        assert r.status_code == 201, r.text
        for body, status in (({**base, "internal_port": 1, "external_port": 70000}, 400),
                             ({**base, "protocol": "icmp", "internal_port": 1, "external_port": 7}, 400),
                             ({**base, "internal_ip_address": "10.70.2.250", "internal_port": 1,
                               "external_port": 7}, 400)):
            r = http.post(url, json={"port_forwarding": body})
            assert r.status_code == status, r.text
        # A port already associated with a floating IP takes no forwarding.
        bound = topo.port()
        topo.fip(public, port_id=bound.id)
        r = http.post(url, json={"port_forwarding": {"internal_port_id": bound.id, "protocol": "tcp",
                                                     "internal_port": 22, "external_port": 22}})
        assert r.status_code == 409 and error_of(r)["type"] == "PortHasBindingFloatingIP"
        # Another project sees neither the floating IP nor its forwardings.
        r = neutron(cloud, "devstack-alt").get(url)
        assert r.status_code == 404 and error_of(r)["type"] == "FloatingIPNotFound"
        for pf in http.get(url).json()["port_forwardings"]:
            assert http.delete(f"{url}/{pf['id']}").status_code == 204


def test_associated_floating_ip_takes_no_forwarding(cloud: RunningCloud, demo: Any) -> None:
    public = public_network(demo)
    with topology(demo, "pf-assoc", "10.70.3.0/24") as topo:
        port = topo.port()
        other = topo.port()
        fip = topo.fip(public, port_id=port.id)
        r = neutron(cloud).post(f"/v2.0/floatingips/{fip.id}/port_forwardings", json={"port_forwarding": {
            "internal_port_id": other.id, "protocol": "tcp", "internal_port": 22, "external_port": 22}})
        assert r.status_code == 409 and error_of(r)["type"] == "FloatingIPPortAlreadyAssociated"


def test_through_the_cli(cloud: RunningCloud, demo: Any) -> None:
    public = public_network(demo)
    with topology(demo, "pf-cli", "10.70.4.0/24") as topo:
        port = topo.port()
        ip = port.fixed_ips[0]["ip_address"]
        fip = topo.fip(public)
        made = cloud.cli("floating", "ip", "port", "forwarding", "create", "--internal-ip-address", ip,
                         "--port", port.id, "--internal-protocol-port", "80", "--external-protocol-port", "8080",
                         "--protocol", "tcp", fip.id, cloud="devstack")
        assert made["internal_port"] == 80 and made["external_port"] == 8080
        listed = cloud.cli("floating", "ip", "port", "forwarding", "list", fip.id, cloud="devstack")
        assert [p["ID"] for p in listed] == [made["id"]]
        r = neutron(cloud).get(f"/v2.0/floatingips/{fip.id}/port_forwardings?internal_port=80")
        assert r.status_code == 400 and error_of(r)["type"] == "PortForwardingNotSupportFilterField"
        cloud.cli("floating", "ip", "port", "forwarding", "delete", fip.id, made["id"], cloud="devstack",
                  json_out=False)
        assert cloud.cli("floating", "ip", "port", "forwarding", "list", fip.id, cloud="devstack") == []


def test_forwardings_follow_the_internal_port(cloud: RunningCloud, demo: Any) -> None:
    public = public_network(demo)
    with topology(demo, "pf-follow", "10.70.5.0/24") as topo:
        port = topo.port(fixed_ips=[{"subnet_id": topo.subnet.id, "ip_address": "10.70.5.40"}])
        fip = topo.fip(public)
        demo.network.create_port_forwarding(floatingip_id=fip.id, internal_port_id=port.id, internal_port=22,
                                            external_port=2201, protocol="tcp")
        # The port's address changes: the forwarding to the old one goes, and the floating IP is free.
        demo.network.update_port(port, fixed_ips=[{"subnet_id": topo.subnet.id, "ip_address": "10.70.5.41"}])
        assert list(demo.network.port_forwardings(fip.id)) == []
        assert demo.network.get_ip(fip.id).router_id is None
        demo.network.create_port_forwarding(floatingip_id=fip.id, internal_port_id=port.id, internal_port=22,
                                            external_port=2201, protocol="tcp")
        demo.network.delete_port(port.id)
        assert list(demo.network.port_forwardings(fip.id)) == []
        assert demo.network.get_ip(fip.id).router_id is None
