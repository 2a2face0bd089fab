"""Availability zones, as Nova derives them from services and host aggregates.

A compute host is in the zone(s) named by the ``availability_zone`` metadata of the
aggregates it belongs to, else in the default zone ("nova"). Other services (conductor,
scheduler) are in the internal zone, which only the admin detail view shows. A zone is
available when at least one enabled service is in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.compute.models import Aggregate, AggregateHost, AggregateMetadata, Service
from onestack.compute.scheduler.snapshot import service_is_up

DEFAULT_ZONE = "nova"  # Nova's default_availability_zone
INTERNAL_ZONE = "internal"  # Nova's internal_service_availability_zone
COMPUTE = "nova-compute"
AZ_KEY = "availability_zone"


@dataclass
class Member:
    """One service in a zone, as the detail view shows it."""

    host: str
    binary: str
    enabled: bool
    up: bool
    updated_at: datetime | None


@dataclass
class Zone:
    name: str
    available: bool
    members: list[Member] = field(default_factory=list)


def host_zone_sets(s: Session, hosts: set[str] | None = None) -> dict[str, set[str]]:
    """Host -> the zones its aggregates name (hosts in no zoned aggregate are absent)."""
    query = (select(AggregateHost.host, AggregateMetadata.value)
             .join(AggregateMetadata, AggregateMetadata.aggregate_id == AggregateHost.aggregate_id)
             .where(AggregateMetadata.key == AZ_KEY))
    if hosts is not None:
        query = query.where(AggregateHost.host.in_(hosts))
    found: dict[str, set[str]] = {}
    for host, zone in s.execute(query):
        found.setdefault(host, set()).add(zone)
    return found


def zones_by_host(s: Session) -> dict[str, str]:
    """Host -> its zone name as os-services shows it (several zones joined by commas)."""
    return {host: ",".join(sorted(zones)) for host, zones in host_zone_sets(s).items()}


def host_zone(s: Session, host: str) -> str:
    """The one zone of ``host`` (the first, if misconfigured into several), else the default."""
    zones = host_zone_sets(s, {host}).get(host)
    return min(zones) if zones else DEFAULT_ZONE


def aggregate_zone(agg: Aggregate) -> str | None:
    return next((m.value for m in agg.metadata_items if m.key == AZ_KEY), None)


def describe(s: Session, down_after: float) -> list[Zone]:
    """Every zone: available ones (with their enabled services) first, then unavailable ones."""
    by_host = zones_by_host(s)
    grouped: dict[str, list[Member]] = {}
    for row in s.scalars(select(Service).order_by(Service.host, Service.binary)):
        zone = by_host.get(row.host, DEFAULT_ZONE) if row.binary == COMPUTE else INTERNAL_ZONE
        grouped.setdefault(zone, []).append(Member(row.host, row.binary, not row.disabled,
                                                   service_is_up(row, down_after), row.updated_at))
    available = sorted(name for name, members in grouped.items() if any(m.enabled for m in members))
    unavailable = sorted(name for name in grouped if name not in available)
    return ([Zone(name, True, [m for m in grouped[name] if m.enabled]) for name in available]
            + [Zone(name, False) for name in unavailable])


def zones(s: Session) -> dict[str, list[Member]]:
    """The available zones (name -> enabled services), the ones a server may be booted into."""
    return {z.name: z.members for z in describe(s, down_after=0.0) if z.available}
