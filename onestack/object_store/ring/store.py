"""The ring in the database: the newest ``object_rings`` row, built from ``object_ring_devices``.

``onestack up`` makes the local host's devices (one per replica, each its own zone) and the
first ring; an object agent that reports a new device makes the ring be rebuilt, keeping every
partition assignment that is still valid (``builder.py``). The operator's changes
(``ring/admin.py``: a weight, a removal) are kept beside what the agents report and win over it."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from onestack.object_store import models
from onestack.object_store.ring.builder import build_ring
from onestack.object_store.ring.ring import Device, Ring

# Ring versions kept in the database: the newest and a few before it (to look back at a rebalance);
# a process holding an older one reloads the newest, so older rows are never read again.
KEEP_RING_VERSIONS = 5


def load_ring(session: Session) -> Ring | None:
    row = session.scalars(select(models.Ring).order_by(models.Ring.version.desc()).limit(1)).first()
    return Ring.from_dict(row.body) if row is not None else None


def latest_version(session: Session) -> int:
    """The newest ring's version (0: none yet) — one indexed read, without the ring's body."""
    return int(session.scalar(select(func.max(models.Ring.version))) or 0)


def load_newer_ring(session: Session, version: int) -> Ring | None:
    """The newest ring when it is newer than ``version``; None (and no body read) otherwise."""
    return load_ring(session) if latest_version(session) > version else None


def effective_weight(row: models.RingDevice) -> float:
    """The weight the ring uses: the operator's when set, else what the agent reported."""
    return row.operator_weight if row.operator_weight is not None else row.weight


def devices(session: Session) -> list[Device]:
    """The devices a ring is built from: every recorded one the operator has not removed."""
    rows = session.scalars(select(models.RingDevice).where(models.RingDevice.removed.is_(False))
                           .order_by(models.RingDevice.id)).all()
    return [Device(id=r.id, host=r.host, device=r.device, zone=r.zone, region=r.region, ip=r.ip, port=r.port,
                   weight=effective_weight(r)) for r in rows]


# A device is alive while its agent reported it within this many report intervals (as Nova's
# service_down_time is six of its report_interval). Its ``last_seen`` is rewritten only when
# older than a third of that window, so a heartbeat writes a row every few reports, not on each.
LIVENESS_INTERVALS = 6
LAST_SEEN_REFRESH = 1 / 3


def liveness_window(report_interval: float) -> float:
    return LIVENESS_INTERVALS * report_interval


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def add_device(session: Session, host: str, device: str, *, zone: int, region: int = 1, ip: str = "127.0.0.1",
               port: int = 0, weight: float = 100.0, refresh_after: float = 0.0, now: datetime | None = None) -> bool:
    """Record (or refresh) a device; True when it is new or moved (the ring must be rebuilt).
    ``last_seen`` of a known device is only rewritten when older than ``refresh_after`` seconds.
    A reported weight is recorded but changes nothing while the operator's is set, and a device
    the operator removed stays out of the ring (False) whatever its agent reports."""
    row = session.scalars(select(models.RingDevice).where(models.RingDevice.host == host,
                                                          models.RingDevice.device == device)).first()
    now = now or _now()
    if row is None:
        next_id = (session.scalar(select(func.max(models.RingDevice.id))) or 0) + 1
        session.add(models.RingDevice(id=next_id, host=host, device=device, zone=zone, region=region, ip=ip,
                                      port=port, weight=weight, last_seen=now))
        session.flush()
        return True
    moved = (row.ip, row.port, row.zone, row.region) != (ip, port, zone, region)
    reweighted = row.weight != weight
    if moved or reweighted:
        row.ip, row.port, row.zone, row.region, row.weight = ip, port, zone, region, weight
    if moved or reweighted or row.last_seen is None or (now - row.last_seen).total_seconds() >= refresh_after:
        row.last_seen = now
    if row.removed:
        return False
    return moved or (reweighted and row.operator_weight is None)


def heartbeat_refresh(report_interval: float) -> float:
    """Seconds a reported device's ``last_seen`` may age before a report rewrites it."""
    return liveness_window(report_interval) * LAST_SEEN_REFRESH


def alive_devices(session: Session, report_interval: float, now: datetime | None = None) -> set[tuple[str, str]]:
    """(host, device) of the devices reported within the liveness window."""
    now = now or _now()
    window = liveness_window(report_interval)
    rows = session.scalars(select(models.RingDevice)).all()
    return {(r.host, r.device) for r in rows
            if r.last_seen is not None and (now - r.last_seen).total_seconds() < window}


def rebuild(session: Session, replicas: int, part_power: int, hash_path_suffix: str = "", *,
            one_move_per_partition: bool = False) -> Ring:
    """A new ring version from the recorded devices, keeping the previous one's valid assignments
    (``one_move_per_partition``: the operator's rebalance, ``builder.build_ring``)."""
    previous = load_ring(session)
    suffix = previous.hash_path_suffix if previous is not None else (hash_path_suffix or secrets.token_hex(16))
    version = (previous.version if previous is not None else 0) + 1
    ring = build_ring(devices(session), replicas, part_power, suffix, previous=previous, version=version,
                      one_move_per_partition=one_move_per_partition)
    session.add(models.Ring(version=version, name="object", created_at=_now(),
                            body=ring.to_dict()))
    session.execute(delete(models.Ring).where(models.Ring.version <= version - KEEP_RING_VERSIONS))
    session.flush()
    return ring
