from __future__ import annotations

import pytest

from onestack.compute.scheduler.weighers.soft_affinity import ServerGroupSoftAffinityWeigher
from tests.unit.compute.scheduler.helpers import group, host, spec

W = ServerGroupSoftAffinityWeigher()


def test_more_members_weigh_more() -> None:
    g = spec(instance_group=group("soft-affinity", members=["m1", "m2"]))
    assert W.weigh(host(instances={"m1": None, "m2": None, "x": None}), g) == 2
    assert W.weigh(host(instances={"x": None}), g) == 0


def test_other_policies_weigh_zero() -> None:
    h = host(instances={"m1": "g1"})
    assert W.weigh(h, spec()) == 0
    assert W.weigh(h, spec(instance_group=group("soft-anti-affinity", members=["m1"]))) == 0


def test_negative_multiplier_is_refused() -> None:
    with pytest.raises(ValueError, match="soft_affinity_weight_multiplier"):
        ServerGroupSoftAffinityWeigher(-1.0)
