"""One host's network agent: heartbeats, the reconcile loop, and the server's nudges.

It holds no database: the desired state comes from the server over the bus
(``NetworkServerAPI.desired_state``), the observed state from its driver, and ``agent/reconcile.py``
converges the two — at start, every ``network.reconcile_interval`` seconds, and early when the
server's ``resync`` fanout names this host. Passes never overlap: a nudge during a pass asks for
one more pass right after it, so a change the running pass read too early is not missed.

It plays three of Neutron's agent roles on its host and reports a heartbeat for each every
``network.report_interval`` seconds (rows of ``/v2.0/agents``): the L2 agent (ports and their
filters, "Open vSwitch agent"), the DHCP agent and the L3 agent (routers the server gives it).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from onestack.core.bus import Bus, Subscription
from onestack.core.config import Config
from onestack.core.rpc import serve
from onestack.core.service import wait_event
from onestack.network.agent import reconcile
from onestack.network.agent.driver import NetworkDriver
from onestack.network.rpcapi import AgentReport, NetworkAgentAPI, NetworkServerAPI

log = logging.getLogger("onestack.network.agent")

# Neutron's names for the roles, as /v2.0/agents shows them on a DevStack host.
L2_AGENT: AgentReport = {"agent_type": "Open vSwitch agent", "binary": "neutron-openvswitch-agent",
                         "topic": "N/A", "configurations": {"bridge_mappings": {"public": "br-ex"},
                                                            "integration_bridge": "br-int",
                                                            "tunnel_types": ["vxlan"]}}
DHCP_AGENT: AgentReport = {"agent_type": "DHCP agent", "binary": "neutron-dhcp-agent", "topic": "dhcp_agent",
                           "configurations": {"dhcp_driver": "neutron.agent.linux.dhcp.Dnsmasq"}}
L3_AGENT: AgentReport = {"agent_type": "L3 agent", "binary": "neutron-l3-agent", "topic": "l3_agent",
                         "configurations": {"agent_mode": "legacy"}}
ROLES = (L2_AGENT, DHCP_AGENT, L3_AGENT)


def _in_zone(role: AgentReport, zone: str) -> AgentReport:
    """The role as reported: in this process's zone (Neutron's [AGENT] availability_zone)."""
    report = role.copy()
    report["availability_zone"] = zone
    return report


class NetworkAgent:
    # The topics it talks on (a test may run agents on topics of its own).
    server_api: type[NetworkServerAPI] = NetworkServerAPI
    agent_api: type[NetworkAgentAPI] = NetworkAgentAPI

    def __init__(self, config: Config, host: str, driver: NetworkDriver, bus: Bus) -> None:
        self.config = config
        self.host = host
        self.driver = driver
        self.bus = bus
        self.server = self.server_api(bus, timeout=config.network.rpc_timeout)
        self.passes = 0  # completed passes (tests and logs)
        self._wake = asyncio.Event()
        # The first pass waits for the first heartbeat (answered or not): the server picks the
        # routers' host among the agents it has heard from, so this host may be it.
        self._reported = asyncio.Event()
        self._stopping = asyncio.Event()
        self._started = True
        self._loops: list[asyncio.Task[Any]] = []
        self._serving: Subscription | None = None

    async def start(self) -> None:
        self._serving = await serve(self.bus, self.agent_api, self)
        self._wake.set()  # the first pass runs at once
        self._loops = [asyncio.create_task(self._heartbeats(), name=f"network-heartbeat-{self.host}"),
                       asyncio.create_task(self._reconciling(), name=f"network-reconcile-{self.host}")]

    async def stop(self) -> None:
        if self._serving is not None:
            await self._serving.stop()
        # Cancelling alone is not enough on 3.11: a cancel that meets a bus reply can be lost in
        # asyncio.wait_for (core/bus.py's call), so the loops also end when they see this flag.
        self._stopping.set()
        self._wake.set()
        self._reported.set()
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)

    # --- NetworkAgentAPI --------------------------------------------------------------------------

    async def resync(self, hosts: list[str] | None = None) -> None:
        if hosts is None or self.host in hosts:
            self._wake.set()

    # --- loops -------------------------------------------------------------------------------------

    async def report(self) -> None:
        await self.server.report_state(self.host, [_in_zone(r, self.config.network.availability_zone) for r in ROLES],
                                       start_flag=self._started)
        self._started = False

    async def reconcile(self) -> None:
        await reconcile.run_pass(self)
        self.passes += 1

    async def _heartbeats(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.report()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the server is away: the next heartbeat tries again
                log.warning("%s: heartbeat failed: %s", self.host, exc)
            self._reported.set()
            await wait_event(self._stopping, self.config.network.report_interval)

    async def _reconciling(self) -> None:
        await self._reported.wait()
        while not self._stopping.is_set():
            await wait_event(self._wake, self.config.network.reconcile_interval)  # a nudge, or the periodic pass
            if self._stopping.is_set():
                return
            self._wake.clear()  # a nudge from now on asks for another pass after this one
            try:
                await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad pass must not stop the loop
                log.exception("%s: reconcile pass failed", self.host)
