"""What is being scheduled: Nova's RequestSpec, reduced to what filters and weighers read."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

AFFINITY = "affinity"
ANTI_AFFINITY = "anti-affinity"
SOFT_AFFINITY = "soft-affinity"
SOFT_ANTI_AFFINITY = "soft-anti-affinity"


@dataclass
class Flavor:
    vcpus: int = 1
    memory_mb: int = 512
    root_gb: int = 1
    ephemeral_gb: int = 0
    swap: int = 0  # MiB, as in Nova
    extra_specs: dict[str, str] = field(default_factory=dict)
    name: str = ""

    @property
    def disk_gb(self) -> int:
        """Local disk the instance takes: root + ephemeral + swap rounded up to GiB."""
        return self.root_gb + self.ephemeral_gb + math.ceil(self.swap / 1024)


@dataclass
class InstanceGroup:
    uuid: str = ""
    policy: str = ""
    rules: dict[str, Any] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)  # instance uuids
    hosts: list[str] = field(default_factory=list)  # hosts the members are on

    @property
    def max_server_per_host(self) -> int:
        try:
            return max(1, int(self.rules.get("max_server_per_host", 1)))
        except (TypeError, ValueError):
            return 1


@dataclass
class RequestSpec:
    flavor: Flavor = field(default_factory=Flavor)
    # Image properties (hw_architecture, img_hv_type, hw_vm_mode, img_hv_requested_version, ...).
    image_properties: dict[str, Any] = field(default_factory=dict)
    availability_zone: str | None = None
    num_instances: int = 1
    # Uuids of the instances being scheduled, one per num_instances when known.
    instance_uuids: list[str] = field(default_factory=list)
    # Nova's hints: same_host, different_host (lists of instance uuids), group, ...
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    instance_group: InstanceGroup | None = None
    project_id: str = ""
    ignore_hosts: list[str] = field(default_factory=list)
    force_hosts: list[str] = field(default_factory=list)
    force_nodes: list[str] = field(default_factory=list)

    def hint(self, name: str) -> list[str]:
        """A scheduler hint as a list of strings (the API accepts one value or a list)."""
        value = self.scheduler_hints.get(name)
        if value is None or value == "":
            return []
        if isinstance(value, (list, tuple, set)):
            return [str(v) for v in value]
        return [str(value)]

    def instance_uuid(self, index: int) -> str:
        if index < len(self.instance_uuids):
            return self.instance_uuids[index]
        return f"pending-instance-{index}"  # placeholder so the snapshot can count it
