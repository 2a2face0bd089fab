"""Availability zones, derived from the compute hosts that have registered.

Nova reports its default zone ("nova") for hosts outside any aggregate zone. Until compute
hosts exist (the compute agents land with servers) there is no zone to report, so the list
is empty: ``{"availabilityZoneInfo": []}``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

DEFAULT_ZONE = "nova"
# The table the compute agents will register in: one row per (host, binary) with availability_zone.
SERVICES_TABLE = "compute_services"


def hosts(s: Session) -> list[dict[str, Any]]:
    """Registered compute hosts: host, zone, enabled, up, updated_at (empty until agents exist)."""
    if not inspect(s.connection()).has_table(SERVICES_TABLE):
        return []
    rows = s.execute(text(f"SELECT * FROM {SERVICES_TABLE}")).mappings().all()
    return [{"host": r.get("host"), "binary": r.get("binary", "nova-compute"),
             "zone": r.get("availability_zone") or DEFAULT_ZONE, "enabled": not r.get("disabled", False),
             "up": bool(r.get("up", True)), "updated_at": r.get("updated_at")} for r in rows]


def zones(s: Session) -> dict[str, list[dict[str, Any]]]:
    """Zone name -> its hosts."""
    found: dict[str, list[dict[str, Any]]] = {}
    for host in hosts(s):
        found.setdefault(host["zone"], []).append(host)
    return found
