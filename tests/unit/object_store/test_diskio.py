"""The object writer's shared MD5 (one hash for several replicas of a body) and its early writeback
(onestack/object_store/obj/diskio.py, ondisk.py), on real directories."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import zlib
from pathlib import Path

import pytest

from onestack.object_store.obj import ondisk
from onestack.object_store.obj.diskfile import (
    BLOCK_SIZE,
    DiskFileError,
    FileBackend,
    ObjectWriter,
    SharedMD5,
)
from onestack.object_store.timestamp import Timestamp

HSH = "0123456789abcdef0123456789abcdef"
PART = 3
AT = Timestamp(1)


def backends(tmp_path: Path, n: int) -> list[FileBackend]:
    out = []
    for i in range(n):
        (tmp_path / f"d{i}").mkdir()
        out.append(FileBackend(tmp_path / f"d{i}"))
    return out


def meta(etag: str, size: int) -> dict[str, str]:
    return {"name": "/a/c/o", "x-timestamp": AT.internal, "etag": etag, "content-length": str(size),
            "content-type": "x/y"}


async def store_replicas(stores: list[FileBackend], pieces: list[bytes]) -> list[str]:
    """What the proxy does for in-process replicas: every piece to the shared MD5, then to each writer."""
    md5 = SharedMD5()
    writers = [await b.create(PART, HSH, md5) for b in stores]
    for piece in pieces:
        await md5.update(piece)
        for w in writers:
            await w.write(piece)
    await md5.finish()
    etags = list(await asyncio.gather(*(w.flush() for w in writers)))
    for w, etag in zip(writers, etags, strict=True):
        await w.commit(AT, meta(etag, w.size))
    return etags


@pytest.mark.parametrize("sizes", [
    [65536] * 40 + [7],  # the proxy's coalesced pieces, ending mid-block
    [3 * BLOCK_SIZE + 1],  # one piece holding several blocks
    [1] * 500 + [BLOCK_SIZE],  # a trickle first (the writers join tiny pieces: the MD5 must not care)
])
def test_replicas_sharing_one_md5_each_store_their_own_crcs_and_pass_the_audit(
        tmp_path: Path, sizes: list[int]) -> None:
    data = os.urandom(sum(sizes))
    pieces, offset = [], 0
    for size in sizes:
        pieces.append(data[offset:offset + size])
        offset += size
    stores = backends(tmp_path, 3)
    etags = asyncio.run(store_replicas(stores, pieces))
    assert etags == [hashlib.md5(data).hexdigest()] * 3
    crcs = [zlib.crc32(data[i:i + BLOCK_SIZE]) for i in range(0, len(data), BLOCK_SIZE)]
    for store in stores:
        files = asyncio.run(store.verify(PART, HSH))  # the auditor's check: every CRC and the MD5
        assert files is not None and files.crcs == crcs and files.etag == etags[0]


def test_a_writer_refuses_a_shared_md5_of_another_length(tmp_path: Path) -> None:
    """Should the digest not cover exactly the bytes a writer received, nothing is stored under it."""
    [store] = backends(tmp_path, 1)

    async def scenario() -> None:
        md5 = SharedMD5()
        writer = await store.create(PART, HSH, md5)
        await md5.update(b"a" * 1000)
        await md5.update(b"b")  # one byte the writer never got
        await writer.write(b"a" * 1000)
        await md5.finish()
        with pytest.raises(DiskFileError):
            await writer.flush()
        await writer.abort()

    asyncio.run(scenario())
    assert not (store.root / "objects").exists()
    assert not (store.root / "tmp").exists() or os.listdir(store.root / "tmp") == []


def test_an_abandoned_body_fails_a_writer_waiting_for_its_md5(tmp_path: Path) -> None:
    [store] = backends(tmp_path, 1)

    async def scenario() -> None:
        md5 = SharedMD5()
        writer = await store.create(PART, HSH, md5)
        piece = os.urandom(2 * BLOCK_SIZE)
        await md5.update(piece)
        await writer.write(piece)
        waiting = asyncio.ensure_future(writer.flush())  # waits for the digest (whenever it gets there)
        await md5.abandon(ConnectionError("client went away"))
        with pytest.raises(ConnectionError):
            await waiting
        await writer.abort()

    asyncio.run(scenario())
    assert os.listdir(store.root / "tmp") == []


def test_a_large_write_starts_its_writeback_as_it_streams(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every WRITEBACK_BYTES written, the writeback of what was written since is started (the
    kernel's sync_file_range, called for real); the final fsync covers the rest."""
    if ondisk._sync_file_range is None:
        pytest.fail("sync_file_range is missing on this Linux machine")
    [store] = backends(tmp_path, 1)
    started: list[tuple[int, int]] = []
    real = ondisk._sync_file_range

    def recording(fd: int, offset: int, length: int, flags: int) -> int:
        started.append((offset, length))
        return real(fd, offset, length, flags)

    monkeypatch.setattr(ondisk, "_sync_file_range", recording)
    size = 3 * ondisk.WRITEBACK_BYTES + 12345
    data = os.urandom(size)

    async def scenario() -> str:
        writer = ObjectWriter(store, PART, HSH)
        for i in range(0, size, 65536):
            await writer.write(data[i:i + 65536])
        etag = await writer.flush()
        await writer.commit(AT, meta(etag, size))
        return etag

    assert asyncio.run(scenario()) == hashlib.md5(data).hexdigest()
    assert len(started) == 3
    assert started[0][0] == 0
    for (off, length), (next_off, _) in itertools.pairwise(started):
        assert next_off == off + length  # consecutive ranges, none written twice
    assert ondisk.WRITEBACK_BYTES <= started[-1][0] + started[-1][1] <= size
    assert asyncio.run(store.verify(PART, HSH)) is not None


def test_start_writeback_reports_a_real_error() -> None:
    with pytest.raises(OSError):
        ondisk.start_writeback(1 << 20, 0, 4096)  # no such fd: EBADF is not swallowed
