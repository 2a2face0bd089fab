"""core.aio.run_to_end: a step runs to its end through its caller's cancellation."""

from __future__ import annotations

import asyncio

import pytest

from onestack.core.aio import run_to_end


async def _step(started: asyncio.Event, release: asyncio.Event, made: list[str], fail: bool = False) -> str:
    started.set()
    await release.wait()
    if fail:
        raise ValueError("step failed")
    made.append("port")
    return "port"


def test_returns_the_steps_result() -> None:
    async def main() -> str:
        release = asyncio.Event()
        release.set()
        return await run_to_end(_step(asyncio.Event(), release, []))
    assert asyncio.run(main()) == "port"


@pytest.mark.parametrize("fail", [False, True])
def test_a_cancelled_caller_waits_for_the_step_then_is_cancelled(fail: bool) -> None:
    async def main() -> tuple[list[str], bool]:
        started, release, made = asyncio.Event(), asyncio.Event(), []
        caller = asyncio.create_task(run_to_end(_step(started, release, made, fail)))
        await started.wait()
        caller.cancel()
        caller.cancel()  # twice: a second cancel does not abandon the step either
        await asyncio.sleep(0)
        assert not caller.done()  # still waiting for the step
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await caller
        return made, caller.cancelled()
    made, cancelled = asyncio.run(main())
    assert made == ([] if fail else ["port"]) and cancelled


def test_the_steps_error_reaches_an_uncancelled_caller() -> None:
    async def main() -> None:
        release = asyncio.Event()
        release.set()
        await run_to_end(_step(asyncio.Event(), release, [], fail=True))
    with pytest.raises(ValueError, match="step failed"):
        asyncio.run(main())
