"""Building a ring from devices: every partition gets ``replicas`` distinct devices, spread over
as many zones as there are, each device holding partitions in proportion to its weight.

The build is deterministic in its inputs, and a rebuild keeps every assignment that is still
valid (same device present, device not above its share), so adding or removing a device moves
only the partitions it must — the replicators then move their data, as after a Swift rebalance.

Like Swift's builder it works in three steps: keep the previous assignments, gather the surplus
of devices now above their share (one slot per partition where possible, so that a new device can
take every gathered slot; a partition is passed over when every device it lacks is already at its
share, where the slot would only come back or swap surplus), then give each free slot to the
device furthest below its share, a new zone first.

An operator's rebalance (``one_move_per_partition``) moves at most one replica of a partition for
balance, as Swift's builder within ``min_part_hours``: a partition that already lost a replica
(to a removed device) or gave one up keeps the others, so two of its copies are never in flight
at once; a device left above its share by this is evened out by a later rebalance. Partitions in
``frozen`` (moved within ``min_part_hours``, ``store.py``) give up no replica for balance at all;
a removed or zero-weight device's replicas are not kept in step 1, so they move regardless.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter

from onestack.object_store.ring.ring import Device, Ring


def _scatter(part: int, salt: int = 0) -> str:
    """A deterministic order of partitions (or of devices within one) that is not row-major:
    taking slots in index order would gather them in a few partitions and rows."""
    return hashlib.md5(f"{part}/{salt}".encode(), usedforsecurity=False).hexdigest()


def _waterfill(total: float, items: list[tuple[int, float, float]]) -> dict[int, float]:
    """Share ``total`` among ``(key, weight, cap)`` in proportion to weight, none above its cap
    (what a capped item cannot take goes to the others)."""
    share: dict[int, float] = {}
    left = list(items)
    while left:
        weight = sum(w for _, w, _ in left)
        over = [(k, w, c) for k, w, c in left if total * w / weight > c]
        if not over:
            share.update({k: total * w / weight for k, w, _ in left})
            break
        for k, _, c in over:
            share[k] = c
            total -= c
        left = [x for x in left if x not in over]
    return share


def _shares(usable: list[Device], replicas: int, parts: int) -> dict[int, float]:
    """Each device's wanted number of slots: by weight, but a zone holds at most its part of every
    partition (one replica each when there are as many zones as replicas), and a device at most
    one replica of each partition — dispersion first, as Swift's builder does."""
    weight = {d.id: (d.weight if d.weight > 0 else 1.0) for d in usable}
    zones: dict[tuple[int, int], list[Device]] = {}
    for d in usable:
        zones.setdefault((d.region, d.zone), []).append(d)
    per_zone = max(1, math.ceil(replicas / len(zones)))
    keys = sorted(zones)
    zone_share = _waterfill(float(parts * replicas), [
        (i, sum(weight[d.id] for d in zones[z]), float(parts * min(per_zone, len(zones[z]))))
        for i, z in enumerate(keys)])
    wanted: dict[int, float] = {}
    for i, z in enumerate(keys):
        wanted.update(_waterfill(zone_share[i], [(d.id, weight[d.id], float(parts)) for d in zones[z]]))
    return wanted


def build_ring(devices: list[Device], replicas: int, part_power: int, hash_path_suffix: str,
               previous: Ring | None = None, version: int = 1, one_move_per_partition: bool = False,
               frozen: frozenset[int] = frozenset()) -> Ring:
    if not devices:
        raise ValueError("a ring needs at least one device")
    if replicas < 1:
        raise ValueError("a ring needs at least one replica")
    parts = 1 << part_power
    usable = sorted((d for d in devices if d.weight > 0), key=lambda d: d.id) or sorted(devices, key=lambda d: d.id)
    by_id = {d.id: d for d in usable}
    wanted = _shares(usable, replicas, parts)
    ceiling = {i: math.ceil(w) for i, w in wanted.items()}
    load: Counter[int] = Counter()
    table: list[list[int]] = [[-1] * parts for _ in range(replicas)]
    order = sorted(range(parts), key=_scatter)

    # 1. keep what the previous ring had, where the device is still here (once per partition)
    if previous is not None and previous.part_power == part_power:
        for p in range(parts):
            seen: set[int] = set()
            for r in range(min(replicas, previous.replicas)):
                dev_id = previous.replica2part2dev[r][p]
                if dev_id in by_id and dev_id not in seen:
                    table[r][p] = dev_id
                    seen.add(dev_id)
                    load[dev_id] += 1

    # 2. gather the surplus of devices above their share, preferring partitions with no free slot
    free_in: Counter[int] = Counter(p for p in range(parts) for r in range(replicas) if table[r][p] == -1)
    for dev_id in sorted(load):
        surplus = load[dev_id] - ceiling[dev_id]
        if surplus <= 0:
            continue
        for pass_free in (False,) if one_move_per_partition else (False, True):
            for p in order:
                if surplus <= 0:
                    break
                if (free_in[p] > 0) != pass_free or p in frozen:
                    continue
                members = {table[x][p] for x in range(replicas)}
                if not any(load[d.id] < wanted[d.id] for d in usable if d.id not in members):
                    continue  # only devices at their share could take it: it would come back or just swap
                for r in range(replicas):
                    if table[r][p] == dev_id:
                        table[r][p] = -1
                        load[dev_id] -= 1
                        free_in[p] += 1
                        surplus -= 1
                        break

    # 3. fill every free slot: a new zone first, then the device furthest below its share
    for p in order:
        for r in range(replicas):
            if table[r][p] != -1:
                continue
            taken = {table[x][p] for x in range(replicas) if table[x][p] != -1}
            zones = {(by_id[i].region, by_id[i].zone) for i in taken}
            candidates = [d for d in usable if d.id not in taken] or usable

            def rank(d: Device, zones: set[tuple[int, int]] = zones, p: int = p) -> tuple[bool, float, str]:
                return ((d.region, d.zone) in zones, load[d.id] - wanted[d.id], _scatter(p, d.id))

            best = min(candidates, key=rank)
            table[r][p] = best.id
            load[best.id] += 1
    return Ring(part_power=part_power, replicas=replicas, devices=sorted(devices, key=lambda d: d.id),
                replica2part2dev=table, hash_path_suffix=hash_path_suffix, version=version)


MAX_BALANCE = 999.99  # Swift's: a device with no weight that still holds partitions


def balance(ring: Ring) -> dict[int, float]:
    """Each device's balance as swift-ring-builder shows it: how far (in %) its partitions are from
    its share — here the share ``build_ring`` aims at, dispersion limits included."""
    parts = Counter(d for row in ring.replica2part2dev for d in row)
    usable = [d for d in ring.devices if d.weight > 0]
    wanted = _shares(usable, ring.replicas, ring.partition_count) if usable else {}
    return {d.id: (abs(100.0 * parts[d.id] / wanted[d.id] - 100.0) if wanted.get(d.id)
                   else (MAX_BALANCE if parts[d.id] else 0.0)) for d in ring.devices}
