"""The agents API over the rows the network agents keep fresh (h/agent writes them): list, show,
update (admin_state_up, description), delete; ``alive`` while the heartbeat is younger than
``network.agent_down_time``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.errors import AgentNotFound
from onestack.network.service.common import Listing, ListQuery, loads, now, paged

A = models.Agent


def _stamp(when: datetime | None) -> str | None:
    """Neutron shows agents' times as ``2026-12-06 13:42:03`` (no T, no zone)."""
    return None if when is None else when.strftime("%Y-%m-%d %H:%M:%S")


def listing(down_time: int) -> Listing:
    def alive(values: list[Any]) -> Any:
        fresh = A.heartbeat_timestamp >= now() - timedelta(seconds=down_time)
        return fresh if all(values) else (~fresh if not any(values) else A.id.is_not(None))

    def agent_type(values: list[Any]) -> Any:
        # Case-insensitive, as Neutron's filter is on MySQL (DevStack's database, whose collation
        # ignores case): Tempest's DHCP scheduler tests look for agent_type "DHCP Agent".
        return func.lower(A.agent_type).in_(sorted({str(v).lower() for v in values if v is not None}))

    return Listing(tag_type=None, id_column=A.id,
                   columns={"id": A.id, "agent_type": A.agent_type, "binary": A.binary, "topic": A.topic,
                            "host": A.host, "admin_state_up": A.admin_state_up, "description": A.description,
                            "availability_zone": A.availability_zone, "created_at": A.created_at,
                            "started_at": A.started_at, "heartbeat_timestamp": A.heartbeat_timestamp},
                   conditions={"alive": alive, "agent_type": agent_type})


def view(row: models.Agent, down_time: int) -> dict[str, Any]:
    return {
        "id": row.id, "agent_type": row.agent_type, "binary": row.binary, "topic": row.topic, "host": row.host,
        "admin_state_up": row.admin_state_up, "availability_zone": row.availability_zone,
        "configurations": loads(row.configurations, {}), "description": row.description,
        "resources_synced": row.resources_synced, "created_at": _stamp(row.created_at),
        "started_at": _stamp(row.started_at), "heartbeat_timestamp": _stamp(row.heartbeat_timestamp),
        "alive": row.heartbeat_timestamp is not None
        and now() - row.heartbeat_timestamp <= timedelta(seconds=down_time),
    }


def _get(s: Session, agent_id: str) -> models.Agent:
    row = s.get(A, agent_id)
    if row is None:
        raise AgentNotFound(agent_id)
    return row


def list_agents(s: Session, q: ListQuery, down_time: int) -> list[dict[str, Any]]:
    stmt: Select[Any] = select(A)
    return [view(r, down_time) for r in paged(s, stmt, listing(down_time), q, A)]


def show(s: Session, agent_id: str, down_time: int) -> dict[str, Any]:
    return view(_get(s, agent_id), down_time)


def update(s: Session, agent_id: str, attrs: Mapping[str, Any], down_time: int) -> dict[str, Any]:
    row = _get(s, agent_id)
    if "admin_state_up" in attrs:
        row.admin_state_up = bool(attrs["admin_state_up"])
    if "description" in attrs:
        row.description = attrs["description"]
    s.flush()
    return view(row, down_time)


def delete(s: Session, agent_id: str) -> None:
    s.delete(_get(s, agent_id))
    s.flush()

