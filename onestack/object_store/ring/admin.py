"""The operator's ring changes (``onestack ring``, as swift-ring-builder): list the devices, set a
device's weight, remove one or add it back, and rebalance.

They act on the ring where the cloud keeps it, the database: the proxies load a new version
within ``object_store.ring_check_interval`` and the agents get it with their next device report.
As with swift-ring-builder, ``set-weight``, ``remove`` and ``add`` only record the change (in
``object_ring_devices``); ``rebalance`` builds the ring that applies it. Any rebuild applies the
recorded changes, so an agent reporting a new device meanwhile also brings them in.

What the operator sets wins over what the agents report (``store.add_device``): a weight set here
stays until set again, and a removed device stays out of every ring, however often its agent
reports it, until ``add`` brings it back.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.object_store import models
from onestack.object_store.ring import store
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

    @property
    def state(self) -> str:
        if self.removed:
            return "removed (in the ring until rebalance)" if self.in_ring else "removed"
        return "in ring" if self.in_ring else "not in ring yet (rebalance)"


def _rows(session: Session) -> list[models.RingDevice]:
    return list(session.scalars(select(models.RingDevice).order_by(models.RingDevice.id)).all())


def describe(session: Session) -> tuple[Ring | None, list[DeviceView]]:
    """The current ring and every recorded device with its partition count in that ring."""
    ring = store.load_ring(session)
    counts: dict[int, int] = {}
    if ring is not None:
        for row in ring.replica2part2dev:
            for dev_id in row:
                counts[dev_id] = counts.get(dev_id, 0) + 1
    in_ring = {d.id for d in ring.devices} if ring is not None else set()
    return ring, [DeviceView(id=r.id, region=r.region, zone=r.zone, host=r.host, ip=r.ip, port=r.port,
                             device=r.device, weight=store.effective_weight(r), reported_weight=r.weight,
                             operator_weight=r.operator_weight, partitions=counts.get(r.id, 0),
                             in_ring=r.id in in_ring, removed=r.removed)
                  for r in _rows(session)]


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
    ring: Ring
    moved: int  # partition replicas now on another device than in the previous ring
    total: int  # partition replicas in the ring


def rebalance(session: Session, replicas: int, part_power: int, hash_path_suffix: str) -> Rebalanced:
    """A new ring version from the recorded devices and the operator's changes."""
    previous = store.load_ring(session)
    _check_enough(session, replicas)
    ring = store.rebuild(session, replicas, part_power, hash_path_suffix, one_move_per_partition=True)
    moved = 0
    if previous is not None and previous.part_power == ring.part_power:
        for r in range(ring.replicas):
            old = previous.replica2part2dev[r] if r < previous.replicas else None
            moved += sum(1 for p, dev_id in enumerate(ring.replica2part2dev[r]) if old is None or old[p] != dev_id)
    else:
        moved = ring.replicas * ring.partition_count
    return Rebalanced(ring, moved, ring.replicas * ring.partition_count)
