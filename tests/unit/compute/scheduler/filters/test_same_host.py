from __future__ import annotations

from onestack.compute.scheduler.filters.same_host import SameHostFilter
from tests.unit.compute.scheduler.helpers import host, spec

F = SameHostFilter()


def test_no_hint_passes() -> None:
    assert F.host_passes(host(), spec())


def test_host_must_run_one_of_the_instances() -> None:
    h = host(instances={"a": None})
    assert F.host_passes(h, spec(scheduler_hints={"same_host": ["x", "a"]}))
    assert F.host_passes(h, spec(scheduler_hints={"same_host": "a"}))
    assert not F.host_passes(h, spec(scheduler_hints={"same_host": ["x"]}))
