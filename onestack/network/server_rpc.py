"""The server's side of the agents' bus: ``NetworkServerAPI`` answered, and the agents nudged.

Runs in every process that runs the network API (it is one of that service's workers), with
the service's database. Answers each host's agent (its desired state, its heartbeats, the ports
it wired) and, after every write that changed what some host should have, fans out
``NetworkAgentAPI.resync`` naming the hosts concerned: the port's own hosts (old and new), the
hosts with ports on a network whose addresses changed (their DHCP leases), the hosts with ports
in a group whose rules or members changed or in a group whose rules name it (remote groups), and
every host for the rarer changes (a router, a floating IP, a subnet's DNS servers): the routers'
host is one of them. A port created unbound on a network no host serves nudges nobody.

Which rows changed is seen by ORM flush events on the network tables, collected per session
and handed over when the write transaction ends, so no service code has to remember to nudge
(a bulk ``UPDATE`` is not seen: the periodic pass covers it, as it covers a lost fanout).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, inspect, or_, select, union
from sqlalchemy.orm import Session

from onestack.core.bus import Bus, Subscription
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.rpc import serve
from onestack.network import models
from onestack.network.rpcapi import AgentReport, HostState, NetworkAgentAPI, NetworkServerAPI
from onestack.network.service import (
    agent_scheduler,
    agents,
    dhcp_ports,
    host_state,
    nova_notifier,
    port_status,
)

log = logging.getLogger("onestack.network.server_rpc")

_ALL = "*"  # a change any host may need to see
_KEY = "network_agent_changes"
# Port columns a change of which the agents do not care about (status is what they report).
_QUIET = {"status", "revision_number", "updated_at", "name", "description"}


class _Changes:
    """What one write transaction's flushes touched, resolved to hosts when it ends (``hosts_of``)."""

    def __init__(self) -> None:
        self.hosts: set[str] = set()
        self.networks: set[str] = set()
        self.ports: set[str] = set()
        self.groups: set[str] = set()

    def hosts_of(self, s: Session) -> set[str]:
        """The hosts concerned: named ones, those with ports on a touched network (DHCP leases),
        of a touched port, or in a touched group or a group whose rules name one (remote groups)."""
        hosts = set(self.hosts)
        if _ALL in hosts:
            return {_ALL}
        ports = {"networks": sorted(self.networks), "ports": sorted(self.ports)}
        groups = {"groups": sorted(self.groups)}
        if (self.networks or self.ports) and self.groups:
            hosts.update(s.scalars(_BOTH, {**ports, **groups}))
        elif self.networks or self.ports:
            hosts.update(s.scalars(_OF_PORTS, ports))
        elif self.groups:
            hosts.update(s.scalars(_OF_GROUPS, groups))
        hosts.discard("")
        return hosts


def _hosts_statements() -> tuple[Any, Any, Any]:
    """``hosts_of``'s questions, built once (it runs at the end of every write): the hosts of
    ports on the networks or of the ports, those of ports in the groups or in groups whose rules
    name them (remote groups), and both in one round trip."""
    # Core (the tables' columns): ``_collect`` flushes before it asks.
    psg_table = cast(Table, models.PortSecurityGroup.__table__)
    port, psg, rule = cast(Table, models.Port.__table__).c, psg_table.c, cast(Table, models.SecurityGroupRule.__table__).c
    bound = port.binding_host_id != ""
    of_ports = select(port.binding_host_id).where(bound, or_(
        port.network_id.in_(bindparam("networks", expanding=True)), port.id.in_(bindparam("ports", expanding=True))))
    groups: Any = bindparam("groups", expanding=True)
    referring = select(rule.security_group_id).where(rule.remote_group_id.in_(groups))
    of_groups = select(port.binding_host_id).join(psg_table, psg.port_id == port.id).where(
        bound, or_(psg.security_group_id.in_(groups), psg.security_group_id.in_(referring)))
    return of_ports.distinct(), of_groups.distinct(), union(of_ports, of_groups)


_OF_PORTS, _OF_GROUPS, _BOTH = _hosts_statements()


def _changes(target: Any) -> _Changes | None:
    session = Session.object_session(target)
    if session is None:
        return None
    found: _Changes = session.info.setdefault(_KEY, _Changes())
    return found


def _port_changed(_mapper: Any, _conn: Any, target: models.Port) -> None:
    state = inspect(target)
    changed = {a.key for a in state.attrs if a.history.has_changes()}
    if (changed and changed <= _QUIET) or (c := _changes(target)) is None:
        return
    if target.device_owner.startswith("network:"):
        c.hosts.add(_ALL)  # a router's or floating IP's port: the routers' host wires it
    c.hosts.add(target.binding_host_id)
    c.hosts.update(h for h in state.attrs.binding_host_id.history.deleted or () if h)
    c.networks.add(target.network_id)  # its address and MAC are in the network's DHCP leases


def _network_of_row(_mapper: Any, _conn: Any, target: Any) -> None:
    if (c := _changes(target)) is not None:
        c.networks.add(target.network_id if hasattr(target, "network_id") else target.id)


def _port_of_row(_mapper: Any, _conn: Any, target: Any) -> None:
    if (c := _changes(target)) is not None:
        c.ports.add(target.port_id)
        if isinstance(target, models.PortSecurityGroup):
            c.groups.add(target.security_group_id)


def _rule_changed(_mapper: Any, _conn: Any, target: models.SecurityGroupRule) -> None:
    if (c := _changes(target)) is not None:
        c.groups.add(target.security_group_id)


def _anything_changed(_mapper: Any, _conn: Any, target: Any) -> None:
    if (c := _changes(target)) is not None:
        c.hosts.add(_ALL)


_LISTENERS = (
    (_port_changed, (models.Port,)),
    (_network_of_row, (models.IPAllocation, models.Subnet, models.Network)),
    (_port_of_row, (models.PortSecurityGroup, models.AllowedAddressPair, models.ExtraDhcpOpt)),
    (_rule_changed, (models.SecurityGroupRule,)),
    # Rarer changes whose hosts are not worth resolving: a subnet's DNS servers and routes, a
    # group's stateful flag, and everything the routers' host runs.
    (_anything_changed, (models.DnsNameServer, models.HostRoute, models.SecurityGroup, models.Router,
                         models.RouterPort, models.RouterRoute, models.FloatingIP, models.RouterL3Binding)),
)
for _fn, _models in _LISTENERS:
    for _model in _models:
        for _event in ("after_insert", "after_update", "after_delete"):
            event.listen(_model, _event, _fn)


class AgentsEndpoint:
    """``NetworkServerAPI``'s implementation, and the nudges; a worker of the network service."""

    def __init__(self, config: Config, db: Database, bus: Bus,
                 session: Callable[[], nova_notifier.Session] | None) -> None:
        self.config = config
        self.db = db
        self.bus = bus
        # Tells compute about its servers' ports: the API's changes and the agents' reports.
        self.notifier = nova_notifier.Notifier(db, session)
        self.agents_api = NetworkAgentAPI(bus)
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._serving: Subscription | None = None
        db.in_write(self._collect)
        db.after_write(self._nudge_soon)

    async def start(self) -> None:
        self._serving = await serve(self.bus, NetworkServerAPI, self)

    async def stop(self) -> None:
        if self._serving is not None:
            await self._serving.stop()
        await self.notifier.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- NetworkServerAPI ---------------------------------------------------------------------------

    async def desired_state(self, host: str) -> HostState:
        down = self.config.network.agent_down_time

        def read(s: Session) -> HostState:
            return host_state.desired_state(s, host, *agent_scheduler.routers_of(s, host, down))

        return await self.db.read(read)

    async def dhcp_ports(self, host: str) -> list[str]:
        net = self.config.network
        # The agent scheduler's level-triggered pass rides on every agent's pass: a read first, and
        # a write only when some binding is on an agent that stopped serving or something is unplaced.
        if await self.db.read(agent_scheduler.needs_reschedule, net):
            await self.db.write(agent_scheduler.reschedule, net)
        # A read first: on most passes every DHCP port is as it should be and nothing is written.
        stale = await self.db.read(dhcp_ports.stale_networks, host, net.agent_down_time,
                                   net.max_fixed_ips_per_port)
        if not stale:
            return []
        return await self.db.write(dhcp_ports.sync_host, host, stale, net)

    async def report_state(self, host: str, agents: list[AgentReport], start_flag: bool = False) -> None:
        await self.db.write(_report, host, agents, start_flag)

    async def ports_wired(self, host: str, port_ids: list[str]) -> list[str]:
        changed = await self.db.write(port_status.set_status, host, port_ids, port_status.ACTIVE)
        # In the background: the agent's pass does not wait for compute to answer.
        self.notifier.send_soon(nova_notifier.status_events(changed, port_status.ACTIVE))
        return [c.port_id for c in changed]

    async def ports_unwired(self, host: str, port_ids: list[str]) -> list[str]:
        changed = await self.db.write(port_status.set_status, host, port_ids, port_status.DOWN)
        self.notifier.send_soon(nova_notifier.status_events(changed, port_status.DOWN))
        return [c.port_id for c in changed]

    # --- nudges -------------------------------------------------------------------------------------

    def _collect(self, s: Session) -> None:
        """End of a write transaction (its thread): take the hosts its flushes touched."""
        s.flush()
        changes: _Changes | None = s.info.pop(_KEY, None)
        hosts = changes.hosts_of(s) if changes is not None else set()
        if hosts:
            with self._lock:
                self._pending.update(hosts)

    def _nudge_soon(self) -> None:
        """After a write (on the loop): fan out what was collected."""
        with self._lock:
            hosts, self._pending = self._pending, set()
        if not hosts:
            return
        self._background(self._nudge(None if _ALL in hosts else sorted(hosts)))

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _nudge(self, hosts: list[str] | None) -> None:
        try:
            await self.agents_api.resync(hosts)
        except Exception as exc:  # noqa: BLE001 - the periodic pass covers a lost nudge
            log.warning("resync of %s not sent: %s", hosts or "every host", exc)


def _report(s: Session, host: str, reports: list[AgentReport], start_flag: bool) -> None:
    agents.report_state(s, host, reports, start_flag)
