"""asyncio helpers the services share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def run_to_end(step: Awaitable[T]) -> T:
    """Await ``step`` to its end even if the caller is cancelled meanwhile, then let the
    cancellation through.

    For a step that makes things in another service (ports, volume attachments) over calls that,
    abandoned halfway, still complete on the other side: the cleanup that follows a cancel finds
    what to undo by listing what exists, so the step must be over by then or what it made leaks.
    The step's own call timeouts bound the wait.
    """
    task = asyncio.ensure_future(step)
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait([task])  # cancelling this wait leaves the task running
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        if not task.cancelled():
            task.exception()  # retrieved: the cancellation is what the caller hears of
        raise asyncio.CancelledError
    return task.result()
