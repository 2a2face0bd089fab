"""The ring builder: distinct devices per partition, zone spread, shares by weight, and a rebuild
moving only what it must (Swift's rebalance properties)."""

from __future__ import annotations

from collections import Counter

import pytest

from onestack.object_store.ring.builder import build_ring
from onestack.object_store.ring.ring import Device, Ring

PARTS_POWER = 8
PARTS = 1 << PARTS_POWER


def dev(i: int, zone: int | None = None, weight: float = 100.0, host: str = "h1") -> Device:
    return Device(id=i, host=host, device=f"d{i}", zone=zone if zone is not None else i, weight=weight)


def counts(ring: Ring) -> Counter[int]:
    return Counter(d for row in ring.replica2part2dev for d in row)


def moved(a: Ring, b: Ring) -> int:
    return sum(1 for r in range(a.replicas) for p in range(PARTS) if a.replica2part2dev[r][p] != b.replica2part2dev[r][p])


def test_every_partition_has_distinct_devices() -> None:
    ring = build_ring([dev(i) for i in range(1, 6)], 3, PARTS_POWER, "s")
    for p in range(PARTS):
        assert len({d.id for d in ring.get_part_nodes(p)}) == 3


def test_replicas_spread_over_zones_when_there_are_enough() -> None:
    # four devices in two zones, two replicas: every partition has one replica in each zone
    devices = [dev(i, zone=1 + i % 2) for i in range(1, 5)]
    ring = build_ring(devices, 2, PARTS_POWER, "s")
    for p in range(PARTS):
        assert {d.zone for d in ring.get_part_nodes(p)} == {1, 2}
    assert set(counts(ring).values()) == {PARTS * 2 // 4}


def test_shares_follow_weights() -> None:
    devices = [dev(1, weight=200), dev(2), dev(3), dev(4)]
    ring = build_ring(devices, 2, PARTS_POWER, "s")
    c = counts(ring)
    want = PARTS * 2 * 200 / 500
    assert abs(c[1] - want) <= 1
    for i in (2, 3, 4):
        assert abs(c[i] - want / 2) <= 1


def test_a_device_never_holds_two_replicas_of_a_partition_even_when_heavy() -> None:
    devices = [dev(1, weight=1000), dev(2), dev(3)]
    ring = build_ring(devices, 3, PARTS_POWER, "s")
    assert counts(ring) == Counter({1: PARTS, 2: PARTS, 3: PARTS})


def test_adding_a_device_moves_only_its_share() -> None:
    before = build_ring([dev(1), dev(2), dev(3)], 3, PARTS_POWER, "s")
    after = build_ring([dev(1), dev(2), dev(3), dev(4)], 3, PARTS_POWER, "s", previous=before, version=2)
    share = PARTS * 3 // 4
    assert counts(after)[4] == share
    assert moved(before, after) == share  # every moved slot went to the new device
    for p in range(PARTS):
        assert len({d.id for d in after.get_part_nodes(p)}) == 3


def test_removing_a_device_moves_only_its_partitions() -> None:
    four = [dev(1), dev(2), dev(3), dev(4)]
    before = build_ring(four, 3, PARTS_POWER, "s")
    gone = counts(before)[3]
    after = build_ring([d for d in four if d.id != 3], 3, PARTS_POWER, "s", previous=before, version=2)
    assert moved(before, after) == gone
    assert 3 not in counts(after)


def test_rebuild_without_change_moves_nothing_and_is_deterministic() -> None:
    devices = [dev(i, zone=1 + i % 3) for i in range(1, 8)]
    a = build_ring(devices, 3, PARTS_POWER, "s")
    assert a.replica2part2dev == build_ring(list(reversed(devices)), 3, PARTS_POWER, "s").replica2part2dev
    assert moved(a, build_ring(devices, 3, PARTS_POWER, "s", previous=a, version=2)) == 0


def test_handoffs_are_other_devices_other_zones_first_and_stable() -> None:
    devices = [dev(1, zone=1), dev(2, zone=2), dev(3, zone=1), dev(4, zone=3), dev(5, zone=2)]
    ring = build_ring(devices, 2, PARTS_POWER, "s")
    for p in range(0, PARTS, 17):
        primaries = ring.get_part_nodes(p)
        handoffs = list(ring.get_more_nodes(p))
        assert {d.id for d in handoffs} == {d.id for d in devices} - {d.id for d in primaries}
        used = {d.zone for d in primaries}
        fresh = [d.zone not in used for d in handoffs]
        assert fresh == sorted(fresh, reverse=True)  # unused zones come first
        assert [d.id for d in ring.get_more_nodes(p)] == [d.id for d in handoffs]


def test_round_trip_through_dict() -> None:
    ring = build_ring([dev(1), dev(2)], 2, 4, "salt", version=7)
    again = Ring.from_dict(ring.to_dict())
    assert again.replica2part2dev == ring.replica2part2dev and again.version == 7
    assert again.get_nodes("AUTH_a", "c", "o") == ring.get_nodes("AUTH_a", "c", "o")


@pytest.mark.parametrize("replicas", [0, -1])
def test_bad_replica_count_is_refused(replicas: int) -> None:
    with pytest.raises(ValueError):
        build_ring([dev(1)], replicas, 4, "s")


def test_frozen_partitions_give_up_no_replica_for_balance_but_lose_a_removed_devices() -> None:
    four = [dev(1), dev(2), dev(3), dev(4)]
    before = build_ring(four, 3, PARTS_POWER, "s")
    frozen = frozenset(range(0, PARTS, 2))
    # d2 much lighter and d4 gone: only unfrozen partitions give up d2's replicas; d4's all move
    changed = [dev(1), dev(2, weight=10.0), dev(3), dev(5)]
    after = build_ring(changed, 3, PARTS_POWER, "s", previous=before, version=2, one_move_per_partition=True,
                       frozen=frozen)
    lost_d2 = {p for p in range(PARTS) if 2 in {d.id for d in before.get_part_nodes(p)}
               and 2 not in {d.id for d in after.get_part_nodes(p)}}
    assert lost_d2 and not lost_d2 & frozen
    assert 4 not in counts(after)
    for p in frozen:
        old, new = {d.id for d in before.get_part_nodes(p)}, {d.id for d in after.get_part_nodes(p)}
        assert old - new <= {4}
