"""Reading and writing one object file: ``ObjectReader`` streams checked blocks, ``ObjectWriter``
hashes and writes blocks as they arrive; both do their I/O in the object-I/O threads."""

from __future__ import annotations

import asyncio
import hashlib
import os
import zlib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from onestack.object_store.obj.ondisk import (
    BLOCK_SIZE,
    IO_POOL,
    WRITEBACK_BYTES,
    BadBlock,
    DiskFileError,
    ObjectFiles,
    Quarantined,
    ReaderClosed,
    WriteHook,
    block_count,
    encode_trailer,
    run_io,
    settle,
    start_writeback,
)
from onestack.object_store.timestamp import Timestamp

if TYPE_CHECKING:
    from onestack.object_store.obj.diskfile import FileBackend


class ObjectReader:
    """An open ``.data``: its state, and its bytes in checked blocks. The file stays readable
    while open even if a newer write replaces it."""

    def __init__(self, backend: FileBackend, part: int, hsh: str, fd: int, files: ObjectFiles) -> None:
        self.backend, self.part, self.hsh = backend, part, hsh
        self.fd: int | None = fd
        self.files = files
        # The next block's read, started while the caller sends the current one.
        self._ahead: tuple[int, Future[bytes]] | None = None
        self._reading: Future[bytes] | None = None

    @property
    def metadata(self) -> dict[str, str]:
        return self.files.metadata

    @property
    def length(self) -> int:
        return self.files.data_len

    def _read_block(self, index: int) -> bytes:
        fd = self.fd
        if fd is None:
            raise ReaderClosed()
        start = index * BLOCK_SIZE
        size = min(BLOCK_SIZE, self.files.data_len - start)
        block = os.pread(fd, size, start)
        if len(block) != size or zlib.crc32(block) != self.files.crcs[index]:
            raise BadBlock(f"block {index} of {self.files.data_file} fails its checksum")
        return block

    async def _block(self, index: int, next_index: int | None) -> bytes:
        if index == 0 and self.files.head is not None:
            block = self.files.head  # read with the trailer; checked here (it is small)
            if zlib.crc32(block) != self.files.crcs[0]:
                raise BadBlock(f"block 0 of {self.files.data_file} fails its checksum")
        else:
            if self._ahead is not None and self._ahead[0] == index:
                future = self._ahead[1]
            else:
                await self._drop_ahead()
                future = IO_POOL.submit(self._read_block, index)
            self._ahead, self._reading = None, future
            block = await asyncio.wrap_future(future)
            self._reading = None
        if next_index is not None:
            self._ahead = (next_index, IO_POOL.submit(self._read_block, next_index))
        return block

    async def _drop_ahead(self) -> None:
        if self._ahead is not None:
            future, self._ahead = self._ahead[1], None
            await settle(future)

    async def iter_range(self, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes of ``[start, end)``, one checked block (at most 1 MiB) at a time."""
        end = self.files.data_len if end is None else min(end, self.files.data_len)
        if start >= end:
            return
        last = block_count(end) - 1
        for index in range(start // BLOCK_SIZE, last + 1):
            try:
                block = await self._block(index, index + 1 if index < last else None)
            except BadBlock as exc:
                await self.close()
                await self.backend.quarantine(self.part, self.hsh, self.files.data_file)
                raise Quarantined(str(exc)) from None
            base = index * BLOCK_SIZE
            yield block[max(0, start - base):end - base]

    async def close(self) -> None:
        """Closes the file once no read of it is running (a thread may still be in one)."""
        ahead, self._ahead = self._ahead, None
        try:
            await settle(ahead[1] if ahead is not None else None, self._reading)  # both, even if cancelled
        finally:  # settle returns or raises only once the threads are done with the fd
            fd, self.fd = self.fd, None
            if fd is not None:
                os.close(fd)


class SharedMD5:
    """The MD5 of one PUT body that several object servers of this process store (the proxy's
    replicas): the caller ``update``s it with every chunk it hands them, in order, and it is
    computed once — in an object-I/O thread, one batch of at least 1 MiB at a time, while the
    next chunks arrive — instead of once per replica. Each replica's writer still computes its
    own per-block CRCs of what it writes, and takes this digest (checking that it covers as many
    bytes as it received) for its ETag and the ETag check; the auditor checks both against the
    file. Only for in-process servers: they receive the very ``bytes`` objects hashed here."""

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0  # bytes given to update()
        self._pending: list[bytes] = []
        self._pending_len = 0
        self._running: Future[None] | None = None
        self._result: asyncio.Future[tuple[str, int]] = asyncio.get_running_loop().create_future()

    def _hash(self, pieces: list[bytes]) -> None:
        for piece in pieces:
            self._md5.update(piece)

    async def _wait(self) -> None:
        if self._running is not None:
            await asyncio.wrap_future(self._running)
            self._running = None

    async def update(self, chunk: bytes) -> None:
        """Adds ``chunk`` (not copied: the caller must not change it)."""
        self.size += len(chunk)
        self._pending.append(chunk)
        self._pending_len += len(chunk)
        if self._pending_len >= BLOCK_SIZE:
            await self._wait()
            pieces, self._pending, self._pending_len = self._pending, [], 0
            self._running = IO_POOL.submit(self._hash, pieces)

    async def finish(self) -> None:
        """The body is complete: hashes the rest and answers the writers waiting in ``digest``."""
        await self._wait()
        pieces, held, self._pending, self._pending_len = self._pending, self._pending_len, [], 0
        if held > ObjectWriter.SMALL_TAIL:
            await run_io(self._hash, pieces)
        else:
            self._hash(pieces)
        if not self._result.done():
            self._result.set_result((self._md5.hexdigest(), self.size))

    async def abandon(self, exc: BaseException) -> None:
        """The body will not be complete: writers waiting in ``digest`` get ``exc``; a hash still
        running is waited for (it uses the chunks)."""
        running, self._running = self._running, None
        await settle(running)
        if not self._result.done():
            self._result.set_exception(exc)
            self._result.exception()  # retrieved: no writer may be waiting

    async def digest(self) -> tuple[str, int]:
        """``(hex MD5, bytes hashed)`` once ``finish`` ran."""
        return await asyncio.shield(self._result)


class HashedBody:
    """A PUT body with its ``SharedMD5``: an in-process object server stores the chunks with that
    digest and computes only their CRCs; any other reader just iterates the chunks."""

    def __init__(self, chunks: AsyncIterator[bytes], md5: SharedMD5) -> None:
        self.chunks = chunks
        self.md5 = md5

    def __aiter__(self) -> HashedBody:
        return self

    async def __anext__(self) -> bytes:
        return await anext(self.chunks)


IOV_BATCH = 512  # iovecs per writev (under every system's IOV_MAX)
SMALL_PIECE = 64 * 1024  # chunks under this are joined before hashing and writing


class ObjectWriter:
    """A new ``.data`` being written: chunks are collected (not copied) until they make at least
    1 MiB, then hashed (MD5, and a CRC per 1 MiB block) in one object-I/O thread and written
    (one ``writev``) in another, both while the next ones arrive: hashlib, zlib and ``writev``
    release the GIL on big buffers, so the page-cache writes do not add to the hashing. Every
    ``WRITEBACK_BYTES`` written, the writer thread starts their writeback (``start_writeback``),
    so the disk works while the object streams in and ``commit``'s fsync has only the tail left.
    With a ``SharedMD5`` (``md5``) the MD5 is the caller's, computed once for all replicas, and
    this writer hashes only the CRCs. The tmp file is made on the first write, and a small
    object is hashed on the event loop and written by ``commit``'s thread call: a small object
    costs one thread call."""

    SMALL_TAIL = 256 * 1024

    def __init__(self, backend: FileBackend, part: int, hsh: str, md5: SharedMD5 | None = None) -> None:
        self.backend, self.part, self.hsh = backend, part, hsh
        self.fd: int | None = None
        self.tmp: Path | None = None
        self.shared_md5 = md5
        self.md5 = hashlib.md5(usedforsecurity=False) if md5 is None else None
        self.crcs: list[int] = []
        self._crc = 0  # CRC of the current block's bytes so far
        self._fill = 0  # bytes of the current (not yet complete) block hashed so far
        self.size = 0  # bytes hashed
        self.received = 0  # bytes given to write()
        self._pending: list[bytes | bytearray] = []  # received, not hashed yet
        self._pending_len = 0
        self._tail = b""  # hashed, not written yet
        self._written = 0  # bytes in the tmp file
        self._flushed = 0  # bytes whose writeback has been started
        # The previous pieces' hashing and their write, each running in its own thread while the
        # next ones arrive (one batch at a time, in order).
        self._hashing: Future[None] | None = None
        self._writing: Future[None] | None = None

    def _write(self, data: bytes | memoryview) -> None:
        if self.fd is None:
            self.fd, self.tmp = self.backend._tmp_file()
        view = memoryview(data)
        while len(view):
            view = view[os.write(self.fd, view):]

    def _hash(self, data: bytes | bytearray | memoryview) -> None:
        """MD5 of everything, a CRC32 per 1 MiB block: incremental, so chunks need not be joined."""
        view = memoryview(data)
        if self.md5 is not None:
            self.md5.update(view)
        self.size += len(view)
        while len(view):
            piece = view[:BLOCK_SIZE - self._fill]
            self._crc = zlib.crc32(piece, self._crc)
            self._fill += len(piece)
            view = view[len(piece):]
            if self._fill == BLOCK_SIZE:
                self.crcs.append(self._crc)
                self._crc, self._fill = 0, 0

    def _end_blocks(self) -> None:
        if self._fill:
            self.crcs.append(self._crc)
            self._crc, self._fill = 0, 0

    def _hash_pieces(self, pieces: list[bytes | bytearray]) -> None:
        for piece in pieces:
            self._hash(piece)

    def _write_pieces(self, pieces: list[bytes | bytearray]) -> None:
        if self.fd is None:
            self.fd, self.tmp = self.backend._tmp_file()
        for i in range(0, len(pieces), IOV_BATCH):
            batch = pieces[i:i + IOV_BATCH]
            size = sum(len(p) for p in batch)
            written = os.writev(self.fd, batch)
            if written < size:  # a short write (rare): the rest as one
                self._write(b"".join(batch)[written:])
            self._written += size
        if self._written - self._flushed >= WRITEBACK_BYTES:
            start_writeback(self.fd, self._flushed, self._written - self._flushed)
            self._flushed = self._written

    async def _wait_writing(self) -> None:
        """Waits for the running batch's write and hashing; raises either's error. A future is
        forgotten only once done, so ``abort`` can still wait for a thread that uses the fd."""
        if self._writing is not None:
            await asyncio.wrap_future(self._writing)
            self._writing = None
        if self._hashing is not None:
            await asyncio.wrap_future(self._hashing)
            self._hashing = None

    async def write(self, chunk: bytes) -> None:
        """Takes ``chunk`` without copying it (unless tiny): the caller must not change it."""
        self.received += len(chunk)
        last = self._pending[-1] if self._pending else None
        if len(chunk) < SMALL_PIECE and isinstance(last, bytearray) and len(last) < SMALL_PIECE:
            last += chunk  # tiny chunks (a trickling client) joined: one hash call, one iovec each
        else:
            self._pending.append(bytearray(chunk) if len(chunk) < SMALL_PIECE else chunk)
        self._pending_len += len(chunk)
        if self._pending_len >= BLOCK_SIZE:
            await self._wait_writing()
            pieces, self._pending, self._pending_len = self._pending, [], 0
            self._hashing = IO_POOL.submit(self._hash_pieces, pieces)
            self._writing = IO_POOL.submit(self._write_pieces, pieces)

    async def flush(self) -> str:
        """Hashes (and writes, unless small) what is buffered; answers the data's MD5 (its ETag)."""
        await self._wait_writing()
        pieces, self._pending, self._pending_len = self._pending, [], 0
        if sum(len(p) for p in pieces) <= self.SMALL_TAIL:
            data = b"".join(pieces)
            if data:
                self._hash(data)
                self._tail = data
        elif pieces:
            self._hashing = IO_POOL.submit(self._hash_pieces, pieces)
            self._writing = IO_POOL.submit(self._write_pieces, pieces)
            await self._wait_writing()
        self._end_blocks()
        if self.shared_md5 is None:
            assert self.md5 is not None
            return self.md5.hexdigest()
        etag, size = await self.shared_md5.digest()
        if size != self.size:  # not the body that was hashed: never store it under that ETag
            raise DiskFileError(f"shared MD5 covers {size} bytes, the writer received {self.size}")
        return etag

    async def commit(self, timestamp: Timestamp, metadata: dict[str, str],
                     before_rename: WriteHook | None = None, check: Callable[[], None] | None = None) -> None:
        """``check()`` (it raises to refuse the write), trailer, fsync, ``before_rename(file name)``
        (the async pending), rename, cleanup: one thread call."""
        await self.flush()
        await run_io(self._commit, timestamp, metadata, before_rename, check)

    def _commit(self, timestamp: Timestamp, metadata: dict[str, str], before_rename: WriteHook | None,
                check: Callable[[], None] | None) -> None:
        if check is not None:
            check()
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
        hashing, writing, self._hashing, self._writing = self._hashing, self._writing, None, None
        try:
            await settle(hashing)
            await settle(writing)
        finally:
            fd, self.fd = self.fd, None
            if fd is not None:
                os.close(fd)
            if self.tmp is not None:
                try:
                    os.unlink(self.tmp)
                except FileNotFoundError:
                    pass
                self.tmp = None
