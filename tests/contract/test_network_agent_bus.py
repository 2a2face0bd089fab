"""A network agent and its server over each bus transport (memory, RabbitMQ): the same code.

The agent (its own transport, as its own process would have) fetches the desired state, wires
its fake host and reports the ports wired; the server's ``resync`` fanout brings the next pass
forward (the periodic pass is set far away, so only the nudge can make it)."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path

from onestack.core.bus import Bus, Transport
from onestack.core.config import Config
from onestack.core.rpc import serve
from onestack.network.agent.fake import FakeNetworkDriver
from onestack.network.agent.host import NetworkAgent
from onestack.network.rpcapi import AgentReport, HostState, NetworkAgentAPI, NetworkServerAPI
from tests.contract.bus_kit import Kit, until
from tests.contract.test_network_drivers import port


def test_agent_and_server_over_the_bus(kit: Kit, tmp_path: Path) -> None:
    class ServerAPI(NetworkServerAPI):
        topic = kit.topic("network-server")

    class AgentAPI(NetworkAgentAPI):
        topic = kit.topic("network-agent")

    class Agent(NetworkAgent):
        server_api = ServerAPI
        agent_api = AgentAPI

    first, second = port(), port(ip="10.0.0.6")

    class Server:
        def __init__(self) -> None:
            self.desired: HostState = {"ports": {first["id"]: first}, "filters": {}, "dhcp": {}, "routers": {}}
            self.active: set[str] = set()
            self.beats: list[str] = []

        async def dhcp_ports(self, host: str) -> list[str]:
            return []  # no DHCP ports to make here

        async def desired_state(self, host: str) -> HostState:
            return copy.deepcopy(self.desired)

        async def report_state(self, host: str, agents: list[AgentReport], start_flag: bool = False) -> None:
            self.beats.append(host)

        async def ports_wired(self, host: str, port_ids: list[str]) -> list[str]:
            new = sorted(set(port_ids) - self.active)
            self.active.update(port_ids)
            return new

        async def ports_unwired(self, host: str, port_ids: list[str]) -> list[str]:
            self.active.difference_update(port_ids)
            return port_ids

    async def scenario(transport: Transport) -> None:
        server = Server()
        server_bus = Bus(transport)
        await serve(server_bus, ServerAPI, server)
        config = Config()
        config.network.reconcile_interval = 3600.0  # only the first pass and nudges
        config.network.report_interval = 3600.0
        agent = Agent(config, "host-1", FakeNetworkDriver(tmp_path / "datapath"), Bus(kit.peer(transport)))
        await agent.start()
        try:
            await until(lambda: server.active == {first["id"]}, what="the first port wired")
            assert server.beats == ["host-1"]
            server.desired["ports"][second["id"]] = second
            await AgentAPI(server_bus).resync(["host-1"])
            await until(lambda: server.active == {first["id"], second["id"]}, what="the nudged pass")
            assert set((await agent.driver.observed())["ports"]) == {first["id"], second["id"]}
        finally:
            await agent.stop()
        await asyncio.sleep(0)

    kit.run(scenario)
