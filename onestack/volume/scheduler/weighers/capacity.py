from __future__ import annotations

import math
from typing import ClassVar

from onestack.volume.scheduler.pool_state import INFINITE, UNKNOWN, PoolState, Request


class CapacityWeigher:
    """Virtual free capacity (Cinder's): a positive multiplier spreads, a negative one stacks.

    Thin (pool and type): total × max_over_subscription_ratio − provisioned − reserved; thick:
    free − reserved. ``infinite`` weighs most; ``unknown`` least when spreading (and like
    ``infinite``, i.e. last, when stacking).
    """

    config_key: ClassVar[str] = "capacity_weight_multiplier"

    def __init__(self, multiplier: float = 1.0) -> None:
        self.multiplier = multiplier

    def weigh(self, pool: PoolState, request: Request) -> float:
        free_space, total_space = pool.free_capacity_gb, pool.total_capacity_gb
        if free_space == UNKNOWN or (total_space in (INFINITE, UNKNOWN) and free_space != INFINITE):
            return -1.0 if self.multiplier > 0 else math.inf
        if free_space == INFINITE:
            return math.inf
        total = float(total_space)
        reserved = math.floor(total * float(pool.reserved_percentage) / 100)
        if request.thin and pool.thin_provisioning_support:
            return total * pool.max_over_subscription_ratio - pool.provisioned_capacity_gb - reserved
        return float(free_space) - reserved
