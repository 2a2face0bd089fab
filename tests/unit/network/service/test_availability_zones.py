"""Network availability zones over a real (SQLite) database: zones from the agents' reports, hints
checked against them, DHCP and L3 placement within a network's or router's zones (spread over them
with several DHCP agents, as Neutron's AZAwareWeightScheduler), failover kept within them, the
default zones, and ``availability_zones`` from the agents actually serving."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.config import NetworkConfig
from onestack.network import models
from onestack.network.agent.host import ROLES
from onestack.network.errors import AvailabilityZoneNotFound
from onestack.network.rpcapi import AgentReport
from onestack.network.service import agent_scheduler as sched
from onestack.network.service import agents, availability_zones, networks, routers, subnets
from onestack.network.service.common import Caller, now

ADMIN = Caller(project_id=None, is_admin=True)
CONFIG = NetworkConfig()
TWO = dataclasses.replace(CONFIG, dhcp_agents_per_network=2)


def _up(s: Session, zone: str | None, *hosts: str) -> None:
    """The hosts' agents report, in ``zone`` (None: an agent that reports no zone)."""
    reports: list[AgentReport] = []
    for role in ROLES:
        report = role.copy()
        if zone is not None:
            report["availability_zone"] = zone
        reports.append(report)
    for host in hosts:
        agents.report_state(s, host, reports, True)


def _kill(s: Session, host: str) -> None:
    for a in s.scalars(select(models.Agent).where(models.Agent.host == host)):
        a.heartbeat_timestamp = now() - timedelta(seconds=CONFIG.agent_down_time + 5)
    s.flush()


def _network(s: Session, cidr: str, hints: list[str] | None = None, config: NetworkConfig = CONFIG) -> str:
    net = networks.create(s, ADMIN, "p1", {"name": cidr, "availability_zone_hints": hints or []}, 1500)
    subnets.create(s, ADMIN, "p1", {"network_id": net["id"], "ip_version": 4, "cidr": cidr}, config)
    return str(net["id"])


def _router(s: Session, hints: list[str] | None = None, config: NetworkConfig = CONFIG) -> str:
    return str(routers.create(s, ADMIN, "p1", {"name": "r", "availability_zone_hints": hints or []}, config)["id"])


def _hosts_of(s: Session, network_id: str) -> list[str]:
    return [a.host for a in sched.dhcp_agents(s, network_id)]


def _router_host(s: Session, router_id: str) -> str | None:
    agent = sched.l3_agent(s, router_id)
    return agent.host if agent is not None else None


def test_zones_come_from_dhcp_and_l3_agents_and_their_admin_state(s: Session) -> None:
    assert availability_zones.zones(s) == []  # no agent, no zone (as Neutron)
    _up(s, "az1", "h1")
    _up(s, None, "h0")  # an agent of before zones: "nova"
    _up(s, "az2", "h2")
    for a in s.scalars(select(models.Agent).where(models.Agent.host == "h2", models.Agent.agent_type == sched.L3_AGENT_TYPE)):
        a.admin_state_up = False
    _kill(s, "h1")  # liveness does not count, as Neutron
    s.flush()
    assert availability_zones.zones(s) == [
        {"name": "az1", "resource": "network", "state": "available"},
        {"name": "az1", "resource": "router", "state": "available"},
        {"name": "az2", "resource": "network", "state": "available"},
        {"name": "az2", "resource": "router", "state": "unavailable"},
        {"name": "nova", "resource": "network", "state": "available"},
        {"name": "nova", "resource": "router", "state": "available"},
    ]
    # A heartbeat carries the zone: a reconfigured agent moves.
    _up(s, "az3", "h0")
    assert {z["name"] for z in availability_zones.zones(s)} == {"az1", "az2", "az3"}


def test_hints_must_name_a_zone_of_an_agent_of_the_type(s: Session) -> None:
    _up(s, "az1", "h1")
    s.add(models.Agent(id="x", agent_type=sched.DHCP_AGENT_TYPE, host="dhcp-only", availability_zone="dhcp-zone",
                       admin_state_up=True, configurations="{}", created_at=now(), started_at=now(),
                       heartbeat_timestamp=now(), binary="b", topic="t"))
    s.flush()
    availability_zones.validate(s, "network", ["az1", "dhcp-zone"])
    availability_zones.validate(s, "router", [])
    with pytest.raises(AvailabilityZoneNotFound, match="AvailabilityZone dhcp-zone could not be found."):
        availability_zones.validate(s, "router", ["az1", "dhcp-zone"])
    with pytest.raises(AvailabilityZoneNotFound, match="AvailabilityZone nowhere could not be found."):
        networks.create(s, ADMIN, "p1", {"name": "n", "availability_zone_hints": ["nowhere"]}, 1500)
    assert s.scalar(select(models.Network.id).where(models.Network.name == "n")) is None


def test_dhcp_goes_to_the_hinted_zone_and_fails_over_within_it(s: Session) -> None:
    _up(s, "az1", "a1", "a2")
    _up(s, "az2", "b1")
    net = _network(s, "10.1.0.0/28", ["az2"])
    assert _hosts_of(s, net) == ["b1"]
    assert availability_zones.of_networks(s, [net]) == {net: ["az2"]}
    assert networks.show(s, ADMIN, net)["availability_zones"] == ["az2"]
    # Its only agent there dies: nothing to move it to in az2, so it stays (no pass work).
    _kill(s, "b1")
    assert not sched.needs_reschedule(s, CONFIG)
    _up(s, "az2", "b2")
    assert sched.needs_reschedule(s, CONFIG)
    assert sched.reschedule(s, CONFIG)[0] == [net]
    assert _hosts_of(s, net) == ["b2"]
    # Unhinted: any zone, the least loaded (a1 and a2 have none).
    assert _hosts_of(s, _network(s, "10.1.1.0/28")) == ["a1"]


def test_several_dhcp_agents_spread_over_the_hinted_zones(s: Session) -> None:
    _up(s, "az1", "a1", "a2")
    _up(s, "az2", "b1", "b2")
    _up(s, "az3", "c1")
    net = _network(s, "10.2.0.0/28", ["az1", "az2"], TWO)
    assert _hosts_of(s, net) == ["a1", "b1"]  # one per zone, never az3
    assert availability_zones.of_networks(s, [net]) == {net: ["az1", "az2"]}
    # The az2 agent dies: its replacement is taken in az2, the zone now serving it least.
    _kill(s, "b1")
    sched.reschedule(s, TWO)
    assert _hosts_of(s, net) == ["a1", "b2"]
    # Both az2 agents dead: the second agent comes from az1, never from the unhinted az3.
    _kill(s, "b2")
    sched.reschedule(s, TWO)
    assert _hosts_of(s, net) == ["a1", "a2"]
    assert availability_zones.of_networks(s, [net]) == {net: ["az1"]}
    assert not sched.needs_reschedule(s, TWO)


def test_spread_takes_the_zone_serving_least_then_the_least_loaded() -> None:
    a1, a2, b1, c1 = (models.Agent(id=h, host=h, availability_zone=z)
                      for h, z in (("a1", "az1"), ("a2", "az1"), ("b1", "az2"), ("c1", "az3")))
    load = Counter({"a1": 0, "a2": 1, "b1": 5, "c1": 3})
    assert sched.spread([a1, a2, b1, c1], [], load, 3) == [a1, c1, b1]
    assert sched.spread([a2, b1, c1], [a1], load, 2) == [c1, b1]  # az1 serves already
    assert sched.spread([a1, a2], [], load, 2) == [a1, a2]  # one zone: the least loaded
    assert sched.spread([a1, b1], [], load, 5) == [a1, b1] and sched.spread([a1], [], load, 0) == []


def test_routers_go_to_their_zone_and_fail_over_within_it(s: Session) -> None:
    _up(s, "az1", "a1")
    _up(s, "az2", "b1", "b2")
    router = _router(s, ["az2"])
    assert _router_host(s, router) == "b1"
    assert routers.show(s, ADMIN, router)["availability_zones"] == ["az2"]
    _kill(s, "b1")
    assert sched.reschedule(s, CONFIG)[1] == [router]
    assert _router_host(s, router) == "b2"
    _kill(s, "b2")  # none left in az2: it stays, and the pass has nothing to do
    assert not sched.needs_reschedule(s, CONFIG)
    assert _router_host(s, router) == "b2"
    # Made while az2 has no agent serving: unplaced, no zone, placed once one serves there.
    later = _router(s, ["az2"])
    assert _router_host(s, later) is None and routers.show(s, ADMIN, later)["availability_zones"] == []
    _up(s, "az2", "b3")
    sched.reschedule(s, CONFIG)
    assert _router_host(s, later) == "b3" and _router_host(s, router) == "b3"


def test_default_zones_apply_to_objects_without_hints(s: Session) -> None:
    config = dataclasses.replace(CONFIG, default_availability_zones=" az2 ,")
    assert config.default_zones() == ["az2"] and CONFIG.default_zones() == []
    _up(s, "az1", "a1")
    _up(s, "az2", "b1")
    router = _router(s, config=config)
    assert _router_host(s, router) == "b1"
    net = _network(s, "10.3.0.0/28", config=config)
    assert _hosts_of(s, net) == ["b1"]
    # Hints win over the defaults.
    assert _router_host(s, _router(s, ["az1"], config)) == "a1"
    assert networks.show(s, ADMIN, net)["availability_zone_hints"] == []
