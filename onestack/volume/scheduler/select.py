"""The choice itself, pure: the pools that pass every filter, best weighed first."""

from __future__ import annotations

from collections.abc import Sequence

from onestack.volume.scheduler.filters.base import PoolFilter
from onestack.volume.scheduler.pool_state import PoolState, Request
from onestack.volume.scheduler.weighers.base import PoolWeigher, total_weights


def candidates(pools: Sequence[PoolState], request: Request, filters: Sequence[PoolFilter],
               weighers: Sequence[PoolWeigher]) -> list[PoolState]:
    """Passing pools by descending weight; equal weights keep the input (name) order."""
    passing = [p for p in pools
               if (request.same_backend_as is None or p.backend_host == request.same_backend_as)
               and all(f.backend_passes(p, request) for f in filters)]
    weights = total_weights(passing, request, weighers)
    order = sorted(range(len(passing)), key=lambda i: -weights[i])
    return [passing[i] for i in order]
