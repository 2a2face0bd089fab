"""Filters and weighers by name, as configuration lists them ([volume]
scheduler_default_filters, scheduler_default_weighers, comma-separated class names; a dotted
Cinder path means its last part). Multipliers come from ``[volume] <weigher's config_key>``.
"""

from __future__ import annotations

from typing import Any

from onestack.volume.scheduler.filters.availability_zone import AvailabilityZoneFilter
from onestack.volume.scheduler.filters.base import PoolFilter
from onestack.volume.scheduler.filters.capabilities import CapabilitiesFilter
from onestack.volume.scheduler.filters.capacity import CapacityFilter
from onestack.volume.scheduler.weighers.allocated_capacity import AllocatedCapacityWeigher
from onestack.volume.scheduler.weighers.base import PoolWeigher
from onestack.volume.scheduler.weighers.capacity import CapacityWeigher

FILTERS: dict[str, type[Any]] = {cls.__name__: cls for cls in (
    AvailabilityZoneFilter, CapacityFilter, CapabilitiesFilter)}
WEIGHERS: dict[str, type[Any]] = {cls.__name__: cls for cls in (CapacityWeigher, AllocatedCapacityWeigher)}


class SchedulerConfigError(ValueError):
    """A configured filter or weigher name onestack does not have."""


def _names(value: str | list[str], known: dict[str, type[Any]], option: str) -> list[str]:
    raw = value.split(",") if isinstance(value, str) else list(value)
    names: list[str] = []
    for item in raw:
        name = item.strip().rsplit(".", 1)[-1]
        if not name:
            continue
        if name not in known:
            raise SchedulerConfigError(f"unknown {item.strip()!r} in volume.{option}; known: {', '.join(sorted(known))}")
        if name not in names:
            names.append(name)
    return names


def build_filters(names: str | list[str]) -> list[PoolFilter]:
    return [FILTERS[n]() for n in _names(names, FILTERS, "scheduler_default_filters")]


def build_weighers(names: str | list[str], config: Any = None) -> list[PoolWeigher]:
    weighers: list[PoolWeigher] = []
    for name in _names(names, WEIGHERS, "scheduler_default_weighers"):
        cls = WEIGHERS[name]
        multiplier = getattr(config, cls.config_key, None) if config is not None else None
        weighers.append(cls() if multiplier is None else cls(float(multiplier)))
    return weighers


def from_config(config: Any) -> tuple[list[PoolFilter], list[PoolWeigher]]:
    """Filters and weighers named by a VolumeConfig."""
    return (build_filters(config.scheduler_default_filters),
            build_weighers(config.scheduler_default_weighers, config))
