"""Server external events as Nova's API accepts them: each answered with a status and code.

Events for unknown servers (404), servers on no host (422) or missing a required tag (400)
fail on their own; accepted ones are logged, and ``volume-extended`` / ``power-update`` start
an instance action, as Nova's API does; the agent then adds its events to the action.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.compute.models import Instance
from onestack.compute.service import instances
from onestack.compute.service.servers import Actor

log = logging.getLogger("onestack.compute.events")

TAG_REQUIRED = ("volume-extended", "power-update", "accelerator-request-bound")
# Events after which Nova's API records an instance action (the agent adds its events to it).
ACTIONS = {"volume-extended": "extend_volume", "power-update": "power_update"}
# Events the server's agent acts on (agent/interfaces.py), as Nova's compute does.
DELIVERED = ("network-vif-plugged", "network-changed", "network-vif-deleted", "volume-reimaged")


@dataclass
class Deliveries:
    """The request's status (200, or 207 if any failed) and what goes to the agents: per server,
    its row (as the agent needs it) and its accepted events."""

    status: int = 200
    servers: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = field(default_factory=dict)
    # ``volume-extended``: the server's row and the volume (the event's tag), for the agent to resize.
    extends: list[tuple[dict[str, Any], str]] = field(default_factory=list)


def dispatch(s: Session, events: list[dict[str, Any]], actor: Actor) -> Deliveries:
    """Answer each event in place (status, code); accepted network events are to be delivered."""
    uuids = {e["server_uuid"] for e in events}
    rows = {row.uuid: row for row in s.scalars(select(Instance).where(Instance.uuid.in_(uuids),
                                                                      Instance.deleted.is_(False)))}
    hosts = {uuid: row.host for uuid, row in rows.items()}
    out = Deliveries()
    result = 200
    for event in events:
        server, name = event["server_uuid"], event["name"]
        if server not in hosts:
            log.debug("dropping event %s:%s for unknown server %s", name, event.get("tag"), server)
            event.update(status="failed", code=404)
            result = 207
        elif name in TAG_REQUIRED and event.get("tag") is None:
            event.update(status="failed", code=400)
            result = 207
        elif not hosts[server]:
            log.debug("dropping event %s for server %s: it is on no host", name, server)
            event.update(status="failed", code=422)
            result = 207
        else:
            log.info("event %s:%s for server %s on %s (status %s)", name, event.get("tag"), server,
                     hosts[server], event.get("status", "completed"))
            if name in ACTIONS:
                instances.start_action(s, server, ACTIONS[name], actor.request_id, actor.project_id, actor.user_id)
            event.update(status="completed", code=200)
            if name == "volume-extended":
                out.extends.append((instances.to_dict(rows[server]), str(event["tag"])))
            if name in DELIVERED:
                _row, accepted = out.servers.setdefault(server, (instances.to_dict(rows[server]), []))
                accepted.append({k: v for k, v in event.items() if k != "code"})
    out.status = result
    return out
