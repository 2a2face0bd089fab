"""DHCP ports: the port a network's DHCP server listens on, as Neutron's DHCP agent makes it.

A network with at least one ``enable_dhcp`` subnet has one port with ``device_owner``
``network:dhcp``, the network's project, an address on each of those subnets (the first free
one of the pools, or its EUI-64 one on SLAAC subnets) and ``binding:host_id`` the network's DHCP
host; a network without one has none. The DHCP host is the admin's choice where one holds, else
the alive, admin-up DHCP agent whose host name sorts first (``dhcp_agents_per_network`` = 1;
service/agent_scheduler.py); its ``device_id`` is Neutron's
``dhcp<uuid5(DNS namespace, host)>-<network id>``. A network an admin removed from its agent keeps
its port as Neutron's ``reserved_dhcp_port``, unbound, until it is placed again.

``sync_network`` runs in the transaction of every subnet change, so the address is taken when
the subnet is made (IP availability counts it at once, as in Neutron). With no DHCP agent alive
yet (a cloud's first start), the port is Neutron's ``reserved_dhcp_port``, unbound; the DHCP
host's agent claims it on its next pass (``stale_networks`` then ``sync_host``, through
``NetworkServerAPI.dhcp_ports``), as it re-creates a DHCP port a user deleted and takes over the
ports of a host whose agent died. The agent wires the port (its tap in ``qdhcp-<network>``) and
reports it ACTIVE like any port bound to it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.config import NetworkConfig
from onestack.network import models
from onestack.network.service import agent_scheduler, ipam, ports
from onestack.network.service.common import Caller

OWNER = "network:dhcp"
RESERVED = "reserved_dhcp_port"  # Neutron's DEVICE_ID_RESERVED_DHCP_PORT
DHCP_AGENT_TYPE = agent_scheduler.DHCP_AGENT_TYPE
INTERNAL = Caller(project_id=None, is_admin=True)


def device_id(host: str, network_id: str) -> str:
    """Neutron's get_dhcp_agent_device_id: the host's short name hashed into a UUID5."""
    return f"dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, host.split('.')[0])}-{network_id}"


def dhcp_host(s: Session, network_id: str, down_time: float) -> str | None:
    agent = agent_scheduler.placement(s, DHCP_AGENT_TYPE, down_time, [network_id]).agent_of(network_id)
    return agent.host if agent is not None else None


def unhost(s: Session, network_id: str, config: NetworkConfig) -> None:
    """The network was removed from its DHCP agent: its port stays, reserved and unbound, as Neutron
    keeps it so the address is reused when the network is placed again."""
    for row in _ports_of(s, [network_id]).get(network_id, []):
        if (row.binding_host_id, row.device_id) != ("", RESERVED):
            ports.update(s, INTERNAL, row.id, {"binding:host_id": "", "device_id": RESERVED}, config)


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


def _binding(host: str | None, current: models.Port | None, network_id: str) -> tuple[str, str]:
    """(binding host, device id): the DHCP host's, else the port's own, else reserved."""
    if host:
        return host, device_id(host, network_id)
    if current is not None and current.binding_host_id:
        return current.binding_host_id, current.device_id
    return "", RESERVED


def sync_network(s: Session, network_id: str, config: NetworkConfig, host: str | None = None,
                 reschedule: bool = False) -> None:
    """Make the network's DHCP port what its subnets ask for (see the module docstring);
    ``host`` None: the network's DHCP host as the bindings and heartbeats say now; ``reschedule``
    (a subnet change): a network an admin left unhosted is placed automatically again."""
    # One writer per network at a time (the lock subnet create takes too): no two DHCP ports.
    if s.scalar(select(models.Network.id).where(models.Network.id == network_id).with_for_update()) is None:
        return  # deleted while this waited for the lock
    if reschedule:
        agent_scheduler.unpin_unhosted(s, network_id)
    if host is None:
        host = dhcp_host(s, network_id, config.agent_down_time)
    # At most max_fixed_ips_per_port DHCP subnets (the oldest) get an address: a subnet create never
    # fails for its DHCP port.
    subnets = _dhcp_subnets(s, [network_id]).get(network_id, [])[:config.max_fixed_ips_per_port]
    existing = _ports_of(s, [network_id]).get(network_id, [])
    keep, extra = (existing[0], existing[1:]) if existing else (None, [])
    if not subnets:
        extra = existing
        keep = None
    for row in extra:
        ports.delete(s, INTERNAL, row.id, internal=True)
    if not subnets:
        return
    bound_host, dev = _binding(host, keep, network_id)
    a = models.IPAllocation
    wanted_ids = [x.id for x in subnets]
    if keep is None:
        net = s.get(models.Network, network_id)
        assert net is not None
        ports.create(s, INTERNAL, net.project_id, {
            "network_id": network_id, "device_owner": OWNER, "device_id": dev, "binding:host_id": bound_host,
            "fixed_ips": [{"subnet_id": x.id} for x in subnets if not _auto(x)]}, config)
        return
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
    """The networks whose DHCP port ``host``'s agent must make or fix: of the networks it is the
    DHCP host of, each with DHCP subnets whose one DHCP port is missing, not bound here, or not on
    exactly those subnets (and each with DHCP ports but no DHCP subnet)."""
    where = agent_scheduler.placement(s, DHCP_AGENT_TYPE, down_time)
    if host not in where.hosts():
        return []
    sub, p = models.Subnet, models.Port
    net_ids = sorted(set(s.scalars(select(sub.network_id).where(sub.enable_dhcp.is_(True))))
                     | set(s.scalars(select(p.network_id).where(p.device_owner == OWNER))))
    if not net_ids:
        return []
    subnets = {n: rows[:config_max] for n, rows in _dhcp_subnets(s, net_ids).items()}
    found = _ports_of(s, net_ids)
    held = _held(s, [r.id for rows in found.values() for r in rows])
    stale = []
    for net_id in net_ids:
        agent = where.agent_of(net_id)
        if agent is None or agent.host != host:
            continue
        want = {x.id for x in subnets.get(net_id, [])}
        rows = found.get(net_id, [])
        ok = (not want and not rows) or (
            len(rows) == 1 and rows[0].binding_host_id == host and rows[0].device_id == device_id(host, net_id)
            and held.get(rows[0].id, set()) == want)
        if not ok:
            stale.append(net_id)
    return stale


def sync_host(s: Session, host: str, network_ids: list[str], config: NetworkConfig) -> list[str]:
    """The DHCP host's agent makes the DHCP ports of ``network_ids`` (from ``stale_networks``);
    networks deleted meanwhile are skipped. Returns the networks it synced."""
    done = []
    for net_id in network_ids:
        if s.get(models.Network, net_id) is not None:
            sync_network(s, net_id, config, host)
            done.append(net_id)
    return done
