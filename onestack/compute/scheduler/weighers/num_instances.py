from __future__ import annotations

from typing import ClassVar

from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import RequestSpec


class NumInstancesWeigher:
    """Instances on the host: a negative multiplier prefers emptier hosts, a positive fuller."""

    config_key: ClassVar[str] = "num_instances_weight_multiplier"
    minval: ClassVar[float | None] = None
    maxval: ClassVar[float | None] = None

    def __init__(self, multiplier: float = 1.0) -> None:
        self.multiplier = multiplier

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        return float(host.num_instances)
