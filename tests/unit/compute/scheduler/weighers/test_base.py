from __future__ import annotations

import pytest

from onestack.compute.scheduler.weighers.base import (
    HostWeigher,
    multiplier_for,
    normalize,
    total_weights,
)
from onestack.compute.scheduler.weighers.num_instances import NumInstancesWeigher
from onestack.compute.scheduler.weighers.ram import RAMWeigher
from tests.unit.compute.scheduler.helpers import aggregate, host, spec


def test_normalize_scales_to_unit_range() -> None:
    assert normalize([5, 5, 10, 10, 15, 20]) == pytest.approx([0, 0, 1 / 3, 1 / 3, 2 / 3, 1])
    assert normalize([3, 3, 3]) == [0.0, 0.0, 0.0]
    assert normalize([]) == []
    assert normalize([5, 10], minval=0) == [0.5, 1.0]
    assert normalize([5, 10], minval=0, maxval=20) == [0.25, 0.5]


def test_total_is_sum_of_multiplier_times_normalised_weight() -> None:
    hosts = [host("a", memory_mb=1000, instances={"x": None, "y": None}),
             host("b", memory_mb=2000)]
    weighers: list[HostWeigher] = [RAMWeigher(2.0), NumInstancesWeigher(-1.0)]
    # RAM: minval 0 -> a=0.5, b=1.0; instances: a=1, b=0
    assert total_weights(hosts, spec(), weighers) == pytest.approx([2 * 0.5 - 1, 2 * 1.0])


def test_aggregate_metadata_overrides_multiplier_smallest_wins() -> None:
    w = RAMWeigher(1.0)
    h = host(aggregates=[aggregate("a", ["h1"], ram_weight_multiplier="-2"),
                         aggregate("b", ["h1"], ram_weight_multiplier="3"),
                         aggregate("c", ["h1"], ram_weight_multiplier="junk")])
    assert multiplier_for(w, h) == -2.0
    assert multiplier_for(w, host()) == 1.0
    assert multiplier_for(w, host(aggregates=[aggregate("d", ["h1"], other="1")])) == 1.0


def test_aggregate_override_changes_the_winner() -> None:
    stacked = aggregate("stack", ["a", "b"], ram_weight_multiplier="-1.0")
    hosts = [host("a", memory_mb=1000, aggregates=[stacked]),
             host("b", memory_mb=2000, aggregates=[stacked])]
    totals = total_weights(hosts, spec(), [RAMWeigher(1.0)])
    assert totals[0] > totals[1]


def test_aggregate_can_switch_on_a_weigher_that_config_leaves_at_zero() -> None:
    agg = aggregate("spread", ["a", "b"], num_instances_weight_multiplier="-1")
    hosts = [host("a", num_instances=9, aggregates=[agg]), host("b", num_instances=1,
                                                                aggregates=[agg]), host("c")]
    totals = total_weights(hosts, spec(), [NumInstancesWeigher(0.0)])
    assert totals[1] > totals[0] and totals[2] == 0.0
