from __future__ import annotations

import pytest

from onestack.compute.scheduler.weighers.soft_anti_affinity import (
    ServerGroupSoftAntiAffinityWeigher,
)
from tests.unit.compute.scheduler.helpers import group, host, spec

W = ServerGroupSoftAntiAffinityWeigher()


def test_more_members_weigh_less() -> None:
    g = spec(instance_group=group("soft-anti-affinity", members=["m1", "m2"]))
    assert W.weigh(host(instances={"m1": None, "m2": None}), g) == -2
    assert W.weigh(host(), g) == 0


def test_other_policies_weigh_zero() -> None:
    assert W.weigh(host(instances={"m1": "g1"}), spec(instance_group=group("affinity"))) == 0


def test_negative_multiplier_is_refused() -> None:
    with pytest.raises(ValueError):
        ServerGroupSoftAntiAffinityWeigher(-0.5)
