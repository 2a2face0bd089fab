from __future__ import annotations

from onestack.compute.scheduler.weighers.base import total_weights
from onestack.compute.scheduler.weighers.num_instances import NumInstancesWeigher
from tests.unit.compute.scheduler.helpers import host, spec


def test_negative_prefers_emptier_positive_fuller() -> None:
    hosts = [host("a", num_instances=5), host("b", num_instances=1)]
    assert NumInstancesWeigher().weigh(hosts[0], spec()) == 5
    less = total_weights(hosts, spec(), [NumInstancesWeigher(-1.0)])
    more = total_weights(hosts, spec(), [NumInstancesWeigher(1.0)])
    assert less[1] > less[0] and more[0] > more[1]


def test_zero_multiplier_contributes_nothing() -> None:
    hosts = [host("a", num_instances=5), host("b", num_instances=1)]
    assert total_weights(hosts, spec(), [NumInstancesWeigher(0.0)]) == [0.0, 0.0]
