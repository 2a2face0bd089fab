"""DHCP ports as Neutron's DHCP agent keeps them: one ``network:dhcp`` port per network with a DHCP
subnet, the first free address of each such subnet taken when the subnet is made, bound to the DHCP
agent's host with Neutron's device id and ACTIVE once wired; re-addressed when subnets come, go or
change ``enable_dhcp``, gone with the last one, re-made by the agent when a user deletes it."""

from __future__ import annotations

import uuid
from typing import Any

from tests.functional.cloud import RunningCloud, wait_until

DHCP = "network:dhcp"


def _dhcp_ports(conn: Any, network_id: str) -> list[Any]:
    return list(conn.network.ports(network_id=network_id, device_owner=DHCP))


def _dhcp_host(admin: Any) -> str:
    """The DHCP agent's host (the first alive one by name: dhcp_agents_per_network = 1)."""
    hosts: list[str] = sorted(a.host for a in admin.network.agents(agent_type="DHCP agent") if a.is_alive)
    assert hosts
    return hosts[0]


def _wired(admin: Any, network_id: str) -> Any:
    """The network's one DHCP port once the agent has bound and wired it."""
    host = _dhcp_host(admin)
    want = f"dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, host.split('.')[0])}-{network_id}"

    def ready() -> Any:
        found = _dhcp_ports(admin, network_id)
        if len(found) == 1 and found[0].status == "ACTIVE" and found[0].device_id == want:
            return found[0]
        return None

    port = wait_until(ready, timeout=30, what="the DHCP port wired")
    assert port.binding_host_id == host
    return port


def test_a_dhcp_subnet_gets_the_networks_dhcp_port(admin: Any, demo: Any) -> None:
    net = demo.network.create_network(name=f"dhcp-{uuid.uuid4().hex[:6]}")
    sub = demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.81.0.0/28")
    # Made with the subnet, in its project, on the first free address of the pool.
    made = _dhcp_ports(demo, net.id)
    assert len(made) == 1 and made[0].project_id == demo.current_project_id
    assert made[0].fixed_ips == [{"subnet_id": sub.id, "ip_address": "10.81.0.2"}]
    assert made[0].security_group_ids == []
    port = _wired(admin, net.id)
    assert port.id == made[0].id
    # An ordinary port takes the next address; IP availability counts both.
    other = demo.network.create_port(network_id=net.id)
    assert other.fixed_ips[0]["ip_address"] == "10.81.0.3"
    usage = admin.network.get_network_ip_availability(net.id)
    assert usage.used_ips == 2
    demo.network.delete_port(other)

    # A subnet without DHCP adds nothing; a DHCP one adds its first address (an IPv6 one's gateway is
    # its network address, so ::1); disabling DHCP takes it back.
    no_dhcp = demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.81.1.0/28", is_dhcp_enabled=False)
    v6 = demo.network.create_subnet(network_id=net.id, ip_version=6, cidr="fd00:81::/64",
                                    ipv6_address_mode="dhcpv6-stateful", ipv6_ra_mode="dhcpv6-stateful")
    port = demo.network.get_port(port.id)
    assert sorted((f["subnet_id"], f["ip_address"]) for f in port.fixed_ips) == sorted(
        [(sub.id, "10.81.0.2"), (v6.id, "fd00:81::1")])
    demo.network.update_subnet(sub, is_dhcp_enabled=False)
    assert [f["subnet_id"] for f in demo.network.get_port(port.id).fixed_ips] == [v6.id]
    demo.network.update_subnet(no_dhcp, is_dhcp_enabled=True)
    assert sorted(f["ip_address"] for f in demo.network.get_port(port.id).fixed_ips) == ["10.81.1.2", "fd00:81::1"]

    # The last DHCP subnet gone, the port goes; then the network deletes as an empty one.
    demo.network.delete_subnet(v6)
    demo.network.update_subnet(no_dhcp, is_dhcp_enabled=False)
    assert _dhcp_ports(demo, net.id) == []
    demo.network.update_subnet(no_dhcp, is_dhcp_enabled=True)
    assert len(_dhcp_ports(demo, net.id)) == 1
    demo.network.delete_network(net)  # only its DHCP port left: it goes with the network
    assert _dhcp_ports(admin, net.id) == []


def test_the_agent_remakes_a_deleted_dhcp_port(admin: Any, demo: Any, cloud: RunningCloud) -> None:
    net = demo.network.create_network(name=f"dhcp-{uuid.uuid4().hex[:6]}")
    demo.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.82.0.0/28")
    first = _wired(admin, net.id)
    # The network's owner may delete it (Neutron's delete_port rule); its agent makes another.
    cloud.cli("port", "delete", first.id, cloud="devstack", json_out=False)
    port = _wired(admin, net.id)
    assert port.id != first.id and port.fixed_ips[0]["ip_address"] == "10.82.0.2"
    listed = cloud.cli("port", "list", "--network", net.id, "--device-owner", DHCP, "--long")
    assert [p["ID"] for p in listed] == [port.id]


def test_bootstrapped_networks_have_their_dhcp_ports(admin: Any, demo: Any) -> None:
    """Made before any agent reported (reserved), then claimed and wired by the DHCP host's agent."""
    private = next(iter(demo.network.networks(name="private")))
    port = _wired(admin, private.id)
    subnets = {s.name: s for s in demo.network.subnets(network_id=private.id)}
    by_subnet = {f["subnet_id"]: f["ip_address"] for f in port.fixed_ips}
    assert by_subnet[subnets["private-subnet"].id] == "10.0.0.2"
    assert by_subnet[subnets["ipv6-private-subnet"].id].startswith("2001:db8:8000:0:")  # its EUI-64 (SLAAC)
    public = next(iter(admin.network.networks(name="public")))
    assert _dhcp_ports(admin, public.id) == []  # no DHCP on public's subnets
