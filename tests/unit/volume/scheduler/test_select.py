from __future__ import annotations

from onestack.volume.scheduler import registry
from onestack.volume.scheduler.select import candidates
from tests.unit.volume.scheduler.helpers import pool, request

FILTERS = registry.build_filters("AvailabilityZoneFilter,CapacityFilter,CapabilitiesFilter")
WEIGHERS = registry.build_weighers("CapacityWeigher")


def test_best_weighed_first_and_failing_pools_left_out() -> None:
    small = pool("h@a#a", total_capacity_gb=10.0, free_capacity_gb=10.0)
    big = pool("h@b#b", total_capacity_gb=1000.0, free_capacity_gb=1000.0)
    other_zone = pool("h@c#c", availability_zone="az9", total_capacity_gb=5000.0, free_capacity_gb=5000.0)
    chosen = candidates([small, big, other_zone], request(1, availability_zone="nova"), FILTERS, WEIGHERS)
    assert [p.name for p in chosen] == ["h@b#b", "h@a#a"]


def test_backend_name_pins_the_pool() -> None:
    a, b = pool("h@a#a"), pool("h@b#b", total_capacity_gb=1000.0)
    chosen = candidates([a, b], request(1, extra_specs={"volume_backend_name": "a"}), FILTERS, WEIGHERS)
    assert [p.name for p in chosen] == ["h@a#a"]


def test_same_backend_as_restricts_to_the_sources_backend() -> None:
    a, b = pool("h@a#a"), pool("h@b#b", total_capacity_gb=1000.0)
    assert [p.name for p in candidates([a, b], request(1, same_backend_as="h@a"), FILTERS, WEIGHERS)] == ["h@a#a"]


def test_equal_weights_keep_name_order_and_nothing_fits_is_empty() -> None:
    assert [p.name for p in candidates([pool("h@a#a"), pool("h@b#b")], request(1), FILTERS, WEIGHERS)] == [
        "h@a#a", "h@b#b"]
    assert candidates([pool("h@a#a", thin_provisioning_support=False)], request(500), FILTERS, WEIGHERS) == []
