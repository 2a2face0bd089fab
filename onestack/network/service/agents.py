"""Network agents as the server knows them: heartbeat rows, liveness, and who hosts the routers.

One ``network_agents`` row per (agent type, host), as Neutron keeps them; a heartbeat
(``report_state``) refreshes ``heartbeat_timestamp``, and an agent is alive while its last
heartbeat is younger than ``network.agent_down_time`` seconds.

Where networks' DHCP and routers are served is service/agent_scheduler.py's (stored bindings,
the least loaded alive agents, moved off agents that stop serving).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.rpcapi import AgentReport
from onestack.network.service.common import dumps, new_id, now

DEFAULT_ZONE = "nova"  # Neutron's [AGENT] availability_zone default


def report_state(s: Session, host: str, reports: Sequence[AgentReport], start_flag: bool,
                 when: datetime | None = None) -> None:
    """Upsert one row per reported role of ``host``; ``start_flag`` marks the agent (re)started."""
    stamp = when or now()
    rows = {r.agent_type: r for r in s.scalars(select(models.Agent).where(models.Agent.host == host))}
    for report in reports:
        row = rows.get(report["agent_type"])
        if row is None:
            row = models.Agent(id=new_id(), agent_type=report["agent_type"], host=host, created_at=stamp,
                               started_at=stamp, admin_state_up=True, description=None)
            s.add(row)
        elif start_flag:
            row.started_at = stamp
        # Every heartbeat carries the agent's zone, so a reconfigured agent moves (as Neutron).
        row.availability_zone = report.get("availability_zone") or DEFAULT_ZONE
        row.binary, row.topic = report["binary"], report["topic"]
        row.configurations = dumps(report["configurations"])
        row.heartbeat_timestamp = stamp


def is_alive(row: models.Agent, down_time: float, when: datetime | None = None) -> bool:
    return ((when or now()) - row.heartbeat_timestamp) <= timedelta(seconds=down_time)


def alive_hosts(s: Session, agent_type: str, down_time: float, when: datetime | None = None) -> list[str]:
    """Hosts whose ``agent_type`` agent is alive and admin-up, by name."""
    cutoff = (when or now()) - timedelta(seconds=down_time)
    return sorted(s.scalars(select(models.Agent.host).where(
        models.Agent.agent_type == agent_type, models.Agent.admin_state_up.is_(True),
        models.Agent.heartbeat_timestamp >= cutoff)))
