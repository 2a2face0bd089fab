"""The network agents of a running cloud: ports go ACTIVE when wired on their host, the fake data
plane converges to the database (after deletes, drift, and an agent killed and restarted), and
/v2.0/agents shows each agent alive while it reports, and not alive once it stops.

One cloud of this module's own on RabbitMQ (short heartbeat, reconcile and down times) with its
in-process agent for its one compute host (``HOST``, pinned), and an ``onestack agent network`` process for another host.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from onestack.network.agent.fake import drift, read, tap_name
from tests.functional.agent_process import AgentProcess, bus_cloud
from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.network_support import DOWN_TIME, agents_cloud_env, neutron

HOST = "net-host"  # the one compute host's name (the machine's unless configured)


@pytest.fixture(scope="module")
def ncloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    with bus_cloud(Path(tmp_path_factory.mktemp("network-agent")), agents_cloud_env(HOST)) as running:
        yield running


@pytest.fixture(scope="module")
def net(ncloud: RunningCloud) -> Iterator[httpx.Client]:
    with neutron(ncloud, "devstack-admin") as client:
        yield client


@pytest.fixture(scope="module")
def network_id(net: httpx.Client) -> str:
    resp = net.post("/v2.0/networks", json={"network": {"name": f"agent-net-{uuid.uuid4().hex[:6]}"}})
    assert resp.status_code == 201, resp.text
    nid: str = resp.json()["network"]["id"]
    resp = net.post("/v2.0/subnets", json={"subnet": {"network_id": nid, "ip_version": 4,
                                                      "cidr": "10.77.0.0/24", "name": "agent-subnet"}})
    assert resp.status_code == 201, resp.text
    return nid


def model_of(data_dir: Path, host: str) -> dict[str, Any]:
    """The host's fake data plane as one document (``agent/fake.py: read``)."""
    return read(datapath(data_dir, host))


def datapath(data_dir: Path, host: str) -> Path:
    return data_dir / "network" / host / "datapath"


def wired(data_dir: Path, host: str, port_id: str) -> bool:
    model = model_of(data_dir, host)
    name = tap_name(port_id)
    return name in model["taps"] and name in model["bridge"]


def create_port(net: httpx.Client, network_id: str, host: str) -> dict[str, Any]:
    resp = net.post("/v2.0/ports", json={"port": {"network_id": network_id, "binding:host_id": host,
                                                  "device_owner": "compute:nova", "device_id": str(uuid.uuid4())}})
    assert resp.status_code == 201, resp.text
    port: dict[str, Any] = resp.json()["port"]
    return port


def status(net: httpx.Client, port_id: str) -> str:
    resp = net.get(f"/v2.0/ports/{port_id}")
    assert resp.status_code == 200, resp.text
    return str(resp.json()["port"]["status"])


def agents_of(net: httpx.Client, host: str) -> dict[str, dict[str, Any]]:
    resp = net.get("/v2.0/agents", params={"host": host})
    assert resp.status_code == 200, resp.text
    return {a["agent_type"]: a for a in resp.json()["agents"]}


def test_a_bound_port_goes_active_and_its_tap_appears_then_goes_with_it(
        ncloud: RunningCloud, net: httpx.Client, network_id: str) -> None:
    port = create_port(net, network_id, HOST)
    assert port["status"] == "DOWN"
    wait_until(lambda: status(net, port["id"]) == "ACTIVE", timeout=30, what="the port ACTIVE")
    assert wired(ncloud.data_dir, HOST, port["id"])
    tap = model_of(ncloud.data_dir, HOST)["taps"][tap_name(port["id"])]
    assert tap["mac"] == port["mac_address"]
    assert tap["port"]["fixed_ips"] == [{"subnet_id": ip["subnet_id"], "ip_address": ip["ip_address"]}
                                        for ip in port["fixed_ips"]]
    assert net.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    wait_until(lambda: tap_name(port["id"]) not in model_of(ncloud.data_dir, HOST)["taps"], timeout=30,
               what="the tap removed")


def test_an_unbound_port_stays_down_and_unwired(ncloud: RunningCloud, net: httpx.Client, network_id: str) -> None:
    bound = create_port(net, network_id, HOST)
    unbound = create_port(net, network_id, "")
    wait_until(lambda: status(net, bound["id"]) == "ACTIVE", timeout=30, what="the bound port ACTIVE")
    assert status(net, unbound["id"]) == "DOWN"
    assert tap_name(unbound["id"]) not in model_of(ncloud.data_dir, HOST)["taps"]


def test_an_unbound_port_goes_down_and_off_the_host(ncloud: RunningCloud, net: httpx.Client, network_id: str) -> None:
    port = create_port(net, network_id, HOST)
    wait_until(lambda: status(net, port["id"]) == "ACTIVE", timeout=30, what="the port ACTIVE")
    resp = net.put(f"/v2.0/ports/{port['id']}", json={"port": {"binding:host_id": ""}})
    assert resp.status_code == 200, resp.text
    wait_until(lambda: status(net, port["id"]) == "DOWN", timeout=30, what="the unbound port DOWN")
    assert tap_name(port["id"]) not in model_of(ncloud.data_dir, HOST)["taps"]


def test_drift_on_the_host_is_repaired_by_the_next_pass(
        ncloud: RunningCloud, net: httpx.Client, network_id: str) -> None:
    port = create_port(net, network_id, HOST)
    wait_until(lambda: wired(ncloud.data_dir, HOST, port["id"]), timeout=30, what="the tap")
    path = datapath(ncloud.data_dir, HOST)
    plugs_before = model_of(ncloud.data_dir, HOST)["log"].count(f"plug_port {port['id']}")
    drift(path, "tap", port["id"])  # an operator removes the tap behind the agent's back
    wait_until(lambda: wired(ncloud.data_dir, HOST, port["id"]), timeout=30, what="the tap repaired")
    assert model_of(ncloud.data_dir, HOST)["log"].count(f"plug_port {port['id']}") > plugs_before


def test_the_dhcp_of_the_network_serves_the_ports_addresses(
        ncloud: RunningCloud, net: httpx.Client, network_id: str) -> None:
    port = create_port(net, network_id, HOST)
    ip = port["fixed_ips"][0]

    def leased() -> bool:
        for ns in model_of(ncloud.data_dir, HOST).get("namespaces", {}).values():
            for lease in ns.get("dhcp", {}).get(ip["subnet_id"], {}).get("leases", []):
                if lease["port_id"] == port["id"]:
                    return bool(lease["ip_address"] == ip["ip_address"]
                                and lease["mac_address"] == port["mac_address"])
        return False

    wait_until(leased, timeout=30, what="the port's DHCP lease")


def test_a_ports_filter_follows_its_security_group_rules(
        ncloud: RunningCloud, net: httpx.Client, network_id: str) -> None:
    resp = net.post("/v2.0/security-groups", json={"security_group": {"name": f"agent-sg-{uuid.uuid4().hex[:6]}"}})
    assert resp.status_code == 201, resp.text
    group = resp.json()["security_group"]
    resp = net.post("/v2.0/ports", json={"port": {"network_id": network_id, "binding:host_id": HOST,
                                                  "device_owner": "compute:nova", "device_id": str(uuid.uuid4()),
                                                  "security_groups": [group["id"]]}})
    assert resp.status_code == 201, resp.text
    port = resp.json()["port"]

    def rules() -> list[dict[str, Any]] | None:
        found = model_of(ncloud.data_dir, HOST).get("filters", {}).get(port["id"])
        return None if found is None else list(found["rules"])

    wait_until(lambda: rules() is not None, timeout=30, what="the port's filter")
    assert {(r["direction"], r["ethertype"]) for r in rules() or []} == {("egress", "IPv4"), ("egress", "IPv6")}
    resp = net.post("/v2.0/security-group-rules", json={"security_group_rule": {
        "security_group_id": group["id"], "direction": "ingress", "protocol": "tcp", "port_range_min": 22,
        "port_range_max": 22, "remote_ip_prefix": "192.0.2.0/24"}})
    assert resp.status_code == 201, resp.text
    wait_until(lambda: any(r["direction"] == "ingress" and r["port_range_min"] == 22
                           and r["remote_ip_prefix"] == "192.0.2.0/24" for r in rules() or []),
               timeout=30, what="the new rule in the port's filter")
    assert net.put(f"/v2.0/ports/{port['id']}", json={"port": {"port_security_enabled": False,
                                                                "security_groups": []}}).status_code == 200
    # Both at once: a pass that read the port before the update and its groups after it shows no
    # rules with port security still on, and the next pass converges.
    def unfiltered() -> bool:
        return rules() == [] and model_of(ncloud.data_dir, HOST)["filters"][port["id"]]["port_security"] is False

    wait_until(unfiltered, timeout=30, what="no rules and port security off")


def test_a_router_is_wired_on_the_routers_host(ncloud: RunningCloud, net: httpx.Client) -> None:
    public = net.get("/v2.0/networks", params={"name": "public"}).json()["networks"][0]
    resp = net.post("/v2.0/networks", json={"network": {"name": f"r-net-{uuid.uuid4().hex[:6]}"}})
    assert resp.status_code == 201, resp.text
    inner = resp.json()["network"]
    resp = net.post("/v2.0/subnets", json={"subnet": {"network_id": inner["id"], "ip_version": 4,
                                                      "cidr": "10.78.0.0/24"}})
    assert resp.status_code == 201, resp.text
    subnet = resp.json()["subnet"]
    resp = net.post("/v2.0/routers", json={"router": {"name": "agent-router",
                                                      "external_gateway_info": {"network_id": public["id"]}}})
    assert resp.status_code == 201, resp.text
    router = resp.json()["router"]
    resp = net.put(f"/v2.0/routers/{router['id']}/add_router_interface", json={"subnet_id": subnet["id"]})
    assert resp.status_code == 200, resp.text
    interface_port = resp.json()["port_id"]

    def namespace() -> dict[str, Any] | None:
        ns = model_of(ncloud.data_dir, HOST).get("namespaces", {}).get(f"qrouter-{router['id']}")
        found: dict[str, Any] | None = None if ns is None else ns.get("router")
        return found

    wait_until(lambda: namespace() is not None and namespace()["interfaces"], timeout=30,  # type: ignore[index]
               what="the router's namespace with its interface")
    wired_router = namespace()
    assert wired_router is not None
    assert [i["ip_address"] for i in wired_router["interfaces"]] == [subnet["gateway_ip"]]
    assert wired_router["gateway"]["network_id"] == public["id"] and wired_router["enable_snat"] is True
    wait_until(lambda: status(net, interface_port) == "ACTIVE", timeout=30, what="the interface port ACTIVE")

    # A floating IP on a port behind the router is NATed in its namespace.
    port = create_port(net, inner["id"], HOST)
    resp = net.post("/v2.0/floatingips", json={"floatingip": {"floating_network_id": public["id"],
                                                              "port_id": port["id"]}})
    assert resp.status_code == 201, resp.text
    fip = resp.json()["floatingip"]
    wait_until(lambda: [(f["floating_ip_address"], f["fixed_ip_address"])
                        for f in (namespace() or {}).get("floating_ips", [])]
               == [(fip["floating_ip_address"], port["fixed_ips"][0]["ip_address"])],
               timeout=30, what="the floating IP in the router's namespace")

    # Taken apart, it goes from the host.
    assert net.delete(f"/v2.0/floatingips/{fip['id']}").status_code == 204
    assert net.put(f"/v2.0/routers/{router['id']}/remove_router_interface",
                   json={"subnet_id": subnet["id"]}).status_code == 200
    assert net.delete(f"/v2.0/routers/{router['id']}").status_code == 204
    wait_until(lambda: f"qrouter-{router['id']}" not in model_of(ncloud.data_dir, HOST)["namespaces"],
               timeout=30, what="the router's namespace removed")


def test_agents_show_alive_for_the_host(net: httpx.Client) -> None:
    roles = wait_until(lambda: agents_of(net, HOST) or None, timeout=30, what=f"{HOST}'s agents")
    assert set(roles) == {"Open vSwitch agent", "DHCP agent", "L3 agent"}
    assert all(a["alive"] and a["admin_state_up"] for a in roles.values())
    assert roles["Open vSwitch agent"]["binary"] == "neutron-openvswitch-agent"


def test_an_agent_killed_and_restarted_converges_to_the_database(
        ncloud: RunningCloud, net: httpx.Client, network_id: str, tmp_path: Path) -> None:
    host = f"net-host-{uuid.uuid4().hex[:6]}"
    data_dir = tmp_path / "agent-data"
    data_dir.mkdir()
    agent = AgentProcess(ncloud, "network", host, data_dir)
    with agent.running():
        kept = create_port(net, network_id, host)
        gone = create_port(net, network_id, host)
        wait_until(lambda: all(status(net, p["id"]) == "ACTIVE" for p in (kept, gone)), timeout=60,
                   what="both ports ACTIVE through the agent process")
        assert wired(data_dir, host, kept["id"]) and wired(data_dir, host, gone["id"])
        roles = agents_of(net, host)
        assert set(roles) == {"Open vSwitch agent", "DHCP agent", "L3 agent"}
        assert all(a["alive"] for a in roles.values())

        agent.kill()
        # While it is dead: one port goes, another comes, and the host drifts.
        assert net.delete(f"/v2.0/ports/{gone['id']}").status_code == 204
        new = create_port(net, network_id, host)
        drift(datapath(data_dir, host), "tap", kept["id"])
        wait_until(lambda: not any(a["alive"] for a in agents_of(net, host).values()), timeout=DOWN_TIME + 30,
                   what="the killed agent shown not alive")
        assert status(net, new["id"]) == "DOWN"

        agent.start()
        wait_until(lambda: wired(data_dir, host, kept["id"]) and wired(data_dir, host, new["id"])
                   and tap_name(gone["id"]) not in model_of(data_dir, host)["taps"], timeout=60,
                   what="the restarted agent's host converged")
        wait_until(lambda: status(net, new["id"]) == "ACTIVE", timeout=30, what="the new port ACTIVE")
        wait_until(lambda: all(a["alive"] for a in agents_of(net, host).values()), timeout=30,
                   what="the agent alive again")


def _dhcp_ports(net: httpx.Client, network_id: str) -> dict[str, dict[str, Any]]:
    """The network's DHCP ports by their host."""
    found = net.get("/v2.0/ports", params={"network_id": network_id, "device_owner": "network:dhcp"}).json()["ports"]
    return {p["binding:host_id"]: p for p in found}


def _hosts(net: httpx.Client, path: str) -> list[str]:
    return sorted(a["host"] for a in net.get(path).json()["agents"])


def test_work_spreads_over_two_hosts_and_fails_over_when_one_dies(
        ncloud: RunningCloud, net: httpx.Client, tmp_path: Path) -> None:
    """A second host's agents take the new router (fewest routers) and a share of each new
    network's DHCP (``dhcp_agents_per_network`` 2 here: a port on each host, each with its own
    address); an admin moves the router; the host killed, its router and DHCP move to HOST."""
    other = f"net-host-{uuid.uuid4().hex[:6]}"
    data_dir = tmp_path / "agent-data"
    data_dir.mkdir()
    agent = AgentProcess(ncloud, "network", other, data_dir)
    with agent.running():
        def all_alive() -> dict[str, dict[str, Any]] | None:
            roles = agents_of(net, other)
            return roles if len(roles) == 3 and all(a["alive"] for a in roles.values()) else None

        there = wait_until(all_alive, timeout=60, what="the other host's agents alive")
        here = agents_of(net, HOST)
        # Earlier tests' agents gone silent first: only HOST and the other host serve.
        wait_until(lambda: {a["host"] for a in net.get("/v2.0/agents").json()["agents"] if a["alive"]}
                   == {HOST, other}, timeout=DOWN_TIME + 30, what="only HOST and the other host alive")
        public = net.get("/v2.0/networks", params={"name": "public"}).json()["networks"][0]

        def router(name: str) -> dict[str, Any]:
            resp = net.post("/v2.0/routers", json={"router": {
                "name": f"sched-{name}", "external_gateway_info": {"network_id": public["id"]}}})
            assert resp.status_code == 201, resp.text
            made: dict[str, Any] = resp.json()["router"]
            return made

        # HOST runs router1 (the bootstrap's): the least loaded L3 agent is the other host's.
        moved = router("moved")
        assert _hosts(net, f"/v2.0/routers/{moved['id']}/l3-agents") == [other]
        ns = f"qrouter-{moved['id']}"
        wait_until(lambda: ns in model_of(data_dir, other)["namespaces"], timeout=30, what="router on the other host")
        assert ns not in model_of(ncloud.data_dir, HOST)["namespaces"]

        # An admin moves it: Neutron's 409 while it is hosted, then remove and add.
        l3_here, l3_there = here["L3 agent"]["id"], there["L3 agent"]["id"]
        resp = net.post(f"/v2.0/agents/{l3_here}/l3-routers", json={"router_id": moved["id"]})
        assert resp.status_code == 409 and resp.json()["NeutronError"]["type"] == "RouterHostedByL3Agent"
        assert net.delete(f"/v2.0/agents/{l3_there}/l3-routers/{moved['id']}").status_code == 204
        assert net.post(f"/v2.0/agents/{l3_here}/l3-routers", json={"router_id": moved["id"]}).status_code == 201
        wait_until(lambda: ns in model_of(ncloud.data_dir, HOST)["namespaces"]
                   and ns not in model_of(data_dir, other)["namespaces"], timeout=30, what="the router moved to HOST")
        # The next router goes to the other host again (none there now).
        failing = router("failed-over")
        assert _hosts(net, f"/v2.0/routers/{failing['id']}/l3-agents") == [other]
        failing_ns = f"qrouter-{failing['id']}"
        wait_until(lambda: failing_ns in model_of(data_dir, other)["namespaces"], timeout=30,
                   what="the second router on the other host")
        made = [moved, failing]

        resp = net.post("/v2.0/networks", json={"network": {"name": f"sched-net-{uuid.uuid4().hex[:6]}"}})
        network = resp.json()["network"]
        resp = net.post("/v2.0/subnets", json={"subnet": {"network_id": network["id"], "ip_version": 4,
                                                          "cidr": "10.79.0.0/24"}})
        assert resp.status_code == 201, resp.text
        assert _hosts(net, f"/v2.0/networks/{network['id']}/dhcp-agents") == sorted([HOST, other])
        ports = _dhcp_ports(net, network["id"])
        assert set(ports) == {HOST, other}
        assert ports[HOST]["fixed_ips"][0]["ip_address"] != ports[other]["fixed_ips"][0]["ip_address"]
        assert ports[HOST]["device_id"] != ports[other]["device_id"]
        wait_until(lambda: wired(ncloud.data_dir, HOST, ports[HOST]["id"])
                   and wired(data_dir, other, ports[other]["id"]), timeout=30, what="a DHCP port wired on each host")

        # The other host dies: its router and its DHCP binding move to HOST (which serves the
        # network already, so its port there goes).
        agent.kill()
        wait_until(lambda: _hosts(net, f"/v2.0/routers/{failing['id']}/l3-agents") == [HOST], timeout=DOWN_TIME + 30,
                   what="the dead host's router failed over to HOST")
        wait_until(lambda: failing_ns in model_of(ncloud.data_dir, HOST)["namespaces"], timeout=30,
                   what="the failed-over router on HOST")
        wait_until(lambda: set(_dhcp_ports(net, network["id"])) == {HOST}, timeout=30,
                   what="the dead host's DHCP port gone")
        assert _hosts(net, f"/v2.0/networks/{network['id']}/dhcp-agents") == [HOST]
        assert _dhcp_ports(net, network["id"])[HOST]["id"] == ports[HOST]["id"]

        for gone in made:
            assert net.delete(f"/v2.0/routers/{gone['id']}").status_code == 204
        assert net.delete(f"/v2.0/networks/{network['id']}").status_code == 204
