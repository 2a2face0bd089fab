from __future__ import annotations

from typing import ClassVar

from onestack.volume.scheduler.pool_state import PoolState, Request


class AllocatedCapacityWeigher:
    """What the pool's volumes already take: the default multiplier (-1) prefers the emptiest."""

    config_key: ClassVar[str] = "allocated_capacity_weight_multiplier"

    def __init__(self, multiplier: float = -1.0) -> None:
        self.multiplier = multiplier

    def weigh(self, pool: PoolState, request: Request) -> float:
        return pool.allocated_capacity_gb
