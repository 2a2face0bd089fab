"""The reconcile pass: the plan from desired/observed diffs, port status, and passes over the fake driver."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

from onestack.network.agent import reconcile
from onestack.network.agent.fake import FakeNetworkDriver
from onestack.network.rpcapi import HostState, PortSpec
from tests.contract.test_network_drivers import dhcp, port, port_filter, router


def empty() -> HostState:
    return {"ports": {}, "filters": {}, "dhcp": {}, "routers": {}}


def state(*ports: PortSpec, **kw: Any) -> HostState:
    out = empty()
    out["ports"] = {p["id"]: p for p in ports}
    out["filters"] = {p["id"]: port_filter(p["id"], 22) for p in ports}
    out.update(kw)  # type: ignore[typeddict-item]
    return out


def methods(plan: reconcile.Plan) -> list[str]:
    return [m for m, _ in plan.steps]


# --- plan ---------------------------------------------------------------------------------------

def test_nothing_to_do_when_the_host_matches() -> None:
    p = port()
    desired = state(p, dhcp={"sub-1": dhcp()})
    assert reconcile.plan(desired, copy.deepcopy(desired)).steps == []


def test_missing_things_are_made_filters_before_ports() -> None:
    p, r = port(), router()
    desired = state(p, dhcp={"sub-1": dhcp()}, routers={r["id"]: r})
    assert methods(reconcile.plan(desired, empty())) == ["apply_port_filter", "plug_port", "ensure_dhcp",
                                                         "ensure_router"]


def test_stale_things_are_removed_first() -> None:
    p, r = port(), router()
    observed = state(p, dhcp={"sub-1": dhcp()}, routers={r["id"]: r})
    plan = reconcile.plan(empty(), observed)
    assert plan.steps == [("remove_router", r["id"]), ("remove_dhcp", "sub-1"), ("unplug_port", p["id"]),
                          ("remove_port_filter", p["id"])]


def test_a_changed_spec_is_applied_again_and_only_it() -> None:
    a, b = port(), port(ip="10.0.0.6")
    observed = state(a, b, dhcp={"sub-1": dhcp("sub-1", "net-1", "10.0.0.5")})
    desired = copy.deepcopy(observed)
    desired["ports"][b["id"]]["mtu"] = 1400
    desired["filters"][a["id"]] = port_filter(a["id"], 22, 80)
    desired["dhcp"]["sub-1"] = dhcp("sub-1", "net-1", "10.0.0.5", "10.0.0.6")
    plan = reconcile.plan(desired, observed)
    assert [(m, arg.get("id") or arg.get("port_id") or arg.get("subnet_id")) for m, arg in plan.steps] == [
        ("apply_port_filter", a["id"]), ("plug_port", b["id"]), ("ensure_dhcp", "sub-1")]


# --- port status ------------------------------------------------------------------------------------

def test_port_status_wired_only_when_observed_as_desired_and_admin_up() -> None:
    a, b, c = port(), port(ip="10.0.0.6"), port(ip="10.0.0.7", admin_state_up=False)
    r = router()
    desired = state(a, b, c, routers={r["id"]: r})
    observed = state(a, c, routers={r["id"]: r})
    wired, down = reconcile.port_status(desired, observed)
    assert wired == sorted([a["id"], "gw-1", "ri-1"])
    assert down == sorted([b["id"], c["id"]])


def test_an_admin_down_routers_ports_are_wired_once_the_host_runs_it() -> None:
    # Tempest creates routers admin-down and waits for their ports to go ACTIVE (OVN's way).
    r = router()
    r["admin_state_up"] = False
    desired = state(routers={r["id"]: r})
    assert reconcile.port_status(desired, copy.deepcopy(desired)) == (sorted(["gw-1", "ri-1"]), [])
    assert reconcile.port_status(desired, empty()) == ([], sorted(["gw-1", "ri-1"]))


# --- passes over the fake driver, with a stand-in server -------------------------------------------------

class Server:
    """The server's side as the pass sees it: a desired state, and the reports it got."""

    def __init__(self, desired: HostState) -> None:
        self.desired = desired
        self.wired: list[str] = []
        self.down: list[str] = []

    async def dhcp_ports(self, host: str) -> list[str]:
        return []  # no DHCP ports to make here

    async def desired_state(self, host: str) -> HostState:
        return copy.deepcopy(self.desired)

    async def ports_wired(self, host: str, port_ids: list[str]) -> list[str]:
        self.wired = port_ids
        return port_ids

    async def ports_unwired(self, host: str, port_ids: list[str]) -> list[str]:
        self.down = port_ids
        return port_ids


class Agent:
    def __init__(self, driver: FakeNetworkDriver, server: Server) -> None:
        self.host = "host-1"
        self.driver = driver
        self.server = server


def agent(tmp_path: Path, desired: HostState) -> Agent:
    return Agent(FakeNetworkDriver(tmp_path / "datapath"), Server(desired))


def test_one_pass_converges_and_reports_ports_wired(tmp_path: Path) -> None:
    p, r = port(), router()
    a = agent(tmp_path, state(p, dhcp={"sub-1": dhcp()}, routers={r["id"]: r}))
    asyncio.run(reconcile.run_pass(a))  # type: ignore[arg-type]
    assert asyncio.run(a.driver.observed()) == a.server.desired
    assert a.server.wired == sorted([p["id"], "gw-1", "ri-1"]) and a.server.down == []


def test_a_failure_halfway_is_reported_down_and_repaired_by_the_next_pass(tmp_path: Path) -> None:
    p, q = port(), port(ip="10.0.0.6")
    a = agent(tmp_path, state(p, q))
    a.driver.fail_next("plug_port")
    asyncio.run(reconcile.run_pass(a))  # type: ignore[arg-type]
    assert len(a.server.wired) == 1 and len(a.server.down) == 1  # the other port was still plugged
    asyncio.run(reconcile.run_pass(a))  # type: ignore[arg-type]
    assert a.server.wired == sorted([p["id"], q["id"]])
    assert asyncio.run(a.driver.observed()) == a.server.desired


def test_drift_and_removals_converge(tmp_path: Path) -> None:
    p, q = port(), port(ip="10.0.0.6")
    a = agent(tmp_path, state(p, q))
    asyncio.run(reconcile.run_pass(a))  # type: ignore[arg-type]
    a.driver.drift("tap", p["id"])
    a.server.desired = state(p)  # q was deleted on the server
    asyncio.run(reconcile.run_pass(a))  # type: ignore[arg-type]
    assert asyncio.run(a.driver.observed()) == state(p)
    assert a.server.wired == [p["id"]]
    assert a.server.down == [q["id"]]  # the port it took off is reported down (the server decides)
