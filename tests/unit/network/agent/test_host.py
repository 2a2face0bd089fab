"""One host's agent on an in-process bus: its first pass, heartbeats, nudges and stop."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

from onestack.core.bus import Bus, MemoryTransport
from onestack.core.config import Config
from onestack.core.rpc import serve
from onestack.network.agent.fake import FakeNetworkDriver
from onestack.network.agent.host import NetworkAgent
from onestack.network.rpcapi import AgentReport, HostState, NetworkAgentAPI, NetworkServerAPI
from tests.contract.bus_kit import until
from tests.contract.test_network_drivers import port


class Server:
    def __init__(self, desired: HostState, failing_beats: int = 0) -> None:
        self.desired = desired
        self.failing_beats = failing_beats
        self.beats: list[bool] = []
        self.wired: set[str] = set()
        self.passes = 0

    async def dhcp_ports(self, host: str) -> list[str]:
        return []  # no DHCP ports to make here

    async def desired_state(self, host: str) -> HostState:
        self.passes += 1
        return copy.deepcopy(self.desired)

    async def report_state(self, host: str, agents: list[AgentReport], start_flag: bool = False) -> None:
        if self.failing_beats:
            self.failing_beats -= 1
            raise RuntimeError("the database is away")
        self.beats.append(start_flag)

    async def ports_wired(self, host: str, port_ids: list[str]) -> list[str]:
        self.wired.update(port_ids)
        return port_ids

    async def ports_unwired(self, host: str, port_ids: list[str]) -> list[str]:
        return []


def config(reconcile: float = 3600.0, report: float = 3600.0) -> Config:
    c = Config()
    c.network.reconcile_interval, c.network.report_interval = reconcile, report
    return c


def test_heartbeats_go_on_after_failures_and_the_first_pass_does_not_wait_for_success(tmp_path: Path) -> None:
    p = port()
    server = Server({"ports": {p["id"]: p}, "filters": {}, "dhcp": {}, "routers": {}}, failing_beats=2)

    async def scenario() -> None:
        bus = Bus(MemoryTransport())
        await serve(bus, NetworkServerAPI, server)
        agent = NetworkAgent(config(report=0.01), "h1", FakeNetworkDriver(tmp_path / "dp"), bus)
        await agent.start()
        await until(lambda: server.wired == {p["id"]}, what="the first pass")
        await until(lambda: len(server.beats) >= 2, what="heartbeats after the failures")
        assert server.beats[0] is True and not any(server.beats[1:])  # start_flag once, when it got through
        await agent.stop()

    asyncio.run(scenario())


def test_nudges_for_this_host_or_all_bring_a_pass_and_the_periodic_pass_runs(tmp_path: Path) -> None:
    server = Server({"ports": {}, "filters": {}, "dhcp": {}, "routers": {}})

    async def scenario() -> None:
        bus = Bus(MemoryTransport())
        await serve(bus, NetworkServerAPI, server)
        agent = NetworkAgent(config(), "h1", FakeNetworkDriver(tmp_path / "dp"), bus)
        await agent.start()
        await until(lambda: agent.passes == 1, what="the first pass")
        nudge = NetworkAgentAPI(bus)
        await nudge.resync(["other-host"])
        await nudge.resync(["h1"])
        await until(lambda: agent.passes == 2, what="the nudged pass")
        await nudge.resync(None)
        await until(lambda: agent.passes == 3, what="the pass every host was asked for")
        assert server.passes == 3  # the other host's nudge brought none
        await agent.stop()
        periodic = NetworkAgent(config(reconcile=0.01), "h2", FakeNetworkDriver(tmp_path / "dp2"), bus)
        await periodic.start()
        await until(lambda: periodic.passes >= 3, what="periodic passes")
        await periodic.stop()

    asyncio.run(scenario())


def test_stop_ends_the_loops_even_mid_pass(tmp_path: Path) -> None:
    server = Server({"ports": {}, "filters": {}, "dhcp": {}, "routers": {}})

    async def scenario() -> Any:
        bus = Bus(MemoryTransport())
        await serve(bus, NetworkServerAPI, server)
        driver = FakeNetworkDriver(tmp_path / "dp")
        agent = NetworkAgent(config(reconcile=0.001, report=0.001), "h1", driver, bus)
        await agent.start()
        await until(lambda: agent.passes >= 5, what="busy passes")
        await asyncio.wait_for(agent.stop(), 5)
        assert all(task.done() for task in agent._loops)

    asyncio.run(scenario())
