"""asyncio helpers the services share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import anyio
import anyio.lowlevel

T = TypeVar("T")


async def run_to_end(step: Awaitable[T]) -> T:
    """Await ``step`` to its end even if the caller is cancelled meanwhile, then let the
    cancellation through.

    For a step that makes things in another service (ports, volume attachments) over calls that,
    abandoned halfway, still complete on the other side: the cleanup that follows a cancel finds
    what to undo by listing what exists, so the step must be over by then or what it made leaks.
    And for cleanup itself (a half-written file, a stored object) that a cancel must not cut short.
    The step's own call timeouts bound the wait.

    Both kinds of cancellation: a task's ``cancel()`` (asyncio's timeouts, ``close()``) and an
    anyio cancel scope's (Starlette's, around a request). The scope's is held off by a shielded
    scope, as ``anyio.CancelScope(shield=True)`` would (which alone lets a task's ``cancel()``
    through); unshielded, anyio would cancel the wait again on every turn of the loop. The
    cancellation let through afterwards is the one that came, so its scope recognises it.
    """
    task = asyncio.ensure_future(step)
    cancelled: asyncio.CancelledError | None = None
    with anyio.CancelScope(shield=True):
        while not task.done():
            try:
                await asyncio.wait([task])  # cancelling this wait leaves the task running
            except asyncio.CancelledError as exc:
                cancelled = exc
    if not task.cancelled():
        task.exception()  # retrieved: if a cancellation follows, it is what the caller hears of
    if cancelled is not None:
        raise cancelled
    await anyio.lowlevel.checkpoint_if_cancelled()  # a scope cancelled meanwhile: its cancellation now
    return task.result()
