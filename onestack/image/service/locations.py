"""Image locations (image API 2.17): ``POST`` and ``GET /v2/images/{id}/locations``.

As Glance's location_import task: the caller (a service, e.g. Nova or Cinder, which wrote the
data into a store itself) names a URL in one of our stores; the image holds that location
while status ``importing`` and, with ``do_secure_hash``, its data is read once to compute the
checksum and hash (checked against ``validation_data``); then it is ``active``. A failure
puts the image back to ``queued`` without the location and with no hash.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, Forbidden
from onestack.core.ids import utcnow
from onestack.image.models import Image, Task
from onestack.image.service import data, leases, tasks
from onestack.image.service.data import Caller
from onestack.image.stores import NotInStore

log = logging.getLogger("onestack.image.locations")

HASH_ALGOS = ("sha1", "sha256", "sha512", "md5")  # Glance's add_location schema enum
VALIDATION_KEYS = ("os_hash_algo", "os_hash_value")


def parse_add(body: Any) -> tuple[str, dict[str, str]]:
    """The URL and validation data of an add-location body (400 as Glance's schema and checks)."""
    if not isinstance(body, dict):
        raise BadRequest("Add location request body must be a JSON object.")
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise BadRequest("Invalid input for field/attribute url: a location URL string is required.")
    val = body.get("validation_data")
    if val is None:
        return url, {}
    if not isinstance(val, dict):
        raise BadRequest("Invalid input for field/attribute validation_data: it must be an object.")
    for key, value in val.items():
        if key not in VALIDATION_KEYS:
            raise BadRequest(f"Additional properties are not allowed ('{key}' was unexpected)")
        if not isinstance(value, str):
            raise BadRequest(f"Invalid input for field/attribute {key}: {value!r} is not of type 'string'")
    if len(val) == 1:
        missing = "os_hash_algo" if "os_hash_value" in val else "os_hash_value"
        raise BadRequest(f"'{missing}' is a dependency of '{next(iter(val))}'")
    if not val:
        return url, {}
    algo, value = val["os_hash_algo"], val["os_hash_value"]
    if algo not in HASH_ALGOS:
        raise BadRequest(f"'{algo}' is not one of {list(HASH_ALGOS)}")
    try:
        digest = bytes.fromhex(value)
    except ValueError:
        raise BadRequest(f"os_hash_value ({value}) is not a valid hexadecimal value") from None
    want = hashlib.new(algo).digest_size
    if len(digest) != want:
        raise BadRequest(f"os_hash_value: ({value}) is not the correct size for ({algo}) (should be ({want}) bytes)")
    return url, {"os_hash_algo": algo, "os_hash_value": value.lower()}


def store_of_url(image_service: Any, url: str) -> tuple[str, str] | None:
    """The configured store that URL belongs to (its own path/object rules decide) and the name
    of the file or object there, if any."""
    for sid, store in image_service.stores.items():
        owns = getattr(store, "path_of", None) or getattr(store, "object_of", None)
        if owns is None:
            continue
        try:
            found = owns(url)
        except (NotInStore, ValueError):
            continue
        return str(sid), found.name if isinstance(found, Path) else str(found)
    return None


def begin_add(s: Session, image_service: Any, image_id: str, caller: Caller, url: str, val: dict[str, str],
              task_id: str, request_id: str | None) -> tuple[str, str]:
    """Checks in Glance's order (404, 409, 403, then the URL), then queued → importing under a
    lease with the location recorded; returns the store id and the lease's token."""
    image, member = data.load_visible(s, image_id, caller)
    if image.status != "queued":
        raise Conflict(f"It's not allowed to add locations if image status is {image.status}.")
    data.enforce(image_service, "add_image_location", image, member, caller)
    roles = {*caller.creds.get("roles", []), *caller.creds.get("service_roles", [])}
    if "service" not in roles:
        # Glance lets other callers add only http-store locations; this cloud has no http store.
        raise Forbidden("http store must be enabled to use location API by normal user.")
    found = store_of_url(image_service, url)
    if found is None:
        raise BadRequest(f"Invalid location: {url} does not belong to any configured store "
                         f"({', '.join(image_service.stores)}).")
    sid, name = found
    # Stores name an image's own data after the image: such a URL is another image's data, which
    # deleting either image would then remove from under the other.
    other = s.get(Image, name) if len(name) == 36 else None
    if other is not None and name != image_id:
        raise BadRequest(f"Invalid location: {url} holds the data of another image.")
    image.status = "importing"
    image.locations = [{"url": url, "metadata": {"store": sid}, "store": sid}]
    image.updated_at = now = utcnow()
    s.add(Task(id=task_id, type="location_import", status="processing", owner=caller.project_id or "",
               image_id=image_id, request_id=request_id, user_id=caller.user_id, created_at=now, updated_at=now,
               input={"image_id": image_id, "loc_url": url, "validation_data": val}, result={}, message=""))
    return sid, image_service.holder.take(s, image_id, "location", task_id)


def list_locations(s: Session, image_service: Any, image_id: str, caller: Caller) -> list[dict[str, Any]]:
    """GET …/locations: every location as Glance lists it (url and metadata)."""
    image, member = data.load_visible(s, image_id, caller)
    data.enforce(image_service, "fetch_image_location", image, member, caller)
    return [{"url": loc["url"], "metadata": dict(loc.get("metadata") or {})} for loc in image.locations or []]


def _end(s: Session, image_id: str, task_id: str, token: str, values: dict[str, Any] | None, error: str) -> None:
    """importing → active with ``values``, or back to queued without the location (``values`` None)."""
    if not leases.release(s, token):
        return  # the recovery pass has put it back and failed the task already
    image = s.get(Image, image_id)
    gone = image is None or image.deleted_at is not None or image.status != "importing"
    ok = values is not None and not gone
    if image is not None and not gone:
        if values is not None:
            for key, value in values.items():
                setattr(image, key, value)
            image.status = "active"
            image.extra = {**(image.extra or {}), "stores": data.stores_string(
                loc["store"] for loc in image.locations or [])}
        else:
            image.status = "queued"
            image.locations = []
            image.checksum = image.os_hash_algo = image.os_hash_value = None
        image.updated_at = utcnow()
    tasks.finish_task(s, task_id, ok=ok, result={"image_id": image_id} if ok else {},
                      message="" if ok else (error or "Image was deleted during the location import"))


async def _measure(store: Any, url: str, algo: str) -> tuple[int, str, str]:
    """Size, md5 and ``algo`` digest of the data at ``url``, read once."""
    md5, digest, size = hashlib.md5(usedforsecurity=False), hashlib.new(algo), 0
    async for chunk in store.get(url):
        size += len(chunk)
        md5.update(chunk)
        digest.update(chunk)
    return size, md5.hexdigest(), digest.hexdigest()


async def run_add(image_service: Any, image_id: str, sid: str, url: str, val: dict[str, str], task_id: str,
                  token: str) -> None:
    """The background half of POST …/locations."""
    try:
        store = image_service.stores[sid]
        values: dict[str, Any] | None = None
        error = ""
        try:
            if image_service.config.image.do_secure_hash:
                algo = val.get("os_hash_algo") or data.HASH_ALGO
                size, checksum, hash_value = await _measure(store, url, algo)
                if val and val["os_hash_value"] != hash_value:
                    raise ValueError(f"os_hash_value: ({val['os_hash_value']}) not matched with actual "
                                     f"os_hash_value: ({hash_value})")
                values = {"size": size, "checksum": checksum, "os_hash_algo": algo, "os_hash_value": hash_value}
            else:  # the caller's word for the hash, as Glance without do_secure_hash
                values = {"size": await store.size(url), "os_hash_algo": val.get("os_hash_algo"),
                          "os_hash_value": val.get("os_hash_value")}
        except Exception as exc:  # noqa: BLE001 - any failure puts the image back, as Glance's revert
            log.warning("location import of %s from %s failed: %s", image_id, url, exc)
            values, error = None, str(exc)
        await image_service.db.write(_end, image_id, task_id, token, values, error)
    finally:
        image_service.holder.forget(token)  # ended or cut off: the recovery pass owns a left lease
