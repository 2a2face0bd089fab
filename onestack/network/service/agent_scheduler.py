"""Which DHCP agents serve a network and which L3 agent hosts a router, and the admin's say in it
(Neutron's ``dhcp_agent_scheduler`` and ``l3_agent_scheduler`` extensions and its schedulers).

Placements are stored rows, never recomputed from host names: ``network_dhcp_agent_bindings``
(as many per network as ``network.dhcp_agents_per_network``, plus any an admin adds) and
``network_router_l3_bindings`` (one per router; agent NULL once an admin removed it). New work
goes to the least loaded alive, admin-up agents in the object's zones, as Neutron's
AZAwareWeightScheduler (fewest networks, spread over the zones: the zone serving the network
least first) and AZLeastRoutersScheduler (fewest routers), host name breaking ties: a network
when a subnet change gives it DHCP, a router when it is made. Its zones are its
``availability_zone_hints``, else ``network.default_availability_zones``, else any; with no
serving agent in them it is not placed, and keeps a dead agent's binding. ``reschedule`` is the
level-triggered pass (each agent's reconcile pass asks for it through ``dhcp_ports``; a read
first, a write only when there is work): bindings on agents that stopped serving (dead, or set
admin-down) move to serving ones in the same zones, as Neutron's automatic DHCP failover and
router auto-reschedule; networks with DHCP short of their count and routers never placed (made
while no agent served) are placed, except a network an admin took an agent from
(``network_dhcp_manual``, until its next subnet change) and a router an admin removed. With no agent of the type serving nothing moves, as Neutron skips
rescheduling then. A deleted agent's rows go with it, and the pass places its work again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestack.core.config import NetworkConfig
from onestack.network import models
from onestack.network.errors import Conflict, IpAddressGenerationFailure, NotFound
from onestack.network.service.common import loads, now

log = logging.getLogger("onestack.network.agent_scheduler")

DHCP_AGENT_TYPE = "DHCP agent"
L3_AGENT_TYPE = "L3 agent"
AG = models.Agent
# Networks one pass moves (each a DHCP port re-bound): a big failover is spread over several
# passes, so no write holds the locks or the agent's call for long; each write nudges the agents
# whose ports moved, so the next passes follow at once.
BATCH = 50
DB = models.NetworkDhcpBinding
LB = models.RouterL3Binding


def serving(s: Session, agent_type: str, down_time: float) -> list[models.Agent]:
    """The alive, admin-up agents of ``agent_type``, by host name."""
    cutoff = now() - timedelta(seconds=down_time)
    return list(s.scalars(select(AG).where(AG.agent_type == agent_type, AG.admin_state_up.is_(True),
                                           AG.heartbeat_timestamp >= cutoff).order_by(AG.host)))


def least_loaded(candidates: Iterable[models.Agent], load: Counter[str], count: int) -> list[models.Agent]:
    """The ``count`` candidates with the fewest networks or routers (``load`` by agent id), host
    name breaking ties, as Neutron's WeightScheduler / LeastRoutersScheduler choose."""
    return sorted(candidates, key=lambda a: (load[a.id], a.host))[:max(count, 0)]


def zones_of(hints: str, config: NetworkConfig) -> frozenset[str]:
    """The zones an object with these stored hints goes to; empty: any zone."""
    return frozenset(loads(hints, []) or config.default_zones())


def in_zones(agents: Iterable[models.Agent], zones: frozenset[str]) -> list[models.Agent]:
    return [a for a in agents if not zones or a.availability_zone in zones]


def spread(candidates: Iterable[models.Agent], hosting: Iterable[models.Agent], load: Counter[str],
           count: int) -> list[models.Agent]:
    """Neutron's AZAwareWeightScheduler: ``count`` of the candidates, each from the zone with the
    fewest agents serving the network so far (``hosting`` and those chosen), the zone of the least
    loaded candidate first among equals; within a zone the least loaded. One zone: least_loaded."""
    by_zone: dict[str | None, list[models.Agent]] = {}
    for agent in sorted(candidates, key=lambda a: (load[a.id], a.host)):  # dicts keep this order
        by_zone.setdefault(agent.availability_zone, []).append(agent)
    taken = Counter(a.availability_zone for a in hosting if a.availability_zone in by_zone)
    chosen: list[models.Agent] = []
    while len(chosen) < count and by_zone:
        zone = min(by_zone, key=lambda z: taken[z])  # the first of the fewest, as Neutron's min()
        chosen.append(by_zone[zone].pop(0))
        taken[zone] += 1
        if not by_zone[zone]:
            del by_zone[zone]
    return chosen


def _load(s: Session, agent_type: str) -> Counter[str]:
    model: Any = DB if agent_type == DHCP_AGENT_TYPE else LB
    stmt = select(model.agent_id, func.count()).where(model.agent_id.is_not(None)).group_by(model.agent_id)
    return Counter({agent_id: n for agent_id, n in s.execute(stmt)})


def _lock(s: Session, model: Any, object_id: str) -> bool:
    """The network's or router's row lock (every binding change of it holds it); False: gone."""
    return s.scalar(select(model.id).where(model.id == object_id).with_for_update()) is not None


# --- DHCP ----------------------------------------------------------------------------------------------

def dhcp_agents(s: Session, network_id: str) -> list[models.Agent]:
    """The agents bound to serve the network's DHCP (alive or not), by host name."""
    return list(s.scalars(select(AG).join(DB, DB.agent_id == AG.id).where(DB.network_id == network_id)
                          .order_by(AG.host)))


def schedule_network(s: Session, network_id: str, config: NetworkConfig, alive: list[models.Agent] | None = None,
                     load: Counter[str] | None = None) -> bool:
    """Top the network up to ``dhcp_agents_per_network`` serving agents, the least loaded first
    (the caller holds the network's lock). Returns whether a binding was added."""
    alive = serving(s, DHCP_AGENT_TYPE, config.agent_down_time) if alive is None else alive
    load = _load(s, DHCP_AGENT_TYPE) if load is None else load
    bound = set(s.scalars(select(DB.agent_id).where(DB.network_id == network_id)))
    hosting = [a for a in alive if a.id in bound]
    zones = zones_of(s.scalar(select(models.Network.availability_zone_hints)
                              .where(models.Network.id == network_id)) or "[]", config)
    short = config.dhcp_agents_per_network - len(hosting)
    chosen = spread([a for a in in_zones(alive, zones) if a.id not in bound], hosting, load, short)
    for agent in chosen:
        s.add(DB(network_id=network_id, agent_id=agent.id))
        load[agent.id] += 1
    s.flush()
    return bool(chosen)


def clear_manual(s: Session, network_id: str) -> None:
    """A subnet change places the network automatically again (as Neutron's subnet events
    schedule an unhosted network)."""
    row = s.get(models.NetworkDhcpManual, network_id)
    if row is not None:
        s.delete(row)
        s.flush()


def _dhcp_work(s: Session, config: NetworkConfig, alive: list[models.Agent]) -> set[str]:
    """Networks the pass must act on, among those with a serving agent in their zones: bound to
    an agent that stopped serving, or with DHCP and short of their count (not left so by an
    admin). A network with no agent serving in its zones stays where it is, as with none at all."""
    if not alive:
        return set()
    ids = {a.id for a in alive}
    served: Counter[str] = Counter()
    stale = set()
    for network_id, agent_id in s.execute(select(DB.network_id, DB.agent_id)):
        if agent_id in ids:
            served[network_id] += 1
        else:
            stale.add(network_id)
    dhcp = set(s.scalars(select(models.Subnet.network_id).where(models.Subnet.enable_dhcp.is_(True))))
    dhcp -= set(s.scalars(select(models.NetworkDhcpManual.network_id)))
    room: dict[str, int] = {}  # serving agents in the zones, by stored hints; at most the count
    work = set()
    for network_id, hints in s.execute(select(models.Network.id, models.Network.availability_zone_hints)):
        if network_id not in stale and network_id not in dhcp:
            continue
        if hints not in room:
            room[hints] = min(config.dhcp_agents_per_network, len(in_zones(alive, zones_of(hints, config))))
        if room[hints] and (network_id in stale or served[network_id] < room[hints]):
            work.add(network_id)
    return work


# --- L3 ------------------------------------------------------------------------------------------------

def l3_agent(s: Session, router_id: str) -> models.Agent | None:
    return s.scalar(select(AG).join(LB, LB.agent_id == AG.id).where(LB.router_id == router_id))


def schedule_router(s: Session, router_id: str, config: NetworkConfig, alive: list[models.Agent] | None = None,
                    load: Counter[str] | None = None) -> bool:
    """Place the router on the serving L3 agent in its zones with the fewest routers (a new router,
    or one whose agent stopped serving); with none serving there it stays where it is."""
    alive = serving(s, L3_AGENT_TYPE, config.agent_down_time) if alive is None else alive
    load = _load(s, L3_AGENT_TYPE) if load is None else load
    zones = zones_of(s.scalar(select(models.Router.availability_zone_hints)
                              .where(models.Router.id == router_id)) or "[]", config)
    chosen = least_loaded(in_zones(alive, zones), load, 1)
    if not chosen:
        return False
    row = s.get(LB, router_id)
    if row is None:
        row = LB(router_id=router_id)
        s.add(row)
    elif row.agent_id is not None:
        load[row.agent_id] -= 1
    row.agent_id = chosen[0].id
    load[chosen[0].id] += 1
    s.flush()
    return True


def _l3_work(s: Session, config: NetworkConfig, alive: list[models.Agent]) -> set[str]:
    """Routers never placed, or on an agent that stopped serving (not those an admin removed),
    with an agent serving in their zones."""
    if not alive:
        return set()
    ids = {a.id for a in alive}
    placed = {r: a for r, a in s.execute(select(LB.router_id, LB.agent_id))}
    room: dict[str, bool] = {}  # a serving agent in the zones, by stored hints
    work = set()
    for router_id, hints in s.execute(select(models.Router.id, models.Router.availability_zone_hints)):
        if router_id in placed and (placed[router_id] is None or placed[router_id] in ids):
            continue
        if hints not in room:
            room[hints] = bool(in_zones(alive, zones_of(hints, config)))
        if room[hints]:
            work.add(router_id)
    return work


def routers_of(s: Session, host: str, down_time: float) -> tuple[set[str] | None, set[str]]:
    """The routers ``host`` runs (only these) and none excluded: those bound to its L3 agent."""
    del down_time  # a bound agent runs its routers until the pass moves them
    rows = s.scalars(select(LB.router_id).join(AG, AG.id == LB.agent_id).where(AG.host == host,
                                                                               AG.agent_type == L3_AGENT_TYPE))
    return set(rows), set()


# --- the level-triggered pass --------------------------------------------------------------------------

def needs_reschedule(s: Session, config: NetworkConfig) -> bool:
    """The pass's read: is there anything to place or move?"""
    down = config.agent_down_time
    return bool(_dhcp_work(s, config, serving(s, DHCP_AGENT_TYPE, down))
                or _l3_work(s, config, serving(s, L3_AGENT_TYPE, down)))


def _move_network(s: Session, network_id: str, config: NetworkConfig, alive: list[models.Agent], ids: set[str],
                  load: Counter[str]) -> bool:
    """Drop the network's bindings on agents not serving, then top it up (a manual one only if it
    lost one). Returns whether anything changed."""
    moved = False
    for row in s.scalars(select(DB).where(DB.network_id == network_id)):
        if row.agent_id not in ids:
            load[row.agent_id] -= 1
            s.delete(row)
            moved = True
    s.flush()
    if moved or s.get(models.NetworkDhcpManual, network_id) is None:
        moved = schedule_network(s, network_id, config, alive, load) or moved
    return moved


def reschedule(s: Session, config: NetworkConfig) -> tuple[list[str], list[str]]:
    """Move bindings off agents that stopped serving and place what is unplaced (see the module
    docstring), ``BATCH`` networks at most; each network and router under its row lock, re-read
    there, so concurrent passes and admin calls never place one twice. Returns the (networks,
    routers) it changed."""
    from onestack.network.service import dhcp_ports

    down = config.agent_down_time
    alive = serving(s, DHCP_AGENT_TYPE, down)
    ids = {a.id for a in alive}
    load = _load(s, DHCP_AGENT_TYPE)
    networks = []
    for network_id in sorted(_dhcp_work(s, config, alive))[:BATCH]:
        if not _lock(s, models.Network, network_id):
            continue
        try:
            with s.begin_nested():  # one network's failure (a full subnet) leaves the others' done
                if _move_network(s, network_id, config, alive, ids, load):
                    dhcp_ports.sync_network(s, network_id, config)
                    networks.append(network_id)
        except IpAddressGenerationFailure:
            log.warning("network %s: no address for its DHCP port, not rescheduled", network_id)
            load = _load(s, DHCP_AGENT_TYPE)
        except (NotFound, Conflict) as exc:  # changed meanwhile: the next pass tries again
            log.warning("network %s: not rescheduled: %s", network_id, exc)
            load = _load(s, DHCP_AGENT_TYPE)
    l3_alive = serving(s, L3_AGENT_TYPE, down)
    l3_ids = {a.id for a in l3_alive}
    l3_load = _load(s, L3_AGENT_TYPE)
    routers = []
    for router_id in sorted(_l3_work(s, config, l3_alive))[:BATCH * 10]:  # a row each, no ports
        if not _lock(s, models.Router, router_id):
            continue
        placed = s.get(LB, router_id)
        if (placed is None or (placed.agent_id is not None and placed.agent_id not in l3_ids)) and \
                schedule_router(s, router_id, config, l3_alive, l3_load):
            routers.append(router_id)
    return networks, routers


# --- the extensions' operations (admin only, by policy) ------------------------------------------------

def _agent(s: Session, agent_id: str) -> models.Agent:
    from onestack.network.errors import AgentNotFound

    row = s.get(AG, agent_id)
    if row is None:
        raise AgentNotFound(agent_id)
    return row


def _usable(s: Session, agent_id: str, agent_type: str, down_time: float) -> models.Agent:
    """The agent to place something on: of that type, admin-up and alive (the pass would move it
    straight off a dead one), else Neutron's InvalidDHCPAgent / InvalidL3Agent (404)."""
    from onestack.network.errors import InvalidDHCPAgent, InvalidL3Agent

    row = s.get(AG, agent_id)
    if row is None or row.id not in {a.id for a in serving(s, agent_type, down_time)}:
        raise (InvalidDHCPAgent if agent_type == DHCP_AGENT_TYPE else InvalidL3Agent)(agent_id)
    return row


def networks_on_agent(s: Session, agent_id: str, down_time: float) -> list[dict[str, Any]]:
    from onestack.network.service import dhcp_ports, networks

    del down_time
    agent = _agent(s, agent_id)
    rows = list(s.scalars(select(models.Network).join(DB, DB.network_id == models.Network.id)
                          .where(DB.agent_id == agent.id).order_by(models.Network.id)))
    return networks.views(s, dhcp_ports.INTERNAL, rows) if rows else []


def agents_of_network(s: Session, network_id: str, down_time: float) -> list[dict[str, Any]]:
    """Every agent bound to the network, alive or not, as Neutron lists them."""
    from onestack.network.service import agents_api

    return [agents_api.view(a, int(down_time)) for a in dhcp_agents(s, network_id)]


def add_network(s: Session, agent_id: str, network_id: str, config: NetworkConfig) -> None:
    """Neutron's add_network_to_dhcp_agent: any serving DHCP agent not already serving the network,
    beyond ``dhcp_agents_per_network`` too; 409 ``NetworkHostedByDHCPAgent`` only for that agent."""
    from onestack.network.errors import NetworkHostedByDHCPAgent, NetworkNotFound
    from onestack.network.service import dhcp_ports

    if s.get(models.Network, network_id) is None:
        raise NetworkNotFound(network_id)
    agent = _usable(s, agent_id, DHCP_AGENT_TYPE, config.agent_down_time)
    if not _lock(s, models.Network, network_id):
        raise NetworkNotFound(network_id)  # deleted meanwhile
    if s.get(DB, (network_id, agent.id)) is not None:
        raise NetworkHostedByDHCPAgent(network_id, agent.id)
    s.add(DB(network_id=network_id, agent_id=agent.id))
    s.flush()
    dhcp_ports.sync_network(s, network_id, config)


def remove_network(s: Session, agent_id: str, network_id: str, config: NetworkConfig) -> None:
    """Unbind the agent; the network is then as the admin left it (no automatic top-up) until its
    next subnet change. Its DHCP port is reserved if no agent is left, else deleted."""
    from onestack.network.errors import NetworkNotHostedByDhcpAgent
    from onestack.network.service import dhcp_ports

    agent = _agent(s, agent_id)
    _lock(s, models.Network, network_id)  # first, as the DHCP sync takes it
    row = s.get(DB, (network_id, agent.id))
    if row is None:
        raise NetworkNotHostedByDhcpAgent(network_id, agent_id)
    s.delete(row)
    if s.get(models.NetworkDhcpManual, network_id) is None:
        s.add(models.NetworkDhcpManual(network_id=network_id))
    s.flush()
    dhcp_ports.sync_network(s, network_id, config)


def routers_on_agent(s: Session, agent_id: str, down_time: float) -> list[dict[str, Any]]:
    from onestack.network.service import dhcp_ports, routers

    del down_time
    agent = _agent(s, agent_id)
    rows = list(s.scalars(select(models.Router).join(LB, LB.router_id == models.Router.id)
                          .where(LB.agent_id == agent.id).order_by(models.Router.id)))
    return routers.views(s, dhcp_ports.INTERNAL, rows) if rows else []


def agents_of_router(s: Session, router_id: str, down_time: float) -> list[dict[str, Any]]:
    from onestack.network.service import agents_api

    agent = l3_agent(s, router_id)  # no router, no agents, as Neutron's list_l3_agents_hosting_router
    return [agents_api.view(agent, int(down_time))] if agent is not None else []


def add_router(s: Session, agent_id: str, router_id: str, down_time: float) -> None:
    from onestack.network.errors import RouterHostedByL3Agent, RouterNotFound

    if s.get(models.Router, router_id) is None:
        raise RouterNotFound(router_id)
    agent = _usable(s, agent_id, L3_AGENT_TYPE, down_time)
    if not _lock(s, models.Router, router_id):
        raise RouterNotFound(router_id)  # deleted meanwhile
    row = s.get(LB, router_id)
    if row is not None and row.agent_id == agent.id:
        return  # already there: nothing to do, as Neutron
    if row is not None and row.agent_id is not None:
        raise RouterHostedByL3Agent(router_id, row.agent_id)  # a legacy router has one agent
    if row is None:
        s.add(LB(router_id=router_id, agent_id=agent.id))
    else:
        row.agent_id = agent.id
    s.flush()


def remove_router(s: Session, agent_id: str, router_id: str, down_time: float) -> None:
    from onestack.network.errors import RouterNotHostedByL3Agent

    del down_time
    agent = _agent(s, agent_id)
    _lock(s, models.Router, router_id)
    row = s.get(LB, router_id)
    if row is None or row.agent_id != agent.id:
        raise RouterNotHostedByL3Agent(router_id, agent_id)
    row.agent_id = None
    s.flush()
