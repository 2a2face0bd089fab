"""The ``swift`` store: image data in the object store, as Glance's swift driver in single-tenant mode.

Every image lives in the service user's own account (``AUTH_<service project>``, the object-store
URL of the service token's catalog), container ``glance`` (made on first use), object = image id.
An image bigger than the chunk size is kept the way Glance keeps it: segments ``<id>-00001``,
``<id>-00002``… beside it and a DLO manifest ``<id>`` (``X-Object-Manifest: glance/<id>-``).

Locations are ``swift+config://ref1/glance/<id>``: what Glance shows when its swift credentials
come from ``swift_store_config_file`` (DevStack's setup, reference ``ref1``), so no credential is
ever written into an image's locations and the URL stays valid when the password changes.

The store talks to the object store over real HTTP through the catalog (never the in-process ASGI
transport, which buffers whole responses): uploads go out as chunked PUTs fed straight from the
incoming stream, downloads come back piece by piece, so memory stays flat whatever the image size.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, unquote, urlparse

import anyio
import httpx

from onestack.client.session import ServiceSession
from onestack.core.aio import run_to_end
from onestack.core.config import Config
from onestack.core.files import private_dir
from onestack.image.stores import NotInStore, SizeLimitExceeded, StoredImage, StoreError

log = logging.getLogger(__name__)

MIB = 1024 * 1024
SCHEME = "swift+config"
REFERENCE = "ref1"  # the credentials reference Glance's location names (DevStack's default_swift_reference)
SERVICE = "object-store"


class Unreachable(StoreError):
    """The object store (or identity, for the token) did not answer at all."""


def segment_name(image_id: str, number: int) -> str:
    return f"{image_id}-{number:05d}"  # Glance's segment naming


class _Source:
    """The upload stream, cut into parts of at most a given size; hashes and counts what passes."""

    def __init__(self, chunks: AsyncIterator[bytes], max_size: int | None) -> None:
        self._it = chunks.__aiter__()
        self._pending = b""
        self._done = False
        self.max_size = max_size
        self.size = 0
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha512 = hashlib.sha512()

    async def has_more(self) -> bool:
        while not self._pending and not self._done:
            try:
                chunk = await self._it.__anext__()
            except StopAsyncIteration:
                self._done = True
                break
            self.size += len(chunk)
            if self.max_size is not None and self.size > self.max_size:
                raise SizeLimitExceeded(f"Image exceeds the allowed size of {self.max_size} bytes")
            self.md5.update(chunk)
            self.sha512.update(chunk)
            self._pending = bytes(chunk)
        return bool(self._pending)

    async def part(self, limit: int, part_md5: Any) -> AsyncIterator[bytes]:
        """The next ``limit`` bytes (fewer at the end of the stream)."""
        left = limit
        while left > 0 and await self.has_more():
            piece, self._pending = self._pending[:left], self._pending[left:]
            left -= len(piece)
            part_md5.update(piece)
            yield piece


class SwiftStore:
    """Images as objects of the service account; locations are ``swift+config://ref1/<container>/<id>``."""

    store_type = "swift"  # the "type" of GET /v2/info/stores/detail

    def __init__(self, config: Config, store_id: str = "swift", description: str = "", weight: int = 0) -> None:
        self.config = config
        self.id = store_id
        self.description = description or "Object storage (Swift) in the service account"
        self.weight = weight
        self.container = config.image.swift_store_container
        self.chunk_size = max(1, int(config.image.swift_store_large_object_chunk_size)) * MIB
        self._session: ServiceSession | None = None
        self._container_ready = False
        # Deletes the object store could not take yet (e.g. the recovery pass at start-up, before
        # any API listens): one marker file per object, retried in the background, kept across restarts.
        self.pending_dir = config.data_dir / "image-swift-pending-deletes"
        self._locks = [asyncio.Lock() for _ in range(64)]  # striped by object name: bounded, per-process
        self._drainer: asyncio.Task[None] | None = None

    # -- HTTP ------------------------------------------------------------------------------------
    @property
    def session(self) -> ServiceSession:
        if self._session is None:
            from onestack.process import service_password  # the composition root knows the secret

            auth = self.config.auth
            identity = auth.identity_url.rstrip("/") or f"{self.config.base_url.rstrip('/')}/identity"
            # No mounts: every request is a real HTTP exchange, streamed both ways.
            self._session = ServiceSession(identity, auth.service_username, service_password(self.config),
                                           region=self.config.bootstrap.region, project=auth.service_project,
                                           timeout=300.0)
        return self._session

    async def _url(self, obj: str | None = None) -> str:
        base = f"{await self.session.endpoint(SERVICE)}/{quote(self.container, safe='')}"
        return base if obj is None else f"{base}/{quote(obj, safe='')}"

    async def _call(self, method: str, obj: str | None = None, *, headers: dict[str, str] | None = None,
                    params: dict[str, str] | None = None, content: Any = None) -> httpx.Response:
        """One request as the service user; a streamed body cannot be sent twice, so no retry then."""
        replayable = content is None or isinstance(content, bytes)
        for _attempt in range(2 if replayable else 1):
            try:
                token = await self.session.token()
                resp = await self.session.http.request(
                    method, await self._url(obj), headers={"X-Auth-Token": token, **(headers or {})},
                    params=params, content=content)
            except httpx.TransportError as exc:
                raise Unreachable(f"object store unreachable: {exc!r}") from exc
            except (httpx.HTTPError, LookupError) as exc:  # identity refused us, or no object-store endpoint
                raise StoreError(f"object store: {exc}") from exc
            if resp.status_code != 401:
                return resp
            self.session._token = None  # expired or revoked: authenticate again
        raise StoreError(f"object store refused the service token ({method} {obj})")

    async def _ensure_container(self) -> None:
        if self._container_ready:
            return
        resp = await self._call("PUT")
        if resp.status_code not in (201, 202, 204):
            raise StoreError(f"cannot create container {self.container}: {resp.status_code} {resp.text[:200]}")
        self._container_ready = True

    async def _put(self, obj: str, body: Any, headers: dict[str, str] | None = None) -> str:
        resp = await self._call("PUT", obj, headers=headers, content=body)
        if resp.status_code == 404:
            self._container_ready = False  # someone removed the container: make it again next time
        if resp.status_code != 201:
            raise StoreError(f"PUT {obj}: {resp.status_code} {resp.text[:200]}")
        return str(resp.headers.get("etag", "")).strip('"')

    # -- locations -------------------------------------------------------------------------------
    def location_for(self, image_id: str) -> str:
        self._check_id(image_id)
        return f"{SCHEME}://{REFERENCE}/{quote(self.container, safe='')}/{quote(image_id, safe='')}"

    @staticmethod
    def _check_id(image_id: str) -> None:
        if not image_id or "/" in image_id:
            raise NotInStore(f"Invalid image id for an object name: {image_id!r}")

    def object_of(self, location: str) -> str:
        """The object behind a location of this store (refuses anything else)."""
        parsed = urlparse(location)
        container, _, obj = parsed.path.lstrip("/").partition("/")
        if parsed.scheme != SCHEME or parsed.netloc != REFERENCE or container != quote(self.container, safe=""):
            raise NotInStore(f"Location {location} is not in store {self.id}")
        name = unquote(obj)
        self._check_id(name)
        return name

    def properties(self) -> dict[str, Any]:
        """What GET /v2/info/stores/detail shows for this store."""
        return {"container": self.container, "large_object_chunk_size": self.chunk_size // MIB,
                "large_object_size": self.chunk_size // MIB}

    # -- the Store protocol ----------------------------------------------------------------------
    async def add(self, image_id: str, chunks: AsyncIterator[bytes], max_size: int | None = None) -> StoredImage:
        self._check_id(image_id)
        await self._settle_pending(image_id)
        await self._ensure_container()
        source = _Source(chunks, max_size)
        try:
            # The first chunk_size bytes go straight to <id>: most images are one object.
            first = hashlib.md5(usedforsecurity=False)
            body: Any = source.part(self.chunk_size, first) if await source.has_more() else b""
            self._verify(image_id, await self._put(image_id, body), first)
            if await source.has_more():
                await self._to_segments(image_id, source)
        except BaseException:
            with contextlib.suppress(Exception):
                await run_to_end(self._remove(image_id))
            raise
        return StoredImage(location=self.location_for(image_id), size=source.size,
                           checksum=source.md5.hexdigest(), os_hash_value=source.sha512.hexdigest())

    async def _to_segments(self, image_id: str, source: _Source) -> None:
        """More than one chunk: <id> becomes segment 1 (a server-side copy), the rest follow, then the manifest."""
        resp = await self._call("PUT", segment_name(image_id, 1), headers={
            "X-Copy-From": f"/{quote(self.container, safe='')}/{quote(image_id, safe='')}", "Content-Length": "0"})
        if resp.status_code != 201:
            raise StoreError(f"copy of {image_id} into its first segment: {resp.status_code} {resp.text[:200]}")
        number = 1
        while await source.has_more():
            number += 1
            part_md5 = hashlib.md5(usedforsecurity=False)
            name = segment_name(image_id, number)
            self._verify(name, await self._put(name, source.part(self.chunk_size, part_md5)), part_md5)
        await self._put(image_id, b"", headers={"X-Object-Manifest": f"{self.container}/{image_id}-"})

    @staticmethod
    def _verify(name: str, etag: str, md5: Any) -> None:
        if etag and etag != md5.hexdigest():
            raise StoreError(f"object {name} stored with ETag {etag}, sent {md5.hexdigest()}")

    async def get(self, location: str, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        obj = self.object_of(location)
        if length is not None and length <= 0:
            return
        headers = {}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            headers["Range"] = f"bytes={offset}-{end}"
        token = await self.session.token()
        try:
            async with self.session.http.stream("GET", await self._url(obj),
                                                headers={"X-Auth-Token": token, **headers}) as resp:
                if resp.status_code == 404:
                    raise NotInStore(f"No data at {location}")
                if resp.status_code == 416:  # the range starts past the end: nothing to send
                    return
                if resp.status_code not in (200, 206):
                    raise StoreError(f"GET {obj}: {resp.status_code}")
                # A 200 ignored the range: cut the wanted bytes out ourselves.
                skip, left = (offset, length) if resp.status_code == 200 else (0, None)
                async for chunk in resp.aiter_bytes(MIB):
                    if skip:
                        cut = min(skip, len(chunk))
                        chunk, skip = chunk[cut:], skip - cut
                    if left is not None:
                        chunk, left = chunk[:left], left - min(left, len(chunk))
                    if chunk:
                        yield chunk
                    if left == 0:
                        break
        except httpx.HTTPError as exc:
            raise StoreError(f"reading {obj} from the object store: {exc}") from exc

    async def delete(self, location: str) -> None:
        obj = self.object_of(location)
        async with self._lock(obj):
            try:
                await self._remove(obj)
            except Unreachable as exc:
                # Deferred, not failed: the marker outlives a restart and the drainer retries it.
                await anyio.to_thread.run_sync(self._mark, obj)
                log.warning("swift store: delete of %s deferred (%s)", obj, exc)
                self._kick()
                return
            self._unmark(obj)

    # -- deferred deletes ------------------------------------------------------------------------
    def _lock(self, obj: str) -> asyncio.Lock:
        return self._locks[int(hashlib.md5(obj.encode(), usedforsecurity=False).hexdigest()[:8], 16) % 64]

    def _marker(self, obj: str) -> Any:
        return self.pending_dir / quote(obj, safe="")

    def _mark(self, obj: str) -> None:
        private_dir(self.pending_dir)
        self._marker(obj).touch()

    def _unmark(self, obj: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._marker(obj).unlink()

    def pending_deletes(self) -> list[str]:
        """Objects whose delete is still owed (marker files)."""
        try:
            return sorted(unquote(name) for name in os.listdir(self.pending_dir))
        except FileNotFoundError:
            return []

    async def _settle_pending(self, obj: str) -> None:
        """An owed delete of ``obj`` happens before new data is written under its name, never after."""
        if self.pending_deletes():
            self._kick()
        async with self._lock(obj):
            if self._marker(obj).exists():
                await self._remove(obj)
                self._unmark(obj)

    def _kick(self) -> None:
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        """Retry the owed deletes with a growing pause until none is left (a retry back-off, not a wait)."""
        pause = 0.5
        while names := self.pending_deletes():
            for obj in names:
                async with self._lock(obj):
                    if not self._marker(obj).exists():
                        continue  # an add() settled it meanwhile
                    try:
                        await self._remove(obj)
                    except Unreachable:
                        break
                    except StoreError:
                        log.exception("swift store: deferred delete of %s failed; retrying later", obj)
                        continue
                    self._unmark(obj)
                    log.info("swift store: deferred delete of %s done", obj)
            if self.pending_deletes():
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)

    async def _remove(self, image_id: str) -> None:
        """The manifest or object first, then every segment by name (a retry finds what a crash left)."""
        resp = await self._call("DELETE", image_id)
        if resp.status_code not in (204, 404):
            raise StoreError(f"DELETE {image_id}: {resp.status_code} {resp.text[:200]}")
        for name in await self._segments(image_id):
            resp = await self._call("DELETE", name)
            if resp.status_code not in (204, 404):
                raise StoreError(f"DELETE {name}: {resp.status_code} {resp.text[:200]}")

    async def _segments(self, image_id: str) -> list[str]:
        found: list[str] = []
        marker = ""
        while True:
            params = {"format": "json", "prefix": f"{image_id}-", **({"marker": marker} if marker else {})}
            resp = await self._call("GET", None, params=params)
            if resp.status_code == 404:
                return found
            if resp.status_code not in (200, 204):
                raise StoreError(f"listing segments of {image_id}: {resp.status_code}")
            rows = resp.json() if resp.status_code == 200 else []
            if not rows:
                return found
            found.extend(str(row["name"]) for row in rows)
            marker = found[-1]

    async def size(self, location: str) -> int:
        obj = self.object_of(location)
        resp = await self._call("HEAD", obj)
        if resp.status_code == 404:
            raise NotInStore(f"No data at {location}")
        if resp.status_code not in (200, 204):
            raise StoreError(f"HEAD {obj}: {resp.status_code}")
        return int(resp.headers.get("content-length", "0"))

    async def close(self) -> None:
        if self._drainer is not None:
            self._drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drainer
            self._drainer = None
        if self._session is not None:
            await self._session.close()
            self._session = None
