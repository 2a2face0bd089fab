"""Building a ring from devices: every partition gets ``replicas`` distinct devices, spread over
as many zones as there are, each device holding partitions in proportion to its weight.

The build is deterministic in its inputs, and a rebuild keeps every assignment that is still
valid (same device present, zone spread not worse), so adding or removing a device moves only
the partitions it must — the replicators then move their data, as after a Swift rebalance.
"""

from __future__ import annotations

from collections import Counter

from onestack.object_store.ring.ring import Device, Ring


def build_ring(devices: list[Device], replicas: int, part_power: int, hash_path_suffix: str,
               previous: Ring | None = None, version: int = 1) -> Ring:
    if not devices:
        raise ValueError("a ring needs at least one device")
    if replicas < 1:
        raise ValueError("a ring needs at least one replica")
    parts = 1 << part_power
    usable = sorted((d for d in devices if d.weight > 0), key=lambda d: d.id) or sorted(devices, key=lambda d: d.id)
    by_id = {d.id: d for d in usable}
    total_weight = sum(d.weight for d in usable) or float(len(usable))
    wanted = {d.id: parts * replicas * (d.weight or 1.0) / total_weight for d in usable}
    load: Counter[int] = Counter()
    table: list[list[int]] = [[-1] * parts for _ in range(replicas)]

    if previous is not None and previous.part_power == part_power:
        for r in range(min(replicas, previous.replicas)):
            for p in range(parts):
                dev_id = previous.replica2part2dev[r][p]
                if dev_id in by_id and load[dev_id] + 1 <= wanted[dev_id] + 1:
                    table[r][p] = dev_id
                    load[dev_id] += 1

    for p in range(parts):
        for r in range(replicas):
            if table[r][p] != -1:
                continue
            taken = {table[x][p] for x in range(replicas) if table[x][p] != -1}
            zones = {(by_id[i].region, by_id[i].zone) for i in taken}
            candidates = [d for d in usable if d.id not in taken] or usable

            # a new zone first, then the device furthest below its share, then the lowest id
            best = min(candidates, key=lambda d, zones=zones: ((d.region, d.zone) in zones,  # type: ignore[misc]
                                                               load[d.id] - wanted[d.id], d.id))
            table[r][p] = best.id
            load[best.id] += 1
        # A kept assignment may now share a zone that another replica could avoid: leave it;
        # the next rebuild from scratch (``previous=None``) spreads it.
    return Ring(part_power=part_power, replicas=replicas, devices=sorted(devices, key=lambda d: d.id),
                replica2part2dev=table, hash_path_suffix=hash_path_suffix, version=version)
