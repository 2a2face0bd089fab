"""A small, typed execute/revert flow (the part of OpenStack's taskflow that Cinder's create
flow uses): tasks run in order; when one fails, those that completed are reverted in reverse
order and the original error is raised.

A task's ``revert`` gets the same context its ``execute`` saw, so it can undo exactly what it
did (delete the row it inserted, say). A revert that fails is logged and the others still run:
the caller hears the first error, not a revert's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

log = logging.getLogger(__name__)

C = TypeVar("C")
C_contra = TypeVar("C_contra", contravariant=True)


class Task(Protocol[C_contra]):
    """One step: ``execute`` does it, ``revert`` undoes it after a later step failed."""

    def execute(self, ctx: C_contra) -> None: ...

    def revert(self, ctx: C_contra) -> None: ...


class AsyncTask(Protocol[C_contra]):
    async def execute(self, ctx: C_contra) -> None: ...

    async def revert(self, ctx: C_contra) -> None: ...


class NoRevert(Generic[C]):
    """A base for tasks with nothing to undo (validation, reads)."""

    def revert(self, ctx: C) -> None:
        return None


class AsyncNoRevert(Generic[C]):
    async def revert(self, ctx: C) -> None:
        return None


def run(tasks: Sequence[Task[C]], ctx: C) -> None:
    """Run ``tasks`` in order on ``ctx``; on failure revert the completed ones, newest first, and re-raise."""
    done: list[Task[C]] = []
    for task in tasks:
        try:
            task.execute(ctx)
        except BaseException:
            for finished in reversed(done):
                try:
                    finished.revert(ctx)
                except Exception:
                    log.exception("reverting %s failed", type(finished).__name__)
            raise
        done.append(task)


async def run_async(tasks: Sequence[AsyncTask[C]], ctx: C) -> None:
    """``run`` for tasks whose steps await (bus casts, database writes through a thread)."""
    done: list[AsyncTask[C]] = []
    for task in tasks:
        try:
            await task.execute(ctx)
        except BaseException:
            for finished in reversed(done):
                try:
                    await finished.revert(ctx)
                except Exception:
                    log.exception("reverting %s failed", type(finished).__name__)
            raise
        done.append(task)
