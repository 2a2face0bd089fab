"""Put back what a crash cut off: uploads, stages, imports and copies whose process is gone.

A ``kill -9`` mid-upload leaves the image ``saving`` (or ``uploading`` with nothing staged, or
``importing``), its import task ``processing``, and temporary files (``.<id>.<hex>.tmp``) of up
to the whole image in the stores and the staging area — and, if it came after the rename but
before the commit, a complete file no location names. Nobody would ever finish them. A pass
here, at start-up and every ``RECOVER_INTERVAL`` seconds after (so a process on another node
heals a dead one's work), finds the work whose lease is dead (service/leases.py) and:

- upload, stage: the image goes back to ``queued`` (Glance's answer to an interrupted upload:
  retry it), staged size forgotten;
- glance-direct import: back to ``uploading`` when the staged data is still there (import
  again), else ``queued``; the stores it was going to are named in ``os_glance_failed_import``;
- copy-image: the image stays active; the stores are named as failed;
- the import task is marked ``failure``; files of the image that no location names are
  deleted (before the row changes, so a crash here only repeats the pass); fragments are
  removed once no live lease covers their image.

Every step is conditional on what the pass read (the lease row still there, the status still
busy), so two processes recovering at once do the work once. The pass is level-triggered: it
acts on what the database and the directories say now, so a pass cut off is finished by the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from onestack.core.ids import utcnow
from onestack.image.models import DataLease, Image, Task
from onestack.image.service import leases, tasks
from onestack.image.service.leases import Holder

log = logging.getLogger("onestack.image.recovery")

RECOVER_INTERVAL = 30.0  # seconds between passes after the one at start-up
BUSY = ("saving", "uploading", "importing")
INTERRUPTED = "Interrupted: the image service processing it stopped"
KIND_OF_STATUS = {"saving": "upload", "uploading": "stage", "importing": "import"}
STATUS_OF_KIND = {"upload": "saving", "stage": "uploading", "import": "importing", "location": "importing"}


@dataclass(frozen=True)
class DeadWork:
    """One interrupted piece of work; ``token`` None: a busy image or task with no lease at all."""

    image_id: str
    kind: str
    token: str | None
    task_id: str | None
    locations: tuple[str, ...]  # URLs the image row names (their files stay)
    other_live: bool  # another live lease on the image (a copy): leave its stores' files alone


def _busy_without_lease(s: Session) -> list[Image]:
    """Busy images no lease covers: only a crash (or a pre-lease version) leaves them."""
    no_lease = ~exists().where(DataLease.image_id == Image.id)
    rows = s.scalars(select(Image).where(Image.status.in_(BUSY), Image.deleted_at.is_(None), no_lease))
    # An image in uploading with its data staged is waiting for an import, not interrupted.
    return [img for img in rows if not (img.status == "uploading" and "staged_size" in (img.extra or {}))]


def find_dead(s: Session, holder: Holder, now: datetime) -> tuple[list[DeadWork], list[str]]:
    """What the pass should put back, and the import tasks ``processing`` with no lease."""
    all_leases = list(s.scalars(select(DataLease)))
    dead = [lease for lease in all_leases if holder.is_dead(lease, now)]
    dead_tokens = {lease.token for lease in dead}
    live_images = {lease.image_id for lease in all_leases if lease.token not in dead_tokens}
    works: list[DeadWork] = []
    for lease in dead:
        image = s.get(Image, lease.image_id)
        urls = tuple(loc.get("url", "") for loc in (image.locations if image is not None else None) or [])
        works.append(DeadWork(lease.image_id, lease.kind, lease.token, lease.task_id, urls,
                              lease.image_id in live_images))
    for image in _busy_without_lease(s):
        works.append(DeadWork(image.id, KIND_OF_STATUS[image.status], None, None, (), False))
    leased_tasks = {lease.task_id for lease in all_leases if lease.task_id}
    stray_tasks = [task_id for task_id in s.scalars(select(Task.id).where(
        Task.type.in_(("api_image_import", "location_import")), Task.status == "processing"))
        if task_id not in leased_tasks]
    return works, stray_tasks


def _fail_stores(extra: dict[str, Any]) -> dict[str, Any]:
    """The stores an interrupted import was writing to become its failed ones."""
    extra = dict(extra)
    pending = [x for x in (extra.get("os_glance_importing_to_stores") or "").split(",") if x]
    failed = [x for x in (extra.get("os_glance_failed_import") or "").split(",") if x]
    if pending or "os_glance_importing_to_stores" in extra:
        extra["os_glance_failed_import"] = ",".join([*failed, *(x for x in pending if x not in failed)])
        extra["os_glance_importing_to_stores"] = ""
    return extra


def settle(s: Session, holder: Holder, work: DeadWork, staged: bool, now: datetime) -> bool:
    """Put one interrupted work back; False when it was not dead after all or another pass did it."""
    if work.token is not None:
        lease = s.get(DataLease, work.token)
        if lease is None or not holder.is_dead(lease, now):
            return False
        s.execute(delete(DataLease).where(DataLease.token == work.token).execution_options(synchronize_session=False))
    elif s.scalar(select(exists().where(DataLease.image_id == work.image_id))):
        return False  # some work began on it since the pass looked
    if work.task_id:
        tasks.fail_task(s, work.task_id, INTERRUPTED)
    image = s.get(Image, work.image_id)
    if image is None or image.deleted_at is not None:
        return True
    # A live copy of the same image reports its own stores: leave its bookkeeping to it.
    extra = dict(image.extra or {}) if work.other_live else _fail_stores(image.extra or {})
    if work.kind != "copy":
        if image.status != STATUS_OF_KIND[work.kind]:
            return True
        back_to_staged = work.kind == "import" and staged
        image.status = "uploading" if back_to_staged else "queued"
        if work.kind == "location":  # as Glance's revert: the added location goes, with any hash
            image.locations = []
            image.checksum = image.os_hash_algo = image.os_hash_value = None
        if not back_to_staged:
            extra.pop("staged_size", None)
    image.extra = extra
    image.updated_at = utcnow()
    return True


def fail_stray_tasks(s: Session, task_ids: list[str]) -> None:
    for task_id in task_ids:
        task = s.get(Task, task_id)
        no_lease = not s.scalar(select(exists().where(DataLease.task_id == task_id)))
        if task is not None and task.status == "processing" and no_lease:
            tasks.fail_task(s, task_id, INTERRUPTED)


def live_lease_images(s: Session, holder: Holder, now: datetime) -> set[str]:
    return {lease.image_id for lease in s.scalars(select(DataLease)) if not holder.is_dead(lease, now)}


# -- files -----------------------------------------------------------------------------------

def _all_stores(image_service: Any) -> list[Any]:
    stores = list(image_service.stores.values())
    return [*stores, image_service.staging] if image_service.staging is not None else stores


def _list_fragments(image_service: Any) -> list[tuple[str, Path, float]]:
    return [found for store in _all_stores(image_service) if hasattr(store, "fragments")
            for found in store.fragments()]


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


async def _drop_unnamed_files(image_service: Any, work: DeadWork, staged: bool) -> None:
    """Complete files of the image that no location names (a crash between rename and commit)."""
    if work.other_live or work.kind == "location":
        return  # a location's data was written by its caller, not by us
    for store in image_service.stores.values():
        url = store.location_for(work.image_id)
        if url not in work.locations:
            await store.delete(url)
    staging = image_service.staging
    if staging is not None and work.kind in ("upload", "stage", "import") and not (work.kind == "import" and staged):
        await staging.delete(staging.location_for(work.image_id))


def _has_staged(image_service: Any, image_id: str) -> bool:
    staging = image_service.staging
    return staging is not None and bool(staging.path_of(staging.location_for(image_id)).exists())


# -- the pass --------------------------------------------------------------------------------

async def recover(image_service: Any) -> tuple[int, int]:
    """One pass; returns (works put back, fragments removed)."""
    holder: Holder = image_service.holder
    db = image_service.db
    # Fragments listed before the leases are read: one made after this listing is not in it, and
    # one in it was made after its lease committed, so the read below sees that lease if it lives.
    fragments = await anyio.to_thread.run_sync(_list_fragments, image_service)
    works, stray_tasks = await db.read(find_dead, holder, utcnow())
    settled: set[str] = set()
    for work in works:
        staged = work.kind == "import" and await anyio.to_thread.run_sync(_has_staged, image_service, work.image_id)
        await _drop_unnamed_files(image_service, work, staged)
        if await db.write(settle, holder, work, staged, utcnow()):
            settled.add(work.image_id)
            log.warning("image %s: %s cut off by a stop or crash; put back", work.image_id, work.kind)
    if stray_tasks:
        await db.write(fail_stray_tasks, stray_tasks)
    live = await db.read(live_lease_images, holder, utcnow())
    cutoff = time.time() - leases.GRACE.total_seconds()
    removed = 0
    for image_id, path, mtime in fragments:
        # A fragment of a lease-less image not just put back may be a write without a lease
        # (the built-in images at bootstrap): removed only once older than the grace.
        if image_id not in live and (image_id in settled or mtime < cutoff):
            await anyio.to_thread.run_sync(_unlink, path)
            removed += 1
    if removed:
        log.warning("removed %d temporary image file(s) left by interrupted writes", removed)
    return len(settled), removed


async def run(image_service: Any) -> None:
    """Renew this process's leases every HEARTBEAT seconds and recover every RECOVER_INTERVAL, until cancelled."""
    holder: Holder = image_service.holder
    next_pass = time.monotonic() + RECOVER_INTERVAL
    while True:
        await asyncio.sleep(leases.HEARTBEAT)
        try:
            if holder.tokens:  # an idle process writes nothing
                await image_service.db.write(holder.renew)
            if time.monotonic() >= next_pass:
                next_pass = time.monotonic() + RECOVER_INTERVAL
                await recover(image_service)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A failed pass (database busy, ...) must not end the loop: the next one retries.
            log.exception("image lease renewal or recovery failed")
