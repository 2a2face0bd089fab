"""The object expirer (Swift's ``swift-object-expirer``): deletes the objects whose X-Delete-At has
passed.

Its queue is the listing rows' ``delete_at`` (``ContainerService.expired``). Each due object is
deleted through the whole proxy pipeline with a pre-authorized DELETE carrying
``X-If-Delete-At`` (so an object re-written or given a new X-Delete-At since is left alone: the
object server answers 412) and ``X-Timestamp`` = the delete-at time (so the tombstone is no newer
than the expiry, and a PUT made after it still wins), as Swift's expirer does. The object servers
already answer 404 for an expired object; this removes its data and listing row for good.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from onestack.object_store.daemon import Periodic
from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.request import Headers, RequestContext, SwiftRequest
from onestack.object_store.state import ObjectStoreState
from onestack.object_store.timestamp import Timestamp

log = logging.getLogger("onestack.object_store.expirer")


class ObjectExpirer(Periodic):
    """A worker (``start``/``stop``): a pass every ``expirer_interval`` seconds."""

    task_name = "object-expirer"

    def __init__(self, state: ObjectStoreState, interval: float | None = None, batch: int = 500) -> None:
        self.state = state
        self.interval = state.config.expirer_interval if interval is None else interval
        self.batch = batch
        # Entries the object servers refused (412: re-written since) whose row has not caught up
        # yet; skipped so they cannot hold the head of the queue. Forgotten once their row moves.
        self._refused: set[tuple[str, str, str, float]] = set()

    async def tick(self) -> None:
        await self.run_once()

    async def run_once(self, now: float | None = None) -> int:
        """One pass: every object due by ``now``; returns how many were deleted."""
        now = time.time() if now is None else now
        # One batch a pass: a row whose container update lags behind its DELETE is retried next
        # pass, not spun on.
        due = await self.state.containers.expired(now, self.batch + len(self._refused))
        self._refused &= {self._key(e) for e in due}
        deleted = 0
        for entry in due:
            key = self._key(entry)
            if key in self._refused:
                continue
            status = await self.expire(entry)
            if status == 204:
                deleted += 1
            elif status == 412:  # re-written since; a 404 is already gone, a 5xx is retried next pass
                self._refused.add(key)
        return deleted

    @staticmethod
    def _key(entry: dict[str, Any]) -> tuple[str, str, str, float]:
        return entry["account"], entry["container"], entry["obj"], float(entry["delete_at"])

    async def expire(self, entry: dict[str, Any]) -> int:
        """The pre-authorized DELETE of one due object; its status (SwiftError's when refused)."""
        pipeline = self.state.pipeline
        if pipeline is None:
            return 503
        delete_at = int(entry["delete_at"])
        path = f"/v1/{entry['account']}/{entry['container']}/{entry['obj']}"
        headers = Headers({"x-if-delete-at": str(delete_at), "x-timestamp": Timestamp(float(delete_at)).internal})
        req = SwiftRequest(method="DELETE", path=path, headers=headers,
                           ctx=RequestContext(source="EXP", pre_authed=True))
        try:
            resp = await pipeline(req)
            await resp.close()
            status = resp.status
        except SwiftError as err:
            status = err.status
        if status not in (204, 404):
            log.info("expirer: DELETE %s answered %s", path, status)
        return status
