from __future__ import annotations

from onestack.compute.scheduler.filters.server_group_anti_affinity import (
    ServerGroupAntiAffinityFilter,
)
from tests.unit.compute.scheduler.helpers import group, host, spec

F = ServerGroupAntiAffinityFilter()


def test_no_group_or_other_policy_passes() -> None:
    busy = host(instances={"m1": "g1"})
    assert F.host_passes(busy, spec())
    assert F.host_passes(busy, spec(instance_group=group("affinity", members=["m1"])))


def test_host_with_a_member_fails() -> None:
    g = group("anti-affinity", members=["m1"])
    assert not F.host_passes(host(instances={"m1": None}), spec(instance_group=g))
    assert not F.host_passes(host(instances={"x": "g1"}), spec(instance_group=g))
    assert F.host_passes(host(instances={"other": None}), spec(instance_group=g))


def test_max_server_per_host_rule() -> None:
    g = group("anti-affinity", members=["m1", "m2"], rules={"max_server_per_host": 2})
    assert F.host_passes(host(instances={"m1": None}), spec(instance_group=g))
    assert not F.host_passes(host(instances={"m1": None, "m2": None}), spec(instance_group=g))
