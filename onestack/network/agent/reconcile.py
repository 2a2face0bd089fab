"""The agent's level-triggered pass: make the host's observed state the server's desired state.

``plan`` is pure: from desired and observed ``HostState`` it lists the driver calls that close
the gap (stale things removed first, then filters before the ports they guard, then DHCP and
routers). ``run_pass`` has the server make the DHCP ports this host serves, fetches the desired state, reads the driver, runs the plan — one object's
failure is logged and never stops the others — reads the driver again and reports to the server
which ports are wired (ACTIVE) and which are not (DOWN). Nothing is remembered between passes:
a crash halfway, a lost nudge or drift on the host is repaired by the next pass.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from onestack.network.agent.driver import NetworkDriver
from onestack.network.rpcapi import HostState, NetworkServerAPI

log = logging.getLogger("onestack.network.agent")


@dataclass
class Plan:
    """The driver calls of one pass, in the order they run: (method name, argument)."""

    steps: list[tuple[str, Any]] = field(default_factory=list)

    def add(self, method: str, arg: Any) -> None:
        self.steps.append((method, arg))


def plan(desired: HostState, observed: HostState) -> Plan:
    out = Plan()
    for rid in sorted(set(observed["routers"]) - set(desired["routers"])):
        out.add("remove_router", rid)
    for sid in sorted(set(observed["dhcp"]) - set(desired["dhcp"])):
        out.add("remove_dhcp", sid)
    for pid in sorted(set(observed["ports"]) - set(desired["ports"])):
        out.add("unplug_port", pid)
    for pid in sorted(set(observed["filters"]) - set(desired["filters"])):
        out.add("remove_port_filter", pid)
    for pid, spec in sorted(desired["filters"].items()):
        if observed["filters"].get(pid) != spec:
            out.add("apply_port_filter", spec)
    for pid, port in sorted(desired["ports"].items()):
        if observed["ports"].get(pid) != port:
            out.add("plug_port", port)
    for sid, dhcp in sorted(desired["dhcp"].items()):
        if observed["dhcp"].get(sid) != dhcp:
            out.add("ensure_dhcp", dhcp)
    for rid, router in sorted(desired["routers"].items()):
        if observed["routers"].get(rid) != router:
            out.add("ensure_router", router)
    return out


def port_status(desired: HostState, observed: HostState) -> tuple[list[str], list[str]]:
    """(wired, not wired): the host's ports as the server should show them, ACTIVE or DOWN.

    A port is wired when the host has it exactly as desired and it is administratively up (an
    admin-down port stays DOWN, as Neutron's OVS agent shows it). A router's interface and
    gateway ports are wired when the host runs the router as desired, admin-up or not: an
    admin-down router is wired but forwards nothing, and its ports are ACTIVE as OVN (DevStack's
    default backend) shows them, which Tempest waits for on routers it creates admin-down."""
    wired: list[str] = []
    down: list[str] = []
    for pid, port in desired["ports"].items():
        ok = observed["ports"].get(pid) == port and port["admin_state_up"]
        (wired if ok else down).append(pid)
    for rid, router in desired["routers"].items():
        ports = [i["port_id"] for i in router["interfaces"]]
        if router["gateway"] is not None:
            ports.append(router["gateway"]["port_id"])
        (wired if observed["routers"].get(rid) == router else down).extend(ports)
    return sorted(wired), sorted(down)


class Agent(Protocol):
    """What the pass needs of the agent (``agent/host.py`` imports this module, not the reverse)."""

    host: str
    driver: NetworkDriver
    server: NetworkServerAPI


async def run_pass(agent: Agent) -> tuple[list[str], list[str]]:
    """One pass; returns the (wired, not wired) ports it reported."""
    # As Neutron's DHCP agent: its networks' DHCP ports first (made or claimed on the server), so
    # the desired state read next has them to wire.
    await agent.server.dhcp_ports(agent.host)
    desired = await agent.server.desired_state(agent.host)
    observed = await agent.driver.observed()
    for method, arg in plan(desired, observed).steps:
        fn: Callable[[Any], Awaitable[None]] = getattr(agent.driver, method)
        try:
            await fn(arg)
        except Exception as exc:  # noqa: BLE001 - one object's failure must not keep the others from converging
            key = arg if isinstance(arg, str) else arg.get("id") or arg.get("port_id") or arg.get("subnet_id")
            log.warning("%s: %s %s failed (the next pass retries): %s", agent.host, method, key, exc)
    wired, down = port_status(desired, await agent.driver.observed())
    # Ports this pass took off the host: DOWN too, unless they are bound elsewhere now (the server
    # checks), as Neutron's agent reports a removed device down.
    down = sorted({*down, *(set(observed["ports"]) - set(desired["ports"]))})
    if wired:
        await agent.server.ports_wired(agent.host, wired)
    if down:
        await agent.server.ports_unwired(agent.host, down)
    return wired, down
