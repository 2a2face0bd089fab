from __future__ import annotations

import pytest

from onestack.core.config import VolumeConfig
from onestack.volume.scheduler import registry
from onestack.volume.scheduler.filters.capacity import CapacityFilter
from onestack.volume.scheduler.weighers.allocated_capacity import AllocatedCapacityWeigher
from onestack.volume.scheduler.weighers.capacity import CapacityWeigher


def test_defaults_build_cinders_default_chain() -> None:
    filters, weighers = registry.from_config(VolumeConfig())
    assert [type(f).__name__ for f in filters] == ["AvailabilityZoneFilter", "CapacityFilter", "CapabilitiesFilter"]
    assert [type(w).__name__ for w in weighers] == ["CapacityWeigher"]


def test_dotted_names_and_multipliers_from_config() -> None:
    config = VolumeConfig(scheduler_default_weighers="cinder.scheduler.weights.capacity.CapacityWeigher,"
                                                     "AllocatedCapacityWeigher",
                          capacity_weight_multiplier=-2.0, allocated_capacity_weight_multiplier=3.0)
    weighers = registry.build_weighers(config.scheduler_default_weighers, config)
    assert isinstance(weighers[0], CapacityWeigher) and weighers[0].multiplier == -2.0
    assert isinstance(weighers[1], AllocatedCapacityWeigher) and weighers[1].multiplier == 3.0
    assert isinstance(registry.build_filters("CapacityFilter, CapacityFilter")[0], CapacityFilter)
    assert len(registry.build_filters("CapacityFilter, CapacityFilter")) == 1


def test_unknown_name_is_a_config_error() -> None:
    with pytest.raises(registry.SchedulerConfigError, match="DriverFilter"):
        registry.build_filters("CapacityFilter,DriverFilter")
