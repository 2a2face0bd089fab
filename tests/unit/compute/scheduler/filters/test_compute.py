from __future__ import annotations

from onestack.compute.scheduler.filters.compute import ComputeFilter
from tests.unit.compute.scheduler.helpers import host, spec

F = ComputeFilter()


def test_up_and_enabled_passes() -> None:
    assert F.host_passes(host(), spec())


def test_down_disabled_or_forced_down_fails() -> None:
    assert not F.host_passes(host(service_up=False), spec())
    assert not F.host_passes(host(service_disabled=True), spec())
    assert not F.host_passes(host(forced_down=True), spec())
