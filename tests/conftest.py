"""Run order: the modules that take minutes first, so two xdist workers end together.

pytest-xdist's ``--dist loadfile`` hands out whole modules in collection order (its default
``--loadscope-reorder`` sorts them by test count, which put the one-test crash modules, a
minute each, last: one worker ran them while the other idled). Longest first bounds the tail
by the short modules. In-module order is kept (the sort is stable).
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

import pytest

# Known to take minutes: the whole-cloud crash tests, the fuzz (long form in CI's PostgreSQL pass)
# and the scale-out clouds (RabbitMQ, several processes).
SLOWEST = ("test_fuzz.py", "test_crash_", "multiprocess")


@cache
def _starts_own_cloud(path: str) -> bool:
    """A module that starts clouds of its own pays their start-up on top of its tests."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return False
    return any(maker in text for maker in ("make_cloud(", "ScaleOutCloud(", "scale_out_cloud("))


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config.option, "loadscopereorder"):  # xdist present: keep the order made below
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    modules = Counter(item.nodeid.split("::")[0] for item in items)

    def rank(item: pytest.Item) -> tuple[int, int, str]:
        module = item.nodeid.split("::")[0]
        name = module.rsplit("/", 1)[-1]
        if any(marker in name for marker in SLOWEST):
            tier = 0
        elif _starts_own_cloud(str(item.path)):
            tier = 1
        else:
            tier = 2
        return tier, -modules[module], module

    items.sort(key=rank)
