"""The disk backend of one device: objects as files in Swift's layout, each carrying its checksums.

Layout under the device dir (Swift's): ``objects/<part>/<suffix>/<hash>/<timestamp>.data|.ts|.meta``
(suffix = the hash's last three hex digits), ``tmp/`` for files being written,
``quarantined/objects/<hash>/`` for corrupt ones, ``objects/<part>/hashes.json`` (suffix hashes for
REPLICATE) with ``hashes.invalid`` (suffixes changed since), ``async_pending/`` (``updater.py``).

The file format, the errors and the I/O threads are in ``ondisk.py``; reading and writing one
file in ``diskio.py``. This module is the device: the protocol and the directory backend.

A write goes to a tmp file, is fsynced and renamed into its hash dir, so a crash never leaves a
partial ``.data`` visible; older files of the hash dir are removed after a newer one lands
(Swift's rules: the newest ``.data`` or ``.ts`` wins, a ``.ts`` wins a tie, a ``.meta`` counts
only when newer than the ``.data``). Reads stream block by block in a thread and check each
block's CRC before handing it out; a mismatch quarantines the hash dir and raises ``Quarantined``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from onestack.object_store.obj.diskio import HashedBody, ObjectReader, ObjectWriter, SharedMD5
from onestack.object_store.obj.ondisk import (
    BLOCK_SIZE,
    DEFAULT_RECLAIM_AGE,
    BadBlock,
    Deleted,
    DeviceUnavailable,
    DiskFileError,
    Expired,
    NotFound,
    ObjectFiles,
    Quarantined,
    WriteHook,
    block_count,
    classify,
    encode_trailer,
    merge_metadata,
    parse_name,
    read_trailer,
    run_io,
)
from onestack.object_store.timestamp import Timestamp

# Re-exported: callers (server, replicator, auditor) import the disk backend's names from here.
__all__ = ["BLOCK_SIZE", "DEFAULT_RECLAIM_AGE", "Deleted", "DeviceUnavailable", "DiskFileError", "Expired",
           "FileBackend", "HashedBody", "NotFound", "ObjectBackend", "ObjectFiles", "ObjectReader", "ObjectWriter",
           "Quarantined", "SharedMD5", "WriteHook", "block_count", "classify", "encode_trailer", "merge_metadata", "parse_name",
           "read_trailer", "run_io"]


class ObjectBackend(Protocol):
    """One device's objects. Every method but ``exists`` raises ``DeviceUnavailable`` when the
    device dir is missing; blocking work runs in threads."""

    root: Path

    def exists(self) -> bool:
        """Whether the device dir is there (a missing one is an unmounted disk: 507)."""

    async def read_metadata(self, part: int, hsh: str, *, now: float | None = None,
                            open_expired: bool = False) -> ObjectFiles:
        """``open`` + ``close``: the object's state only."""

    async def open(self, part: int, hsh: str, *, now: float | None = None,
                   open_expired: bool = False) -> ObjectReader:
        """The object, opened for reading (close it); ``Deleted``/``Expired``/``NotFound``/
        ``Quarantined`` (a damaged trailer) otherwise."""

    async def create(self, part: int, hsh: str, md5: SharedMD5 | None = None) -> ObjectWriter:
        """A writer whose ``write``s go to a tmp file and whose ``commit`` renames it in; with
        ``md5``, the body's MD5 is that one (computed once for several replicas)."""

    async def write_meta(self, part: int, hsh: str, timestamp: Timestamp, metadata: dict[str, str],
                         before_rename: WriteHook | None = None) -> None:
        """A ``.meta`` (POST) at ``timestamp``."""

    async def delete(self, part: int, hsh: str, timestamp: Timestamp, metadata: dict[str, str],
                     before_rename: WriteHook | None = None) -> None:
        """A tombstone (``.ts``) at ``timestamp``."""

    async def get_hashes(self, part: int, recalculate: list[str] | None = None) -> dict[str, str]:
        """``{suffix: md5 of its files}`` for REPLICATE; invalidated suffixes and ``recalculate``
        are rehashed (removing obsolete files and reclaimable tombstones first)."""

    async def quarantine(self, part: int, hsh: str, bad_file: Path | None = None) -> Path | None:
        """Move the hash dir to ``quarantined/objects/<hash>``; its suffix hash is invalidated.
        With ``bad_file``: only while that file is still there (not replaced by a newer write)."""

    async def verify(self, part: int, hsh: str) -> ObjectFiles | None:
        """The auditor's check: every block's CRC and the whole MD5; quarantines and raises
        ``Quarantined`` on a mismatch; None when there is no .data."""

    def partitions(self) -> list[int]:
        """The partitions with a dir on this device (blocking)."""

    def iter_hashes(self, part: int) -> Iterator[tuple[str, str]]:
        """``(suffix, hash)`` of every object dir of a partition (blocking)."""


class FileBackend:
    """``ObjectBackend`` over a directory (one device)."""

    def __init__(self, root: Path, reclaim_age: float = DEFAULT_RECLAIM_AGE, fsync: bool = True) -> None:
        self.root = root
        self.reclaim_age = reclaim_age
        self.fsync = fsync

    # -- paths -----------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.root.is_dir()

    def _check(self) -> None:
        if not self.root.is_dir():
            raise DeviceUnavailable(str(self.root))

    def part_dir(self, part: int) -> Path:
        return self.root / "objects" / str(part)

    def hash_dir(self, part: int, hsh: str) -> Path:
        return self.part_dir(part) / hsh[-3:] / hsh

    def _tmp_file(self) -> tuple[int, Path]:
        tmp_dir = self.root / "tmp"
        path = tmp_dir / tmp_name()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileNotFoundError:
            self._check()
            tmp_dir.mkdir(exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        return fd, path

    # -- reading ---------------------------------------------------------------------------
    def _open(self, part: int, hsh: str, now: float | None, open_expired: bool) -> tuple[int, ObjectFiles]:
        hdir = self.hash_dir(part, hsh)
        for _attempt in range(3):
            try:
                names = os.listdir(hdir)
            except (FileNotFoundError, NotADirectoryError):
                self._check()
                raise NotFound() from None
            files = classify(names)
            if files.tombstone is not None:
                ts = parse_name(files.tombstone)
                raise Deleted("deleted", ts[0] if ts else None)
            if files.data is None:
                raise NotFound()
            data_path = hdir / files.data
            try:
                fd = os.open(data_path, os.O_RDONLY)
                break
            except FileNotFoundError:
                continue  # a newer write cleaned it away between listdir and open: look again
        else:
            raise NotFound("replaced while opening")
        try:
            trailer = read_trailer(fd)
            meta_meta = None
            meta_ts = None
            if files.meta is not None:
                meta_meta, meta_ts = self._read_meta_file(hdir / files.meta)
        except ValueError as exc:
            os.close(fd)
            self._quarantine(part, hsh, data_path)
            raise Quarantined(f"{data_path}: {exc}") from None
        except BaseException:
            os.close(fd)
            raise
        parsed = parse_name(files.data)
        assert parsed is not None
        state = ObjectFiles(merge_metadata(trailer.metadata, meta_meta), parsed[0], meta_ts, data_path,
                            trailer.data_len, trailer.crcs, trailer.metadata, meta_meta, trailer.head)
        delete_at = state.metadata.get("x-delete-at")
        if delete_at and not open_expired:
            try:
                expired = int(delete_at) <= (time.time() if now is None else now)
            except ValueError:
                expired = False
            if expired:
                os.close(fd)
                raise Expired("expired", state.timestamp, state.metadata)
        return fd, state

    def _read_meta_file(self, path: Path) -> tuple[dict[str, str] | None, Timestamp | None]:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None, None  # replaced by a newer POST meanwhile: the data alone still holds
        try:
            trailer = read_trailer(fd)
        finally:
            os.close(fd)
        parsed = parse_name(path.name)
        return trailer.metadata, parsed[0] if parsed else None

    async def open(self, part: int, hsh: str, *, now: float | None = None,
                   open_expired: bool = False) -> ObjectReader:
        fd, state = await run_io(self._open, part, hsh, now, open_expired)
        return ObjectReader(self, part, hsh, fd, state)

    async def read_metadata(self, part: int, hsh: str, *, now: float | None = None,
                            open_expired: bool = False) -> ObjectFiles:
        reader = await self.open(part, hsh, now=now, open_expired=open_expired)
        await reader.close()
        return reader.files

    def current_timestamp(self, part: int, hsh: str, now: float | None = None) -> Timestamp:
        """Blocking: the timestamp a new write must beat — the data's, the tombstone's (or the
        expired object's); 0 when there is neither."""
        try:
            fd, state = self._open(part, hsh, now, False)
        except Deleted as exc:
            return exc.timestamp or Timestamp(0)
        except NotFound:
            return Timestamp(0)
        os.close(fd)
        return state.data_timestamp

    # -- writing ---------------------------------------------------------------------------
    async def create(self, part: int, hsh: str, md5: SharedMD5 | None = None) -> ObjectWriter:
        return ObjectWriter(self, part, hsh, md5)

    def _place(self, part: int, hsh: str, tmp: Path, name: str, before_rename: WriteHook | None) -> None:
        """Blocking: rename a finished tmp file into its hash dir, then clean and invalidate."""
        if before_rename is not None:
            before_rename(name)
        hdir = self.hash_dir(part, hsh)
        made = 0  # how many of hash, suffix, partition and objects dir were made for this file
        for attempt in range(4):
            try:
                os.replace(tmp, hdir / name)
                break
            except FileNotFoundError:
                # The hash (or suffix) dir is new, or a cleanup removed it just now — get_hashes
                # removes an empty suffix dir, even one made here a moment ago: make them again.
                self._check()
                if attempt == 3:
                    raise
                with contextlib.suppress(FileNotFoundError):  # a parent went meanwhile: next attempt
                    made = max(made, _makedirs_count(hdir, 3))
        if self.fsync:
            # As Swift's renamer: the new entry, and the entry of every dir made for it, is on disk
            # before the caller answers, so a power loss cannot take back an object answered 201.
            for d in (hdir, *hdir.parents[:4])[:made + 1]:  # up to objects/ and the device dir
                _fsync_dir(d)
        self._cleanup(hdir)
        self._invalidate(part, hsh[-3:])

    def _write_empty(self, part: int, hsh: str, name: str, metadata: dict[str, str],
                     before_rename: WriteHook | None) -> None:
        fd, tmp = self._tmp_file()
        try:
            os.write(fd, encode_trailer(0, [], metadata))
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        try:
            self._place(part, hsh, tmp, name, before_rename)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise

    async def write_meta(self, part: int, hsh: str, timestamp: Timestamp, metadata: dict[str, str],
                         before_rename: WriteHook | None = None) -> None:
        await run_io(self._write_empty, part, hsh, f"{timestamp.internal}.meta", metadata, before_rename)

    async def delete(self, part: int, hsh: str, timestamp: Timestamp, metadata: dict[str, str],
                     before_rename: WriteHook | None = None) -> None:
        await run_io(self._write_empty, part, hsh, f"{timestamp.internal}.ts", metadata, before_rename)

    def _cleanup(self, hdir: Path, reclaim_age: float | None = None) -> list[str]:
        """Blocking: remove obsolete files (and a tombstone older than ``reclaim_age``); answers
        the files kept. Removes the hash dir when nothing is left."""
        try:
            names = os.listdir(hdir)
        except (FileNotFoundError, NotADirectoryError):
            return []
        files = classify(names)
        doomed = list(files.obsolete)
        if reclaim_age is not None:
            # Tombstones, and .meta files with no .data, are kept for reclaim_age only.
            lone = files.tombstone or (files.meta if files.data is None else None)
            parsed = parse_name(lone) if lone else None
            if lone and parsed and parsed[0].seconds < time.time() - reclaim_age:
                doomed.append(lone)
        for name in doomed:
            try:
                os.unlink(hdir / name)
            except FileNotFoundError:
                pass
        kept = [n for n in names if n not in doomed]
        if not kept:
            try:
                os.rmdir(hdir)
            except OSError:
                pass
        return kept

    # -- suffix hashes ---------------------------------------------------------------------
    def _invalidate(self, part: int, suffix: str) -> None:
        """Append ``suffix`` to the partition's ``hashes.invalid`` under a shared lock; a
        ``get_hashes`` holds it exclusively while it takes the file away, and a writer that opened
        the file just before that finds out (another inode at the path) and appends to the new one."""
        path = self.part_dir(part) / "hashes.invalid"
        line = (suffix + "\n").encode()
        while True:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
                try:
                    current = os.stat(path).st_ino
                except FileNotFoundError:
                    current = -1
                if current == os.fstat(fd).st_ino:
                    os.write(fd, line)
                    return
            finally:
                os.close(fd)

    @staticmethod
    def _abandoned(pdir: Path) -> bool:
        """Blocking, under the partition's lock: remove what a crashed get_hashes left (a
        ``hashes.json.*`` not renamed in, a taken ``hashes.invalid.*`` not read); True when there
        was any, so every suffix is hashed again (the invalidations it held are not lost)."""
        left = [n for n in os.listdir(pdir) if n.startswith(("hashes.json.", "hashes.invalid."))]
        for name in left:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(pdir / name)
        return bool(left)

    def _take_invalid(self, pdir: Path) -> set[str]:
        path = pdir / "hashes.invalid"
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return set()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits for appends in progress
            taken = pdir / f"hashes.invalid.{uuid.uuid4().hex}"
            os.rename(path, taken)
            data = b""
            while chunk := os.read(fd, 65536):
                data += chunk
            os.unlink(taken)
        finally:
            os.close(fd)
        return {line for line in data.decode(errors="replace").split() if line}

    def _hash_suffix(self, part: int, suffix: str) -> str | None:
        sdir = self.part_dir(part) / suffix
        try:
            hashes = sorted(os.listdir(sdir))
        except (FileNotFoundError, NotADirectoryError):
            return None
        md5 = hashlib.md5(usedforsecurity=False)
        for hsh in hashes:
            kept = self._cleanup(sdir / hsh, self.reclaim_age)
            for name in sorted(kept):
                md5.update(f"{hsh}/{name}\n".encode())
        if not os.listdir(sdir):
            try:
                os.rmdir(sdir)
            except OSError:
                pass
            return None
        return md5.hexdigest()

    def _get_hashes(self, part: int, recalculate: list[str]) -> dict[str, str]:
        self._check()
        pdir = self.part_dir(part)
        if not pdir.is_dir():
            return {}
        # One get_hashes per partition at a time (threads and processes): two would each write
        # hashes.json, and the later could hold a suffix hash older than the other's.
        # The lock is the partition dir itself (no lock file to leave behind in it).
        try:
            lock_fd = os.open(pdir, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            return {}  # removed meanwhile (a handoff the replicator emptied)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            return self._get_hashes_locked(part, pdir, recalculate)
        finally:
            os.close(lock_fd)

    def _get_hashes_locked(self, part: int, pdir: Path, recalculate: list[str]) -> dict[str, str]:
        hashes_file = pdir / "hashes.json"
        abandoned = self._abandoned(pdir)
        invalid = set(recalculate) | self._take_invalid(pdir)
        try:
            hashes: dict[str, str | None] = json.loads(hashes_file.read_text())
            valid = not abandoned
        except (FileNotFoundError, ValueError):
            hashes, valid = {}, False
        if not valid:
            invalid.update(name for name in os.listdir(pdir) if len(name) == 3 and (pdir / name).is_dir())
        try:
            for suffix in invalid:
                hashes[suffix] = self._hash_suffix(part, suffix)
        except BaseException:
            for suffix in invalid:  # not done: they stay invalid for the next call
                self._invalidate(part, suffix)
            raise
        result = {k: v for k, v in hashes.items() if v is not None}
        if invalid or not valid:
            tmp = pdir / f"hashes.json.{tmp_name()}"
            tmp.write_text(json.dumps(result, sort_keys=True))
            os.replace(tmp, hashes_file)
        return result

    async def get_hashes(self, part: int, recalculate: list[str] | None = None) -> dict[str, str]:
        return await run_io(self._get_hashes, part, list(recalculate or []))

    # -- damage ----------------------------------------------------------------------------
    def _quarantine(self, part: int, hsh: str, bad_file: Path | None = None) -> Path | None:
        hdir = self.hash_dir(part, hsh)
        if bad_file is not None and not bad_file.exists():
            return None  # a newer write already replaced the bad file: the dir holds good data
        qdir = self.root / "quarantined" / "objects"
        qdir.mkdir(parents=True, exist_ok=True)
        target = qdir / hsh
        if target.exists():
            target = qdir / f"{hsh}-{uuid.uuid4().hex}"
        try:
            os.rename(hdir, target)
        except FileNotFoundError:
            return None
        self._invalidate(part, hsh[-3:])
        return target

    async def quarantine(self, part: int, hsh: str, bad_file: Path | None = None) -> Path | None:
        return await run_io(self._quarantine, part, hsh, bad_file)

    def _verify(self, part: int, hsh: str) -> ObjectFiles | None:
        try:
            fd, state = self._open(part, hsh, None, True)
        except NotFound as exc:
            if isinstance(exc, Quarantined):
                raise
            return None
        reader = ObjectReader(self, part, hsh, fd, state)
        md5 = hashlib.md5(usedforsecurity=False)
        try:
            for index in range(block_count(state.data_len)):
                md5.update(reader._read_block(index))
            if "etag" in state.metadata and md5.hexdigest() != state.metadata["etag"].lower():
                raise BadBlock(f"{state.data_file}: MD5 differs from its ETag")
        except BadBlock as exc:
            os.close(fd)
            self._quarantine(part, hsh, state.data_file)
            raise Quarantined(str(exc)) from None
        os.close(fd)
        return state

    async def verify(self, part: int, hsh: str) -> ObjectFiles | None:
        return await run_io(self._verify, part, hsh)

    # -- walking ---------------------------------------------------------------------------
    def partitions(self) -> list[int]:
        self._check()
        try:
            return sorted(int(n) for n in os.listdir(self.root / "objects") if n.isdigit())
        except FileNotFoundError:
            return []

    def iter_hashes(self, part: int) -> Iterator[tuple[str, str]]:
        pdir = self.part_dir(part)
        try:
            suffixes = sorted(n for n in os.listdir(pdir) if len(n) == 3)
        except FileNotFoundError:
            return
        for suffix in suffixes:
            try:
                hashes = sorted(os.listdir(pdir / suffix))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for hsh in hashes:
                yield suffix, hsh

    def remove_partition(self, part: int) -> None:
        """Blocking: drop a partition's dir (a handoff's, once its objects are on the primaries)."""
        shutil.rmtree(self.part_dir(part), ignore_errors=True)

    def cleanup(self, part: int, hsh: str, reclaim_age: float | None = None) -> list[str]:
        """Blocking: Swift's hash cleanup (obsolete files; tombstones past ``reclaim_age``)."""
        return self._cleanup(self.hash_dir(part, hsh), reclaim_age)

    def cleanup_tmp(self, max_age: float = 3600.0) -> int:
        """Blocking: remove tmp files a crash abandoned: those of a process of this machine that is
        gone, and any older than ``max_age`` (a writer on another machine, or an old name)."""
        removed = 0
        limit = time.time() - max_age
        try:
            entries = list(os.scandir(self.root / "tmp"))
        except FileNotFoundError:
            return 0
        for entry in entries:
            try:
                if not writer_alive(entry.name) or entry.stat().st_mtime < limit:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                pass
        return removed


def tmp_name(prefix: str = "") -> str:
    """A unique tmp file name that says which process writes it (``cleanup_tmp`` reads the pid back)."""
    return f"{prefix}{os.getpid()}.{uuid.uuid4().hex}"


def writer_alive(name: str) -> bool:
    """Whether the process that named this tmp file (``tmp_name``) still runs; True when the name
    carries no pid. A reused pid only keeps the file until its age limit."""
    head = name.rsplit("-", 1)[-1].split(".", 1)[0]
    if not head.isdigit() or "." not in name:
        return True
    try:
        os.kill(int(head), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _conforms(backend: FileBackend) -> ObjectBackend:
    return backend  # mypy keeps FileBackend and the protocol in step


def _makedirs_count(path: Path, up: int) -> int:
    """``mkdir -p path``, at most ``up`` levels above it (Swift's makedirs_count): how many of
    the chain's lowest dirs were missing — made here, or by a concurrent writer meanwhile, whose
    entry the caller fsyncs as well rather than answer before that writer's fsync did."""
    missing: list[Path] = []
    current = path
    while not current.is_dir():
        missing.append(current)
        if len(missing) > up:
            break
        current = current.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            d.mkdir()
    return len(missing)


def _fsync_dir(path: Path) -> None:
    """fsync a directory (its entries), tolerating one a cleanup removed meanwhile."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
