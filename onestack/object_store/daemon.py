"""The loop every object-store daemon runs (Swift's ``Daemon.run_forever``): one pass every
``interval`` seconds in a task of its own; a failed pass is logged and the next one runs anyway
(a disk or database hiccup must not end the daemon); ``stop`` cancels it and waits.

Used by the replicator, the auditor, the expirer and the ring refresher: each defines ``tick``
(one pass) and its ``interval``."""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger("onestack.object_store.daemon")


class Periodic:
    interval: float
    task_name = "object-daemon"
    wait_first = False  # True: the first pass one interval after start, not at once
    failure_level = logging.ERROR
    _task: asyncio.Task[None] | None = None

    async def tick(self) -> None:
        """One pass."""
        raise NotImplementedError

    async def _loop(self) -> None:
        delay = self.interval if self.wait_first else 0.0
        while True:
            await asyncio.sleep(delay)
            delay = self.interval
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.log(self.failure_level, "%s: pass failed", self.task_name, exc_info=True)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.task_name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
