from __future__ import annotations

from typing import ClassVar

from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import SOFT_ANTI_AFFINITY, RequestSpec


class ServerGroupSoftAntiAffinityWeigher:
    """For a ``soft-anti-affinity`` group: the more members on a host, the less it is preferred."""

    config_key: ClassVar[str] = "soft_anti_affinity_weight_multiplier"
    minval: ClassVar[float | None] = None
    maxval: ClassVar[float | None] = None

    def __init__(self, multiplier: float = 1.0) -> None:
        if multiplier < 0:
            raise ValueError(f"{self.config_key} must not be negative, got {multiplier}")
        self.multiplier = multiplier

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        group = spec.instance_group
        if group is None or group.policy != SOFT_ANTI_AFFINITY:
            return 0.0
        return -float(host.group_members_here(group.uuid, group.members))
