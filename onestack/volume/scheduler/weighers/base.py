"""The weigher interface and Cinder's weighing arithmetic.

Each weigher gives every filtered pool a raw number; per weigher the numbers are scaled to
0..1 across the pools ((w - min) / (max - min); all equal → all 0), multiplied by the
weigher's multiplier and summed; the largest sum wins. An infinite raw weight (a backend of
unbounded capacity) is first replaced by a value just above the largest finite one, as
Cinder's CapacityWeigher does, so it wins without flattening the others.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar, Protocol, runtime_checkable

from onestack.volume.scheduler.pool_state import PoolState, Request

_OFFSET_MULT, _OFFSET_MIN = 100, 10000


@runtime_checkable
class PoolWeigher(Protocol):
    # The [volume] key holding this weigher's multiplier.
    config_key: ClassVar[str]
    multiplier: float

    def weigh(self, pool: PoolState, request: Request) -> float:
        """The raw weight of the pool for this request; larger is preferred (× multiplier)."""
        ...


def normalize(raw: Sequence[float]) -> list[float]:
    if not raw:
        return []
    finite = [w for w in raw if not math.isinf(w)]
    if len(finite) != len(raw):
        low = min(finite) if finite else 0.0
        high = max(finite) if finite else low
        offset = (high - low) * _OFFSET_MULT
        top = high + (offset or _OFFSET_MIN)
        raw = [top if math.isinf(w) else w for w in raw]
    low, high = min(raw), max(raw)
    if high == low:
        return [0.0] * len(raw)
    return [(w - low) / (high - low) for w in raw]


def total_weights(pools: Sequence[PoolState], request: Request, weighers: Sequence[PoolWeigher]) -> list[float]:
    """Σ multiplier × normalised weight, per pool, in the order of ``pools``."""
    totals = [0.0] * len(pools)
    for weigher in weighers:
        if not weigher.multiplier:
            continue
        for i, value in enumerate(normalize([weigher.weigh(p, request) for p in pools])):
            totals[i] += weigher.multiplier * value
    return totals
