"""The on-disk format of object files and the disk backend's errors and I/O threads.

An object file (``.data``, and the empty-bodied ``.ts``/``.meta``): the object's bytes, then a
CRC32 per 1 MiB block of them (4 bytes each, big-endian), then the metadata as JSON, then a
24-byte footer: magic, version, data length, metadata length, CRC32 of the CRC table + metadata.
The metadata has lower-case header names (Content-Type, ETag = the MD5 of the whole data,
Content-Length, X-Timestamp, X-Object-Meta-*, X-Object-Sysmeta-*, X-Delete-At, ...) and ``name``
(``/account/container/object``, so replicators and auditors know whose bytes these are).

File names are ``<timestamp>.<ext>``; of a hash dir's files the newest ``.data`` or ``.ts`` wins
(a ``.ts`` wins a tie) and a ``.meta`` counts only when newer than the ``.data`` (Swift's rules).
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import json
import os
import struct
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from onestack.core.aio import run_to_end
from onestack.object_store.timestamp import Timestamp

T = TypeVar("T")
BLOCK_SIZE = 1 << 20
FOOTER = struct.Struct(">4sHHQII")  # magic, version, flags, data length, metadata length, trailer CRC
MAGIC = b"OSOB"
VERSION = 1
DEFAULT_RECLAIM_AGE = 7 * 24 * 3600.0  # Swift's: tombstones older than a week are removed
EXTS = (".data", ".ts", ".meta")

# The keys of a .data's metadata a .meta cannot replace (Swift's reserved and system metadata).
DATAFILE_ONLY = ("content-length", "etag", "name", "x-static-large-object")


# A large object's writeback is started every WRITEBACK_BYTES while it streams in (Swift's
# ``mb_per_sync``, 512 MiB there, does it with fdatasync), so commit's fsync finds little left.
WRITEBACK_BYTES = 8 << 20
_SYNC_FILE_RANGE_WRITE = 2  # start writing the range's dirty pages; do not wait for them


def _load_sync_file_range() -> Callable[[int, int, int, int], int] | None:
    try:
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (AttributeError, OSError):
        return None  # not Linux
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_sync_file_range = _load_sync_file_range()
_NOT_SUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.ESPIPE, errno.EOPNOTSUPP}


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Blocking (briefly): ask the kernel to start writing ``[offset, offset + length)`` of ``fd``
    to the disk now, without waiting for it: Linux's ``sync_file_range(SYNC_FILE_RANGE_WRITE)``
    (ctypes: Python's os module lacks it; the call releases the GIL); elsewhere
    ``posix_fadvise(DONTNEED)``, which starts the writeback of dirty pages as well, or nothing.
    Durability is still the final fsync's: this only gives it less to do."""
    if _sync_file_range is not None:
        if _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE) != 0:
            err = ctypes.get_errno()
            if err not in _NOT_SUPPORTED:  # an I/O error or a full disk is the write's error
                raise OSError(err, os.strerror(err))
    elif hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


# Object I/O runs in its own threads: a busy disk must not starve the loop's default executor
# (the database calls use it), and the readers can wait for exactly their own reads.
IO_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="object-io")


async def run_io(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in an object-I/O thread."""
    return await asyncio.wrap_future(IO_POOL.submit(fn, *args))


async def settle(*futures: Future[Any] | None) -> None:
    """Wait until submitted calls have really finished (their threads may still use an fd), even
    when cancelled meanwhile (the cancellation is raised afterwards); their own errors are ignored."""
    waiting = [asyncio.wrap_future(f) for f in futures if f is not None and not f.done()]
    if waiting:
        await run_to_end(_finished(waiting))


async def _finished(waiting: list[asyncio.Future[Any]]) -> None:
    await asyncio.wait(waiting)
    for waiter in waiting:
        if not waiter.cancelled():
            waiter.exception()  # retrieved: the caller only needs it finished


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
    # ASCII JSON: any str (even one with lone surrogates from undecodable header bytes) encodes.
    meta = json.dumps(metadata, separators=(",", ":")).encode()
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


class BadBlock(Exception):
    """A block (or the whole MD5) does not match its checksum."""


class ReaderClosed(Exception):
    pass
