"""The network agents of one process: one per host name, each with its own fake data plane.

``onestack up`` runs one per simulated compute host (the ``network-agents`` service, the same
host names as ``compute-hosts``); ``onestack agent network --host NAME`` runs one with no
database, over the cloud's bus. Each host's data plane model is kept in
``<data dir>/network/<host>/datapath.json`` so it survives the agent (``agent/fake.py``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from onestack.core.bus import Bus
from onestack.core.config import Config
from onestack.core.service import Running, ServiceDefinition
from onestack.network.agent.fake import FakeNetworkDriver
from onestack.network.agent.host import NetworkAgent

if TYPE_CHECKING:
    from onestack.process import Process


def datapath_file(config: Config, host: str) -> Path:
    return config.data_dir / "network" / host / "datapath.json"


class NetworkAgents:
    def __init__(self, config: Config, hosts: list[str], bus: Bus) -> None:
        self.agents = {host: NetworkAgent(config, host, FakeNetworkDriver(datapath_file(config, host)), bus)
                       for host in hosts}

    async def start(self) -> None:
        await asyncio.gather(*(agent.start() for agent in self.agents.values()))

    async def stop(self) -> None:
        await asyncio.gather(*(agent.stop() for agent in self.agents.values()), return_exceptions=True)


def build_agents(process: Process) -> Running:
    """One agent per simulated compute host, in this process (no database)."""
    from onestack.compute.agent.worker import simulated_hosts

    hosts = simulated_hosts(process.config) if process.config.compute.enabled else []
    agents = NetworkAgents(process.config, hosts, process.bus)
    return Running("network-agents", workers=[agents], state=agents)


AGENTS = ServiceDefinition(
    name="network-agents", summary="a network agent per simulated compute host (fake data plane)",
    build=build_agents, needs_database=False)
