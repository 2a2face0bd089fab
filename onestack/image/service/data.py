"""Image data: upload, download, stage, import, store removal — and the status machine around them.

Statuses as Glance: queued → saving → active on upload; queued → uploading (staged) →
importing → active on glance-direct import; a failed upload or import goes back to queued
and leaves no bytes behind. Database steps are conditional updates (``status`` must still be
what we saw), so two clients racing on one image get one 204 and one 409.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import struct
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
from sqlalchemy import update
from sqlalchemy.orm import Session

from onestack.core.aio import run_to_end
from onestack.core.api.faults import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    PayloadTooLarge,
)
from onestack.core.auth import AuthContext
from onestack.core.ids import utcnow
from onestack.image import formats
from onestack.image.models import Image, ImageMember
from onestack.image.service import leases, quotas
from onestack.image.service.images import image_target
from onestack.image.stores import SizeLimitExceeded, StoredImage

log = logging.getLogger("onestack.image.data")

HASH_ALGO = "sha512"


@dataclass(frozen=True)
class Caller:
    """Who is asking, reduced to what the data path decides on."""

    project_id: str | None
    is_admin: bool
    user_id: str
    creds: dict[str, Any]

    @classmethod
    def of(cls, ctx: AuthContext) -> Caller:
        return cls(ctx.project_id, ctx.is_admin, ctx.user_id, ctx.credentials())


# -- visibility and permission ------------------------------------------------------------

def _is_member(s: Session, image: Image, project_id: str | None) -> bool:
    if not project_id or image.visibility != "shared":
        return False
    return s.get(ImageMember, (image.id, project_id)) is not None


def load_visible(s: Session, image_id: str, caller: Caller) -> tuple[Image, bool]:
    """The image if the caller may see it (else 404, as Glance hides what you cannot see)."""
    image = s.get(Image, image_id)
    if image is None or image.deleted_at is not None or image.status == "deleted":
        raise NotFound(f"No image found with ID {image_id}")
    member = _is_member(s, image, caller.project_id)
    if caller.is_admin or image.owner == caller.project_id or member:
        return image, member
    if image.visibility in ("public", "community"):
        return image, member
    raise NotFound(f"No image found with ID {image_id}")


def enforce(image_service: Any, rule: str, image: Image, member: bool, caller: Caller) -> None:
    """Apply a policy rule when the policy file defines it (unknown rules are not enforced here).

    Checked here rather than in the handler because the image's state is read in the same
    transaction that changes it.
    """
    if rule in image_service.enforcer.rules():
        target = image_target(image, caller.project_id if member else None)
        image_service.enforcer.enforce(rule, target, caller.creds)


def _owner_only(image: Image, caller: Caller, action: str) -> None:
    if not (caller.is_admin or image.owner == caller.project_id):
        raise Forbidden(f"You are not permitted to {action} image {image.id}.")


# -- database steps -----------------------------------------------------------------------

def _transition(s: Session, image_id: str, old: tuple[str, ...], new: str, **values: Any) -> bool:
    result = s.execute(update(Image).where(Image.id == image_id, Image.status.in_(old), Image.deleted_at.is_(None))
                       .values(status=new, updated_at=utcnow(), **values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def begin_write(s: Session, image_service: Any, image_id: str, caller: Caller,
                staging: bool) -> tuple[Image, int | None, str]:
    """Checks for PUT …/file and …/stage, then queued → saving|uploading under a lease.

    Returns the image, the byte allowance and the lease's token (service/leases.py).
    """
    image, member = load_visible(s, image_id, caller)
    enforce(image_service, "upload_image", image, member, caller)
    _owner_only(image, caller, "upload data to")
    if not staging and (not image.disk_format or not image.container_format):
        raise BadRequest("Properties disk_format, container_format must be set prior to saving data.")
    if image.status != "queued":
        raise Conflict(f"Image {image_id} has status {image.status}; data can only be "
                       f"{'staged' if staging else 'uploaded'} to a queued image.")
    allowance = quotas.upload_allowance(s, image_service, image.owner, staging=staging)
    if not _transition(s, image_id, ("queued",), "uploading" if staging else "saving"):
        raise Conflict(f"Image {image_id} is no longer queued.")
    return image, allowance, image_service.holder.take(s, image_id, "stage" if staging else "upload")


def revert_to_queued(s: Session, image_id: str, from_statuses: tuple[str, ...], token: str) -> None:
    if not leases.release(s, token):
        return  # the recovery pass already put it back (and someone may have started anew)
    image = s.get(Image, image_id)
    if image is None or image.status not in from_statuses:
        return
    image.status = "queued"
    image.updated_at = utcnow()


def finish_upload(s: Session, image_id: str, store_id: str, stored: StoredImage, virtual_size: int | None,
                  token: str) -> bool:
    """saving → active with the new data, ending the lease; False if the image went away meanwhile."""
    image = s.get(Image, image_id)
    if not leases.release(s, token) or image is None or image.deleted_at is not None or image.status != "saving":
        return False
    _activate(image, [(store_id, stored.location)], stored, virtual_size)
    return True


def _activate(image: Image, places: list[tuple[str, str]], stored: StoredImage, virtual_size: int | None) -> None:
    image.status = "active"
    image.size = stored.size
    image.virtual_size = virtual_size
    image.checksum = stored.checksum
    image.os_hash_algo = HASH_ALGO
    image.os_hash_value = stored.os_hash_value
    image.locations = [{"url": url, "metadata": {"store": sid}, "store": sid} for sid, url in places]
    extra = dict(image.extra or {})
    extra["stores"] = stores_string(sid for sid, _ in places)
    image.extra = extra
    image.updated_at = utcnow()


def stores_string(store_ids: Iterable[str]) -> str:
    """The ``stores`` property: comma-separated, in a stable (sorted) order as clients compare it."""
    return ",".join(sorted(set(store_ids)))


# -- upload ------------------------------------------------------------------------------

def _content_md5_matches(header: str | None, stored: StoredImage) -> bool:
    if not header:
        return True
    value = header.strip()
    if value.lower() == stored.checksum:
        return True
    try:
        return base64.b64decode(value, validate=True).hex() == stored.checksum
    except (binascii.Error, ValueError):
        return False


def reader_for(store: Any, location: str) -> formats.Reader:
    """A blocking random-access reader over a stored image (for a worker thread)."""
    if hasattr(store, "read_range"):
        return lambda offset, length: bytes(store.read_range(location, offset, length))

    async def fetch(offset: int, length: int) -> bytes:
        return b"".join([chunk async for chunk in store.get(location, offset, length)])

    return lambda offset, length: anyio.from_thread.run(fetch, offset, length)


async def check_format(image_service: Any, disk_format: str | None, store: Any, stored: StoredImage) -> int | None:
    """Virtual size of the stored data, or BadRequest when Glance's inspector would refuse it."""
    read = reader_for(store, stored.location)
    require = bool(image_service.config.image.require_image_format_match)
    try:
        return await anyio.to_thread.run_sync(
            lambda: formats.check(disk_format, read, stored.size, require_match=require))
    except formats.UnsafeImage as exc:
        raise BadRequest(f"Image data failed safety check: {exc}") from None
    except formats.FormatMismatch as exc:
        raise BadRequest(f"Image disk_format does not match image content: {exc}") from None
    except struct.error as exc:  # truncated headers
        raise BadRequest(f"Image data failed safety check: {exc}") from None


async def _discard(*doomed: tuple[Any, str]) -> None:
    """Delete each (store, location)'s bytes, all of them even if the caller is cancelled
    meanwhile (then cancelled after); one that fails is logged: the image no longer needs it."""
    async def delete_all() -> None:
        for store, location in doomed:
            try:
                await store.delete(location)
            except Exception:
                log.exception("could not delete %s", location)

    await run_to_end(delete_all())


async def _revert(image_service: Any, image_id: str, statuses: tuple[str, ...], token: str,
                  stored: tuple[Any, StoredImage | None]) -> None:
    """A write that failed (or was cancelled): its stored bytes go and the image is queued again,
    both even if the caller is cancelled meanwhile (then cancelled after)."""
    async def undo() -> None:
        store, written = stored
        if written is not None:
            await _discard((store, written.location))
        await image_service.db.write(revert_to_queued, image_id, statuses, token)

    await run_to_end(undo())


def pick_store(image_service: Any, requested: str | None) -> str:
    store_id = (requested or "").strip() or image_service.default_store
    if store_id not in image_service.stores:
        raise BadRequest(f"Store for identifier {store_id} not found")
    return store_id


async def upload(image_service: Any, caller: Caller, image_id: str, chunks: AsyncIterator[bytes],
                 *, store_id: str | None = None, content_md5: str | None = None) -> None:
    """PUT /v2/images/{id}/file: stream into a store, verify, inspect, activate."""
    sid = pick_store(image_service, store_id)
    store = image_service.stores[sid]
    image, allowance, token = await image_service.db.write(begin_write, image_service, image_id, caller, False)
    stored: StoredImage | None = None
    try:
        try:
            stored = await store.add(image_id, chunks, max_size=allowance)
        except SizeLimitExceeded as exc:
            raise PayloadTooLarge(f"Request Entity Too Large: {exc}") from None
        if not _content_md5_matches(content_md5, stored):
            raise BadRequest(f"Content-MD5 {content_md5} does not match the uploaded data ({stored.checksum}).")
        virtual_size = await check_format(image_service, image.disk_format, store, stored)
        await forget_cached(image_service, image_id)  # no copy of older data may outlive this
        if not await image_service.db.write(finish_upload, image_id, sid, stored, virtual_size, token):
            raise Gone(f"Image {image_id} was deleted during the upload.")
    except BaseException:
        await _revert(image_service, image_id, ("saving",), token, (store, stored))
        raise
    finally:
        # Whatever happened, this process renews it no more: if a write above failed, the
        # lease is dead and the recovery pass finishes the job (service/recovery.py).
        image_service.holder.forget(token)


# -- download ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Download:
    store: Any
    location: str
    size: int
    checksum: str | None


def open_download(s: Session, image_service: Any, image_id: str, caller: Caller) -> Download | None:
    """What GET …/file streams; None when the image has no data (204)."""
    image, member = load_visible(s, image_id, caller)
    if image.status == "deactivated" and not caller.is_admin:
        raise Forbidden("The requested image has been deactivated. Image data download is forbidden.")
    enforce(image_service, "download_image", image, member, caller)
    if image.status not in ("active", "deactivated"):
        return None
    for loc in image.locations or []:
        store = location_store(image_service, loc)
        if store is not None:
            return Download(store, loc["url"], int(image.size or 0), image.checksum)
    return None


# -- deletion (used by DELETE /v2/images/{id}) ---------------------------------------------

async def delete_image_data(image_service: Any, image: Image | dict[str, Any]) -> str:
    """Remove an image's bytes from every store and from staging; missing data is fine.

    Answers "deleted", or "pending_delete" when delayed delete is on and the image has stored
    data: that data then stays for the scrubber (service/scrubber.py); staged bytes go at once.
    """
    image_id = image["id"] if isinstance(image, dict) else image.id
    locations = (image.get("locations") if isinstance(image, dict) else image.locations) or []
    delayed = bool(image_service.config.image.delayed_delete) and bool(locations)
    await forget_cached(image_service, image_id)
    doomed = []
    if image_service.staging is not None:
        doomed.append((image_service.staging, image_service.staging.location_for(image_id)))
    if not delayed:
        doomed += [(store, loc["url"]) for loc in locations
                   if (store := location_store(image_service, loc)) is not None]
    await _discard(*doomed)
    return "pending_delete" if delayed else "deleted"


async def forget_cached(image_service: Any, image_id: str) -> None:
    """Drop this host's cached copy and queue entry of an image whose data went or changed."""
    if image_service.cache is not None:
        await anyio.to_thread.run_sync(image_service.cache.forget, image_id)


def location_store(image_service: Any, location: dict[str, Any]) -> Any:
    """The store holding one entry of ``Image.locations`` (None if that store is not configured)."""
    return image_service.stores.get(location.get("store") or (location.get("metadata") or {}).get("store"))


def drop_store_location(s: Session, image_service: Any, image_id: str, store_id: str, caller: Caller) -> str:
    """DELETE /v2/stores/{store}/{image}: forget one store's copy; returns its URL to delete."""
    image, member = load_visible(s, image_id, caller)
    enforce(image_service, "delete_image_location", image, member, caller)
    if not caller.is_admin:
        raise Forbidden("Only an administrator may delete an image from a store.")
    if store_id not in image_service.stores:
        raise BadRequest(f"Unknown store {store_id}.")
    if image.status != "active":
        raise Conflict(f"Image {image_id} is not active.")
    keep = [loc for loc in image.locations or [] if loc.get("store") != store_id]
    gone = [loc for loc in image.locations or [] if loc.get("store") == store_id]
    if not gone:
        raise NotFound(f"Image {image_id} has no data in store {store_id}.")
    if not keep:
        raise Conflict("Cannot delete the last location of an image.")
    image.locations = keep
    image.extra = {**(image.extra or {}), "stores": stores_string(loc["store"] for loc in keep)}
    image.updated_at = utcnow()
    return str(gone[0]["url"])


async def remove_from_store(image_service: Any, image_id: str, store_id: str, caller: Caller) -> None:
    """DELETE /v2/stores/{store}/{image}: forget the store's copy, then delete its bytes."""
    url = await image_service.db.write(drop_store_location, image_service, image_id, store_id, caller)
    await _discard((image_service.stores[store_id], url))


def tracked(image_service: Any, coro: Any) -> None:
    """Run an import in the background, keeping a reference so it is not garbage-collected."""
    task = asyncio.get_running_loop().create_task(coro)
    image_service.tasks.add(task)
    task.add_done_callback(image_service.tasks.discard)
