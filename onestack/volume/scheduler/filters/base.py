"""The filter interface: one class per filter, one method, one file."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from onestack.volume.scheduler.pool_state import PoolState, Request


@runtime_checkable
class PoolFilter(Protocol):
    def backend_passes(self, pool: PoolState, request: Request) -> bool:
        """True when the pool can take the request's volume."""
        ...
