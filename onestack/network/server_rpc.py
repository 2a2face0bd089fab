"""The server's side of the agents' bus: ``NetworkServerAPI`` answered, and the agents nudged.

Runs in every process that runs the network API (it is one of that service's workers), with
the service's database. Answers each host's agent (its desired state, its heartbeats, the ports
it wired) and, after every write that changed what some host should have, fans out
``NetworkAgentAPI.resync`` naming the hosts concerned — all of them when the change may touch
any host (a rule, a subnet, a router, an address: DHCP leases and remote groups span hosts).

Which rows changed is seen by ORM flush events on the network tables, collected per session
and handed over when the write transaction ends, so no service code has to remember to nudge
(a bulk ``UPDATE`` is not seen: the periodic pass covers it, as it covers a lost fanout).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from onestack.core.bus import Bus, Subscription
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.rpc import serve
from onestack.network import models
from onestack.network.rpcapi import AgentReport, HostState, NetworkAgentAPI, NetworkServerAPI
from onestack.network.service import agents, host_state, nova_notifier, port_status

log = logging.getLogger("onestack.network.server_rpc")

_ALL = "*"  # a change any host may need to see
_KEY = "network_agent_hosts"
# Port columns a change of which the agents do not care about (status is what they report).
_QUIET = {"status", "revision_number", "updated_at", "name", "description"}


def _note(target: Any, hosts: set[str]) -> None:
    session = Session.object_session(target)
    if session is not None:
        session.info.setdefault(_KEY, set()).update(hosts)


def _port_changed(_mapper: Any, _conn: Any, target: models.Port) -> None:
    state = inspect(target)
    changed = {a.key for a in state.attrs if a.history.has_changes()}
    if changed and changed <= _QUIET:
        return
    hosts = {target.binding_host_id}
    old = state.attrs.binding_host_id.history.deleted
    hosts.update(h for h in old or () if h)
    # Addresses and MACs are in other hosts' DHCP leases and remote-group filters too.
    _note(target, {h for h in hosts if h} | {_ALL})


def _anything_changed(_mapper: Any, _conn: Any, target: Any) -> None:
    _note(target, {_ALL})


for _event in ("after_insert", "after_update", "after_delete"):
    event.listen(models.Port, _event, _port_changed)
    for _model in (models.IPAllocation, models.Subnet, models.DnsNameServer, models.HostRoute,
                   models.PortSecurityGroup, models.SecurityGroup, models.SecurityGroupRule,
                   models.AllowedAddressPair, models.Network, models.Router, models.RouterPort,
                   models.RouterRoute, models.FloatingIP):
        event.listen(_model, _event, _anything_changed)


class AgentsEndpoint:
    """``NetworkServerAPI``'s implementation, and the nudges; a worker of the network service."""

    def __init__(self, config: Config, db: Database, bus: Bus, session: nova_notifier.Session | None) -> None:
        self.config = config
        self.db = db
        self.bus = bus
        self.session = session  # HTTP as the service user, to tell compute (None: nobody to tell)
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
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- NetworkServerAPI ---------------------------------------------------------------------------

    async def desired_state(self, host: str) -> HostState:
        down = self.config.network.agent_down_time

        def read(s: Session) -> HostState:
            return host_state.desired_state(s, host, agents.router_host(s, down) == host)

        return await self.db.read(read)

    async def report_state(self, host: str, agents: list[AgentReport], start_flag: bool = False) -> None:
        await self.db.write(_report, host, agents, start_flag)

    async def ports_wired(self, host: str, port_ids: list[str]) -> list[str]:
        changed = await self.db.write(port_status.set_status, host, port_ids, port_status.ACTIVE)
        events = nova_notifier.vif_plugged_events(changed)
        if events and self.session is not None:
            # In the background: the agent's pass does not wait for compute to answer.
            self._background(nova_notifier.send(self.session, events))
        return [c.port_id for c in changed]

    async def ports_unwired(self, host: str, port_ids: list[str]) -> list[str]:
        changed = await self.db.write(port_status.set_status, host, port_ids, port_status.DOWN)
        return [c.port_id for c in changed]

    # --- nudges -------------------------------------------------------------------------------------

    def _collect(self, s: Session) -> None:
        """End of a write transaction (its thread): take the hosts its flushes touched."""
        s.flush()
        hosts = s.info.pop(_KEY, None)
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
