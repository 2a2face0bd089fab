"""Which agent serves a network's DHCP and which hosts a router, and the admin's say in it
(Neutron's ``dhcp_agent_scheduler`` and ``l3_agent_scheduler`` extensions).

Automatic placement is computed, never stored: the alive, admin-up agent of the type whose host
sorts first (``dhcp_agents_per_network`` = 1, one L3 agent for all routers), so a dead agent's
networks and routers move at once to the next. An admin's placement is a row
(``network_dhcp_bindings``, ``network_router_l3_bindings``): the agent it names while that agent
is alive and admin-up (else the automatic choice, as Neutron's failover would reschedule), or
none after a removal, until the admin adds it again (a network also by a subnet change, which
in Neutron reschedules an unhosted network). A deleted agent's rows go with it (automatic again).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.service.common import now

DHCP_AGENT_TYPE = "DHCP agent"
L3_AGENT_TYPE = "L3 agent"
AG = models.Agent


@dataclass
class Placement:
    default: models.Agent | None  # the automatic choice
    pinned: dict[str, models.Agent | None] = field(default_factory=dict)  # an admin's, where it holds

    def agent_of(self, object_id: str, automatic: bool = True) -> models.Agent | None:
        """The agent serving ``object_id``; ``automatic`` False: only an admin's placement counts."""
        if object_id in self.pinned:
            return self.pinned[object_id]
        return self.default if automatic else None

    def hosts(self) -> set[str]:
        found = {a.host for a in self.pinned.values() if a is not None}
        return found | ({self.default.host} if self.default is not None else set())


def serving(s: Session, agent_type: str, down_time: float) -> list[models.Agent]:
    """The alive, admin-up agents of ``agent_type``, by host name."""
    cutoff = now() - timedelta(seconds=down_time)
    return list(s.scalars(select(AG).where(AG.agent_type == agent_type, AG.admin_state_up.is_(True),
                                           AG.heartbeat_timestamp >= cutoff).order_by(AG.host)))


def _model(agent_type: str) -> Any:
    return models.NetworkDhcpBinding if agent_type == DHCP_AGENT_TYPE else models.RouterL3Binding


def placement(s: Session, agent_type: str, down_time: float, ids: Collection[str] | None = None) -> Placement:
    """Where the networks (DHCP) or routers (L3) are served; ``ids`` None: every one with a row."""
    alive = serving(s, agent_type, down_time)
    by_id = {a.id: a for a in alive}
    model = _model(agent_type)
    key = model.network_id if agent_type == DHCP_AGENT_TYPE else model.router_id
    stmt = select(key, model.agent_id)
    if ids is not None:
        if not ids:
            return Placement(alive[0] if alive else None)
        stmt = stmt.where(key.in_(sorted(ids)))
    out = Placement(alive[0] if alive else None)
    for object_id, agent_id in s.execute(stmt):
        if agent_id is None:
            out.pinned[object_id] = None
        elif agent_id in by_id:
            out.pinned[object_id] = by_id[agent_id]
    return out


def pin(s: Session, agent_type: str, object_id: str, agent_id: str | None) -> None:
    """Store the admin's placement of ``object_id`` (``agent_id`` None: unhosted)."""
    model = _model(agent_type)
    row = s.get(model, object_id)
    if row is None:
        row = model(network_id=object_id) if agent_type == DHCP_AGENT_TYPE else model(router_id=object_id)
        s.add(row)
    row.agent_id = agent_id
    s.flush()


def unpin_unhosted(s: Session, network_id: str) -> None:
    """A subnet change reschedules a network an admin left unhosted (as Neutron's port and subnet
    events schedule an unhosted network)."""
    row = s.get(models.NetworkDhcpBinding, network_id)
    if row is not None and row.agent_id is None:
        s.delete(row)
        s.flush()


def routers_of(s: Session, host: str, down_time: float) -> tuple[set[str] | None, set[str]]:
    """The routers ``host`` runs as (only these, or None for all) and (but not these)."""
    where = placement(s, L3_AGENT_TYPE, down_time)
    elsewhere = {r for r, a in where.pinned.items() if a is None or a.host != host}
    if where.default is not None and where.default.host == host:
        return None, elsewhere
    return {r for r, a in where.pinned.items() if a is not None and a.host == host}, set()


# --- the extensions' operations (admin only, by policy) ------------------------------------------------

def _agent(s: Session, agent_id: str) -> models.Agent:
    from onestack.network.errors import AgentNotFound

    row = s.get(AG, agent_id)
    if row is None:
        raise AgentNotFound(agent_id)
    return row


def _usable(s: Session, agent_id: str, agent_type: str, down_time: float) -> models.Agent:
    """The agent to place something on: of that type, admin-up and alive (a dead one would hand it
    straight back to the automatic choice), else Neutron's InvalidDHCPAgent / InvalidL3Agent (404)."""
    from onestack.network.errors import InvalidDHCPAgent, InvalidL3Agent

    row = s.get(AG, agent_id)
    if row is None or row.id not in {a.id for a in serving(s, agent_type, down_time)}:
        raise (InvalidDHCPAgent if agent_type == DHCP_AGENT_TYPE else InvalidL3Agent)(agent_id)
    return row


def _dhcp_networks(s: Session) -> set[str]:
    return set(s.scalars(select(models.Subnet.network_id).where(models.Subnet.enable_dhcp.is_(True))))


def networks_on_agent(s: Session, agent_id: str, down_time: float) -> list[dict[str, Any]]:
    from onestack.network.service import dhcp_ports, networks

    agent = _agent(s, agent_id)
    where = placement(s, DHCP_AGENT_TYPE, down_time)
    ids = {n for n, a in where.pinned.items() if a is not None and a.id == agent.id}
    if where.default is not None and where.default.id == agent.id:
        ids |= {n for n in _dhcp_networks(s) if n not in where.pinned}
    rows = s.scalars(select(models.Network).where(models.Network.id.in_(sorted(ids))).order_by(models.Network.id))
    return networks.views(s, dhcp_ports.INTERNAL, list(rows)) if ids else []


def agents_of_network(s: Session, network_id: str, down_time: float) -> list[dict[str, Any]]:
    from onestack.network.service import agents_api

    agent = placement(s, DHCP_AGENT_TYPE, down_time, [network_id]).agent_of(
        network_id, automatic=network_id in _dhcp_networks(s))
    return [agents_api.view(agent, int(down_time))] if agent is not None else []


def add_network(s: Session, agent_id: str, network_id: str, config: Any) -> None:
    from onestack.network.errors import NetworkHostedByDHCPAgent, NetworkNotFound
    from onestack.network.service import dhcp_ports

    down = config.agent_down_time
    if s.get(models.Network, network_id) is None:
        raise NetworkNotFound(network_id)
    agent = _usable(s, agent_id, DHCP_AGENT_TYPE, down)
    current = placement(s, DHCP_AGENT_TYPE, down, [network_id]).agent_of(
        network_id, automatic=network_id in _dhcp_networks(s))
    if current is not None:
        # One DHCP agent per network here (``dhcp_agents_per_network`` = 1); Neutron would add a second.
        raise NetworkHostedByDHCPAgent(network_id, current.id)
    pin(s, DHCP_AGENT_TYPE, network_id, agent.id)
    dhcp_ports.sync_network(s, network_id, config, agent.host)


def remove_network(s: Session, agent_id: str, network_id: str, config: Any) -> None:
    from onestack.network.errors import NetworkNotHostedByDhcpAgent
    from onestack.network.service import dhcp_ports

    agent = _agent(s, agent_id)
    current = placement(s, DHCP_AGENT_TYPE, config.agent_down_time, [network_id]).agent_of(
        network_id, automatic=network_id in _dhcp_networks(s))
    if current is None or current.id != agent.id:
        raise NetworkNotHostedByDhcpAgent(network_id, agent_id)
    # The network's row lock first, as the DHCP sync takes it.
    s.execute(select(models.Network.id).where(models.Network.id == network_id).with_for_update())
    pin(s, DHCP_AGENT_TYPE, network_id, None)
    dhcp_ports.unhost(s, network_id, config)


def routers_on_agent(s: Session, agent_id: str, down_time: float) -> list[dict[str, Any]]:
    from onestack.network.service import dhcp_ports, routers

    agent = _agent(s, agent_id)
    only, excluded = routers_of(s, agent.host, down_time) if agent.agent_type == L3_AGENT_TYPE else (set(), set())
    stmt = select(models.Router).order_by(models.Router.id)
    if only is not None:
        stmt = stmt.where(models.Router.id.in_(sorted(only)))
    rows = [r for r in s.scalars(stmt) if r.id not in excluded] if only is None or only else []
    return routers.views(s, dhcp_ports.INTERNAL, rows) if rows else []


def agents_of_router(s: Session, router_id: str, down_time: float) -> list[dict[str, Any]]:
    from onestack.network.service import agents_api

    if s.get(models.Router, router_id) is None:
        return []  # as Neutron's list_l3_agents_hosting_router: no router, no agents
    agent = placement(s, L3_AGENT_TYPE, down_time, [router_id]).agent_of(router_id)
    return [agents_api.view(agent, int(down_time))] if agent is not None else []


def add_router(s: Session, agent_id: str, router_id: str, down_time: float) -> None:
    from onestack.network.errors import RouterHostedByL3Agent, RouterNotFound

    if s.get(models.Router, router_id) is None:
        raise RouterNotFound(router_id)
    agent = _usable(s, agent_id, L3_AGENT_TYPE, down_time)
    current = placement(s, L3_AGENT_TYPE, down_time, [router_id]).agent_of(router_id)
    if current is not None and current.id == agent.id:
        if router_id not in placement(s, L3_AGENT_TYPE, down_time, [router_id]).pinned:
            pin(s, L3_AGENT_TYPE, router_id, agent.id)  # the automatic choice, now the admin's
        return  # already there: nothing to do, as Neutron
    if current is not None:
        raise RouterHostedByL3Agent(router_id, current.id)  # a legacy router has one agent
    pin(s, L3_AGENT_TYPE, router_id, agent.id)


def remove_router(s: Session, agent_id: str, router_id: str, down_time: float) -> None:
    from onestack.network.errors import RouterNotHostedByL3Agent

    agent = _agent(s, agent_id)
    current = placement(s, L3_AGENT_TYPE, down_time, [router_id]).agent_of(router_id)
    if s.get(models.Router, router_id) is None or current is None or current.id != agent.id:
        raise RouterNotHostedByL3Agent(router_id, agent_id)
    pin(s, L3_AGENT_TYPE, router_id, None)
