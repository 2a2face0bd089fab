"""The scrubber: removes the data of ``pending_delete`` images (Glance's delayed delete).

DELETE /v2/images/{id} with ``image.delayed_delete`` on hides the image and sets it
``pending_delete`` but leaves its locations in the row. Every ``scrubber_interval`` seconds a
pass looks for such images deleted more than ``scrub_time`` seconds ago, deletes their data
from the stores and only then marks them ``deleted``. The loop is level-triggered — it acts
on what the database says now, not on remembered events — so a pass cut short by a crash or
a stop is finished by the next one (deleting data that is already gone is not an error).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from onestack.core.ids import utcnow
from onestack.image.models import Image
from onestack.image.service.data import location_store

log = logging.getLogger("onestack.image.scrubber")

BATCH = 100  # images per database read; a pass repeats reads until nothing is due


def due_images(s: Session, scrub_time: int, skip: frozenset[str]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Ids and locations of pending_delete images whose data may go now."""
    cutoff = utcnow() - timedelta(seconds=max(scrub_time, 0))
    stmt = (select(Image.id, Image.locations)
            .where(Image.status == "pending_delete", Image.deleted_at <= cutoff, Image.id.notin_(skip))
            .order_by(Image.deleted_at).limit(BATCH))
    return [(image_id, list(locations or [])) for image_id, locations in s.execute(stmt)]


def mark_scrubbed(s: Session, image_id: str) -> bool:
    """pending_delete → deleted, forgetting the locations; False if someone else finished it."""
    result = s.execute(update(Image).where(Image.id == image_id, Image.status == "pending_delete")
                       .values(status="deleted", locations=[], updated_at=utcnow()))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _delete_locations(image_service: Any, image_id: str, locations: list[dict[str, Any]]) -> bool:
    """Delete every copy; False (try again next pass) when a store is missing or fails."""
    for loc in locations:
        store = location_store(image_service, loc)
        if store is None:
            # Keep the image pending rather than leak its data if the store comes back.
            log.warning("scrubber: store of %s for image %s is not configured; retrying later", loc.get("url"), image_id)
            return False
        try:
            await store.delete(loc["url"])
        except Exception:
            log.exception("scrubber: could not delete %s of image %s; retrying later", loc.get("url"), image_id)
            return False
    return True


async def scrub_once(image_service: Any) -> int:
    """One pass: scrub every image that is due; returns how many were marked deleted."""
    scrub_time = int(image_service.config.image.scrub_time)
    failed: set[str] = set()
    done = 0
    while True:
        due = await image_service.db.read(due_images, scrub_time, frozenset(failed))
        if not due:
            return done
        for image_id, locations in due:
            if not await _delete_locations(image_service, image_id, locations):
                failed.add(image_id)
                continue
            # A crash here leaves the row pending_delete: the next pass deletes (nothing) and marks it.
            if await image_service.db.write(mark_scrubbed, image_id):
                done += 1
                log.info("scrubber: image %s data removed; status deleted", image_id)


async def run(image_service: Any) -> None:
    """Scrub forever, every ``scrubber_interval`` seconds, until cancelled."""
    await every(float(image_service.config.image.scrubber_interval), lambda: scrub_once(image_service),
                "scrubber pass")


async def every(interval: float, one_pass: Callable[[], Awaitable[object]], what: str) -> None:
    """Run a pass every ``interval`` seconds until cancelled (the image service's periodic workers)."""
    while True:
        try:
            await one_pass()
        except asyncio.CancelledError:
            raise
        except Exception:
            # A failed pass (database busy, ...) must not end the loop; the next one retries.
            log.exception("%s failed", what)
        await asyncio.sleep(max(interval, 0.01))
