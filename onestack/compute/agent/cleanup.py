"""Cleanup steps that must each run: a failure is logged with the server's uuid and never skips
the steps after it.

Cleanup runs after something already went wrong (a failed build, a delete, a rolled-back move),
so its own failures must not hide the first one or leave the rest undone: a guest that could not
be destroyed still has its ports freed and its claim released, and the reconcile loop destroys
it later as an orphan.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from onestack.compute.agent.host import HostContext

log = logging.getLogger("onestack.compute.agent")


async def attempt(host: str, uuid: str, what: str, step: Awaitable[Any]) -> bool:
    """Await ``step``; on failure log "<host>: <what> of <uuid> failed" with the traceback.
    True when it succeeded. Cancellation still propagates."""
    try:
        await step
    except Exception:
        log.exception("%s: %s of %s failed", host, what, uuid)
        return False
    return True


async def release_guest(agent: HostContext, instance: dict[str, Any]) -> None:
    """Destroy the guest and free its ports, each on its own."""
    uuid = instance["uuid"]
    await attempt(agent.host, uuid, "destroying the guest", agent.driver.destroy(uuid))
    await attempt(agent.host, uuid, "freeing the ports", agent.network.deallocate(instance))
