"""Availability zones (``/v2.0/availability_zones``), as Neutron derives them from its agents: each
agent reports its host's zone (``network.availability_zone``); the DHCP agents' zones are the
zones of networks, the L3 agents' those of routers. A network's or router's
``availability_zone_hints`` must name such zones; its ``availability_zones`` are the zones of
the agents actually serving it (``agent_scheduler`` places it within its hints)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.errors import AvailabilityZoneNotFound

A = models.Agent
# The agent type whose zones each resource may be hinted to (Neutron's validate_availability_zones).
AGENT_OF = {"network": "DHCP agent", "router": "L3 agent"}
RESOURCE_OF = {agent_type: resource for resource, agent_type in AGENT_OF.items()}


def zones(s: Session) -> list[dict[str, Any]]:
    """Neutron's list: a (zone, resource) per zone of a DHCP (network) or L3 (router) agent,
    ``available`` while one of its agents there is admin-up. Liveness does not count, as in
    Neutron: a zone whose agents all died is still available (scheduling skips dead agents)."""
    state: dict[tuple[str, str], bool] = {}
    for zone, agent_type, up in s.execute(select(A.availability_zone, A.agent_type, A.admin_state_up)
                                          .where(A.agent_type.in_(list(RESOURCE_OF)))):
        if not zone:
            continue
        key = (zone, RESOURCE_OF[agent_type])
        state[key] = state.get(key, False) or bool(up)
    return [{"name": name, "resource": resource, "state": "available" if ok else "unavailable"}
            for (name, resource), ok in sorted(state.items())]


def validate(s: Session, resource: str, hints: Sequence[str]) -> None:
    """Every hint names a zone of an agent of the resource's type (any state, as Neutron), else
    404 ``AvailabilityZoneNotFound``."""
    if not hints:
        return
    known = set(s.scalars(select(A.availability_zone).where(A.agent_type == AGENT_OF[resource],
                                                            A.availability_zone.in_(list(hints)))))
    for hint in hints:
        if hint not in known:
            raise AvailabilityZoneNotFound(hint)


def _of(s: Session, binding: Any, column: Any, ids: Iterable[str]) -> dict[str, list[str]]:
    found: dict[str, set[str]] = {i: set() for i in ids}
    if found:
        for object_id, zone in s.execute(select(column, A.availability_zone).join(A, A.id == binding.agent_id)
                                         .where(column.in_(list(found)))):
            if zone:
                found[object_id].add(zone)
    return {i: sorted(z) for i, z in found.items()}


def of_networks(s: Session, network_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each network's ``availability_zones``: those of the DHCP agents bound to it."""
    b = models.NetworkDhcpBinding
    return _of(s, b, b.network_id, network_ids)


def of_routers(s: Session, router_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each router's ``availability_zones``: that of the L3 agent hosting it (none while unplaced)."""
    b = models.RouterL3Binding
    return _of(s, b, b.router_id, router_ids)
