"""Small builders for volume scheduler tests."""

from __future__ import annotations

from typing import Any

from onestack.volume.scheduler.pool_state import PoolState, Request


def pool(name: str = "h1@a#a", **kw: Any) -> PoolState:
    """A healthy thin pool of 100 GiB, empty, unless told otherwise."""
    values: dict[str, Any] = {"backend_host": name.split("#", 1)[0], "agent_host": name.split("@", 1)[0],
                              "total_capacity_gb": 100.0, "free_capacity_gb": 100.0,
                              "capabilities": {"volume_backend_name": name.split("#", 1)[-1]}}
    values.update(kw)
    return PoolState(name=name, **values)


def request(size: int = 1, **kw: Any) -> Request:
    return Request(size=size, **kw)
