"""The operator's ring changes (``ring/admin.py``) against the agents' reports (``store.add_device``):
the operator's weight and removal win over later reports (until cleared or added back), a rebalance
applies them, moving at most one replica of a partition for balance and none of a partition moved
within min_part_hours (a removed device's partitions move anyway), and refused changes change
nothing."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from onestack.object_store import models
from onestack.object_store.ring import admin, store
from onestack.object_store.ring.builder import build_ring
from onestack.object_store.ring.ring import Device, Ring

PART_POWER = 6
PARTS = 1 << PART_POWER


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    models.Base.metadata.create_all(engine)
    with Session(engine) as s:
        for i in range(1, 5):
            store.add_device(s, "h1", f"d{i}", zone=i)
        store.rebuild(s, 3, PART_POWER, "salt")
        yield s
    engine.dispose()


def report_all(s: Session) -> bool:
    """The host's agent reports its four devices again, at weight 100 each."""
    rebuild = [store.add_device(s, "h1", f"d{i}", zone=i, weight=100.0) for i in range(1, 5)]  # each one
    return any(rebuild)


def counts(ring: Ring) -> Counter[int]:
    return Counter(d for row in ring.replica2part2dev for d in row)


def test_operator_weight_wins_over_later_reports(session: Session) -> None:
    admin.set_weight(session, "d2", 50.0, 3)
    assert not report_all(session)  # a report of the old weight neither resets nor rebuilds
    done = admin.rebalance(session, 3, PART_POWER, "salt")
    assert done.ring.device(2).weight == 50.0
    assert not report_all(session)
    views = admin.describe(session).devices
    d2 = next(v for v in views if v.id == 2)
    assert (d2.weight, d2.reported_weight, d2.operator_weight) == (50.0, 100.0, 50.0)
    assert store.devices(session)[1].weight == 50.0


def test_removed_device_stays_removed_until_added_back(session: Session) -> None:
    before = store.load_ring(session)
    assert before is not None
    gone = counts(before)[1]
    admin.remove(session, "h1/d1", 3)
    done = admin.rebalance(session, 3, PART_POWER, "salt")
    assert 1 not in {d.id for d in done.ring.devices} and 1 not in counts(done.ring)
    assert done.moved == gone  # only its partitions moved
    assert not report_all(session)  # its agent reports it again: no rebuild, still out
    again = store.rebuild(session, 3, PART_POWER)
    assert 1 not in {d.id for d in again.devices}
    admin.add(session, "1")
    back = admin.rebalance(session, 3, PART_POWER, "salt")
    assert counts(back.ring)[1] > 0


def test_rebalance_moves_at_most_one_replica_of_a_partition(session: Session) -> None:
    store.add_device(session, "h1", "d5", zone=5)
    before = store.rebuild(session, 3, PART_POWER)
    # d1 out and d2 lighter: d2's surplus must not come from partitions that lose d1's replica
    admin.remove(session, "d1", 3)
    admin.set_weight(session, "d2", 10.0, 3)
    after = admin.rebalance(session, 3, PART_POWER, "salt").ring
    for p in range(PARTS):
        old = {row[p] for row in before.replica2part2dev}
        new = {row[p] for row in after.replica2part2dev}
        assert len(old - new) <= 1, f"partition {p} moved {len(old - new)} replicas at once"
        assert len(new) == 3


def test_one_move_per_partition_in_the_builder() -> None:
    devices = [Device(id=i, host="h", device=f"d{i}", zone=i) for i in range(1, 6)]
    before = build_ring(devices, 3, PART_POWER, "s")
    changed = [Device(id=2, host="h", device="d2", zone=2, weight=10.0)] + devices[2:]

    def most_moved(one: bool) -> int:
        after = build_ring(changed, 3, PART_POWER, "s", previous=before, version=2, one_move_per_partition=one)
        return max(len({row[p] for row in before.replica2part2dev} - {row[p] for row in after.replica2part2dev})
                   for p in range(PARTS))

    assert most_moved(False) == 2  # the agents' rebuild balances at once, two replicas in flight
    assert most_moved(True) == 1


@pytest.mark.parametrize("change", [
    lambda s: admin.set_weight(s, "d9", 10.0, 3),  # no such device
    lambda s: admin.set_weight(s, "d1", -1.0, 3),
    lambda s: admin.set_weight(s, "d1", float("nan"), 3),
    lambda s: admin.remove(s, "nohost/d1", 3),
    lambda s: admin.add(s, "d1"),  # not removed
    lambda s: (admin.remove(s, "d1", 3), admin.remove(s, "d2", 3)),  # 2 devices left for 3 replicas
    lambda s: (admin.set_weight(s, "d1", 0.0, 3), admin.set_weight(s, "d2", 0.0, 3)),
])
def test_refused_changes(session: Session, change: object) -> None:
    with pytest.raises(admin.RingAdminError):
        change(session)  # type: ignore[operator]


def test_ambiguous_device_name_is_refused(session: Session) -> None:
    store.add_device(session, "h2", "d1", zone=5)
    with pytest.raises(admin.RingAdminError, match="several"):
        admin.find(session, "d1")
    assert admin.find(session, "h2/d1").host == "h2"


def test_clearing_the_operator_weight_goes_back_to_the_reported_one(session: Session) -> None:
    admin.set_weight(session, "d2", 50.0, 3)
    admin.rebalance(session, 3, PART_POWER, "salt")
    assert store.devices(session)[1].weight == 50.0
    admin.clear_weight(session, "d2", 3)
    assert store.devices(session)[1].weight == 100.0
    back = admin.rebalance(session, 3, PART_POWER, "salt")
    assert back.saved and back.ring.device(2).weight == 100.0
    assert counts(back.ring)[2] == PARTS * 3 // 4  # its full share again
    assert not report_all(session)  # the reported weight is the weight: nothing to rebuild
    with pytest.raises(admin.RingAdminError, match="no operator weight"):
        admin.clear_weight(session, "d2", 3)


def test_clearing_is_refused_when_it_leaves_too_few_devices_with_weight(session: Session) -> None:
    store.add_device(session, "h1", "d5", zone=5, weight=0.0)  # its agent reports no weight
    admin.set_weight(session, "d5", 100.0, 3)
    admin.remove(session, "d1", 3)
    admin.remove(session, "d2", 3)
    with pytest.raises(admin.RingAdminError, match="at least 3 devices"):
        admin.clear_weight(session, "d5", 3)
    assert store.devices(session)[-1].weight == 100.0


def parts_of(ring: Ring) -> list[set[int]]:
    return [{row[p] for row in ring.replica2part2dev} for p in range(PARTS)]


def test_a_partition_is_not_moved_twice_within_min_part_hours(session: Session) -> None:
    t0 = time.time()
    admin.set_weight(session, "d2", 40.0, 3)
    original = store.load_ring(session)
    first = admin.rebalance(session, 3, PART_POWER, "salt", min_part_hours=1, now=t0)
    before = store.load_ring(session)
    assert first.saved and first.moved > 0
    assert before is not None and original is not None
    moved = {p for p in range(PARTS) if parts_of(before)[p] != parts_of(original)[p]}
    admin.set_weight(session, "d3", 40.0, 3)
    second = admin.rebalance(session, 3, PART_POWER, "salt", min_part_hours=1, now=t0 + 1800)
    assert second.saved and second.moved > 0 and second.frozen == len(moved)
    for p in moved:
        assert parts_of(second.ring)[p] == parts_of(before)[p], f"partition {p} moved twice within the hour"
    assert 0 < second.seconds_left <= 3600
    # an hour after the first move those partitions may move again: only the second's are held
    state = admin.describe(session, 1, now=t0 + 3601)
    assert state.frozen == len({p for p in range(PARTS) if parts_of(second.ring)[p] != parts_of(before)[p]})


def test_a_removed_devices_partitions_move_within_min_part_hours(session: Session) -> None:
    t0 = time.time()
    admin.set_weight(session, "d1", 40.0, 3)
    first = admin.rebalance(session, 3, PART_POWER, "salt", min_part_hours=1, now=t0)
    assert first.frozen == 0 and first.moved > 0
    held_by_d1 = counts(first.ring)[1]
    admin.remove(session, "d1", 3)
    second = admin.rebalance(session, 3, PART_POWER, "salt", min_part_hours=1, now=t0 + 60)
    assert second.saved and second.frozen > 0  # the first rebalance's moves are held ...
    assert 1 not in counts(second.ring) and second.moved == held_by_d1  # ... but d1's must move, all of them
    assert all(len(devs) == 3 for devs in parts_of(second.ring))


def test_balance_is_reached_over_two_rebalances(session: Session) -> None:
    store.add_device(session, "h1", "d5", zone=5)
    store.rebuild(session, 3, PART_POWER)
    admin.pretend_min_part_hours_passed(session)  # the agent's rebuild above moved partitions too
    t0 = time.time()
    # d1 out and d2 light at once: d2 may only give up replicas of partitions that keep d1's others
    admin.remove(session, "d1", 3)
    admin.set_weight(session, "d2", 10.0, 3)
    first = admin.rebalance(session, 3, PART_POWER, "salt", min_part_hours=1, now=t0)
    assert first.saved and first.balance > 10  # d2 is left above its share
    again = admin.rebalance(session, 3, PART_POWER, "salt", min_part_hours=1, now=t0 + 600)
    assert not again.saved and again.moved == 0 and again.seconds_left == pytest.approx(3000, abs=2)
    assert store.load_ring(session).version == first.ring.version  # type: ignore[union-attr]
    later = admin.rebalance(session, 3, PART_POWER, "salt", min_part_hours=1, now=t0 + 3601)
    assert later.saved and later.moved > 0 and later.balance < first.balance
    d2_share = 3 * PARTS * 10 / 310
    assert counts(later.ring)[2] <= d2_share + 1
    for p in range(PARTS):
        assert len(parts_of(first.ring)[p] - parts_of(later.ring)[p]) <= 1


def test_pretend_min_part_hours_passed_lets_every_partition_move(session: Session) -> None:
    t0 = time.time()
    admin.set_weight(session, "d2", 40.0, 3)
    admin.rebalance(session, 3, PART_POWER, "salt", min_part_hours=24, now=t0)
    assert admin.describe(session, 24, now=t0 + 60).frozen > 0
    admin.pretend_min_part_hours_passed(session)
    state = admin.describe(session, 24, now=t0 + 60)
    assert (state.frozen, state.seconds_left) == (0, 0.0)


def test_nothing_to_move_saves_nothing(session: Session) -> None:
    ring = store.load_ring(session)
    assert ring is not None
    done = admin.rebalance(session, 3, PART_POWER, "salt", min_part_hours=1)
    assert (done.saved, done.moved, done.ring.version) == (False, 0, ring.version)
    assert store.latest_version(session) == ring.version


def test_describe_shows_what_the_last_rebuild_moved(session: Session) -> None:
    before = store.load_ring(session)
    assert before is not None
    store.add_device(session, "h1", "d5", zone=5)
    after = store.rebuild(session, 3, PART_POWER)  # an agent's new device: moves recorded too
    state = admin.describe(session, 1)
    views = {v.device: v for v in state.devices}
    assert views["d5"].moved_in == counts(after)[5] > 0 and views["d5"].moved_out == 0
    assert sum(v.moved_out for v in state.devices) == counts(after)[5]
    assert state.moved == state.frozen == len({p for p in range(PARTS) if parts_of(before)[p] != parts_of(after)[p]})
    assert sum(v.frozen for v in state.devices) == 3 * state.frozen
    assert 3500 < state.seconds_left <= 3600
    assert admin.describe(session, 0).frozen == 0
