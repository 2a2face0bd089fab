"""The disk backend of one device: objects as files in Swift's layout, each carrying its checksums.

Layout under the device dir (Swift's): ``objects/<part>/<suffix>/<hash>/<timestamp>.data|.ts|.meta``
(suffix = the hash's last three hex digits), ``tmp/`` for files being written,
``quarantined/objects/<hash>/`` for corrupt ones, ``objects/<part>/hashes.json`` (suffix hashes for
REPLICATE) with ``hashes.invalid`` (suffixes changed since), ``async_pending/`` (``updater.py``).

File format (``.data``, and the empty-bodied ``.ts``/``.meta``): the object's bytes, then a CRC32
per 1 MiB block of them (4 bytes each, big-endian), then the metadata as JSON, then a 24-byte
footer: magic, version, data length, metadata length, CRC32 of the CRC table + metadata. The
metadata has lower-case header names (Content-Type, ETag = the MD5 of the whole data,
Content-Length, X-Timestamp, X-Object-Meta-*, X-Object-Sysmeta-*, X-Delete-At, ...) and ``name``
(``/account/container/object``, so replicators and auditors know whose bytes these are).

A write goes to a tmp file, is fsynced and renamed into its hash dir, so a crash never leaves a
partial ``.data`` visible; older files of the hash dir are removed after a newer one lands
(Swift's rules: the newest ``.data`` or ``.ts`` wins, a ``.ts`` wins a tie, a ``.meta`` counts
only when newer than the ``.data``). Reads stream block by block in a thread and check each
block's CRC before handing it out; a mismatch quarantines the hash dir and raises ``Quarantined``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import struct
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from onestack.object_store.timestamp import Timestamp

BLOCK_SIZE = 1 << 20
FOOTER = struct.Struct(">4sHHQII")  # magic, version, flags, data length, metadata length, trailer CRC
MAGIC = b"OSOB"
VERSION = 1
DEFAULT_RECLAIM_AGE = 7 * 24 * 3600.0  # Swift's: tombstones older than a week are removed
EXTS = (".data", ".ts", ".meta")

# The keys of a .data's metadata a .meta cannot replace (Swift's reserved and system metadata).
DATAFILE_ONLY = ("content-length", "etag", "name", "x-static-large-object")


class DiskFileError(Exception):
    pass


class DeviceUnavailable(DiskFileError):
    """The device dir is missing (the object server answers 507)."""


class NotFound(DiskFileError):
    """No object; ``timestamp`` is the tombstone's (or the expired object's) when there is one."""

    def __init__(self, message: str = "not found", timestamp: Timestamp | None = None,
                 metadata: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.timestamp = timestamp
        self.metadata = metadata or {}


class Deleted(NotFound):
    pass


class Expired(Deleted):
    """Its X-Delete-At has passed; ``metadata`` is the object's (DELETE checks X-If-Delete-At)."""


class Quarantined(NotFound):
    """The file was corrupt: it has been moved to the device's quarantine."""


def block_count(length: int) -> int:
    return (length + BLOCK_SIZE - 1) // BLOCK_SIZE


def parse_name(name: str) -> tuple[Timestamp, str] | None:
    """``<timestamp>.<ext>`` → (timestamp, ext), None for anything else (tmp leftovers)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or "." + ext not in EXTS:
        return None
    try:
        return Timestamp.parse(stem), "." + ext
    except ValueError:
        return None


@dataclass
class FileSet:
    """What a hash dir's files say: the winning data or tombstone, a newer .meta, and the rest."""

    data: str | None = None
    tombstone: str | None = None
    meta: str | None = None
    obsolete: list[str] = field(default_factory=list)


def classify(names: list[str]) -> FileSet:
    files = sorted(((p[0], {".ts": 2, ".meta": 1, ".data": 0}[p[1]], n) for n in names
                    if (p := parse_name(n)) is not None), reverse=True)
    out = FileSet()
    for _ts, rank, name in files:
        if out.data is None and out.tombstone is None:
            if rank == 2:
                out.tombstone = name
            elif rank == 0:
                out.data = name
            elif out.meta is None:
                out.meta = name  # newer than whatever data wins
            else:
                out.obsolete.append(name)
        else:
            out.obsolete.append(name)
    if out.tombstone is not None and out.meta is not None:
        out.obsolete.append(out.meta)  # a .meta newer than a tombstone describes nothing
        out.meta = None
    return out


def encode_trailer(data_len: int, crcs: list[int], metadata: dict[str, Any]) -> bytes:
    table = struct.pack(f">{len(crcs)}I", *crcs)
    meta = json.dumps(metadata, separators=(",", ":"), ensure_ascii=False).encode()
    crc = zlib.crc32(meta, zlib.crc32(table))
    return table + meta + FOOTER.pack(MAGIC, VERSION, 0, data_len, len(meta), crc)


@dataclass
class Trailer:
    data_len: int
    crcs: list[int]
    metadata: dict[str, str]
    head: bytes | None = None  # the whole data, when the tail read already held it (small objects)


def read_trailer(fd: int) -> Trailer:
    """Blocking: the trailer of an open object file; ValueError when it is damaged."""
    size = os.fstat(fd).st_size
    if size < FOOTER.size:
        raise ValueError("file shorter than its footer")
    # One read usually gets footer, metadata and CRC table of a small object at once.
    tail_len = min(size, 64 * 1024)
    tail = os.pread(fd, tail_len, size - tail_len)
    magic, version, _flags, data_len, meta_len, crc = FOOTER.unpack(tail[-FOOTER.size:])
    if magic != MAGIC or version != VERSION:
        raise ValueError("bad magic")
    nblocks = block_count(data_len)
    trailer_len = 4 * nblocks + meta_len
    if data_len + trailer_len + FOOTER.size != size:
        raise ValueError("length mismatch")
    if trailer_len + FOOTER.size > tail_len:
        tail = os.pread(fd, trailer_len + FOOTER.size, size - trailer_len - FOOTER.size)
    body = tail[len(tail) - FOOTER.size - trailer_len:len(tail) - FOOTER.size]
    table, meta = body[:4 * nblocks], body[4 * nblocks:]
    if zlib.crc32(meta, zlib.crc32(table)) != crc:
        raise ValueError("trailer checksum mismatch")
    metadata = json.loads(meta)
    if not isinstance(metadata, dict):
        raise ValueError("metadata is not an object")  # noqa: TRY004 - callers treat ValueError as damage
    head = tail[len(tail) - size:len(tail) - size + data_len] if len(tail) == size else None
    return Trailer(data_len, list(struct.unpack(f">{nblocks}I", table)), metadata, head)


def merge_metadata(data_meta: dict[str, str], meta_meta: dict[str, str] | None) -> dict[str, str]:
    """A .meta replaces the user metadata and the allowed headers; the .data keeps its size,
    ETag, name and system metadata; Content-Type only changes when the POST gave one."""
    if meta_meta is None:
        return dict(data_meta)
    merged = dict(meta_meta)
    for key, value in data_meta.items():
        if key in DATAFILE_ONLY or key.startswith("x-object-sysmeta-"):
            merged[key] = value
    if "content-type" not in meta_meta and "content-type" in data_meta:
        merged["content-type"] = data_meta["content-type"]
    return merged


@dataclass
class ObjectFiles:
    """An object's current state on one device."""

    metadata: dict[str, str]  # merged .data + .meta, lower-case keys
    data_timestamp: Timestamp
    meta_timestamp: Timestamp | None
    data_file: Path
    data_len: int
    crcs: list[int]
    data_metadata: dict[str, str] = field(default_factory=dict)  # as the .data has it
    meta_metadata: dict[str, str] | None = None  # as the .meta has it (None: no .meta)
    head: bytes | None = None  # the data itself when it is small (read with the trailer)

    @property
    def timestamp(self) -> Timestamp:
        return self.meta_timestamp or self.data_timestamp

    @property
    def etag(self) -> str:
        return self.metadata.get("etag", "")


WriteHook = Callable[[str], None]  # called (blocking) with the final file name before the rename


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

    async def create(self, part: int, hsh: str) -> ObjectWriter:
        """A writer whose ``write``s go to a tmp file and whose ``commit`` renames it in."""

    async def write_meta(self, part: int, hsh: str, timestamp: Timestamp, metadata: dict[str, str],
                         before_rename: WriteHook | None = None) -> None:
        """A ``.meta`` (POST) at ``timestamp``."""

    async def delete(self, part: int, hsh: str, timestamp: Timestamp, metadata: dict[str, str],
                     before_rename: WriteHook | None = None) -> None:
        """A tombstone (``.ts``) at ``timestamp``."""

    async def get_hashes(self, part: int, recalculate: list[str] | None = None) -> dict[str, str]:
        """``{suffix: md5 of its files}`` for REPLICATE; invalidated suffixes and ``recalculate``
        are rehashed (removing obsolete files and reclaimable tombstones first)."""

    async def quarantine(self, part: int, hsh: str) -> Path | None:
        """Move the hash dir to ``quarantined/objects/<hash>``; its suffix hash is invalidated."""

    async def verify(self, part: int, hsh: str) -> ObjectFiles | None:
        """The auditor's check: every block's CRC and the whole MD5; quarantines and raises
        ``Quarantined`` on a mismatch; None when there is no .data."""

    def partitions(self) -> list[int]:
        """The partitions with a dir on this device (blocking)."""

    def iter_hashes(self, part: int) -> Iterator[tuple[str, str]]:
        """``(suffix, hash)`` of every object dir of a partition (blocking)."""


class ObjectReader:
    """An open ``.data``: its state, and its bytes in checked blocks. The file stays readable
    while open even if a newer write replaces it."""

    def __init__(self, backend: FileBackend, part: int, hsh: str, fd: int, files: ObjectFiles) -> None:
        self.backend, self.part, self.hsh = backend, part, hsh
        self.fd: int | None = fd
        self.files = files

    @property
    def metadata(self) -> dict[str, str]:
        return self.files.metadata

    @property
    def length(self) -> int:
        return self.files.data_len

    def _read_block(self, index: int) -> bytes:
        assert self.fd is not None
        start = index * BLOCK_SIZE
        size = min(BLOCK_SIZE, self.files.data_len - start)
        block = os.pread(self.fd, size, start)
        if len(block) != size or zlib.crc32(block) != self.files.crcs[index]:
            raise _BadBlock(f"block {index} of {self.files.data_file} fails its checksum")
        return block

    async def iter_range(self, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes of ``[start, end)``, one checked block (at most 1 MiB) at a time."""
        end = self.files.data_len if end is None else min(end, self.files.data_len)
        if start >= end:
            return
        for index in range(start // BLOCK_SIZE, block_count(end)):
            try:
                if index == 0 and self.files.head is not None:
                    block = self.files.head  # read with the trailer; checked here (it is small)
                    if zlib.crc32(block) != self.files.crcs[0]:
                        raise _BadBlock(f"block 0 of {self.files.data_file} fails its checksum")
                else:
                    block = await asyncio.to_thread(self._read_block, index)
            except _BadBlock as exc:
                await self.close()
                await self.backend.quarantine(self.part, self.hsh)
                raise Quarantined(str(exc)) from None
            base = index * BLOCK_SIZE
            yield block[max(0, start - base):end - base]

    async def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)


class _BadBlock(Exception):
    pass


class ObjectWriter:
    """A new ``.data`` being written: chunks are buffered to 1 MiB and written, hashed and
    CRC'd in a thread; ``commit`` finishes the file and renames it into place. The tmp file is
    made on the first write, and a small last block is hashed on the event loop and written by
    ``commit``'s thread call: a small object costs one thread call."""

    SMALL_TAIL = 256 * 1024

    def __init__(self, backend: FileBackend, part: int, hsh: str) -> None:
        self.backend, self.part, self.hsh = backend, part, hsh
        self.fd: int | None = None
        self.tmp: Path | None = None
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.crcs: list[int] = []
        self.size = 0  # bytes hashed
        self._pending = bytearray()  # received, not hashed yet
        self._tail = b""  # hashed, not written yet

    def _write(self, data: bytes | memoryview) -> None:
        if self.fd is None:
            self.fd, self.tmp = self.backend._tmp_file()
        view = memoryview(data)
        while len(view):
            view = view[os.write(self.fd, view):]

    def _hash(self, block: bytes | memoryview) -> None:
        self.md5.update(block)
        self.crcs.append(zlib.crc32(block))
        self.size += len(block)

    def _write_blocks(self, data: bytes) -> None:
        view = memoryview(data)
        while len(view):
            block = view[:BLOCK_SIZE]
            self._hash(block)
            self._write(block)
            view = view[len(block):]

    async def write(self, chunk: bytes) -> None:
        self._pending += chunk
        if len(self._pending) >= BLOCK_SIZE:
            whole = len(self._pending) - len(self._pending) % BLOCK_SIZE
            data, self._pending = bytes(self._pending[:whole]), self._pending[whole:]
            await asyncio.to_thread(self._write_blocks, data)

    @property
    def received(self) -> int:
        return self.size + len(self._pending)

    async def flush(self) -> str:
        """Hashes (and writes, unless small) what is buffered; answers the data's MD5 (its ETag)."""
        data, self._pending = bytes(self._pending), bytearray()
        if len(data) <= self.SMALL_TAIL:
            if data:
                self._hash(data)
                self._tail = data
        else:
            await asyncio.to_thread(self._write_blocks, data)
        return self.md5.hexdigest()

    async def commit(self, timestamp: Timestamp, metadata: dict[str, str],
                     before_rename: WriteHook | None = None) -> None:
        """Trailer, fsync, ``before_rename(file name)`` (the async pending), rename, cleanup."""
        await self.flush()
        await asyncio.to_thread(self._commit, timestamp, metadata, before_rename)

    def _commit(self, timestamp: Timestamp, metadata: dict[str, str], before_rename: WriteHook | None) -> None:
        self._write(self._tail + encode_trailer(self.size, self.crcs, metadata))
        assert self.fd is not None and self.tmp is not None
        if self.backend.fsync:
            os.fsync(self.fd)
        os.close(self.fd)
        self.fd = None
        self.backend._place(self.part, self.hsh, self.tmp, f"{timestamp.internal}.data", before_rename)
        self.tmp = None

    async def abort(self) -> None:
        """Drops the tmp file (a failed or refused upload)."""
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except FileNotFoundError:
                pass
            self.tmp = None


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
        path = tmp_dir / uuid.uuid4().hex
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
        except FileNotFoundError:
            raise NotFound("replaced while opening") from None
        try:
            trailer = read_trailer(fd)
            meta_meta = None
            meta_ts = None
            if files.meta is not None:
                meta_meta, meta_ts = self._read_meta_file(hdir / files.meta)
        except ValueError as exc:
            os.close(fd)
            self._quarantine(part, hsh)
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
        fd, state = await asyncio.to_thread(self._open, part, hsh, now, open_expired)
        return ObjectReader(self, part, hsh, fd, state)

    async def read_metadata(self, part: int, hsh: str, *, now: float | None = None,
                            open_expired: bool = False) -> ObjectFiles:
        reader = await self.open(part, hsh, now=now, open_expired=open_expired)
        await reader.close()
        return reader.files

    # -- writing ---------------------------------------------------------------------------
    async def create(self, part: int, hsh: str) -> ObjectWriter:
        return ObjectWriter(self, part, hsh)

    def _place(self, part: int, hsh: str, tmp: Path, name: str, before_rename: WriteHook | None) -> None:
        """Blocking: rename a finished tmp file into its hash dir, then clean and invalidate."""
        if before_rename is not None:
            before_rename(name)
        hdir = self.hash_dir(part, hsh)
        try:
            os.replace(tmp, hdir / name)
        except FileNotFoundError:
            self._check()
            hdir.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, hdir / name)
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
        await asyncio.to_thread(self._write_empty, part, hsh, f"{timestamp.internal}.meta", metadata, before_rename)

    async def delete(self, part: int, hsh: str, timestamp: Timestamp, metadata: dict[str, str],
                     before_rename: WriteHook | None = None) -> None:
        await asyncio.to_thread(self._write_empty, part, hsh, f"{timestamp.internal}.ts", metadata, before_rename)

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
        pdir = self.part_dir(part)
        fd = os.open(pdir / "hashes.invalid", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, (suffix + "\n").encode())  # one O_APPEND write: atomic against readers
        finally:
            os.close(fd)

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
        hashes_file, invalid_file = pdir / "hashes.json", pdir / "hashes.invalid"
        # Read and truncate the invalid list by renaming it away: a concurrent invalidation then
        # lands in a new file and is seen on the next call.
        taken = pdir / f"hashes.invalid.{uuid.uuid4().hex}"
        invalid: set[str] = set(recalculate)
        try:
            os.rename(invalid_file, taken)
            invalid.update(line for line in taken.read_text().split() if line)
            os.unlink(taken)
        except FileNotFoundError:
            pass
        try:
            hashes: dict[str, str | None] = json.loads(hashes_file.read_text())
            valid = True
        except (FileNotFoundError, ValueError):
            hashes, valid = {}, False
        if not valid:
            invalid.update(name for name in os.listdir(pdir) if len(name) == 3 and (pdir / name).is_dir())
        for suffix in invalid:
            hashes[suffix] = self._hash_suffix(part, suffix)
        result = {k: v for k, v in hashes.items() if v is not None}
        if invalid or not valid:
            tmp = pdir / f"hashes.json.{uuid.uuid4().hex}"
            tmp.write_text(json.dumps(result, sort_keys=True))
            os.replace(tmp, hashes_file)
        return result

    async def get_hashes(self, part: int, recalculate: list[str] | None = None) -> dict[str, str]:
        return await asyncio.to_thread(self._get_hashes, part, list(recalculate or []))

    # -- damage ----------------------------------------------------------------------------
    def _quarantine(self, part: int, hsh: str) -> Path | None:
        hdir = self.hash_dir(part, hsh)
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

    async def quarantine(self, part: int, hsh: str) -> Path | None:
        return await asyncio.to_thread(self._quarantine, part, hsh)

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
                raise _BadBlock(f"{state.data_file}: MD5 differs from its ETag")
        except _BadBlock as exc:
            os.close(fd)
            self._quarantine(part, hsh)
            raise Quarantined(str(exc)) from None
        os.close(fd)
        return state

    async def verify(self, part: int, hsh: str) -> ObjectFiles | None:
        return await asyncio.to_thread(self._verify, part, hsh)

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
        """Blocking: remove tmp files older than ``max_age`` (writes a crash abandoned)."""
        removed = 0
        limit = time.time() - max_age
        try:
            entries = list(os.scandir(self.root / "tmp"))
        except FileNotFoundError:
            return 0
        for entry in entries:
            try:
                if entry.stat().st_mtime < limit:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                pass
        return removed
