"""Network availability zones through openstacksdk on a cloud with network agents in two zones: the
cloud's own host in ``az1`` (``network.availability_zone``) and an ``onestack agent network``
process in ``az2``. The zone list, hints checked against the agents' zones, DHCP and L3 placement
within the hinted zones (spread over both with ``dhcp_agents_per_network`` 2), the
``availability_zones`` the serving agents give, and failover that stays within the hints."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional.agent_process import AgentProcess, bus_cloud
from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.network_support import DOWN_TIME, agents_cloud_env, error_of, neutron

HOST = "az-host-1"  # the cloud's own compute (and network agent) host, in az1
OTHER = "az-host-2"  # the agent process's host, in az2


@pytest.fixture(scope="module")
def zcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    with bus_cloud(Path(tmp_path_factory.mktemp("network-az")),
                   {**agents_cloud_env(HOST), "ONESTACK_NETWORK__AVAILABILITY_ZONE": "az1"}) as running:
        yield running


@pytest.fixture(scope="module")
def other(zcloud: RunningCloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    data_dir = tmp_path_factory.mktemp("az2-agent") / "data"
    data_dir.mkdir()
    agent = AgentProcess(zcloud, "network", OTHER, data_dir, env={"ONESTACK_NETWORK__AVAILABILITY_ZONE": "az2"})
    admin = zcloud.sdk()
    with agent.running(lambda: {a.host for a in admin.network.agents() if a.is_alive} == {HOST, OTHER},
                       "both hosts' agents alive", timeout=90):
        yield agent


@pytest.fixture(scope="module")
def admin(zcloud: RunningCloud, other: AgentProcess) -> Any:
    return zcloud.sdk()


def _name() -> str:
    return f"az-{uuid.uuid4().hex[:6]}"


def _dhcp_hosts(admin: Any, network: Any) -> list[str]:
    return sorted(a.host for a in admin.network.network_hosting_dhcp_agents(network))


def _l3_hosts(admin: Any, router: Any) -> list[str]:
    return sorted(a.host for a in admin.network.routers_hosting_l3_agents(router))


def _network(admin: Any, cidr: str, hints: list[str]) -> Any:
    net = admin.network.create_network(name=_name(), availability_zone_hints=hints)
    admin.network.create_subnet(network_id=net.id, ip_version=4, cidr=cidr)
    return admin.network.get_network(net.id)


def test_zones_and_agents_listed(admin: Any) -> None:
    zones = {(z.name, z.resource, z.state) for z in admin.network.availability_zones()}
    assert zones == {(z, r, "available") for z in ("az1", "az2") for r in ("network", "router")}
    by_host = {(a.host, a.agent_type): a.availability_zone for a in admin.network.agents()}
    assert by_host[(HOST, "DHCP agent")] == "az1" and by_host[(OTHER, "L3 agent")] == "az2"
    assert {"availability_zone", "network_availability_zone", "router_availability_zone"} <= {
        e.alias for e in admin.network.extensions()}


def test_unknown_or_too_many_hints_are_refused(zcloud: RunningCloud, admin: Any) -> None:
    with neutron(zcloud, "devstack-admin") as http:
        for path, member in (("/v2.0/networks", "network"), ("/v2.0/routers", "router")):
            r = http.post(path, json={member: {"name": _name(), "availability_zone_hints": ["az1", "nowhere"]}})
            assert r.status_code == 404, r.text
            assert error_of(r) == {"type": "AvailabilityZoneNotFound", "detail": "",
                                   "message": "AvailabilityZone nowhere could not be found."}
            r = http.post(path, json={member: {"name": _name(), "availability_zone_hints": [f"z{i:03}" for i in
                                                                                            range(40)]}})
            assert r.status_code == 400 and error_of(r)["type"] == "InvalidInput", r.text
            assert "Too many availability_zone_hints specified" in error_of(r)["message"]
        net = admin.network.create_network(name=_name(), availability_zone_hints=["az1"])
        r = http.put(f"/v2.0/networks/{net.id}", json={"network": {"availability_zone_hints": ["az2"]}})
        assert r.status_code == 400 and "availability_zone_hints" in error_of(r)["message"], r.text
        admin.network.delete_network(net)


def test_placement_follows_the_hints_and_failover_stays_within_them(admin: Any, other: AgentProcess) -> None:
    only2 = _network(admin, "10.91.0.0/28", ["az2"])
    both = _network(admin, "10.91.1.0/28", ["az1", "az2"])
    any_zone = _network(admin, "10.91.2.0/28", [])
    # dhcp_agents_per_network is 2, but az2 has one DHCP agent: one. The others spread over both zones.
    assert _dhcp_hosts(admin, only2) == [OTHER]
    assert _dhcp_hosts(admin, both) == [HOST, OTHER] and _dhcp_hosts(admin, any_zone) == [HOST, OTHER]
    assert admin.network.get_network(only2.id).availability_zones == ["az2"]
    assert sorted(admin.network.get_network(both.id).availability_zones) == ["az1", "az2"]
    assert only2.availability_zone_hints == ["az2"]

    in1 = admin.network.create_router(name=_name(), availability_zone_hints=["az1"])
    in2 = admin.network.create_router(name=_name(), availability_zone_hints=["az2"])
    in_both = admin.network.create_router(name=_name(), availability_zone_hints=["az2", "az1"])
    assert (_l3_hosts(admin, in1), _l3_hosts(admin, in2)) == ([HOST], [OTHER])
    assert (in1.availability_zones, in2.availability_zones) == (["az1"], ["az2"])
    # HOST runs the bootstrap's router1 and in1: the least loaded in either zone is OTHER.
    assert _l3_hosts(admin, in_both) == [OTHER]

    # az2's only agents die: what may live in az1 moves there; what is hinted to az2 alone stays.
    other.kill()
    wait_until(lambda: _l3_hosts(admin, in_both) == [HOST], timeout=DOWN_TIME + 30,
               what="the router hinted to both zones failed over to az1")
    wait_until(lambda: _dhcp_hosts(admin, both) == [HOST] and _dhcp_hosts(admin, any_zone) == [HOST],
               timeout=30, what="the dead az2 agent's DHCP bindings gone")
    assert admin.network.get_router(in_both.id).availability_zones == ["az1"]
    assert admin.network.get_network(both.id).availability_zones == ["az1"]
    assert _l3_hosts(admin, in2) == [OTHER] and _dhcp_hosts(admin, only2) == [OTHER]
    # The zone stays listed (as Neutron, an admin-up agent's zone is available, alive or not), and
    # a new router hinted to it is accepted and left unplaced until an agent serves there.
    assert ("az2", "router", "available") in {(z.name, z.resource, z.state) for z in admin.network.availability_zones()}
    waiting = admin.network.create_router(name=_name(), availability_zone_hints=["az2"])
    assert _l3_hosts(admin, waiting) == [] and waiting.availability_zones == []

    other.start()  # back: the waiting router is placed in az2 by the next pass
    wait_until(lambda: _l3_hosts(admin, waiting) == [OTHER], timeout=60, what="the waiting router placed in az2")
    assert _l3_hosts(admin, in2) == [OTHER] and _dhcp_hosts(admin, only2) == [OTHER]
    for router in (in1, in2, in_both, waiting):
        admin.network.delete_router(router)
    for net in (only2, both, any_zone):
        admin.network.delete_network(net)
