from __future__ import annotations

import math

from onestack.volume.scheduler.weighers.base import normalize, total_weights
from onestack.volume.scheduler.weighers.capacity import CapacityWeigher
from tests.unit.volume.scheduler.helpers import pool, request

W = CapacityWeigher()


def test_thin_weight_is_virtual_free_capacity() -> None:
    p = pool(max_over_subscription_ratio=2.0, provisioned_capacity_gb=30.0, reserved_percentage=10)
    assert W.weigh(p, request()) == 100 * 2.0 - 30 - 10


def test_thick_weight_is_free_less_reserved() -> None:
    p = pool(thin_provisioning_support=False, free_capacity_gb=40.0, reserved_percentage=10)
    assert W.weigh(p, request()) == 30
    assert W.weigh(pool(free_capacity_gb=40.0), request(extra_specs={"provisioning:type": "thick"})) == 40


def test_infinite_wins_and_unknown_loses_when_spreading() -> None:
    assert math.isinf(W.weigh(pool(free_capacity_gb="infinite"), request()))
    assert W.weigh(pool(free_capacity_gb="unknown"), request()) == -1
    assert math.isinf(CapacityWeigher(-1.0).weigh(pool(free_capacity_gb="unknown"), request()))


def test_spreading_prefers_the_emptier_pool_and_stacking_the_fuller() -> None:
    full, empty = pool("h@a#a", provisioned_capacity_gb=1500.0), pool("h@b#b")
    assert total_weights([full, empty], request(), [W]) == [0.0, 1.0]
    assert total_weights([full, empty], request(), [CapacityWeigher(-1.0)]) == [0.0, -1.0]


def test_normalize_puts_infinity_just_above_the_rest() -> None:
    scaled = normalize([10.0, math.inf, 20.0])
    assert scaled[1] == 1.0 and 0.0 == scaled[0] < scaled[2] < 0.02
    assert normalize([math.inf, math.inf]) == [0.0, 0.0]
    assert normalize([]) == []
