"""The ring in the database: the newest ``object_rings`` row, built from ``object_ring_devices``.

``onestack up`` makes the local host's devices (one per replica, each its own zone) and the
first ring; an object agent that reports a new device makes the ring be rebuilt, keeping every
partition assignment that is still valid (``builder.py``). The operator's changes
(``ring/admin.py``: a weight, a removal) are kept beside what the agents report and win over it.
Each ring row also keeps when every partition last moved (``part_moved_at``), which the
operator's rebalance reads for ``min_part_hours``; the proxies never load it."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from onestack.object_store import models
from onestack.object_store.ring.builder import build_ring
from onestack.object_store.ring.ring import Device, Ring

# Ring versions kept in the database: the newest and a few before it (to look back at a rebalance);
# a process holding an older one reloads the newest, so older rows are never read again.
KEEP_RING_VERSIONS = 5
# Further builds an operator's rebalance may make on its own result while they still move something.
REBALANCE_PASSES = 8


def load_ring(session: Session) -> Ring | None:
    row = session.scalars(select(models.Ring).order_by(models.Ring.version.desc()).limit(1)).first()
    return Ring.from_dict(row.body) if row is not None else None


def load_previous_ring(session: Session, version: int) -> Ring | None:
    """The newest kept ring older than ``version`` (to show what the last rebuild moved)."""
    row = session.scalars(select(models.Ring).where(models.Ring.version < version)
                          .order_by(models.Ring.version.desc()).limit(1)).first()
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


@dataclass(frozen=True)
class Built:
    """A ring built from the recorded devices, not yet saved (``save``)."""
    ring: Ring
    previous: Ring | None
    part_moved_at: list[int]  # per partition, Unix seconds of its last move (0: not since placed)
    frozen: frozenset[int]  # partitions that could not move a replica for balance (min_part_hours)


def load_part_moved_at(session: Session) -> list[int] | None:
    """The newest ring's per-partition last move times (None: none recorded, all movable)."""
    return session.scalar(select(models.Ring.part_moved_at).order_by(models.Ring.version.desc()).limit(1))


def moved_parts(previous: Ring | None, ring: Ring) -> set[int]:
    """Partitions whose devices differ between two rings; none when there is no previous ring of
    the same part power (a first placement moves no data)."""
    if previous is None or previous.part_power != ring.part_power:
        return set()
    return {p for p in range(ring.partition_count)
            if {row[p] for row in previous.replica2part2dev} != {row[p] for row in ring.replica2part2dev}}


def frozen_parts(part_moved_at: list[int] | None, min_part_hours: float, now: float) -> frozenset[int]:
    """Partitions moved less than ``min_part_hours`` before ``now`` (Swift's ``_can_part_move``)."""
    if not part_moved_at or min_part_hours <= 0:
        return frozenset()
    since = now - min_part_hours * 3600
    return frozenset(p for p, at in enumerate(part_moved_at) if at > since)


def seconds_until_movable(part_moved_at: list[int] | None, min_part_hours: float, now: float) -> float:
    """Seconds until every partition may move again (Swift's ``min_part_seconds_left``)."""
    if not part_moved_at or min_part_hours <= 0:
        return 0.0
    return max(0.0, max(part_moved_at) + min_part_hours * 3600 - now)


def build_next(session: Session, replicas: int, part_power: int, hash_path_suffix: str = "", *,
               one_move_per_partition: bool = False, min_part_hours: float = 0.0,
               now: float | None = None) -> Built:
    """The next ring version from the recorded devices, keeping the previous one's valid assignments
    (``one_move_per_partition`` and ``min_part_hours``: the operator's rebalance, ``builder.build_ring``)."""
    now = time.time() if now is None else now
    previous = load_ring(session)
    moved_at = load_part_moved_at(session) if previous is not None and previous.part_power == part_power else None
    if moved_at is None or len(moved_at) != 1 << part_power:
        moved_at = [0] * (1 << part_power)
    frozen = frozen_parts(moved_at, min_part_hours, now)
    suffix = previous.hash_path_suffix if previous is not None else (hash_path_suffix or secrets.token_hex(16))
    version = (previous.version if previous is not None else 0) + 1
    devs = devices(session)
    ring = build_ring(devs, replicas, part_power, suffix, previous=previous, version=version,
                      one_move_per_partition=one_move_per_partition, frozen=frozen)
    for _ in range(REBALANCE_PASSES if one_move_per_partition else 0):
        # As Swift's rebalance, gather again while it helps: what one pass could not place for
        # balance (its only takers were full) another can, without touching what already moved.
        again = build_ring(devs, replicas, part_power, suffix, previous=ring, version=version,
                           one_move_per_partition=True, frozen=frozen | moved_parts(previous, ring))
        if again.replica2part2dev == ring.replica2part2dev:
            break
        ring = again
    moved_at = list(moved_at)
    for p in moved_parts(previous, ring):
        moved_at[p] = int(now)
    return Built(ring, previous, moved_at, frozen)


def save(session: Session, built: Built) -> Ring:
    version = built.ring.version
    session.add(models.Ring(version=version, name="object", created_at=_now(), body=built.ring.to_dict(),
                            part_moved_at=built.part_moved_at))
    session.execute(delete(models.Ring).where(models.Ring.version <= version - KEEP_RING_VERSIONS))
    session.flush()
    return built.ring


def rebuild(session: Session, replicas: int, part_power: int, hash_path_suffix: str = "") -> Ring:
    """A new ring version from the recorded devices (an agent's new or moved device: balanced at
    once, every move recorded for a later operator's rebalance's ``min_part_hours``)."""
    return save(session, build_next(session, replicas, part_power, hash_path_suffix))


def forget_part_moves(session: Session) -> None:
    """Every partition movable again (Swift's ``pretend_min_part_hours_passed``)."""
    row = session.scalars(select(models.Ring).order_by(models.Ring.version.desc()).limit(1)).first()
    if row is not None:
        row.part_moved_at = None
        session.flush()
