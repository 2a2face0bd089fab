"""What the whole-cloud crash tests share: client threads working through a storm, and the kill."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from tests.functional.cloud import RunningCloud


def storm(work: list[Any], action: Any, threads: int) -> list[threading.Thread]:
    """Run ``action(item)`` over ``work`` from ``threads`` threads; a thread stops at its first failure
    (the cloud was killed under it)."""
    def run(items: list[Any]) -> None:
        for item in items:
            try:
                action(item)
            except Exception:  # noqa: BLE001 - the connection died with the cloud
                return

    started = [threading.Thread(target=run, args=(work[i::threads],), daemon=True) for i in range(threads)]
    for thread in started:
        thread.start()
    return started


def kill_after(cloud: RunningCloud, delay: float, threads: list[threading.Thread]) -> None:
    """SIGKILL the cloud ``delay`` seconds from now, then wait for the client threads to stop."""
    time.sleep(delay)  # the random kill point itself, not synchronisation
    assert cloud.stop(signal.SIGKILL) == -signal.SIGKILL
    for thread in threads:
        thread.join(timeout=30)
