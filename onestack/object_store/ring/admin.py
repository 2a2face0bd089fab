"""The operator's ring changes (``onestack ring``, as swift-ring-builder): list the devices, set a
device's weight, remove one or add it back, and rebalance.

They act on the ring where the cloud keeps it, the database: the proxies load a new version
within ``object_store.ring_check_interval`` and the agents get it with their next device report.
As with swift-ring-builder, ``set-weight``, ``remove`` and ``add`` only record the change (in
``object_ring_devices``); ``rebalance`` builds the ring that applies it. Any rebuild applies the
recorded changes, so an agent reporting a new device meanwhile also brings them in.

What the operator sets wins over what the agents report (``store.add_device``): a weight set here
stays until set again, and a removed device stays out of every ring, however often its agent
reports it, until ``add`` brings it back; ``set-weight --clear`` gives a device back its reported
weight.

A rebalance moves at most one replica of a partition, and none of a partition that moved within
``object_store.min_part_hours`` (Swift's rule, from each ring's ``part_moved_at``), except the
replicas on removed or zero-weight devices, which must move. When no partition can move and no
device changed, nothing is saved (swift-ring-builder's "No partitions could be reassigned");
``pretend_min_part_hours_passed`` makes every partition movable again.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.object_store import models
from onestack.object_store.ring import store
from onestack.object_store.ring.builder import balance
from onestack.object_store.ring.ring import Ring


class RingAdminError(Exception):
    """The operator's request is refused; nothing was changed."""


@dataclass(frozen=True)
class DeviceView:
    id: int
    region: int
    zone: int
    host: str
    ip: str
    port: int
    device: str
    weight: float  # what the next ring build uses
    reported_weight: float
    operator_weight: float | None
    partitions: int  # partition replicas it holds in the current ring
    in_ring: bool
    removed: bool
    balance: float  # % off its share in the current ring (swift-ring-builder's balance)
    moved_in: int  # partition replicas it gained in the newest ring version
    moved_out: int  # and lost
    frozen: int  # of its partitions, those that may not move for balance yet (min_part_hours)

    @property
    def state(self) -> str:
        if self.removed:
            return "removed (in the ring until rebalance)" if self.in_ring else "removed"
        return "in ring" if self.in_ring else "not in ring yet (rebalance)"


def _rows(session: Session) -> list[models.RingDevice]:
    return list(session.scalars(select(models.RingDevice).order_by(models.RingDevice.id)).all())


@dataclass(frozen=True)
class RingState:
    ring: Ring | None
    devices: list[DeviceView]
    min_part_hours: float
    seconds_left: float  # until every partition may move again
    frozen: int  # partitions that may not move for balance yet
    moved: int  # partitions the newest ring version moved (0: no older version kept)


def describe(session: Session, min_part_hours: float = 0.0, now: float | None = None) -> RingState:
    """The current ring and every recorded device: its partitions in that ring, what the last
    rebuild moved onto it and off it, and how many of them ``min_part_hours`` still holds."""
    now = time.time() if now is None else now
    ring = store.load_ring(session)
    counts: Counter[int] = Counter()
    moved_in: Counter[int] = Counter()
    moved_out: Counter[int] = Counter()
    frozen_of: Counter[int] = Counter()
    moved_at = store.load_part_moved_at(session) if ring is not None else None
    frozen = store.frozen_parts(moved_at, min_part_hours, now)
    moved = 0
    balances: dict[int, float] = {}
    if ring is not None:
        counts.update(d for row in ring.replica2part2dev for d in row)
        previous = store.load_previous_ring(session, ring.version)
        for p in store.moved_parts(previous, ring):
            assert previous is not None  # moved_parts is empty without it
            old, new = {row[p] for row in previous.replica2part2dev}, {row[p] for row in ring.replica2part2dev}
            moved_in.update(new - old)
            moved_out.update(old - new)
            moved += 1
        for p in frozen:
            frozen_of.update({row[p] for row in ring.replica2part2dev})
        balances = balance(ring)
    in_ring = {d.id for d in ring.devices} if ring is not None else set()
    views = [DeviceView(id=r.id, region=r.region, zone=r.zone, host=r.host, ip=r.ip, port=r.port, device=r.device,
                        weight=store.effective_weight(r), reported_weight=r.weight, operator_weight=r.operator_weight,
                        partitions=counts[r.id], in_ring=r.id in in_ring, removed=r.removed,
                        balance=balances.get(r.id, 0.0), moved_in=moved_in[r.id], moved_out=moved_out[r.id],
                        frozen=frozen_of[r.id])
             for r in _rows(session)]
    return RingState(ring, views, min_part_hours, store.seconds_until_movable(moved_at, min_part_hours, now),
                     len(frozen), moved)


def find(session: Session, spec: str) -> models.RingDevice:
    """A device by its id, ``host/device``, or a device name that only one host has."""
    rows = _rows(session)
    if spec.isdigit():
        matches = [r for r in rows if r.id == int(spec)]
    elif "/" in spec:
        host, _, device = spec.rpartition("/")
        matches = [r for r in rows if r.host == host and r.device == device]
    else:
        matches = [r for r in rows if r.device == spec]
    if not matches:
        raise RingAdminError(f"no device {spec!r} in the ring (see `onestack ring list`)")
    if len(matches) > 1:
        names = ", ".join(f"{r.id} ({r.host}/{r.device})" for r in matches)
        raise RingAdminError(f"{spec!r} names several devices: {names}; give its id or host/device")
    return matches[0]


def _check_enough(session: Session, replicas: int, without: int | None = None,
                  weights: dict[int, float] | None = None) -> None:
    """Refuse a change that leaves fewer devices with weight than replicas (a partition would need
    two replicas on one device), as swift-ring-builder refuses such a rebalance."""
    weights = weights or {}
    usable = [r for r in _rows(session)
              if not r.removed and r.id != without and weights.get(r.id, store.effective_weight(r)) > 0]
    if len(usable) < replicas:
        raise RingAdminError(f"the ring keeps {replicas} replicas: it needs at least {replicas} devices with "
                             f"weight, and this leaves {len(usable)}")


def set_weight(session: Session, spec: str, weight: float, replicas: int) -> models.RingDevice:
    if not weight >= 0 or weight == float("inf"):
        raise RingAdminError(f"a weight is a number of 0 or more, not {weight}")
    row = find(session, spec)
    _check_enough(session, replicas, weights={row.id: weight})
    row.operator_weight = weight
    return row


def clear_weight(session: Session, spec: str, replicas: int) -> models.RingDevice:
    """Drop the operator's weight: the device goes back to the weight its agent reports."""
    row = find(session, spec)
    if row.operator_weight is None:
        raise RingAdminError(f"device {row.id} ({row.host}/{row.device}) has no operator weight to clear: "
                             f"it has its reported weight {row.weight:g}")
    _check_enough(session, replicas, weights={row.id: row.weight})
    row.operator_weight = None
    return row


def remove(session: Session, spec: str, replicas: int) -> models.RingDevice:
    row = find(session, spec)
    if row.removed:
        raise RingAdminError(f"device {row.id} ({row.host}/{row.device}) is already removed")
    _check_enough(session, replicas, without=row.id)
    row.removed = True
    return row


def add(session: Session, spec: str) -> models.RingDevice:
    """Bring back a removed device (devices join the ring when their agent first reports them)."""
    row = find(session, spec)
    if not row.removed:
        raise RingAdminError(f"device {row.id} ({row.host}/{row.device}) is not removed: it is in the ring "
                             "or joins it at the next rebalance")
    row.removed = False
    return row


@dataclass(frozen=True)
class Rebalanced:
    ring: Ring  # the new ring; the current one when nothing was saved
    saved: bool  # False: no partition could move and no device changed (Swift's "No partitions could be reassigned")
    moved: int  # partition replicas now on another device than in the previous ring
    total: int  # partition replicas in the ring
    frozen: int  # partitions min_part_hours kept from moving for balance
    seconds_left: float  # until every partition may move again (as of after this rebalance)
    balance: float  # the worst device's balance in the new ring (swift-ring-builder's "Balance is now")


def _placement(ring: Ring) -> list[tuple[int, str, str, int, int, str, int]]:
    """What proxies and agents use of a ring's devices (the weight only shapes the build)."""
    return [(d.id, d.host, d.device, d.zone, d.region, d.ip, d.port) for d in ring.devices]


def rebalance(session: Session, replicas: int, part_power: int, hash_path_suffix: str,
              min_part_hours: float = 0.0, now: float | None = None) -> Rebalanced:
    """A new ring version from the recorded devices and the operator's changes, moving at most one
    replica of a partition and none of a partition moved within ``min_part_hours`` (but every
    replica on a removed or zero-weight device). Nothing is saved when nothing would change."""
    if min_part_hours < 0:
        raise RingAdminError(f"min_part_hours is a number of hours of 0 or more, not {min_part_hours:g}")
    now = time.time() if now is None else now
    _check_enough(session, replicas)
    built = store.build_next(session, replicas, part_power, hash_path_suffix, one_move_per_partition=True,
                             min_part_hours=min_part_hours, now=now)
    ring, previous = built.ring, built.previous
    moved = 0
    if previous is not None and previous.part_power == ring.part_power:
        for r in range(ring.replicas):
            old = previous.replica2part2dev[r] if r < previous.replicas else None
            moved += sum(1 for p, dev_id in enumerate(ring.replica2part2dev[r]) if old is None or old[p] != dev_id)
    else:
        moved = ring.replicas * ring.partition_count
    saved = moved > 0 or previous is None or _placement(previous) != _placement(ring)
    if saved:
        store.save(session, built)
    else:
        assert previous is not None  # a first ring is always saved
        ring = previous
    left = store.seconds_until_movable(built.part_moved_at, min_part_hours, now)  # as saved, or as it was
    return Rebalanced(ring, saved, moved, ring.replicas * ring.partition_count, len(built.frozen), left,
                      max(balance(ring).values(), default=0.0))


def pretend_min_part_hours_passed(session: Session) -> None:
    """Every partition may move at the next rebalance (swift-ring-builder's command of that name)."""
    if store.load_ring(session) is None:
        raise RingAdminError("no ring yet: start the cloud once (onestack up) so that it builds one")
    store.forget_part_moves(session)
