"""The default store: one file per image in a directory (Glance's ``file`` store).

Writes go to a hidden temporary file in the same directory and are renamed into place
only when the whole stream has arrived, so a reader never sees a partial image and a
failed or abandoned upload leaves nothing behind. Disk writes and hashing run in worker
threads (hashlib and os.write release the GIL) while the event loop keeps receiving the
next batch, so one upload uses about two batches of memory whatever the image size.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import threading
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import anyio.to_thread

from onestack.core.files import private_dir
from onestack.image.stores import NotInStore, SizeLimitExceeded, StoredImage

BATCH = 4 * 1024 * 1024  # bytes handed to the worker threads at a time
READ_CHUNK = 1024 * 1024  # bytes per read when streaming an image out
# A write in progress (or one a crash cut off): ".<image id>.<32 hex>.tmp" beside the images.
_FRAGMENT = re.compile(r"^\.(?P<image_id>[^/.][^/]*)\.[0-9a-f]{32}\.tmp$")

# Hashing md5 and sha512 and writing in parallel triples upload throughput on multicore hosts.
_POOL = ThreadPoolExecutor(max_workers=12, thread_name_prefix="image-store")


class _Sink:
    """One temporary file being filled, with its running digests.

    Abandoning a sink while a worker thread is still writing a batch leaves the clean-up to
    that worker, so the file is removed whatever happens to the event loop meanwhile.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha512 = hashlib.sha512()
        self.size = 0
        self._lock = threading.Lock()
        self._busy = False
        self._abandoned = False

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def consume(self, data: bytes) -> None:
        """Write and hash one batch; the three jobs run side by side on the pool."""
        with self._lock:
            if self._abandoned:
                return
            self._busy = True
        try:
            jobs = [_POOL.submit(self.md5.update, data), _POOL.submit(self.sha512.update, data)]
            self._write_all(data)
            for job in jobs:
                job.result()
            self.size += len(data)
        finally:
            with self._lock:
                self._busy = False
                if self._abandoned:
                    self._discard()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def abandon(self) -> None:
        with self._lock:
            self._abandoned = True
            if not self._busy:
                self._discard()

    def _discard(self) -> None:
        self.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class FilesystemStore:
    """Images as files under ``root``; locations are ``file://`` URLs."""

    def __init__(self, root: Path, store_id: str = "file", description: str = "", weight: int = 0) -> None:
        self.root = Path(root).resolve()
        self.id = store_id
        self.description = description or f"Filesystem store at {self.root}"
        self.weight = weight
        private_dir(self.root)

    # -- locations -------------------------------------------------------------
    def location_for(self, image_id: str) -> str:
        return self._path(image_id).as_uri()

    def _path(self, image_id: str) -> Path:
        if not image_id or "/" in image_id or image_id.startswith("."):
            raise NotInStore(f"Invalid image id for a file name: {image_id!r}")
        return self.root / image_id

    def path_of(self, location: str) -> Path:
        """The file behind a location of this store (refuses anything outside ``root``)."""
        parsed = urlparse(location)
        if parsed.scheme != "file":
            raise NotInStore(f"Not a file location: {location}")
        path = Path(unquote(parsed.path))
        if path.parent != self.root or path.name.startswith("."):
            raise NotInStore(f"Location {location} is not in store {self.id}")
        return path

    def fragments(self) -> list[tuple[str, Path, float]]:
        """Temporary files of writes here: (image id, path, mtime). A crash leaves them behind."""
        found: list[tuple[str, Path, float]] = []
        with os.scandir(self.root) as entries:
            for entry in entries:
                match = _FRAGMENT.match(entry.name)
                if match is None:
                    continue
                with contextlib.suppress(FileNotFoundError):  # finished meanwhile
                    found.append((match["image_id"], Path(entry.path), entry.stat(follow_symlinks=False).st_mtime))
        return found

    def properties(self) -> dict[str, Any]:
        """What GET /v2/info/stores/detail shows for this store."""
        return {"datadir": str(self.root), "chunk_size": READ_CHUNK}

    # -- the Store protocol ----------------------------------------------------
    async def add(self, image_id: str, chunks: AsyncIterator[bytes], max_size: int | None = None) -> StoredImage:
        final = self._path(image_id)
        sink = _Sink(self.root / f".{image_id}.{uuid.uuid4().hex}.tmp")
        loop = asyncio.get_running_loop()
        pending: asyncio.Future[None] | None = None
        try:
            buf = bytearray()
            received = 0
            async for chunk in chunks:
                received += len(chunk)
                if max_size is not None and received > max_size:
                    raise SizeLimitExceeded(f"Image exceeds the allowed size of {max_size} bytes")
                buf += chunk
                if len(buf) >= BATCH:
                    if pending is not None:
                        await pending
                    pending = loop.run_in_executor(_POOL, sink.consume, bytes(buf))
                    buf.clear()
            if pending is not None:
                await pending
                pending = None
            if buf:
                await anyio.to_thread.run_sync(sink.consume, bytes(buf))
            sink.close()
            os.replace(sink.path, final)
        except BaseException as exc:
            sink.abandon()
            if pending is not None and not isinstance(exc, asyncio.CancelledError):
                # Not cancelled: wait for the in-flight batch so the file is gone when we return.
                with contextlib.suppress(BaseException):
                    await pending
            raise
        return StoredImage(
            location=final.as_uri(), size=sink.size, checksum=sink.md5.hexdigest(),
            os_hash_value=sink.sha512.hexdigest(),
        )

    async def get(self, location: str, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        path = self.path_of(location)
        try:
            fh = await anyio.to_thread.run_sync(open, path, "rb", 0)
        except FileNotFoundError:
            raise NotInStore(f"No data at {location}") from None
        try:
            if offset:
                fh.seek(offset)
            remaining = length
            while remaining is None or remaining > 0:
                want = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                data = await anyio.to_thread.run_sync(fh.read, want)
                if not data:
                    break
                if remaining is not None:
                    remaining -= len(data)
                yield data
        finally:
            fh.close()

    async def delete(self, location: str) -> None:
        path = self.path_of(location)
        with contextlib.suppress(FileNotFoundError):
            await anyio.to_thread.run_sync(path.unlink)

    async def size(self, location: str) -> int:
        path = self.path_of(location)
        try:
            return (await anyio.to_thread.run_sync(path.stat)).st_size
        except FileNotFoundError:
            raise NotInStore(f"No data at {location}") from None

    def read_range(self, location: str, offset: int, length: int) -> bytes:
        """Blocking random read (format inspection runs it in a worker thread)."""
        with open(self.path_of(location), "rb") as fh:
            fh.seek(offset)
            return fh.read(length)
