"""Filters and weighers by name, as configuration lists them ([scheduler] enabled_filters,
weight_classes). Nova's dotted paths are accepted by their last part, so an operator's
``nova.scheduler.filters.compute_filter.ComputeFilter`` still means ComputeFilter.
"""

from __future__ import annotations

from typing import Any

from onestack.compute.scheduler.filters.aggregate_instance_extra_specs import (
    AggregateInstanceExtraSpecsFilter,
)
from onestack.compute.scheduler.filters.all_hosts import AllHostsFilter
from onestack.compute.scheduler.filters.availability_zone import AvailabilityZoneFilter
from onestack.compute.scheduler.filters.base import HostFilter
from onestack.compute.scheduler.filters.compute import ComputeFilter
from onestack.compute.scheduler.filters.compute_capabilities import ComputeCapabilitiesFilter
from onestack.compute.scheduler.filters.core import CoreFilter
from onestack.compute.scheduler.filters.different_host import DifferentHostFilter
from onestack.compute.scheduler.filters.disk import DiskFilter
from onestack.compute.scheduler.filters.image_properties import ImagePropertiesFilter
from onestack.compute.scheduler.filters.ram import RamFilter
from onestack.compute.scheduler.filters.same_host import SameHostFilter
from onestack.compute.scheduler.filters.server_group_affinity import ServerGroupAffinityFilter
from onestack.compute.scheduler.filters.server_group_anti_affinity import (
    ServerGroupAntiAffinityFilter,
)
from onestack.compute.scheduler.weighers.base import HostWeigher
from onestack.compute.scheduler.weighers.cpu import CPUWeigher
from onestack.compute.scheduler.weighers.disk import DiskWeigher
from onestack.compute.scheduler.weighers.num_instances import NumInstancesWeigher
from onestack.compute.scheduler.weighers.ram import RAMWeigher
from onestack.compute.scheduler.weighers.soft_affinity import ServerGroupSoftAffinityWeigher
from onestack.compute.scheduler.weighers.soft_anti_affinity import (
    ServerGroupSoftAntiAffinityWeigher,
)

FILTERS: dict[str, type[Any]] = {cls.__name__: cls for cls in (
    AllHostsFilter, AvailabilityZoneFilter, ComputeFilter, ComputeCapabilitiesFilter,
    ImagePropertiesFilter, AggregateInstanceExtraSpecsFilter, ServerGroupAffinityFilter,
    ServerGroupAntiAffinityFilter, SameHostFilter, DifferentHostFilter,
    RamFilter, CoreFilter, DiskFilter,
)}

WEIGHERS: dict[str, type[Any]] = {cls.__name__: cls for cls in (
    RAMWeigher, CPUWeigher, DiskWeigher, ServerGroupSoftAffinityWeigher,
    ServerGroupSoftAntiAffinityWeigher, NumInstancesWeigher,
)}

_ALL_FILTERS = "all_filters"
_ALL_WEIGHERS = "all_weighers"


class SchedulerConfigError(ValueError):
    """A configured filter or weigher name onestack does not have, or a bad multiplier."""


def _names(value: str | list[str], everything: str, known: dict[str, type[Any]],
           kind: str, option: str) -> list[str]:
    raw = value.split(",") if isinstance(value, str) else list(value)
    names: list[str] = []
    for item in raw:
        name = item.strip().rsplit(".", 1)[-1]
        if not name:
            continue
        chosen = list(known) if name == everything else [name]
        for one in chosen:
            if one not in known:
                raise SchedulerConfigError(
                    f"unknown scheduler {kind} {item.strip()!r} in scheduler.{option}; "
                    f"known: {', '.join(sorted(known))}")
            if one not in names:
                names.append(one)
    return names


def filter_classes(names: str | list[str]) -> list[type[Any]]:
    return [FILTERS[n] for n in _names(names, _ALL_FILTERS, FILTERS, "filter", "enabled_filters")]


def weigher_classes(names: str | list[str]) -> list[type[Any]]:
    return [WEIGHERS[n] for n in _names(names, _ALL_WEIGHERS, WEIGHERS, "weigher",
                                        "weight_classes")]


def build_filters(names: str | list[str]) -> list[HostFilter]:
    """Instances of the named filters, in the given order."""
    return [cls() for cls in filter_classes(names)]


def build_weighers(names: str | list[str], config: Any = None) -> list[HostWeigher]:
    """Instances of the named weighers; each takes its multiplier from ``config`` (a
    SchedulerConfig) by its ``config_key``, or the class default when config lacks it."""
    weighers: list[HostWeigher] = []
    for cls in weigher_classes(names):
        multiplier = getattr(config, cls.config_key, None) if config is not None else None
        try:
            weighers.append(cls() if multiplier is None else cls(float(multiplier)))
        except ValueError as exc:
            raise SchedulerConfigError(f"scheduler.{cls.config_key}: {exc}") from None
    return weighers


def from_config(config: Any) -> tuple[list[HostFilter], list[HostWeigher]]:
    """Filters and weighers named by a SchedulerConfig."""
    return build_filters(config.enabled_filters), build_weighers(config.weight_classes, config)
