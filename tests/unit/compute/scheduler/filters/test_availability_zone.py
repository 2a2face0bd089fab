from __future__ import annotations

from onestack.compute.scheduler.filters.availability_zone import AvailabilityZoneFilter
from tests.unit.compute.scheduler.helpers import aggregate, host, spec

F = AvailabilityZoneFilter()


def test_no_zone_requested_passes_any_host() -> None:
    assert F.host_passes(host(availability_zone="az1"), spec())


def test_zone_from_aggregate_metadata() -> None:
    h = host(aggregates=[aggregate("a", ["h1"], availability_zone="az1")])
    assert F.host_passes(h, spec(availability_zone="az1"))
    assert not F.host_passes(h, spec(availability_zone="az2"))


def test_host_in_no_zone_aggregate_is_in_the_default_zone() -> None:
    assert F.host_passes(host(), spec(availability_zone="nova"))
    assert not F.host_passes(host(), spec(availability_zone="az1"))
    assert AvailabilityZoneFilter("zz").host_passes(host(), spec(availability_zone="zz"))
