"""DHCP ports: the port each DHCP agent of a network listens on, as Neutron's DHCP agent makes it.

A network with at least one ``enable_dhcp`` subnet has one port with ``device_owner``
``network:dhcp`` per DHCP agent bound to it (service/agent_scheduler.py; one by default,
``network.dhcp_agents_per_network``), each in the network's project with its own address on each
of those subnets (the first free one of the pools, or its EUI-64 one on SLAAC subnets),
``binding:host_id`` the agent's host and ``device_id`` Neutron's
``dhcp<uuid5(DNS namespace, host)>-<network id>``; a network without one has none. A network no
agent is bound to keeps one port as Neutron's ``reserved_dhcp_port``, unbound; a port whose agent
went (removed, or failed over) is reused, with its addresses, for an agent that has none yet, and
spare ones are deleted.

``sync_network`` runs in the transaction of every subnet change and binding change, so the
address is taken when the subnet is made (IP availability counts it at once, as in Neutron).
Each DHCP agent's pass checks its own networks (``stale_networks`` then ``sync_host``, through
``NetworkServerAPI.dhcp_ports``), so a DHCP port a user deleted is made again and one bound
here whose binding went is given up. The agent wires the port (its tap in ``qdhcp-<network>``)
and reports it ACTIVE like any port bound to it.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from contextlib import nullcontext
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.config import NetworkConfig
from onestack.network import models
from onestack.network.errors import Conflict, IpAddressGenerationFailure, NotFound
from onestack.network.service import agent_scheduler, ipam, ports
from onestack.network.service.common import Caller

log = logging.getLogger("onestack.network.dhcp_ports")

OWNER = "network:dhcp"
RESERVED = "reserved_dhcp_port"  # Neutron's DEVICE_ID_RESERVED_DHCP_PORT
INTERNAL = Caller(project_id=None, is_admin=True)


def device_id(host: str, network_id: str) -> str:
    """Neutron's get_dhcp_agent_device_id: the host's short name hashed into a UUID5."""
    return f"dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, host.split('.')[0])}-{network_id}"


def _dhcp_subnets(s: Session, network_ids: list[str]) -> dict[str, list[models.Subnet]]:
    sub = models.Subnet
    found: dict[str, list[models.Subnet]] = defaultdict(list)
    for row in s.scalars(select(sub).where(sub.network_id.in_(network_ids), sub.enable_dhcp.is_(True))
                         .order_by(sub.created_at, sub.id)):
        found[row.network_id].append(row)
    return found


def _ports_of(s: Session, network_ids: list[str]) -> dict[str, list[models.Port]]:
    p = models.Port
    found: dict[str, list[models.Port]] = defaultdict(list)
    for row in s.scalars(select(p).where(p.network_id.in_(network_ids), p.device_owner == OWNER).order_by(p.id)):
        found[row.network_id].append(row)
    return found


def _held(s: Session, port_ids: list[str]) -> dict[str, set[str]]:
    a = models.IPAllocation
    found: dict[str, set[str]] = defaultdict(set)
    for port_id, subnet_id in s.execute(select(a.port_id, a.subnet_id).where(a.port_id.in_(port_ids))):
        found[port_id].add(subnet_id)
    return found


def _pairing(hosts: list[str], existing: list[models.Port], network_id: str
             ) -> tuple[list[tuple[str, models.Port | None]], list[models.Port]]:
    """Each bound host's port: its own (by device id), else a spare one (reserved, or a gone
    agent's: its addresses kept), else None (to make); and the spares left over."""
    by_device = {p.device_id: p for p in existing}
    mine = {h: by_device.get(device_id(h, network_id)) for h in hosts}
    taken = {p.id for p in mine.values() if p is not None}
    spares = [p for p in existing if p.id not in taken]
    spares.sort(key=lambda p: (p.device_id != RESERVED, p.id))  # reserved ones first, as Neutron's agent
    pairs: list[tuple[str, models.Port | None]] = []
    for h in hosts:
        pairs.append((h, mine[h] if mine[h] is not None else (spares.pop(0) if spares else None)))
    return pairs, spares


def sync_network(s: Session, network_id: str, config: NetworkConfig, reschedule: bool = False) -> None:
    """Make the network's DHCP ports what its subnets and DHCP agents ask for (see the module
    docstring); ``reschedule`` (a subnet change): first top the network up to its count of
    agents, one an admin took an agent from too."""
    # One writer per network at a time (the lock subnet create takes too): no two ports per agent.
    if s.scalar(select(models.Network.id).where(models.Network.id == network_id).with_for_update()) is None:
        return  # deleted while this waited for the lock
    # At most max_fixed_ips_per_port DHCP subnets (the oldest) get an address: a subnet create never
    # fails for its DHCP port.
    subnets = _dhcp_subnets(s, [network_id]).get(network_id, [])[:config.max_fixed_ips_per_port]
    if reschedule and subnets:
        agent_scheduler.clear_manual(s, network_id)
        agent_scheduler.schedule_network(s, network_id, config)
    existing = _ports_of(s, [network_id]).get(network_id, [])
    if not subnets:
        for row in existing:
            ports.delete(s, INTERNAL, row.id, internal=True)
        return
    hosts = [a.host for a in agent_scheduler.dhcp_agents(s, network_id)]
    pairs, spares = _pairing(hosts, existing, network_id)
    if not hosts:  # none bound: one port kept (or made), reserved for the next agent
        pairs = [("", spares.pop(0) if spares else None)]
    for row in spares:
        ports.delete(s, INTERNAL, row.id, internal=True)
    net = s.get(models.Network, network_id)
    assert net is not None
    for i, (host, keep) in enumerate(pairs):
        try:
            # Another agent's port may find a subnet full: that agent goes without (its pass tries
            # again); the first port, as with one agent, fails the subnet change.
            with s.begin_nested() if len(pairs) > 1 else nullcontext():
                _sync_port(s, net, host, keep, subnets, config)
        except IpAddressGenerationFailure:
            if i == 0:
                raise
            log.warning("no address for the DHCP port of network %s on %s", network_id, host)


def _sync_port(s: Session, net: models.Network, host: str, keep: models.Port | None, subnets: list[models.Subnet],
               config: NetworkConfig) -> None:
    """Make or fix ``host``'s DHCP port of ``net`` (``host`` empty: the reserved one)."""
    bound_host, dev = (host, device_id(host, net.id)) if host else ("", RESERVED)
    if keep is None:
        ports.create(s, INTERNAL, net.project_id, {
            "network_id": net.id, "device_owner": OWNER, "device_id": dev, "binding:host_id": bound_host,
            "fixed_ips": [{"subnet_id": x.id} for x in subnets if not _auto(x)]}, config)
        return
    a = models.IPAllocation
    wanted_ids = [x.id for x in subnets]
    held = s.execute(select(a.subnet_id, a.ip_address).where(a.port_id == keep.id)).all()
    attrs: dict[str, Any] = {}
    if sorted({sid for sid, _ in held}) != sorted(wanted_ids):
        kept = [{"subnet_id": sid, "ip_address": ip} for sid, ip in held if sid in wanted_ids]
        have = {sid for sid, _ in held}
        attrs["fixed_ips"] = kept + [{"subnet_id": x.id} for x in subnets if x.id not in have and not _auto(x)]
    if (keep.binding_host_id, keep.device_id) != (bound_host, dev):
        attrs.update({"binding:host_id": bound_host, "device_id": dev})
    if attrs:
        ports.update(s, INTERNAL, keep.id, attrs, config)


def _auto(subnet: models.Subnet) -> bool:
    return ipam.is_auto_address(subnet.ip_version, subnet.ipv6_ra_mode, subnet.ipv6_address_mode)


def stale_networks(s: Session, host: str, down_time: float, config_max: int) -> list[str]:
    """The networks whose DHCP ports ``host``'s agent must make or fix: of those its DHCP agent is
    bound to, each whose port here is missing, not bound here or not on exactly the network's
    DHCP subnets (or that has ports but no DHCP subnet); and each with a DHCP port bound here
    though the agent no longer serves it (given up)."""
    del down_time  # a bound agent keeps its ports until the pass moves the binding
    sub, p = models.Subnet, models.Port
    mine = set(s.scalars(select(models.NetworkDhcpBinding.network_id).join(
        models.Agent, models.Agent.id == models.NetworkDhcpBinding.agent_id).where(
        models.Agent.host == host, models.Agent.agent_type == agent_scheduler.DHCP_AGENT_TYPE)))
    here = set(s.scalars(select(p.network_id).where(p.device_owner == OWNER, p.binding_host_id == host)))
    stale = here - mine
    net_ids = sorted(mine)
    if not net_ids:
        return sorted(stale)
    # Columns only (this read is in every pass of every DHCP agent).
    want: dict[str, list[str]] = defaultdict(list)
    for net_id, sub_id in s.execute(select(sub.network_id, sub.id).where(
            sub.network_id.in_(net_ids), sub.enable_dhcp.is_(True)).order_by(sub.created_at, sub.id)):
        if len(want[net_id]) < config_max:
            want[net_id].append(sub_id)
    found: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for net_id, port_id, dev, bound in s.execute(select(p.network_id, p.id, p.device_id, p.binding_host_id).where(
            p.network_id.in_(net_ids), p.device_owner == OWNER)):
        found[net_id].append((port_id, dev, bound))
    held = _held(s, [port_id for rows in found.values() for port_id, _, _ in rows])
    for net_id in net_ids:
        wanted = set(want.get(net_id, []))
        mine_here = [r for r in found.get(net_id, []) if r[1] == device_id(host, net_id)]
        ok = (not wanted and not found.get(net_id)) or (
            wanted and len(mine_here) == 1 and mine_here[0][2] == host and held.get(mine_here[0][0], set()) == wanted)
        if not ok:
            stale.add(net_id)
    return sorted(stale)


def sync_host(s: Session, host: str, network_ids: list[str], config: NetworkConfig) -> list[str]:
    """The DHCP agent's pass syncs the DHCP ports of ``network_ids`` (from ``stale_networks``);
    networks deleted meanwhile are skipped. Returns the networks it synced."""
    del host  # every agent of the network is synced: the ports are the network's
    done = []
    for net_id in network_ids:
        if s.get(models.Network, net_id) is None:
            continue
        try:
            with s.begin_nested():  # a full subnet keeps one network's port from being made, not the rest
                sync_network(s, net_id, config)
            done.append(net_id)
        except IpAddressGenerationFailure:
            log.warning("network %s: no address for its DHCP port", net_id)
        except (NotFound, Conflict) as exc:  # changed meanwhile (a subnet or port gone, an address taken)
            log.warning("network %s: its DHCP port not synced (the next pass tries again): %s", net_id, exc)
    return done
