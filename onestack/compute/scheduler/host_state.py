"""A read-only snapshot of one compute host, as the scheduler sees it.

The caller builds one ``HostState`` per compute node (from placement inventories and usages,
the service table and the aggregates); the scheduler never writes to it — ``select.py``
works on copies when it must account for what a request has already consumed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Nova's default for hosts in no aggregate that names a zone.
DEFAULT_AVAILABILITY_ZONE = "nova"


@dataclass
class Aggregate:
    id: int
    name: str
    hosts: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    uuid: str = ""

    @property
    def availability_zone(self) -> str | None:
        return self.metadata.get("availability_zone")


@dataclass
class HostState:
    host: str
    nodename: str = ""
    uuid: str = ""  # the compute node's resource provider uuid
    # Zone from the service record; aggregates naming a zone take precedence (see `zones`).
    availability_zone: str | None = None
    aggregates: list[Aggregate] = field(default_factory=list)
    service_up: bool = True
    service_disabled: bool = False
    forced_down: bool = False
    vcpus_total: int = 0
    vcpus_used: int = 0
    memory_mb: int = 0
    memory_mb_used: int = 0
    disk_gb: int = 0
    disk_gb_used: int = 0
    cpu_allocation_ratio: float = 1.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    reserved_vcpus: int = 0
    reserved_memory_mb: int = 0
    reserved_disk_gb: int = 0
    num_instances: int = 0
    # Instance uuid -> uuid of the server group it belongs to (None when in no group).
    instances: dict[str, str | None] = field(default_factory=dict)
    hypervisor_type: str = ""
    hypervisor_version: int = 0  # Nova's integer form: major * 1_000_000 + minor * 1000 + patch
    hypervisor_hostname: str = ""
    cpu_info: dict[str, Any] = field(default_factory=dict)
    # (architecture, hypervisor type, vm mode) triples the host can run.
    supported_instances: list[tuple[str, str, str]] = field(default_factory=list)
    traits: frozenset[str] = frozenset()
    # Free-form host statistics; ComputeCapabilitiesFilter falls back to them.
    stats: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.nodename:
            self.nodename = self.host
        if not self.hypervisor_hostname:
            self.hypervisor_hostname = self.nodename
        if self.instances and not self.num_instances:
            self.num_instances = len(self.instances)

    # --- capacity, as placement computes it: (total - reserved) * ratio - used ---

    @property
    def vcpus_capacity(self) -> float:
        return (self.vcpus_total - self.reserved_vcpus) * self.cpu_allocation_ratio

    @property
    def ram_capacity_mb(self) -> float:
        return (self.memory_mb - self.reserved_memory_mb) * self.ram_allocation_ratio

    @property
    def disk_capacity_gb(self) -> float:
        return (self.disk_gb - self.reserved_disk_gb) * self.disk_allocation_ratio

    @property
    def free_vcpus(self) -> float:
        return self.vcpus_capacity - self.vcpus_used

    @property
    def free_ram_mb(self) -> float:
        return self.ram_capacity_mb - self.memory_mb_used

    @property
    def free_disk_gb(self) -> float:
        return self.disk_capacity_gb - self.disk_gb_used

    @property
    def free_disk_mb(self) -> float:
        return self.free_disk_gb * 1024

    @property
    def total_usable_ram_mb(self) -> int:
        return self.memory_mb

    @property
    def total_usable_disk_gb(self) -> int:
        return self.disk_gb

    # --- aggregates ---

    def aggregate_values(self, key: str) -> set[str]:
        """Every value ``key`` has in the metadata of the aggregates this host is in."""
        return {a.metadata[key] for a in self.aggregates if key in a.metadata}

    def zones(self, default: str = DEFAULT_AVAILABILITY_ZONE) -> set[str]:
        """The availability zone(s) the host is in: its aggregates' zones, else its own."""
        return self.aggregate_values("availability_zone") or {self.availability_zone or default}

    # --- server groups ---

    def group_members_here(self, group_uuid: str, members: Iterable[str] = ()) -> int:
        """How many instances on this host belong to the group (by uuid or membership list)."""
        if not self.instances:
            return 0  # the common case on a large cloud; skip building a set per host
        found = members
        if not isinstance(members, (set, frozenset, list, tuple)) or len(self.instances) > 4:
            found = set(members)  # many lookups: hash them once
        return sum(1 for uuid, group in self.instances.items()
                   if (group_uuid and group == group_uuid) or uuid in found)

    # --- capabilities lookup for ComputeCapabilitiesFilter ---

    def capability(self, path: list[str]) -> Any:
        """Walk ``path`` through attributes, dicts and JSON strings; None when absent."""
        node: Any = self
        for part in path:
            if isinstance(node, str):
                try:
                    node = json.loads(node)
                except ValueError:
                    return None
            if isinstance(node, Mapping):
                node = node.get(part)
            elif node is self:
                value = getattr(self, part, None) if not part.startswith("_") else None
                node = self.stats.get(part) if value is None or callable(value) else value
            else:
                node = getattr(node, part, None) if not part.startswith("_") else None
            if node is None:
                return None
        return node

    def copy(self) -> HostState:
        """A copy safe to account consumption on (mutable containers are duplicated)."""
        dup = copy.copy(self)
        dup.instances = dict(self.instances)
        return dup
