"""The pause of workers' loops: an event or a number of seconds, and a cancel that is not lost."""

from __future__ import annotations

import asyncio
import time

import pytest

from onestack.core.service import wait_event


def test_returns_false_after_the_seconds_and_true_once_set() -> None:
    async def scenario() -> tuple[bool, float, bool, bool]:
        event = asyncio.Event()
        started = time.monotonic()
        timed_out = await wait_event(event, 0.05)
        waited = time.monotonic() - started
        asyncio.get_running_loop().call_later(0.01, event.set)
        woken = await wait_event(event, 30)
        already = await wait_event(event, 0)  # set before: no wait at all
        return timed_out, waited, woken, already

    timed_out, waited, woken, already = asyncio.run(scenario())
    assert (timed_out, woken, already) == (False, True, True)
    assert waited >= 0.04  # the timer, not the event, ended it


def test_a_cancel_while_waiting_propagates() -> None:
    async def scenario() -> None:
        task = asyncio.create_task(wait_event(asyncio.Event(), 30))
        await asyncio.sleep(0.01)
        task.cancel()
        await task

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(scenario())
