"""Cinder's CapacityFilter arithmetic: thin with over-subscription, thick, reserved space,
backends that cannot tell their capacity."""

from __future__ import annotations

from onestack.volume.scheduler.filters.capacity import CapacityFilter
from tests.unit.volume.scheduler.helpers import pool, request

F = CapacityFilter()
THICK = {"provisioning:type": "thick"}


def test_thick_needs_free_space_less_reserved() -> None:
    p = pool(thin_provisioning_support=False, thick_provisioning_support=True, free_capacity_gb=10.0,
             reserved_percentage=5)  # floor(100 × 5%) = 5 reserved: 5 usable
    assert F.backend_passes(p, request(5))
    assert not F.backend_passes(p, request(6))


def test_thick_type_on_a_thin_pool_uses_real_free_space() -> None:
    p = pool(free_capacity_gb=10.0, max_over_subscription_ratio=20.0)
    assert F.backend_passes(p, request(10, extra_specs=THICK))
    assert not F.backend_passes(p, request(11, extra_specs=THICK))
    assert F.backend_passes(p, request(11))  # thin: over-subscribed


def test_thin_over_subscription_ratio_bounds_provisioned() -> None:
    p = pool(max_over_subscription_ratio=2.0, provisioned_capacity_gb=150.0)
    assert F.backend_passes(p, request(50))  # (150 + 50) / 100 = 2.0
    assert not F.backend_passes(p, request(51))


def test_thin_adjusted_free_must_hold_the_request() -> None:
    p = pool(max_over_subscription_ratio=2.0, free_capacity_gb=10.0)
    assert F.backend_passes(p, request(20))
    assert not F.backend_passes(p, request(21))


def test_ratio_below_one_filters_thin_out() -> None:
    assert not F.backend_passes(pool(max_over_subscription_ratio=0.5), request(1))


def test_infinite_and_unknown_free_capacity_pass() -> None:
    assert F.backend_passes(pool(free_capacity_gb="infinite"), request(10_000))
    assert F.backend_passes(pool(free_capacity_gb="unknown"), request(10_000))


def test_unknown_total_passes_only_without_reservation() -> None:
    assert F.backend_passes(pool(total_capacity_gb="unknown"), request(10))
    assert not F.backend_passes(pool(total_capacity_gb="infinite", reserved_percentage=10), request(10))


def test_zero_total_fits_nothing() -> None:
    assert not F.backend_passes(pool(total_capacity_gb=0.0, free_capacity_gb=0.0), request(1))


def test_retype_in_place_needs_no_space() -> None:
    p = pool(free_capacity_gb=0.0, thin_provisioning_support=False)
    assert F.backend_passes(p, request(50, exists_on="h1@a"))
    assert not F.backend_passes(p, request(50, exists_on="h2@a"))
