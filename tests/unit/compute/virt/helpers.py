"""What the fake driver's unit tests share: a small simulated host and specs to spawn on it."""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from onestack.compute.virt.driver import InstanceSpec
from onestack.compute.virt.fake import FakeDriver, FakeHostConfig

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def spec(name: str = "", memory_mb: int = 512) -> InstanceSpec:
    uid = str(uuidlib.uuid4())
    return InstanceSpec(uuid=uid, name=name or f"vm-{uid[:8]}", vcpus=1, memory_mb=memory_mb, root_gb=1)


def fake(tmp_path: Path, **kw: Any) -> FakeDriver:
    return FakeDriver(FakeHostConfig(hostname="unit", vcpus=4, memory_mb=4096, local_gb=50, **kw),
                      state_dir=tmp_path)
