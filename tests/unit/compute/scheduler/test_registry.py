from __future__ import annotations

import pytest

from onestack.compute.scheduler import registry
from onestack.compute.scheduler.filters.compute import ComputeFilter
from onestack.compute.scheduler.weighers.ram import RAMWeigher
from onestack.core.config import Config, SchedulerConfig


def test_default_config_resolves_in_order() -> None:
    filters, weighers = registry.from_config(Config().scheduler)
    assert [type(f).__name__ for f in filters] == [
        "AvailabilityZoneFilter", "ComputeFilter", "ComputeCapabilitiesFilter",
        "ImagePropertiesFilter", "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter",
        "SameHostFilter", "DifferentHostFilter"]
    assert {type(w).__name__: w.multiplier for w in weighers}["NumInstancesWeigher"] == 0.0


def test_multipliers_come_from_config() -> None:
    cfg = SchedulerConfig(ram_weight_multiplier=-2.5, cpu_weight_multiplier=0.5)
    weighers = registry.build_weighers("RAMWeigher, CPUWeigher", cfg)
    assert [(type(w).__name__, w.multiplier) for w in weighers] == [
        ("RAMWeigher", -2.5), ("CPUWeigher", 0.5)]


def test_nova_dotted_names_all_and_duplicates() -> None:
    assert registry.filter_classes(
        "nova.scheduler.filters.compute_filter.ComputeFilter, ComputeFilter,") == [ComputeFilter]
    assert registry.weigher_classes("nova.scheduler.weights.all_weighers")[0] is RAMWeigher
    assert len(registry.weigher_classes(["all_weighers"])) == len(registry.WEIGHERS)
    assert len(registry.filter_classes("all_filters")) == len(registry.FILTERS)
    assert registry.build_filters("") == []


def test_unknown_names_are_clear_errors() -> None:
    with pytest.raises(registry.SchedulerConfigError, match="unknown scheduler filter 'NoSuch'"):
        registry.build_filters("ComputeFilter,NoSuch")
    with pytest.raises(registry.SchedulerConfigError, match="weigher 'x.Bogus'.*weight_classes"):
        registry.build_weighers("x.Bogus")


def test_negative_soft_affinity_multiplier_is_a_config_error() -> None:
    cfg = SchedulerConfig(soft_affinity_weight_multiplier=-1.0)
    with pytest.raises(registry.SchedulerConfigError, match="soft_affinity_weight_multiplier"):
        registry.build_weighers("ServerGroupSoftAffinityWeigher", cfg)


def test_every_registered_class_has_one_public_method() -> None:
    for cls in registry.FILTERS.values():
        assert isinstance(cls.run_filter_once_per_request, bool)
        assert callable(cls().host_passes)
    for cls in registry.WEIGHERS.values():
        assert cls.config_key in {f for f in SchedulerConfig.__dataclass_fields__}
