from __future__ import annotations

from onestack.volume.scheduler.weighers.allocated_capacity import AllocatedCapacityWeigher
from onestack.volume.scheduler.weighers.base import total_weights
from tests.unit.volume.scheduler.helpers import pool, request


def test_default_prefers_the_least_allocated_pool() -> None:
    busy, idle = pool("h@a#a", allocated_capacity_gb=50.0), pool("h@b#b", allocated_capacity_gb=5.0)
    weights = total_weights([busy, idle], request(), [AllocatedCapacityWeigher()])
    assert weights[1] > weights[0]


def test_positive_multiplier_stacks() -> None:
    busy, idle = pool("h@a#a", allocated_capacity_gb=50.0), pool("h@b#b", allocated_capacity_gb=5.0)
    weights = total_weights([busy, idle], request(), [AllocatedCapacityWeigher(1.0)])
    assert weights[0] > weights[1]
