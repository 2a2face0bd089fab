from __future__ import annotations

from onestack.compute.scheduler.filters.different_host import DifferentHostFilter
from tests.unit.compute.scheduler.helpers import host, spec

F = DifferentHostFilter()


def test_no_hint_passes() -> None:
    assert F.host_passes(host(instances={"a": None}), spec())


def test_host_must_run_none_of_the_instances() -> None:
    h = host(instances={"a": None})
    assert not F.host_passes(h, spec(scheduler_hints={"different_host": ["x", "a"]}))
    assert not F.host_passes(h, spec(scheduler_hints={"different_host": "a"}))
    assert F.host_passes(h, spec(scheduler_hints={"different_host": ["x"]}))
