from __future__ import annotations

from typing import ClassVar

from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import RequestSpec


class DiskWeigher:
    """Free local disk (allocation ratio honoured): positive multiplier spreads, negative stacks."""

    config_key: ClassVar[str] = "disk_weight_multiplier"
    minval: ClassVar[float | None] = 0.0
    maxval: ClassVar[float | None] = None

    def __init__(self, multiplier: float = 1.0) -> None:
        self.multiplier = multiplier

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        # Overcommitted hosts (negative free) weigh like full ones.
        return max(0.0, host.free_disk_gb)
