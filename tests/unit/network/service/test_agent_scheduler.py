"""Placement of networks' DHCP and routers over a real (SQLite) database: the least loaded choice,
stored bindings that adding an agent does not move, failover off a dead agent by the
level-triggered pass, several DHCP agents (and ports) per network, and an admin's removals."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.config import NetworkConfig
from onestack.network import models
from onestack.network.agent.host import ROLES
from onestack.network.service import agent_scheduler as sched
from onestack.network.service import agents, dhcp_ports, networks, routers, subnets
from onestack.network.service.common import Caller, now

ADMIN = Caller(project_id=None, is_admin=True)
CONFIG = NetworkConfig()
DHCP, L3 = sched.DHCP_AGENT_TYPE, sched.L3_AGENT_TYPE


def _up(s: Session, *hosts: str) -> None:
    for host in hosts:
        agents.report_state(s, host, ROLES, True)


def _kill(s: Session, host: str) -> None:
    for a in s.scalars(select(models.Agent).where(models.Agent.host == host)):
        a.heartbeat_timestamp = now() - timedelta(seconds=CONFIG.agent_down_time + 5)
    s.flush()


def _agent(s: Session, host: str, kind: str) -> models.Agent:
    return s.scalars(select(models.Agent).filter_by(host=host, agent_type=kind)).one()


def _network(s: Session, cidr: str, config: NetworkConfig = CONFIG) -> str:
    net = networks.create(s, ADMIN, "p1", {"name": cidr}, 1500)
    subnets.create(s, ADMIN, "p1", {"network_id": net["id"], "ip_version": 4, "cidr": cidr}, config)
    return str(net["id"])


def _router(s: Session, name: str) -> str:
    return str(routers.create(s, ADMIN, "p1", {"name": name}, CONFIG)["id"])


def _hosts_of(s: Session, network_id: str) -> list[str]:
    return [a.host for a in sched.dhcp_agents(s, network_id)]


def _dhcp_ports(s: Session, network_id: str) -> list[models.Port]:
    return list(s.scalars(select(models.Port).where(models.Port.network_id == network_id,
                                                    models.Port.device_owner == dhcp_ports.OWNER)))


def test_the_least_loaded_agents_are_chosen_host_name_breaking_ties() -> None:
    a, b, c = (models.Agent(id=i, host=h) for i, h in (("1", "host-c"), ("2", "host-a"), ("3", "host-b")))
    assert [x.host for x in sched.least_loaded([a, b, c], Counter({"2": 2}), 2)] == ["host-b", "host-c"]
    assert [x.host for x in sched.least_loaded([a, b, c], Counter(), 1)] == ["host-a"]
    assert sched.least_loaded([a, b], Counter(), 0) == [] and sched.least_loaded([a], Counter(), -1) == []


def test_networks_spread_and_stay_when_an_agent_is_added(s: Session) -> None:
    _up(s, "host-b", "host-a")
    nets = [_network(s, f"10.1.{i}.0/28") for i in range(4)]
    assert [_hosts_of(s, n) for n in nets] == [["host-a"], ["host-b"], ["host-a"], ["host-b"]]
    # Each port bound to its network's agent, with Neutron's device id.
    for n in nets:
        (port,) = _dhcp_ports(s, n)
        assert (port.binding_host_id, port.device_id) == (_hosts_of(s, n)[0], dhcp_ports.device_id(
            _hosts_of(s, n)[0], n))
    _up(s, "host-0")  # sorts first, but placements are stored: nothing moves
    assert not sched.needs_reschedule(s, CONFIG)
    assert [_hosts_of(s, n) for n in nets] == [["host-a"], ["host-b"], ["host-a"], ["host-b"]]
    assert _hosts_of(s, _network(s, "10.1.9.0/28")) == ["host-0"]  # the least loaded


def test_a_dead_agents_networks_and_routers_fail_over(s: Session) -> None:
    _up(s, "host-a", "host-b")
    nets = [_network(s, f"10.2.{i}.0/28") for i in range(2)]
    rts = [_router(s, f"r{i}") for i in range(2)]
    assert [sched.l3_agent(s, r).host for r in rts] == ["host-a", "host-b"]  # type: ignore[union-attr]
    (on_b,) = [n for n in nets if _hosts_of(s, n) == ["host-b"]]
    (old_port,) = _dhcp_ports(s, on_b)
    removed = _router(s, "removed")
    sched.remove_router(s, sched.l3_agent(s, removed).id, removed, 75)  # type: ignore[union-attr]

    _kill(s, "host-b")
    assert sched.needs_reschedule(s, CONFIG)
    moved_nets, moved_routers = sched.reschedule(s, CONFIG)
    assert moved_nets == [on_b] and moved_routers == [rts[1]]
    assert all(_hosts_of(s, n) == ["host-a"] for n in nets)
    assert all(sched.l3_agent(s, r).host == "host-a" for r in rts)  # type: ignore[union-attr]
    assert sched.l3_agent(s, removed) is None  # an admin's removal stands
    # The dead agent's DHCP port moved to the new agent, its address kept.
    (port,) = _dhcp_ports(s, on_b)
    assert port.id == old_port.id and (port.binding_host_id, port.device_id) == (
        "host-a", dhcp_ports.device_id("host-a", on_b))
    assert sched.routers_of(s, "host-b", 75) == (set(), set())
    assert sched.routers_of(s, "host-a", 75)[0] == set(rts)
    assert not sched.needs_reschedule(s, CONFIG)


def test_nothing_moves_while_no_agent_serves(s: Session) -> None:
    _up(s, "host-a")
    net = _network(s, "10.3.0.0/28")
    router = _router(s, "r")
    _kill(s, "host-a")
    assert not sched.needs_reschedule(s, CONFIG)
    assert _hosts_of(s, net) == ["host-a"] and sched.l3_agent(s, router).host == "host-a"  # type: ignore[union-attr]
    # Made while none serves: placed by the pass once one does.
    later = _network(s, "10.3.1.0/28")
    unplaced = _router(s, "r2")
    assert _hosts_of(s, later) == [] and sched.l3_agent(s, unplaced) is None
    (reserved,) = _dhcp_ports(s, later)
    assert (reserved.binding_host_id, reserved.device_id) == ("", dhcp_ports.RESERVED)
    _up(s, "host-z")
    sched.reschedule(s, CONFIG)
    assert _hosts_of(s, later) == ["host-z"] and sched.l3_agent(s, unplaced).host == "host-z"  # type: ignore[union-attr]
    assert _hosts_of(s, net) == ["host-z"]  # failed over
    (port,) = _dhcp_ports(s, later)
    assert port.id == reserved.id and port.binding_host_id == "host-z"


def test_several_dhcp_agents_per_network_each_with_its_port(s: Session) -> None:
    two = dataclasses.replace(CONFIG, dhcp_agents_per_network=2)
    _up(s, "host-a", "host-b", "host-c")
    net = _network(s, "10.4.0.0/28", two)
    assert _hosts_of(s, net) == ["host-a", "host-b"]
    found = _dhcp_ports(s, net)
    assert sorted(p.device_id for p in found) == sorted(dhcp_ports.device_id(h, net) for h in ("host-a", "host-b"))
    addresses = {a.ip_address for a in s.scalars(select(models.IPAllocation).where(
        models.IPAllocation.port_id.in_([p.id for p in found])))}
    assert len(addresses) == 2  # each its own address
    # An admin adds a third (beyond the count, as Neutron allows); adding it again is 409.
    sched.add_network(s, _agent(s, "host-c", DHCP).id, net, two)
    assert _hosts_of(s, net) == ["host-a", "host-b", "host-c"] and len(_dhcp_ports(s, net)) == 3
    try:
        sched.add_network(s, _agent(s, "host-c", DHCP).id, net, two)
        raise AssertionError("added twice")
    except Exception as exc:  # noqa: BLE001 - the error's class is what is checked
        assert type(exc).__name__ == "NetworkHostedByDHCPAgent"
    # Two removed: the network is as the admin left it (no top-up), its spare port deleted.
    sched.remove_network(s, _agent(s, "host-c", DHCP).id, net, two)
    sched.remove_network(s, _agent(s, "host-a", DHCP).id, net, two)
    assert _hosts_of(s, net) == ["host-b"] and len(_dhcp_ports(s, net)) == 1
    assert not sched.needs_reschedule(s, two)
    # host-b dies: failed over as Neutron does (the dead binding goes, then the network is scheduled
    # to its count), its port moved to one of the new agents with its address.
    (b_port,) = _dhcp_ports(s, net)
    _kill(s, "host-b")
    sched.reschedule(s, two)
    assert _hosts_of(s, net) == ["host-a", "host-c"]
    by_id = {p.id: p for p in _dhcp_ports(s, net)}
    assert len(by_id) == 2 and by_id[b_port.id].binding_host_id in {"host-a", "host-c"}
    # An admin's removal again; a subnet change tops the network up to its count.
    sched.remove_network(s, _agent(s, "host-c", DHCP).id, net, two)
    assert _hosts_of(s, net) == ["host-a"] and not sched.needs_reschedule(s, two)
    subnets.create(s, ADMIN, "p1", {"network_id": net, "ip_version": 4, "cidr": "10.4.1.0/28"}, two)
    assert _hosts_of(s, net) == ["host-a", "host-c"] and len(_dhcp_ports(s, net)) == 2


def test_the_last_agent_removed_leaves_a_reserved_port_and_a_deleted_agent_is_replaced(s: Session) -> None:
    _up(s, "host-a", "host-b")
    net = _network(s, "10.5.0.0/28")
    (agent_host,) = _hosts_of(s, net)
    sched.remove_network(s, _agent(s, agent_host, DHCP).id, net, CONFIG)
    (port,) = _dhcp_ports(s, net)
    assert (port.binding_host_id, port.device_id) == ("", dhcp_ports.RESERVED)
    assert not sched.needs_reschedule(s, CONFIG)  # unhosted, as the admin left it
    # Placed again by a subnet change, not by the pass.
    subnets.create(s, ADMIN, "p1", {"network_id": net, "ip_version": 4, "cidr": "10.5.1.0/28"}, CONFIG)
    (host,) = _hosts_of(s, net)
    # Its agent deleted: the binding goes with it and the pass places the network again.
    s.delete(_agent(s, host, DHCP))
    s.flush()
    assert sched.needs_reschedule(s, CONFIG)
    sched.reschedule(s, CONFIG)
    assert len(_hosts_of(s, net)) == 1 and _hosts_of(s, net) != [host]
    (moved,) = _dhcp_ports(s, net)
    assert moved.id == port.id


def test_an_agent_short_of_an_address_goes_without_a_port(s: Session) -> None:
    two = dataclasses.replace(CONFIG, dhcp_agents_per_network=2)
    _up(s, "host-a", "host-b")
    net = _network(s, "10.6.0.0/30", two)  # one address in the pool: the first agent's port takes it
    assert _hosts_of(s, net) == ["host-a", "host-b"]
    (port,) = _dhcp_ports(s, net)
    short = next(h for h in ("host-a", "host-b") if h != port.binding_host_id)
    stale = dhcp_ports.stale_networks(s, short, CONFIG.agent_down_time, CONFIG.max_fixed_ips_per_port)
    assert stale == [net]
    dhcp_ports.sync_host(s, short, stale, two)  # logged, not raised: the pass goes on
    assert [p.id for p in _dhcp_ports(s, net)] == [port.id]
    # A second subnet with one address: the first agent's port gets it, the other's stays as it was.
    net2 = _network(s, "10.6.1.0/28", two)
    subnets.create(s, ADMIN, "p1", {"network_id": net2, "ip_version": 4, "cidr": "10.6.2.0/30"}, two)
    counts = sorted(len(list(s.scalars(select(models.IPAllocation).where(models.IPAllocation.port_id == p.id))))
                    for p in _dhcp_ports(s, net2))
    assert counts == [1, 2]


def test_a_big_failover_is_spread_over_several_writes(s: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    _up(s, "host-a", "host-b")
    nets = [_network(s, f"10.7.{i}.0/28") for i in range(4)]
    on_b = sorted(n for n in nets if _hosts_of(s, n) == ["host-b"])
    assert len(on_b) == 2
    monkeypatch.setattr(sched, "BATCH", 1)
    _kill(s, "host-b")
    assert sched.reschedule(s, CONFIG)[0] == on_b[:1]
    assert sched.needs_reschedule(s, CONFIG)
    assert sched.reschedule(s, CONFIG)[0] == on_b[1:]
    assert not sched.needs_reschedule(s, CONFIG)
    assert all(_hosts_of(s, n) == ["host-a"] for n in nets)


def test_concurrent_passes_on_postgresql_place_each_network_once() -> None:
    """Two agents' passes at once over the same dead host's networks: each network's row lock makes
    the second re-read and find nothing to do (no second binding, no key conflict)."""
    from onestack.core.db import Database, create_db_engine
    from tests.databases import postgres_database

    urls = postgres_database()
    db = Database(create_db_engine(next(urls)))
    try:
        models.Base.metadata.create_all(db.engine)
        db.run_sync(lambda s: _up(s, "host-a", "host-b", "host-c"))
        nets = db.run_sync(lambda s: [_network(s, f"10.8.{i}.0/28") for i in range(12)])
        db.run_sync(lambda s: _kill(s, "host-c"))
        assert db.run_sync(lambda s: sched.needs_reschedule(s, CONFIG), write=False)
        barrier = threading.Barrier(2)

        def one_pass() -> list[str]:
            barrier.wait()
            return db.run_sync(lambda s: sched.reschedule(s, CONFIG))[0]

        with ThreadPoolExecutor(2) as pool:
            moved = [f.result() for f in [pool.submit(one_pass) for _ in range(2)]]
        assert sorted(moved[0] + moved[1]) == sorted(set(moved[0]) | set(moved[1]))  # none moved twice
        assert len(moved[0] + moved[1]) == 4  # host-c's share of 12 over three hosts
        for n in nets:
            hosts = db.run_sync(lambda s, n=n: _hosts_of(s, n), write=False)
            found = db.run_sync(lambda s, n=n: [p.binding_host_id for p in _dhcp_ports(s, n)], write=False)
            assert len(hosts) == 1 and hosts != ["host-c"] and found == hosts
    finally:
        db.dispose()
        urls.close()
