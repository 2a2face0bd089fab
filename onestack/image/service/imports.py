"""Interoperable image import: glance-direct (stage, then import), web-download or copy-image
into one or more stores.

The import request answers 202 at once; the copy runs as a background task that reports
through the image's ``os_glance_*`` properties (as Glance does) and an ``api_image_import``
task row (``GET /v2/images/{id}/tasks``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, Forbidden, PayloadTooLarge
from onestack.core.ids import utcnow
from onestack.image.models import Image, Task
from onestack.image.service import data, leases, quotas, webdownload
from onestack.image.service.data import Caller
from onestack.image.stores import SizeLimitExceeded, StoredImage

log = logging.getLogger("onestack.image.import")

TASK_TTL = timedelta(hours=48)
KNOWN_METHODS = ("glance-direct", "web-download", "copy-image")


@dataclass
class ImportRequest:
    method: str
    stores: list[str]
    all_stores_must_succeed: bool = True
    body: dict[str, Any] = field(default_factory=dict)


def advertised_methods(image_service: Any) -> list[str]:
    names = [m.strip() for m in image_service.config.image.import_methods.split(",") if m.strip()]
    return [m for m in names if m in KNOWN_METHODS]


def parse_request(image_service: Any, body: Any, header_store: str | None) -> ImportRequest:
    """Validate POST …/import's body (method, stores / all_stores, all_stores_must_succeed)."""
    if not isinstance(body, dict) or not isinstance(body.get("method"), dict):
        raise BadRequest("Import request requires a 'method' object with a 'name'.")
    name = body["method"].get("name")
    if name not in advertised_methods(image_service):
        raise BadRequest(f"Import method {name!r} is not supported; available: "
                         f"{', '.join(advertised_methods(image_service))}.")
    stores, all_stores = body.get("stores"), body.get("all_stores", False)
    if all_stores and (stores or header_store):
        raise BadRequest("all_stores cannot be combined with the stores parameter or the X-Image-Meta-Store header.")
    if stores is not None and (not isinstance(stores, list) or not all(isinstance(x, str) for x in stores)):
        raise BadRequest("stores must be a list of store identifiers.")
    if all_stores:
        chosen = list(image_service.stores)
    elif stores:
        chosen = list(dict.fromkeys(stores))
    else:
        chosen = [data.pick_store(image_service, header_store)]
    for sid in chosen:
        if sid not in image_service.stores:
            raise BadRequest(f"Store for identifier {sid} not found")
    must = body.get("all_stores_must_succeed", True)
    if not isinstance(must, bool):
        raise BadRequest("all_stores_must_succeed must be a boolean.")
    return ImportRequest(name, chosen, must, body)


async def check_uri(image_service: Any, req: ImportRequest) -> None:
    """web-download: the URI must pass [import_filtering_opts] now (400), as Glance checks it."""
    if req.method != "web-download":
        return
    uri = req.body["method"].get("uri")
    if not await webdownload.passes(image_service.config.image, uri):
        raise BadRequest(f"URI for web-download does not pass filtering: {uri}")


def _shown_uri(uri: str) -> str:
    # A URI may carry credentials; the task's input shows it without them.
    parsed = urlparse(uri)
    if parsed.password is None and parsed.username is None:
        return uri
    host = parsed.hostname or ""
    return parsed._replace(netloc=host if parsed.port is None else f"{host}:{parsed.port}").geturl()


def begin_import(s: Session, image_service: Any, image_id: str, caller: Caller, req: ImportRequest,
                 task_id: str, request_id: str | None) -> tuple[list[str], str | None, str, int | None]:
    """Check and record the import (status importing for glance-direct and web-download) under a lease.

    Returns the stores to write, the image's disk format (what the imported data is checked
    against), the lease's token and the bytes a web-download may fetch.
    """
    allowance: int | None = None
    image, member = data.load_visible(s, image_id, caller)
    if req.method == "copy-image":
        data.enforce(image_service, "copy_image", image, member, caller)
        if not caller.is_admin:
            raise Forbidden("Only an administrator may copy an image to other stores.")
        if image.status != "active":
            raise Conflict(f"Image {image_id} must be active to be copied; it is {image.status}.")
        have = {loc.get("store") for loc in image.locations or []}
        targets = [sid for sid in req.stores if sid not in have]
    elif req.method == "web-download":
        data.enforce(image_service, "import_image", image, member, caller)
        data._owner_only(image, caller, "import")
        if image.status != "queued":
            raise Conflict("Image needs to be in 'queued' state to use 'web-download' method")
        if not image.container_format or not image.disk_format:
            missing = "container_format" if not image.container_format else "disk_format"
            raise Conflict(f"'{missing}' needs to be set before import")
        allowance = quotas.upload_allowance(s, image_service, image.owner, staging=True)
        targets = list(req.stores)
        image.status = "importing"
    else:
        data.enforce(image_service, "import_image", image, member, caller)
        data._owner_only(image, caller, "import")
        if image.status != "uploading":
            raise Conflict("Image needs to be staged before 'glance-direct' method can be used "
                           f"(image {image_id} is {image.status}).")
        targets = list(req.stores)
        image.status = "importing"
    extra = dict(image.extra or {})
    extra.update({"os_glance_import_task": task_id, "os_glance_importing_to_stores": ",".join(targets),
                  "os_glance_failed_import": ""})
    image.extra = extra
    image.updated_at = now = utcnow()
    shown = req.body
    if req.method == "web-download":
        shown = {**req.body, "method": {**req.body["method"], "uri": _shown_uri(req.body["method"]["uri"])}}
    s.add(Task(id=task_id, type="api_image_import", status="processing", owner=caller.project_id or "",
               image_id=image_id, request_id=request_id, user_id=caller.user_id, created_at=now, updated_at=now,
               input={"image_id": image_id, "import_req": shown, "backend": targets}, result={}, message=""))
    kind = "copy" if req.method == "copy-image" else "import"
    return targets, image.disk_format, image_service.holder.take(s, image_id, kind, task_id), allowance


def _progress(s: Session, image_id: str, done: str | None, failed: str | None) -> None:
    image = s.get(Image, image_id)
    if image is None:
        return
    extra = dict(image.extra or {})
    left = [x for x in (extra.get("os_glance_importing_to_stores") or "").split(",") if x and x not in (done, failed)]
    extra["os_glance_importing_to_stores"] = ",".join(left)
    if failed:
        bad = [x for x in (extra.get("os_glance_failed_import") or "").split(",") if x]
        extra["os_glance_failed_import"] = ",".join([*bad, failed])
    image.extra = extra
    image.updated_at = utcnow()


def _finish_task(s: Session, task_id: str, ok: bool, image_id: str, message: str = "") -> None:
    task = s.get(Task, task_id)
    if task is None:
        return
    task.status = "success" if ok else "failure"
    task.result = {"image_id": image_id} if ok else {}
    task.message = message
    task.updated_at = now = utcnow()
    task.expires_at = now + TASK_TTL


def _finish_direct(s: Session, image_id: str, task_id: str, places: list[tuple[str, str]],
                   stored: StoredImage | None, vsize: int | None, failed: list[str], error: str,
                   token: str) -> bool | None:
    """importing → active (or back to queued), ending the lease; False when the image was deleted
    meanwhile, None when the recovery pass took this import for dead and put it back already."""
    if not leases.release(s, token):
        return None
    image = s.get(Image, image_id)
    if image is None or image.deleted_at is not None or image.status != "importing":
        _finish_task(s, task_id, False, image_id, "Image was deleted during import")
        return False
    extra = dict(image.extra or {})
    extra.update({"os_glance_importing_to_stores": "", "os_glance_failed_import": ",".join(failed)})
    extra.pop("staged_size", None)
    image.extra = extra
    if places and stored is not None:
        data._activate(image, places, stored, vsize)
        _finish_task(s, task_id, True, image_id)
    else:
        image.status = "queued"
        image.updated_at = utcnow()
        _finish_task(s, task_id, False, image_id, error or "Import failed")
    return True


def _add_location(s: Session, image_id: str, sid: str, url: str) -> bool:
    image = s.get(Image, image_id)
    if image is None or image.deleted_at is not None or image.status != "active":
        return False
    image.locations = [*(image.locations or []), {"url": url, "metadata": {"store": sid}, "store": sid}]
    image.extra = {**(image.extra or {}), "stores": data.stores_string(loc["store"] for loc in image.locations)}
    image.updated_at = utcnow()
    return True


# -- staging -------------------------------------------------------------------------------

def _staged(s: Session, image_id: str, size: int, token: str) -> None:
    if not leases.release(s, token):
        raise Conflict(f"The stage of image {image_id} was taken for interrupted and undone; stage it again.")
    image = s.get(Image, image_id)
    if image is not None:
        image.extra = {**(image.extra or {}), "staged_size": size}


async def stage(image_service: Any, caller: Caller, image_id: str, chunks: AsyncIterator[bytes]) -> None:
    """PUT /v2/images/{id}/stage: queued → uploading with the data in the staging area."""
    staging = image_service.staging
    _, allowance, token = await image_service.db.write(data.begin_write, image_service, image_id, caller, True)
    stored: StoredImage | None = None
    try:
        try:
            stored = await staging.add(image_id, chunks, max_size=allowance)
        except SizeLimitExceeded as exc:
            raise PayloadTooLarge(f"Request Entity Too Large: {exc}") from None
        await image_service.db.write(_staged, image_id, stored.size, token)
    except BaseException:
        await data._revert(image_service, image_id, ("uploading",), token, (staging, stored))
        raise
    finally:
        image_service.holder.forget(token)  # as in data.upload


# -- background runs -----------------------------------------------------------------------

async def run_glance_direct(image_service: Any, image_id: str, targets: list[str], must_succeed: bool,
                            task_id: str, disk_format: str | None, token: str) -> None:
    try:
        await _glance_direct(image_service, image_id, targets, must_succeed, task_id, disk_format, token)
    finally:
        # Ended, failed or cancelled by a stop: an unreleased lease is now dead for the recovery pass.
        image_service.holder.forget(token)


async def _glance_direct(image_service: Any, image_id: str, targets: list[str], must_succeed: bool,
                         task_id: str, disk_format: str | None, token: str) -> None:
    staging = image_service.staging
    source = staging.location_for(image_id)
    places: list[tuple[str, str]] = []
    failed: list[str] = []
    first: StoredImage | None = None
    vsize: int | None = None
    error = ""
    for sid in targets:
        store = image_service.stores[sid]
        try:
            stored = await store.add(image_id, staging.get(source))
            if first is None:
                try:
                    vsize = await data.check_format(image_service, disk_format, store, stored)
                except BadRequest as exc:
                    await data._discard((store, stored.location))
                    failed, error = list(targets), exc.message
                    break
                first = stored
            places.append((sid, stored.location))
            await image_service.db.write(_progress, image_id, sid, None)
        except Exception as exc:  # noqa: BLE001 - a store failing is recorded, not fatal
            log.warning("import of %s into store %s failed: %s", image_id, sid, exc)
            failed.append(sid)
            error = f"Import into store {sid} failed: {exc}"
            await image_service.db.write(_progress, image_id, None, sid)
    if failed and (must_succeed or not places):
        await data._discard(*((image_service.stores[_sid], url) for _sid, url in places))
        places = []
    ok = await image_service.db.write(_finish_direct, image_id, task_id, places, first, vsize, failed, error, token)
    if not ok:
        await data._discard(*((image_service.stores[_sid], url) for _sid, url in places))
    if ok is not None:  # else the image is back in uploading: its staged data stays for a retry
        await data._discard((staging, source))


async def run_web_download(image_service: Any, image_id: str, uri: str, targets: list[str], must_succeed: bool,
                           task_id: str, disk_format: str | None, token: str, allowance: int | None) -> None:
    """Download into staging, then go on as glance-direct (format check, stores, active)."""
    try:
        staging = image_service.staging
        rules = webdownload.UriFilter.of(image_service.config.image)
        try:
            await staging.add(image_id, webdownload.fetch(uri, rules), max_size=allowance)
        except Exception as exc:  # noqa: BLE001 - any failure puts the image back, as Glance's revert
            log.warning("web-download of %s from %s failed: %s", image_id, uri, exc)
            reason = f"image is larger than allowed: {exc}" if isinstance(exc, SizeLimitExceeded) else str(exc)
            failed = list(targets)
            await image_service.db.write(_finish_direct, image_id, task_id, [], None, None, failed,
                                         f"web-download failed: {reason}", token)
            return
        await _glance_direct(image_service, image_id, targets, must_succeed, task_id, disk_format, token)
    finally:
        image_service.holder.forget(token)  # as in run_glance_direct


def _end_copy(s: Session, task_id: str, ok: bool, image_id: str, token: str) -> None:
    if leases.release(s, token):  # else the recovery pass has failed the task already
        _finish_task(s, task_id, ok, image_id, "" if ok else "Copy failed")


async def run_copy(image_service: Any, image_id: str, targets: list[str], task_id: str, token: str) -> None:
    try:
        await _copy(image_service, image_id, targets, task_id, token)
    finally:
        image_service.holder.forget(token)  # as in run_glance_direct


async def _copy(image_service: Any, image_id: str, targets: list[str], task_id: str, token: str) -> None:
    image = await image_service.db.read(lambda s: s.get(Image, image_id))
    src = image.locations[0] if image is not None and image.locations else None
    ok_all = True
    for sid in targets:
        store = image_service.stores[sid]
        try:
            if src is None:
                raise RuntimeError("the image has no data to copy")
            stored = await store.add(image_id, image_service.stores[src["store"]].get(src["url"]))
            if stored.checksum != image.checksum or not await image_service.db.write(
                    _add_location, image_id, sid, stored.location):
                await data._discard((store, stored.location))
                raise RuntimeError("the copy does not match the image or the image changed")
            await image_service.db.write(_progress, image_id, sid, None)
        except Exception as exc:  # noqa: BLE001 - recorded in os_glance_failed_import
            log.warning("copy of %s into store %s failed: %s", image_id, sid, exc)
            ok_all = False
            await image_service.db.write(_progress, image_id, None, sid)
    await image_service.db.write(_end_copy, task_id, ok_all, image_id, token)
