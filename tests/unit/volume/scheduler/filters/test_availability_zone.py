from __future__ import annotations

from onestack.volume.scheduler.filters.availability_zone import AvailabilityZoneFilter
from tests.unit.volume.scheduler.helpers import pool, request

F = AvailabilityZoneFilter()


def test_no_zone_requested_passes_any_pool() -> None:
    assert F.backend_passes(pool(availability_zone="az1"), request())


def test_requested_zone_must_be_the_pools() -> None:
    assert F.backend_passes(pool(availability_zone="az1"), request(availability_zone="az1"))
    assert not F.backend_passes(pool(availability_zone="az1"), request(availability_zone="nova"))


def test_type_zones_restrict_the_pools() -> None:
    specs = {"RESKEY:availability_zones": "az1, az2"}
    assert F.backend_passes(pool(availability_zone="az2"), request(extra_specs=specs))
    assert not F.backend_passes(pool(availability_zone="nova"), request(extra_specs=specs))
    assert not F.backend_passes(pool(availability_zone="az1"), request(extra_specs=specs, availability_zone="az2"))
