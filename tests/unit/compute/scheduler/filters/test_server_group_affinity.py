from __future__ import annotations

from onestack.compute.scheduler.filters.server_group_affinity import ServerGroupAffinityFilter
from tests.unit.compute.scheduler.helpers import group, host, spec

F = ServerGroupAffinityFilter()


def test_no_group_or_other_policy_passes() -> None:
    assert F.host_passes(host(), spec())
    assert F.host_passes(host(), spec(instance_group=group("anti-affinity", hosts=["h2"])))


def test_empty_group_passes_then_only_member_hosts() -> None:
    assert F.host_passes(host(), spec(instance_group=group("affinity")))
    assert F.host_passes(host("h2"), spec(instance_group=group("affinity", hosts=["h2"])))
    assert not F.host_passes(host("h1"), spec(instance_group=group("affinity", hosts=["h2"])))
