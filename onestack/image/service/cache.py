"""The image cache at work: serving downloads, the cache API's steps, the prefetcher and pruner.

As Glance's cache middleware, a full ``GET /v2/images/{id}/file`` of an image not yet cached
streams from the store and fills the cache on the way (kept only when the bytes match the
image's size and checksum); later downloads, ranges included, read the cached file. As Glance's
cache worker, ``PUT /v2/cache/{id}`` queues the image and starts fetching it at once; a periodic
pass (``cache_prefetcher_interval``) fetches whatever is still queued, prunes the cache under
``image_cache_max_size`` and removes stalled incomplete files. The disk and sqlite work of
image/cache.py runs in worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from sqlalchemy.orm import Session

from onestack.core.aio import run_to_end
from onestack.core.api.faults import BadRequest, NotFound
from onestack.image.cache import CachedFile, Fill, ImageCache
from onestack.image.models import Image
from onestack.image.service.data import Download, location_store, tracked
from onestack.image.service.scrubber import every
from onestack.image.stores import StoreError

log = logging.getLogger("onestack.image.cache")

T = TypeVar("T")
READ_CHUNK = 1024 * 1024
CLEAR_TARGETS = ("", "cache", "queue")


async def _blocking(fn: Callable[..., T], *args: Any) -> T:
    return await anyio.to_thread.run_sync(fn, *args)


def enabled_cache(image_service: Any) -> ImageCache:
    """The cache, or Glance's answer when this site has none."""
    if image_service.cache is None:
        raise NotFound("Caching via API is not supported at this site.")
    cache: ImageCache = image_service.cache
    return cache


# --- the cache API's steps (api/cache.py checks visibility and policy first) -------------------

async def state(image_service: Any) -> dict[str, Any]:
    cache = enabled_cache(image_service)
    return {"cached_images": await _blocking(cache.cached_images),
            "queued_images": await _blocking(cache.queued_images)}


async def queue(image_service: Any, image_id: str, status: str) -> None:
    cache = enabled_cache(image_service)
    if status != "active":
        raise BadRequest("Only images with status active can be targeted for queueing")
    if await _blocking(cache.queue, image_id):
        tracked(image_service, _prefetch_logged(image_service, image_id))  # Glance's WORKER.submit


async def delete_entry(image_service: Any, image_id: str) -> None:
    await _blocking(enabled_cache(image_service).forget, image_id)


async def is_known(image_service: Any, image_id: str) -> bool:
    return image_service.cache is not None and await _blocking(image_service.cache.is_known, image_id)


def clear_target(header: str | None) -> str:
    target = (header or "").lower()
    if target not in CLEAR_TARGETS:
        raise BadRequest("If provided 'x-image-cache-clear-target' must be 'cache', 'queue' or empty string.")
    return target


async def clear(image_service: Any, header: str | None) -> None:
    """DELETE /v2/cache: the cache, the queue, or both (``x-image-cache-clear-target``)."""
    cache = enabled_cache(image_service)
    target = clear_target(header)
    if target in ("", "cache"):
        await _blocking(cache.delete_all_cached)
    if target in ("", "queue"):
        await _blocking(cache.delete_all_queued)


async def clean(image_service: Any) -> None:
    await _blocking(enabled_cache(image_service).clean)


async def prune(image_service: Any) -> dict[str, int]:
    files, size = await _blocking(enabled_cache(image_service).prune)
    return {"total_files_pruned": files, "total_bytes_pruned": size}


# --- downloads -----------------------------------------------------------------------------

async def _read_cached(entry: CachedFile, offset: int, length: int) -> AsyncIterator[bytes]:
    with entry.file:
        while length > 0:
            chunk = await _blocking(os.pread, entry.file.fileno(), min(READ_CHUNK, length), offset)
            if not chunk:
                return
            offset += len(chunk)
            length -= len(chunk)
            yield chunk


def _write(fill: Fill, chunk: bytes) -> bool:
    try:
        fill.write(chunk)
        return True
    except OSError:  # disk full...: the download goes on, uncached
        log.exception("image cache: writing %s failed; not caching it", fill.image_id)
        return False


def _commit(fill: Fill, checksum: str | None, size: int) -> None:
    try:
        fill.commit(checksum, size)
    except (OSError, sqlite3.Error):
        log.exception("image cache: publishing %s failed; not cached", fill.image_id)


async def _filling(cache: ImageCache, image_id: str, link_from: Path | None, source: AsyncIterator[bytes],
                   found: Download) -> AsyncIterator[bytes]:
    """Pass the store's bytes through to the client, keeping a copy; published only when complete.

    The fill is claimed when the body starts, so a response never sent holds nothing. Each
    chunk's disk write runs while the chunk goes out and the next one is read, so the copy costs
    the download little time; at most one write is in flight (and finishes before abort). A
    cache that cannot be written never fails the download.
    """
    fill = await _blocking(cache.begin_fill, image_id, found.size, link_from)
    if fill is None:  # cached or being cached meanwhile, or too big
        async for chunk in source:
            yield chunk
        return
    pending: asyncio.Future[bool] | None = None
    caching = True
    try:
        async for chunk in source:
            if pending is not None:
                caching = await pending
                pending = None
            if caching and fill.link_from is not None:
                fill.write(chunk)  # only counted: the local file itself is linked at the end
            elif caching:
                pending = asyncio.ensure_future(_blocking(_write, fill, chunk))
            yield chunk
        if pending is not None:
            caching = await pending
            pending = None
        if caching:
            await _blocking(_commit, fill, found.checksum, found.size)
    finally:
        async def end() -> None:
            if pending is not None:
                await asyncio.wait([pending])  # the thread must be done with the file first
            if not fill.done:
                await _blocking(fill.abort)

        await run_to_end(end())


def _local_file(store: Any, location: str) -> Path | None:
    """The file holding the image when its store keeps files on this host (linked, not copied)."""
    path_of = getattr(store, "path_of", None)
    if path_of is None:
        return None
    try:
        return Path(path_of(location))
    except StoreError:
        return None


async def stream(image_service: Any, image_id: str, found: Download, offset: int, length: int) -> AsyncIterator[bytes]:
    """The bytes GET …/file sends: from the cache when it holds the image, else from the store
    (filling the cache when the whole image is read)."""
    cache: ImageCache | None = image_service.cache
    if cache is not None:
        entry = await _blocking(cache.open_entry, image_id, found.checksum, found.size)
        if entry is not None:
            return _read_cached(entry, offset, length)
    source: AsyncIterator[bytes] = found.store.get(found.location, offset, length)
    if cache is not None and offset == 0 and length == found.size and found.size <= cache.max_size:
        return _filling(cache, image_id, _local_file(found.store, found.location), source, found)
    return source


# --- the prefetcher and pruner ---------------------------------------------------------------

def _cacheable(s: Session, image_id: str) -> tuple[str, list[dict[str, Any]], int, str | None] | None:
    """Status, locations, size and checksum of an image; None when it is gone."""
    image = s.get(Image, image_id)
    if image is None or image.deleted_at is not None or image.status in ("deleted", "pending_delete"):
        return None
    return image.status, list(image.locations or []), int(image.size or 0), image.checksum


async def prefetch(image_service: Any, image_id: str) -> bool:
    """Cache one queued image (Glance's prefetcher); True when it is now cached."""
    cache: ImageCache | None = image_service.cache
    if cache is None:
        return False
    found = await image_service.db.read(_cacheable, image_id)
    if found is None:
        await _blocking(cache.delete_queued, image_id)  # deleted meanwhile: nothing to cache
        return False
    status, locations, size, checksum = found
    if status != "active":
        log.warning("image cache: image %s is not active; not caching", image_id)
        return False
    store, url = next(((location_store(image_service, loc), loc["url"]) for loc in locations
                       if location_store(image_service, loc) is not None), (None, None))
    if store is None or url is None:
        return False
    if size > cache.max_size:
        log.warning("image cache: image %s (%d bytes) is bigger than the whole cache; not caching", image_id, size)
        await _blocking(cache.delete_queued, image_id)
        return False
    fill = await _blocking(cache.begin_fill, image_id, size, _local_file(store, url))
    if fill is None:
        if await _blocking(cache.is_cached, image_id):
            await _blocking(cache.delete_queued, image_id)
        return False
    try:
        async for chunk in store.get(url, 0, size):
            await _blocking(fill.write, chunk)
        return await _blocking(fill.commit, checksum, size)
    finally:
        if not fill.done:
            await run_to_end(_blocking(fill.abort))


async def _prefetch_logged(image_service: Any, image_id: str) -> None:
    try:
        await prefetch(image_service, image_id)
    except Exception:
        log.exception("image cache: prefetching %s failed; it stays queued", image_id)


async def maintain_once(image_service: Any) -> None:
    """One pass: fetch what is queued, prune to the maximum size, remove stalled fills."""
    cache: ImageCache | None = image_service.cache
    if cache is None:
        return
    for image_id in await _blocking(cache.queued_images):
        try:
            await prefetch(image_service, image_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("image cache: prefetching %s failed; it stays queued", image_id)
    await _blocking(cache.prune)
    await _blocking(cache.clean)


async def run(image_service: Any) -> None:
    """The cache worker of this host, every ``cache_prefetcher_interval`` seconds until cancelled."""
    await every(float(image_service.config.image.cache_prefetcher_interval),
                lambda: maintain_once(image_service), "image cache pass")
