from __future__ import annotations

from onestack.compute.scheduler.filters.all_hosts import AllHostsFilter
from tests.unit.compute.scheduler.helpers import host, spec


def test_passes_even_a_down_host() -> None:
    assert AllHostsFilter().host_passes(host(service_up=False), spec())
