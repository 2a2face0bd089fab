"""Availability zones (``/v2.0/availability_zones``), as Neutron derives them from its agents: the
zones of the network agents, each serving networks (DHCP) and routers (L3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.service.common import now

A = models.Agent
DEFAULT_ZONE = "nova"


def zones(s: Session, down_time: int) -> list[dict[str, Any]]:
    """Neutron's zones: those of the agents, for networks (DHCP) and routers (L3) alike; ``available``
    while one enabled agent in it is alive. With no agent yet, the one default zone is available."""
    state: dict[str, bool] = {}
    fresh_after = now() - timedelta(seconds=down_time)
    for zone, up, beat in s.execute(select(A.availability_zone, A.admin_state_up, A.heartbeat_timestamp)):
        name = zone or DEFAULT_ZONE
        state[name] = state.get(name, False) or bool(up and beat is not None and beat >= fresh_after)
    if not state:
        state[DEFAULT_ZONE] = True
    return [{"name": name, "resource": resource, "state": "available" if ok else "unavailable"}
            for name, ok in sorted(state.items()) for resource in ("network", "router")]
