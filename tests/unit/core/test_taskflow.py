"""core/taskflow.py: tasks run in order; a failure reverts the completed ones newest first."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from onestack.core import taskflow


@dataclass
class Log:
    events: list[str] = field(default_factory=list)


@dataclass
class Step:
    name: str
    fail: bool = False
    fail_revert: bool = False

    def execute(self, ctx: Log) -> None:
        if self.fail:
            raise ValueError(self.name)
        ctx.events.append(f"do {self.name}")

    def revert(self, ctx: Log) -> None:
        if self.fail_revert:
            raise RuntimeError(f"revert {self.name}")
        ctx.events.append(f"undo {self.name}")


@dataclass
class AsyncStep:
    name: str
    fail: bool = False

    async def execute(self, ctx: Log) -> None:
        await asyncio.sleep(0)
        if self.fail:
            raise ValueError(self.name)
        ctx.events.append(f"do {self.name}")

    async def revert(self, ctx: Log) -> None:
        ctx.events.append(f"undo {self.name}")


def test_all_succeed_runs_in_order_without_reverts() -> None:
    ctx = Log()
    taskflow.run([Step("a"), Step("b"), Step("c")], ctx)
    assert ctx.events == ["do a", "do b", "do c"]


def test_failure_reverts_completed_in_reverse_and_reraises() -> None:
    ctx = Log()
    with pytest.raises(ValueError, match="c"):
        taskflow.run([Step("a"), Step("b"), Step("c", fail=True), Step("d")], ctx)
    assert ctx.events == ["do a", "do b", "undo b", "undo a"]


def test_failing_first_task_reverts_nothing() -> None:
    ctx = Log()
    with pytest.raises(ValueError):
        taskflow.run([Step("a", fail=True), Step("b")], ctx)
    assert ctx.events == []


def test_a_failing_revert_does_not_stop_the_others_nor_hide_the_error() -> None:
    ctx = Log()
    with pytest.raises(ValueError, match="c"):
        taskflow.run([Step("a"), Step("b", fail_revert=True), Step("c", fail=True)], ctx)
    assert ctx.events == ["do a", "do b", "undo a"]


def test_no_revert_base_is_a_task() -> None:
    class Check(taskflow.NoRevert[Log]):
        def execute(self, ctx: Log) -> None:
            ctx.events.append("checked")

    ctx = Log()
    with pytest.raises(ValueError):
        taskflow.run([Check(), Step("x", fail=True)], ctx)
    assert ctx.events == ["checked"]


def test_async_flow_reverts_in_reverse() -> None:
    ctx = Log()
    with pytest.raises(ValueError, match="c"):
        asyncio.run(taskflow.run_async([AsyncStep("a"), AsyncStep("b"), AsyncStep("c", fail=True)], ctx))
    assert ctx.events == ["do a", "do b", "undo b", "undo a"]


def test_async_flow_success() -> None:
    ctx = Log()
    asyncio.run(taskflow.run_async([AsyncStep("a"), AsyncStep("b")], ctx))
    assert ctx.events == ["do a", "do b"]
