"""The image cache of one API host (Glance's image cache, its sqlite driver's layout).

A directory holds each complete cached image as ``<dir>/<image id>``, an image being filled as
``incomplete/<image id>`` (created exclusively, so one fill per image at a time) and each image
queued for prefetching as an empty ``queue/<image id>``. What Glance's sqlite driver keeps —
hits, last accessed, last modified, size — is in ``<dir>/cache.db`` beside the files, not in the
cloud's database: the cache belongs to this host. Each row also records the MD5 the data was
verified against when filled and the file's (inode, size, mtime) then; a file whose stat differs
when it is next served is re-hashed, and dropped if it no longer matches (so a file changed on
disk is never served). Every method blocks (disk, sqlite): callers run them in a worker thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("onestack.image.cache")

_SCHEMA = """CREATE TABLE IF NOT EXISTS cached_images (
    image_id TEXT PRIMARY KEY, last_accessed REAL NOT NULL, last_modified REAL NOT NULL,
    size INTEGER NOT NULL, hits INTEGER NOT NULL DEFAULT 0, checksum TEXT, fingerprint TEXT NOT NULL)"""
_HASH_CHUNK = 1024 * 1024
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _valid_id(image_id: str) -> bool:
    # Ids name files: no dots or slashes (nothing outside the directory, never cache.db or its journal).
    return _ID.fullmatch(image_id) is not None


def _fingerprint(st: os.stat_result) -> str:
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


def file_md5(fd: int) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    offset = 0
    while chunk := os.pread(fd, _HASH_CHUNK, offset):
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()


@dataclass
class CachedFile:
    """An open cached image: the reader owns ``file`` (deleting the entry meanwhile takes nothing
    away; a reader that never starts leaves it to the garbage collector to close)."""

    file: io.FileIO
    size: int


class Fill:
    """One image being cached; ``commit`` verifies and publishes it.

    The bytes are written to ``incomplete/<id>`` and hashed. When the image is a file on this
    host (``link_from``, a filesystem store) they are only counted: the commit hard-links that
    file into the cache (copying it when a link is impossible), so caching a local image costs no
    disk write and no hashing — the store verified that file's checksum when it was uploaded, and
    a later change to it shows in its fingerprint and is hashed then (``open_entry``).
    """

    def __init__(self, cache: ImageCache, image_id: str, path: Path, fd: int, link_from: Path | None) -> None:
        self.cache, self.image_id, self.path, self.fd = cache, image_id, path, fd
        self.link_from = link_from
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self.done = False

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.link_from is not None:
            return
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]
        self.md5.update(data)

    def abort(self) -> None:
        if self.done:
            return
        self.done = True
        os.close(self.fd)
        self.path.unlink(missing_ok=True)

    def commit(self, checksum: str | None, size: int) -> bool:
        """Publish the file if it is the image's data (size and MD5, as Glance checks on fill)."""
        if self.done:
            return False
        digest = checksum if self.link_from is not None else self.md5.hexdigest()
        if self.size != size or (checksum and digest != checksum):
            log.warning("image cache: data read for %s does not match its checksum; not cached", self.image_id)
            self.abort()
            return False
        final = self.cache.root / self.image_id
        try:
            if self.link_from is not None:
                self._adopt(self.link_from)
            else:
                os.fsync(self.fd)
            os.replace(self.path, final)
        except BaseException:
            self.abort()
            raise
        self.done = True
        os.close(self.fd)
        now = time.time()
        with self.cache.db() as db:
            db.execute("INSERT OR REPLACE INTO cached_images VALUES (?, ?, ?, ?, 0, ?, ?)",
                       (self.image_id, now, now, self.size, digest, _fingerprint(final.stat())))
        (self.cache.queue_dir / self.image_id).unlink(missing_ok=True)
        self.cache.prune()
        return True

    def _adopt(self, source: Path) -> None:
        """Make ``self.path`` the source file: a hard link in place of the (empty) claim file."""
        link = self.path.with_name(self.path.name + ".link")
        link.unlink(missing_ok=True)
        try:
            os.link(source, link)
        except OSError:  # another filesystem, or links refused: a copy
            shutil.copyfile(source, link)
        if os.stat(link).st_size != self.size:  # not the file that was read
            link.unlink(missing_ok=True)
            raise OSError(f"image cache: {source} changed while {self.image_id} was cached")
        os.replace(link, self.path)


class ImageCache:
    def __init__(self, root: Path, max_size: int, stall_time: int) -> None:
        self.root = root
        self.incomplete_dir = root / "incomplete"
        self.queue_dir = root / "queue"
        self.max_size = max_size
        self.stall_time = stall_time
        for directory in (root, self.incomplete_dir, self.queue_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self.db() as db:
            db.execute(_SCHEMA)

    @contextlib.contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
        # A connection per use: callers are worker threads, and other processes of this host share the file.
        conn = sqlite3.connect(self.root / "cache.db", timeout=30)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    # --- what is cached, what is queued ------------------------------------------------------

    def cached_images(self) -> list[dict[str, Any]]:
        with self.db() as db:
            rows = db.execute("SELECT image_id, hits, last_accessed, last_modified, size FROM cached_images "
                              "ORDER BY image_id").fetchall()
        return [{"image_id": r[0], "hits": r[1], "last_accessed": r[2], "last_modified": r[3], "size": r[4]}
                for r in rows]

    def queued_images(self) -> list[str]:
        """Queued ids, oldest first (as Glance lists its queue directory by mtime)."""
        entries = []
        for entry in os.scandir(self.queue_dir):
            with contextlib.suppress(FileNotFoundError):
                entries.append((entry.stat().st_mtime_ns, entry.name))
        return [name for _, name in sorted(entries)]

    def is_cached(self, image_id: str) -> bool:
        with self.db() as db:
            return db.execute("SELECT 1 FROM cached_images WHERE image_id = ?", (image_id,)).fetchone() is not None

    def is_known(self, image_id: str) -> bool:
        """Cached or queued (DELETE /v2/cache/{id} of a deleted image still clears these)."""
        return _valid_id(image_id) and (self.is_cached(image_id) or (self.queue_dir / image_id).exists())

    def queue(self, image_id: str) -> bool:
        """Queue an image for prefetching; False when it is cached or being filled already."""
        if not _valid_id(image_id) or self.is_cached(image_id) or (self.incomplete_dir / image_id).exists():
            return False
        (self.queue_dir / image_id).touch()
        return True

    # --- removal ------------------------------------------------------------------------------

    def delete_cached(self, image_id: str) -> None:
        if not _valid_id(image_id):
            return
        with self.db() as db:
            db.execute("DELETE FROM cached_images WHERE image_id = ?", (image_id,))
        (self.root / image_id).unlink(missing_ok=True)

    def delete_queued(self, image_id: str) -> None:
        if _valid_id(image_id):
            (self.queue_dir / image_id).unlink(missing_ok=True)

    def forget(self, image_id: str) -> None:
        """The image is gone or its data changed: no cached copy, no queue entry."""
        self.delete_cached(image_id)
        self.delete_queued(image_id)

    def delete_all_cached(self) -> int:
        ids = [row["image_id"] for row in self.cached_images()]
        for image_id in ids:
            self.delete_cached(image_id)
        return len(ids)

    def delete_all_queued(self) -> int:
        ids = self.queued_images()
        for image_id in ids:
            self.delete_queued(image_id)
        return len(ids)

    # --- reading and filling ----------------------------------------------------------------

    def open_entry(self, image_id: str, checksum: str | None, size: int) -> CachedFile | None:
        """The cached copy of the image's current data, counting a hit; None on a miss.

        A copy that is not that data (another checksum or size, or a file that changed on disk
        and no longer hashes to its checksum) is dropped and counts as a miss.
        """
        if not _valid_id(image_id):
            return None
        with self.db() as db:
            row = db.execute("SELECT size, checksum, fingerprint FROM cached_images WHERE image_id = ?",
                             (image_id,)).fetchone()
        if row is None:
            return None
        try:
            file = io.FileIO(self.root / image_id, "r")
        except FileNotFoundError:
            self.delete_cached(image_id)
            return None
        try:
            st = os.fstat(file.fileno())
            good = row[0] == size == st.st_size and (not checksum or row[1] == checksum)
            if good and _fingerprint(st) != row[2]:
                good = file_md5(file.fileno()) == row[1]  # changed since it was filled: still the data?
                if not good:
                    log.warning("image cache: cached file of %s is corrupt; dropped", image_id)
        except BaseException:
            file.close()
            raise
        if not good:
            file.close()
            self.delete_cached(image_id)
            return None
        with self.db() as db:
            db.execute("UPDATE cached_images SET hits = hits + 1, last_accessed = ? WHERE image_id = ?",
                       (time.time(), image_id))
        return CachedFile(file, st.st_size)

    def begin_fill(self, image_id: str, size: int, link_from: Path | None = None) -> Fill | None:
        """Start caching an image; None when it is cached, being filled, or could never fit.

        ``link_from``: the image's data is that local file (see ``Fill``)."""
        if not _valid_id(image_id) or size > self.max_size or self.is_cached(image_id):
            return None
        path = self.incomplete_dir / image_id
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return None
        return Fill(self, image_id, path, fd, link_from)

    # --- keeping it tidy (the pruner and cleaner) --------------------------------------------

    def total_size(self) -> int:
        with self.db() as db:
            return int(db.execute("SELECT COALESCE(SUM(size), 0) FROM cached_images").fetchone()[0])

    def prune(self) -> tuple[int, int]:
        """Drop least recently accessed images until the cache fits its maximum size."""
        files = pruned = 0
        total = self.total_size()
        if total <= self.max_size:
            return 0, 0
        with self.db() as db:
            rows = db.execute("SELECT image_id, size FROM cached_images ORDER BY last_accessed, image_id").fetchall()
        for image_id, size in rows:
            if total <= self.max_size:
                break
            self.delete_cached(image_id)
            total -= size
            files += 1
            pruned += size
        if files:
            log.info("image cache: pruned %d images (%d bytes)", files, pruned)
        return files, pruned

    def clean(self) -> int:
        """Remove stalled incomplete files and files with no entry (a crash between steps)."""
        removed = 0
        cutoff = time.time() - self.stall_time
        for entry in os.scandir(self.incomplete_dir):
            with contextlib.suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
        with self.db() as db:
            known = {row[0] for row in db.execute("SELECT image_id FROM cached_images")}
        for entry in os.scandir(self.root):
            if entry.is_file() and _valid_id(entry.name) and entry.name not in known:
                with contextlib.suppress(FileNotFoundError):
                    # Only a file older than a fill's rename-then-insert window is an orphan.
                    if entry.stat().st_mtime < time.time() - 60:
                        os.unlink(entry.path)
                        removed += 1
        for image_id in known:
            if not (self.root / image_id).exists():
                self.delete_cached(image_id)
        return removed


def build_cache(config: Any) -> ImageCache | None:
    """The host's cache from ``[image]`` settings; None when caching is off."""
    section = config.image
    if not section.image_cache_enabled:
        return None
    root = Path(section.image_cache_dir).expanduser() if section.image_cache_dir else Path("image-cache")
    if not root.is_absolute():
        root = config.data_dir / root
    return ImageCache(root, int(section.image_cache_max_size), int(section.image_cache_stall_time))
