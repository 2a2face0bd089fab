"""Port status as the agents report it: DOWN → ACTIVE when wired on its host, back to DOWN when not.

Only a port bound to the reporting host (or a router's port, which the router's host wires)
changes, so a late report from a host the port has left does not touch it. A status change is a
change of the port: a new revision, as in Neutron.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.service.common import now

ACTIVE, DOWN = "ACTIVE", "DOWN"
ROUTER_OWNERS = ("network:router_interface", "network:router_gateway", "network:router_interface_distributed")


@dataclass(frozen=True)
class Changed:
    port_id: str
    device_id: str
    device_owner: str


def set_status(s: Session, host: str, port_ids: Sequence[str], status: str) -> list[Changed]:
    """Set ``status`` on those of ``port_ids`` the report may speak for; the ports that changed."""
    if not port_ids:
        return []
    port = models.Port
    rows = s.scalars(select(port).where(
        port.id.in_(sorted(set(port_ids))), port.status != status,
        or_(port.binding_host_id == host, port.device_owner.in_(ROUTER_OWNERS))).order_by(port.id)).all()
    stamp = now()
    for row in rows:
        row.status = status
        row.revision_number = (row.revision_number or 0) + 1
        row.updated_at = stamp
    return [Changed(r.id, r.device_id, r.device_owner) for r in rows]
