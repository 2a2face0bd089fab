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
        started, release = asyncio.Event(), asyncio.Event()
        made: list[str] = []
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


def test_a_cancelled_anyio_scope_waits_for_the_step_and_catches_its_cancellation() -> None:
    """Starlette cancels a request's work through an anyio cancel scope: the step still ends, and
    the scope recognises the cancellation let through afterwards as its own (a cancellation it did
    not recognise would cancel the whole task instead)."""
    import anyio

    async def main() -> tuple[list[str], bool, str]:
        started, release = asyncio.Event(), asyncio.Event()
        made: list[str] = []
        with anyio.CancelScope() as scope:
            async def cancel_when_started() -> None:
                await started.wait()
                scope.cancel()
                await asyncio.sleep(0.05)  # cancelled meanwhile, the step still runs
                release.set()

            canceller = asyncio.create_task(cancel_when_started())
            await run_to_end(_step(started, release, made))
            made.append("not reached: the scope's cancellation comes right after the step")
        await canceller
        return made, scope.cancelled_caught, "after the scope"

    assert asyncio.run(main()) == (["port"], True, "after the scope")


def test_the_cancellation_let_through_is_the_one_that_came() -> None:
    async def main() -> tuple[str, ...]:
        started, release = asyncio.Event(), asyncio.Event()
        caller = asyncio.create_task(run_to_end(_step(started, release, [])))
        await started.wait()
        caller.cancel("shutting down")
        await asyncio.sleep(0)
        release.set()
        try:
            await caller
        except asyncio.CancelledError as exc:
            return tuple(exc.args)
        return ()

    assert asyncio.run(main()) == ("shutting down",)
