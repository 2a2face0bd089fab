"""The operator's ring changes (``ring/admin.py``) against the agents' reports (``store.add_device``):
the operator's weight and removal win over later reports, a rebalance applies them and moves at
most one replica of a partition for balance, and refused changes change nothing."""

from __future__ import annotations

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
    _, views = admin.describe(session)
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
