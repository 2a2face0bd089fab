"""The server's side of the agents over a real (SQLite) database: desired state per host, agent rows
and router hosting, port status, and the nudges a write fans out to the agents."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.bus import Bus, MemoryTransport
from onestack.core.config import Config, NetworkConfig
from onestack.core.db import Database, create_db_engine
from onestack.core.rpc import serve
from onestack.network import models
from onestack.network.agent.host import ROLES
from onestack.network.rpcapi import NetworkAgentAPI, NetworkServerAPI
from onestack.network.server_rpc import AgentsEndpoint
from onestack.network.service import agent_scheduler, agents, host_state, nova_notifier, port_status
from onestack.network.service.common import now


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'network.db'}")
    models.Base.metadata.create_all(engine)
    database = Database(engine)
    yield database
    database.dispose()


def std(row: Any) -> Any:
    row.created_at = row.updated_at = now()
    return row


# Server ports' devices are servers' UUIDs (compute is told only of those).
SERVERS = {"p1": "5f1d8c0e-2b7a-4c1e-9f0a-000000000001", "p2": "5f1d8c0e-2b7a-4c1e-9f0a-000000000002"}


def topology(s: Session) -> None:
    """net-1 (10.0.0.0/24, DHCP) with p1 on host-a, p2 on host-b, a router port; sg-1 allows ssh from sg-1."""
    s.add(std(models.Network(id="net-1", project_id="p", mtu=1450, provider_network_type="vxlan",
                             provider_segmentation_id=7)))
    s.flush()
    s.add(std(models.Subnet(id="sub-1", project_id="p", network_id="net-1", ip_version=4, cidr="10.0.0.0/24",
                            gateway_ip="10.0.0.1", enable_dhcp=True)))
    s.flush()
    s.add(models.DnsNameServer(subnet_id="sub-1", address="8.8.8.8", order=0))
    s.add(std(models.SecurityGroup(id="sg-1", project_id="p", name="default")))
    s.flush()
    s.add(std(models.SecurityGroupRule(id="r-1", project_id="p", security_group_id="sg-1", remote_group_id="sg-1",
                                       direction="ingress", ethertype="IPv4", protocol="tcp", port_range_min=22,
                                       port_range_max=22)))
    for pid, host, ip, owner in (("p1", "host-a", "10.0.0.5", "compute:nova"),
                                 ("p2", "host-b", "10.0.0.6", "compute:nova"),
                                 ("ri", "", "10.0.0.1", "network:router_interface")):
        s.add(std(models.Port(id=pid, project_id="p", network_id="net-1", mac_address=f"fa:16:3e:00:00:{ip[-1]}",
                              device_owner=owner, device_id=SERVERS.get(pid, f"vm-{pid}"), binding_host_id=host)))
        s.flush()
        s.add(models.IPAllocation(subnet_id="sub-1", ip_address=ip, port_id=pid, network_id="net-1"))
        if owner.startswith("compute"):
            s.add(models.PortSecurityGroup(port_id=pid, security_group_id="sg-1"))
    s.add(std(models.Router(id="r1", project_id="p", name="r1")))
    s.flush()
    s.add(models.RouterPort(router_id="r1", port_id="ri", port_type="network:router_interface"))


def test_desired_state_of_a_host(db: Database) -> None:
    db.run_sync(topology)
    got = db.run_sync(lambda s: host_state.desired_state(s, "host-a", set(), set()), write=False)
    assert set(got["ports"]) == {"p1"}
    assert got["ports"]["p1"]["fixed_ips"] == [{"subnet_id": "sub-1", "ip_address": "10.0.0.5"}]
    assert got["ports"]["p1"]["mtu"] == 1450 and got["ports"]["p1"]["segmentation_id"] == 7
    (rule,) = got["filters"]["p1"]["rules"]
    assert rule["remote_ips"] == ["10.0.0.5", "10.0.0.6"]  # the remote group spans hosts
    # DHCP serves every port of the network, wherever it is.
    assert [lease["ip_address"] for lease in got["dhcp"]["sub-1"]["leases"]] == ["10.0.0.1", "10.0.0.5",
                                                                                   "10.0.0.6"]
    assert got["dhcp"]["sub-1"]["dns_nameservers"] == ["8.8.8.8"]
    assert got["routers"] == {}
    hosting = db.run_sync(lambda s: host_state.desired_state(s, "host-a", None, set()), write=False)
    assert hosting["routers"]["r1"]["interfaces"][0]["ip_address"] == "10.0.0.1"
    assert db.run_sync(lambda s: host_state.desired_state(s, "nowhere", None, set()), write=False)["dhcp"] == {}


def test_agent_rows_and_liveness(db: Database) -> None:
    t0 = now()
    for host in ("host-b", "host-a"):
        db.run_sync(lambda s, h=host: agents.report_state(s, h, ROLES, True, t0))
    rows = db.run_sync(lambda s: s.scalars(select(models.Agent)).all(), write=False)
    assert sorted((r.host, r.agent_type) for r in rows) == sorted(
        (h, t) for h in ("host-a", "host-b") for t in ("Open vSwitch agent", "DHCP agent", "L3 agent"))
    assert db.run_sync(lambda s: agents.alive_hosts(s, "L3 agent", 75, t0), write=False) == ["host-a", "host-b"]
    # host-a falls silent; host-b keeps reporting.
    later = t0 + timedelta(seconds=100)
    db.run_sync(lambda s: agents.report_state(s, "host-b", ROLES, False, later))
    assert db.run_sync(lambda s: agents.alive_hosts(s, "L3 agent", 75, later), write=False) == ["host-b"]
    row = db.run_sync(lambda s: s.scalars(select(models.Agent).where(models.Agent.host == "host-a")).first(),
                      write=False)
    assert not agents.is_alive(row, 75, later)
    assert agents.is_alive(row, 75, t0)
    assert db.run_sync(lambda s: agents.alive_hosts(s, "L3 agent", 75, later + timedelta(seconds=100)),
                       write=False) == []


def test_port_status_only_for_the_reporting_host(db: Database) -> None:
    db.run_sync(topology)
    changed = db.run_sync(lambda s: port_status.set_status(s, "host-a", ["p1", "p2", "ri"], "ACTIVE"))
    assert [c.port_id for c in changed] == ["p1", "ri"]  # p2 is host-b's
    assert db.run_sync(lambda s: port_status.set_status(s, "host-a", ["p1"], "ACTIVE")) == []
    assert nova_notifier.vif_plugged_events(changed) == [
        {"name": "network-vif-plugged", "server_uuid": SERVERS["p1"], "tag": "p1", "status": "completed"}]
    revision = db.run_sync(lambda s: s.get(models.Port, "p1").revision_number, write=False)
    assert revision == 1
    # Moved to host-b: host-a's late word does not touch it; left unbound: host-a may set it DOWN.
    db.run_sync(lambda s: setattr(s.get(models.Port, "p1"), "binding_host_id", "host-b"))
    assert db.run_sync(lambda s: port_status.set_status(s, "host-a", ["p1"], "DOWN")) == []
    db.run_sync(lambda s: setattr(s.get(models.Port, "p1"), "binding_host_id", ""))
    assert db.run_sync(lambda s: port_status.set_status(s, "host-a", ["p1"], "ACTIVE")) == []
    assert [c.port_id for c in db.run_sync(lambda s: port_status.set_status(s, "host-a", ["p1"], "DOWN"))] == ["p1"]


def test_a_write_nudges_the_hosts_it_touches_and_serves_the_agents(db: Database) -> None:
    async def scenario() -> None:
        bus = Bus(MemoryTransport())
        heard: list[Any] = []

        class Listener:
            async def resync(self, hosts: list[str] | None = None) -> None:
                heard.append(hosts)

        await serve(bus, NetworkAgentAPI, Listener())
        endpoint = AgentsEndpoint(Config(), db, bus, None)
        await endpoint.start()
        await db.write(topology)
        await _until(lambda: heard)
        assert heard == [None]  # subnets, rules, addresses: every host may care
        heard.clear()
        await db.write(lambda s: setattr(s.get(models.Port, "p2"), "binding_host_id", "host-c"))
        await _until(lambda: heard)
        assert heard == [["host-a", "host-b", "host-c"]]  # its old and new host, and net-1's DHCP on host-a
        heard.clear()
        # A rule of sg-1: the hosts with ports in sg-1.
        await db.write(lambda s: s.add(std(models.SecurityGroupRule(
            id="r-2", project_id="p", security_group_id="sg-1", direction="egress", ethertype="IPv4"))))
        await _until(lambda: heard)
        assert heard == [["host-a", "host-c"]]
        heard.clear()
        # An unbound port on a network no host serves nudges nobody.
        def lonely(s: Session) -> None:
            s.add(std(models.Network(id="net-2", project_id="p")))
            s.flush()
            s.add(std(models.Port(id="p9", project_id="p", network_id="net-2", mac_address="fa:16:3e:00:00:99")))
            s.flush()
            s.add(models.IPAllocation(subnet_id="sub-1", ip_address="10.0.0.99", port_id="p9", network_id="net-2"))

        await db.write(lambda s: lonely(s))
        server = NetworkServerAPI(bus, timeout=5)
        await server.report_state("host-c", list(ROLES), True)
        # r1 was made with no L3 agent alive: placed now, on host-c's (the only one); every host hears.
        await db.write(lambda s: agent_scheduler.schedule_router(s, "r1", NetworkConfig()))
        await _until(lambda: heard)
        assert heard == [None]
        heard.clear()
        # Status, revision and heartbeats are what the agents report themselves: no nudge for those.
        assert await server.ports_wired("host-c", ["p2"]) == ["p2"]
        await server.report_state("host-c", list(ROLES), False)
        desired = await server.desired_state("host-c")
        assert set(desired["ports"]) == {"p2"} and set(desired["routers"]) == {"r1"}  # host-c is the L3 host
        # A write that does nudge, as a marker: the first nudge heard since is its own.
        await db.write(lambda s: setattr(s.get(models.SecurityGroupRule, "r-2"), "protocol", "udp"))
        await _until(lambda: heard)
        assert heard == [["host-a", "host-c"]]
        await endpoint.stop()
        await bus.close()

    asyncio.run(scenario())


async def _until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)
