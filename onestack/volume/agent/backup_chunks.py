"""How a backup chunk's bytes are hashed and copied: digests, pieces, the worker pool.

A chunk (32 MiB) is handled in pieces of ``PIECE`` bytes: each is read into a small per-thread
buffer, zero-checked, fed to the hash and written, while it is still in the CPU's cache (a whole
chunk in one buffer goes through memory three times: read, hash, write; ``cp`` uses 128 KiB).
Zero pieces are neither written (the file stays sparse there) nor hashed until data follows, so
a chunk of zeroes costs only its read. Where the pieces go is the store's (``to_file``: a chunk
file or the restored volume; ``to_memory``: an object's body). Chunks go to a pool of one thread a core (2-4): hashlib,
blake3 and file I/O release the GIL, so chunks hash on every core at once.

Digests: blake3 where the ``blake3`` package is installed (a 256-bit cryptographic hash, 3-6x
cheaper than sha256 a core), else sha256. A manifest's ``hash`` names its algorithm; one
without it predates blake3 and is sha256.
"""

from __future__ import annotations

import bisect
import hashlib
import importlib
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from onestack.volume.agent.driver import DataRun, VolumeDriverError

PIECE = 256 * 1024
ZERO = bytes(PIECE)

_blake3: Any
try:
    _blake3 = importlib.import_module("blake3")
except ImportError:
    _blake3 = None


def default_hash() -> str:
    """What a new backup chain's chunks are hashed with: blake3 where installed, else sha256."""
    return "blake3" if _blake3 is not None else "sha256"


def hash_of(manifest: dict[str, Any]) -> str:
    """The algorithm of a manifest's chunk digests (a manifest without ``hash`` predates blake3)."""
    return str(manifest.get("hash") or "sha256")


def new_hasher(algorithm: str) -> Any:
    if algorithm == "sha256":
        return hashlib.sha256()
    if algorithm == "blake3" and _blake3 is not None:
        return _blake3.blake3()
    raise VolumeDriverError(f"the backup's chunks are hashed with {algorithm}, which this host cannot compute")


def digest(algorithm: str, data: memoryview | bytes) -> str:
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return str(hasher.hexdigest())


def read_exactly(fd: int, into: memoryview, offset: int) -> None:
    got = 0
    while got < len(into):
        n = os.preadv(fd, [into[got:]], offset + got)
        if n == 0:
            raise VolumeDriverError(f"the volume's data ended at byte {offset + got}")
        got += n


def write_at(fd: int, data: memoryview, offset: int) -> None:
    done = 0
    while done < len(data):
        done += os.pwrite(fd, data[done:], offset + done)


Piece = tuple[int, int, int | None]  # (offset in the chunk, length, offset in the file; None: zeroes)


Chunk = tuple[int, int, int, list[DataRun]]  # (index, start, end, the runs within [start, end))


def chunks_of(runs: list[DataRun], size: int, chunk_size: int) -> Iterator[Chunk]:
    """The chunks of a volume of ``size`` bytes whose data lies as ``runs`` say (in order), each
    with its runs clipped to it (none: all zeroes, nothing to read)."""
    ends = [b for _, b, _ in runs]  # runs are in order: the first that may touch a chunk by bisection
    for index in range(-(-size // chunk_size)):
        start = index * chunk_size
        end = min(start + chunk_size, size)
        mine: list[DataRun] = []
        for a, b, at in itertools.islice(runs, bisect.bisect_right(ends, start), None):
            if a >= end:
                break
            mine.append((max(a, start), min(b, end), at + max(a, start) - a))
        yield index, start, end, mine


def data_chunks(runs: list[DataRun], size: int, chunk_size: int, algorithm: str,
                entries: list[dict[str, Any]]) -> Iterator[Chunk]:
    """The chunks a backup must read and store; each all-zero chunk is recorded in ``entries``
    instead, as stored nowhere (nothing to read, nothing to hash)."""
    for chunk in chunks_of(runs, size, chunk_size):
        if chunk[3]:
            yield chunk
        else:
            entries[chunk[0]] = {algorithm: None, "length": chunk[2] - chunk[1], "stored_in": None}


def pieces(runs: list[DataRun], start: int, end: int) -> Iterator[Piece]:
    """Bytes [start, end) of a volume whose data lies as ``runs`` say (in order, clipped to
    [start, end)), in pieces of at most ``PIECE``; the gaps between runs are zeroes."""
    at = start
    for a, b, where in runs:
        if a > at:
            yield at - start, a - at, None
        for p in range(a, b, PIECE):
            yield p - start, min(PIECE, b - p), where + p - a
        at = b
    if at < end:
        yield at - start, end - at, None


Sink = Callable[[memoryview, int], None]  # takes a piece with data and its offset in the chunk


def to_file(opener: Callable[[], int], base: int = 0) -> Sink:
    """A sink writing each piece at ``base`` + its offset into the file ``opener()`` opens (at
    the first piece: a chunk of zeroes opens nothing)."""
    dest = -1

    def write(piece: memoryview, offset: int) -> None:
        nonlocal dest
        if dest < 0:
            dest = opener()
        write_at(dest, piece, base + offset)
    return write


def to_memory(into: memoryview) -> Sink:
    """A sink copying each piece into ``into`` at its offset (the caller zeroes ``into`` first)."""
    def write(piece: memoryview, offset: int) -> None:
        into[offset:offset + len(piece)] = piece
    return write


def stream(fd: int, chunk: Iterator[Piece], algorithm: str | None, out: Sink | None,
           buf: bytearray) -> tuple[bool, str]:
    """Read a chunk's pieces from ``fd``: (whether any byte is not zero, its digest by
    ``algorithm`` or "" without one or data). The pieces with data also go to ``out``."""
    hasher = new_hasher(algorithm) if algorithm else None
    pending = 0  # zero bytes not hashed yet
    data = False
    view = memoryview(buf)
    for offset, length, where in chunk:
        if where is not None:
            piece = view[:length]
            read_exactly(fd, piece, where)
            # bytearray == bytes is a memcmp that stops at the first difference (memoryview == is 40x slower)
            if not (buf == ZERO if length == PIECE else buf.startswith(ZERO[:length])):
                data = True
                if hasher is not None:
                    _feed_zeroes(hasher, pending)
                    pending = 0
                    hasher.update(piece)
                if out is not None:
                    out(piece, offset)
                continue
        pending += length
    if hasher is None or not data:
        return data, ""
    _feed_zeroes(hasher, pending)
    return True, str(hasher.hexdigest())


def _feed_zeroes(hasher: Any, count: int) -> None:
    zero = memoryview(ZERO)
    while count > 0:
        n = min(count, PIECE)
        hasher.update(zero[:n])
        count -= n


def workers() -> int:
    """Threads that copy chunks at once: one a core, 2 to 4 (more cores rarely have the disk to
    feed them)."""
    return max(2, min(4, os.cpu_count() or 2))


Item = TypeVar("Item")


def run_pool(fn: Callable[[Item, bytearray], None], items: Iterator[Item]) -> None:
    """``fn(item, buffer)`` for every item on a pool of ``workers()`` threads, each thread with
    its own ``PIECE``-sized buffer. After a failure the items not started are skipped; the first
    error is raised once the running ones are done."""
    local = threading.local()
    failed = threading.Event()

    def run(item: Item) -> None:
        if failed.is_set():
            return
        if not hasattr(local, "buf"):
            local.buf = bytearray(PIECE)
        try:
            fn(item, local.buf)
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(workers(), thread_name_prefix="backup") as pool:
        jobs = []
        for item in items:
            if failed.is_set():
                break
            jobs.append(pool.submit(run, item))
        for job in jobs:
            job.result()
