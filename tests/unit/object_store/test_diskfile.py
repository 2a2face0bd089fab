"""The file backend of one device (onestack/object_store/obj/diskfile.py) on a real directory:
layout, atomic writes, checked reads, quarantine, tombstones, .meta, suffix hashes."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import pytest

from onestack.object_store.obj import diskfile
from onestack.object_store.obj.diskfile import BLOCK_SIZE, FileBackend
from onestack.object_store.timestamp import Timestamp

T = TypeVar("T")
HSH = "0123456789abcdef0123456789abcdef"
PART = 7


def run(coro: Awaitable[T]) -> T:
    async def wrap() -> T:
        return await coro
    return asyncio.run(wrap())


@pytest.fixture
def backend(tmp_path: Path) -> FileBackend:
    (tmp_path / "d1").mkdir()
    return FileBackend(tmp_path / "d1")


def ts(seconds: float) -> Timestamp:
    return Timestamp(seconds)


async def put(backend: FileBackend, data: bytes, at: Timestamp, chunk: int = 65536,
              meta: dict[str, str] | None = None) -> str:
    writer = await backend.create(PART, HSH)
    for i in range(0, len(data), chunk):
        await writer.write(data[i:i + chunk])
    etag = await writer.flush()
    metadata = {"name": "/a/c/o", "x-timestamp": at.internal, "content-length": str(len(data)), "etag": etag,
                "content-type": "application/octet-stream", **(meta or {})}
    await writer.commit(at, metadata)
    return etag


async def read_all(backend: FileBackend, start: int = 0, end: int | None = None) -> bytes:
    reader = await backend.open(PART, HSH)
    out = bytearray()
    try:
        async for chunk in reader.iter_range(start, end):
            assert len(chunk) <= BLOCK_SIZE
            out += chunk
    finally:
        await reader.close()
    return bytes(out)


def hash_dir(backend: FileBackend) -> Path:
    return backend.root / "objects" / str(PART) / HSH[-3:] / HSH


def test_layout_and_round_trip(backend: FileBackend) -> None:
    data = os.urandom(2 * BLOCK_SIZE + 123)
    etag = run(put(backend, data, ts(1000.5), chunk=300_000, meta={"x-object-meta-color": "blue"}))
    assert etag == hashlib.md5(data).hexdigest()
    assert os.listdir(hash_dir(backend)) == ["0000001000.50000.data"]
    assert run(read_all(backend)) == data
    files = run(backend.read_metadata(PART, HSH))
    assert files.metadata["x-object-meta-color"] == "blue"
    assert files.data_len == len(data) and len(files.crcs) == 3
    assert files.data_timestamp == ts(1000.5) and files.meta_timestamp is None
    assert os.listdir(backend.root / "tmp") == []


@pytest.mark.parametrize(("start", "end"), [(0, 1), (BLOCK_SIZE - 1, BLOCK_SIZE + 1), (5, None),
                                            (2 * BLOCK_SIZE, None), (BLOCK_SIZE, 2 * BLOCK_SIZE)])
def test_ranges_across_blocks(backend: FileBackend, start: int, end: int | None) -> None:
    data = os.urandom(2 * BLOCK_SIZE + 10)
    run(put(backend, data, ts(1)))
    assert run(read_all(backend, start, end)) == data[start:end]


def test_small_object_is_read_with_its_trailer(backend: FileBackend) -> None:
    run(put(backend, b"tiny", ts(1)))
    files = run(backend.read_metadata(PART, HSH))
    assert files.head == b"tiny" and files.data_metadata["etag"] == files.etag and files.meta_metadata is None
    path = hash_dir(backend) / "0000000001.00000.data"
    raw = bytearray(path.read_bytes())
    raw[0] ^= 0x20  # "tiny" → "Tiny": the cached block must still be checked
    path.write_bytes(bytes(raw))
    with pytest.raises(diskfile.Quarantined):
        run(read_all(backend))
    assert not hash_dir(backend).exists()


def test_empty_object(backend: FileBackend) -> None:
    etag = run(put(backend, b"", ts(1)))
    assert etag == hashlib.md5(b"").hexdigest()
    assert run(read_all(backend)) == b""


def test_missing_device_and_object(tmp_path: Path) -> None:
    gone = FileBackend(tmp_path / "nope")
    assert not gone.exists()
    with pytest.raises(diskfile.DeviceUnavailable):
        run(gone.open(PART, HSH))

    async def write_to_gone() -> None:
        writer = await gone.create(PART, HSH)  # the tmp file is made by the first write
        await writer.write(b"x")
        await writer.commit(ts(1), {})

    with pytest.raises(diskfile.DeviceUnavailable):
        run(write_to_gone())
    assert not gone.exists()
    (tmp_path / "d").mkdir()
    with pytest.raises(diskfile.NotFound) as info:
        run(FileBackend(tmp_path / "d").open(PART, HSH))
    assert type(info.value) is diskfile.NotFound


def test_corrupt_block_quarantines_and_raises(backend: FileBackend) -> None:
    data = os.urandom(BLOCK_SIZE + 100)
    run(put(backend, data, ts(1)))
    path = hash_dir(backend) / "0000000001.00000.data"
    with open(path, "r+b") as f:  # flip one byte of the second block
        f.seek(BLOCK_SIZE + 50)
        byte = f.read(1)
        f.seek(BLOCK_SIZE + 50)
        f.write(bytes([byte[0] ^ 0xFF]))
    # The first block is good and is served; the bad one ends the read.
    got = bytearray()

    async def scenario() -> None:
        reader = await backend.open(PART, HSH)
        async for chunk in reader.iter_range():
            got.extend(chunk)

    with pytest.raises(diskfile.Quarantined):
        run(scenario())
    assert bytes(got) == data[:BLOCK_SIZE]
    assert not hash_dir(backend).exists()
    assert os.listdir(backend.root / "quarantined" / "objects" / HSH) == ["0000000001.00000.data"]
    assert HSH[-3:] in (backend.root / "objects" / str(PART) / "hashes.invalid").read_text().split()
    with pytest.raises(diskfile.NotFound):
        run(backend.open(PART, HSH))


def test_damaged_trailer_quarantines_on_open(backend: FileBackend) -> None:
    run(put(backend, b"hello", ts(1)))
    path = hash_dir(backend) / "0000000001.00000.data"
    raw = bytearray(path.read_bytes())
    raw[-30] ^= 0x01  # inside the metadata JSON: the trailer CRC no longer matches
    path.write_bytes(bytes(raw))
    with pytest.raises(diskfile.Quarantined):
        run(backend.open(PART, HSH))
    assert (backend.root / "quarantined" / "objects" / HSH).is_dir()
    # A truncated file too.
    run(put(backend, b"hello", ts(2)))
    path = hash_dir(backend) / "0000000002.00000.data"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(diskfile.Quarantined):
        run(backend.open(PART, HSH))
    assert len(os.listdir(backend.root / "quarantined" / "objects")) == 2


def test_unfinished_write_is_never_visible(backend: FileBackend) -> None:
    run(put(backend, b"old", ts(1)))

    async def crash_midway() -> None:
        writer = await backend.create(PART, HSH)
        await writer.write(os.urandom(BLOCK_SIZE + 5))
        await writer.flush()
        # the process dies here: no commit, no abort

    run(crash_midway())
    assert os.listdir(hash_dir(backend)) == ["0000000001.00000.data"]
    assert run(read_all(backend)) == b"old"
    assert len(os.listdir(backend.root / "tmp")) == 1
    assert backend.cleanup_tmp(max_age=3600) == 0
    assert backend.cleanup_tmp(max_age=-1) == 1

    async def refused() -> None:
        writer = await backend.create(PART, HSH)
        await writer.write(b"x")
        await writer.abort()

    run(refused())
    assert os.listdir(backend.root / "tmp") == []


def test_newer_files_win_and_older_are_removed(backend: FileBackend) -> None:
    run(put(backend, b"one", ts(1)))
    run(put(backend, b"two", ts(2)))
    assert os.listdir(hash_dir(backend)) == ["0000000002.00000.data"]
    # A late older write lands but does not win (the server refuses it first; the disk copes).
    run(put(backend, b"zero", ts(0.5)))
    assert run(read_all(backend)) == b"two"
    assert os.listdir(hash_dir(backend)) == ["0000000002.00000.data"]


def test_tombstone(backend: FileBackend) -> None:
    run(put(backend, b"data", ts(1)))
    run(backend.delete(PART, HSH, ts(2), {"x-timestamp": ts(2).internal}))
    assert os.listdir(hash_dir(backend)) == ["0000000002.00000.ts"]
    with pytest.raises(diskfile.Deleted) as info:
        run(backend.open(PART, HSH))
    assert info.value.timestamp == ts(2)
    # A tombstone wins a tie with a .data of the same timestamp.
    assert diskfile.classify(["0000000003.00000.data", "0000000003.00000.ts"]).tombstone == "0000000003.00000.ts"
    run(put(backend, b"again", ts(3)))
    assert run(read_all(backend)) == b"again"
    assert os.listdir(hash_dir(backend)) == ["0000000003.00000.data"]


def test_meta_replaces_user_metadata_but_not_the_data_facts(backend: FileBackend) -> None:
    run(put(backend, b"data", ts(1), meta={"x-object-meta-a": "1", "x-object-sysmeta-s": "keep",
                                           "content-type": "text/plain", "x-delete-at": "9999999999"}))
    run(backend.write_meta(PART, HSH, ts(2), {"x-timestamp": ts(2).internal, "x-object-meta-b": "2",
                                              "etag": "forged", "content-length": "999"}))
    files = run(backend.read_metadata(PART, HSH))
    meta = files.metadata
    assert meta["x-object-meta-b"] == "2" and "x-object-meta-a" not in meta
    assert meta["x-object-sysmeta-s"] == "keep" and meta["content-type"] == "text/plain"
    assert meta["etag"] == hashlib.md5(b"data").hexdigest() and meta["content-length"] == "4"
    assert "x-delete-at" not in meta  # a POST without it removes it, as Swift's
    assert files.timestamp == ts(2) and files.data_timestamp == ts(1)
    run(backend.write_meta(PART, HSH, ts(3), {"x-timestamp": ts(3).internal, "content-type": "image/png"}))
    assert run(backend.read_metadata(PART, HSH)).metadata["content-type"] == "image/png"
    assert sorted(os.listdir(hash_dir(backend))) == ["0000000001.00000.data", "0000000003.00000.meta"]
    # A newer .data makes the .meta obsolete.
    run(put(backend, b"new", ts(4)))
    assert os.listdir(hash_dir(backend)) == ["0000000004.00000.data"]


def test_expired(backend: FileBackend) -> None:
    run(put(backend, b"data", ts(1), meta={"x-delete-at": "100"}))
    assert run(backend.read_metadata(PART, HSH, now=99.0)).data_len == 4
    with pytest.raises(diskfile.Expired) as info:
        run(backend.open(PART, HSH, now=100.0))
    assert info.value.metadata["x-delete-at"] == "100" and info.value.timestamp == ts(1)
    assert run(backend.read_metadata(PART, HSH, now=100.0, open_expired=True)).data_len == 4


def test_suffix_hashes(backend: FileBackend) -> None:
    assert run(backend.get_hashes(PART)) == {}
    run(put(backend, b"data", ts(1)))
    first = run(backend.get_hashes(PART))
    assert list(first) == [HSH[-3:]]
    assert not (backend.root / "objects" / str(PART) / "hashes.invalid").exists()
    assert run(backend.get_hashes(PART)) == first  # cached, nothing invalid
    # A rehashed partition holds its suffix dirs and hashes.json only (a replicator empties a
    # handoff by removing exactly those).
    assert sorted(os.listdir(backend.root / "objects" / str(PART))) == [HSH[-3:], "hashes.json"]
    run(backend.write_meta(PART, HSH, ts(2), {"x-timestamp": ts(2).internal}))
    second = run(backend.get_hashes(PART))
    assert second[HSH[-3:]] != first[HSH[-3:]]
    # Another backend with the same files computes the same hashes from scratch.
    twin = FileBackend(backend.root)
    (backend.root / "objects" / str(PART) / "hashes.json").unlink()
    assert run(twin.get_hashes(PART)) == second
    # An old tombstone is reclaimed when its suffix is rehashed; the empty suffix disappears.
    run(backend.delete(PART, HSH, ts(3), {"x-timestamp": ts(3).internal}))
    backend.reclaim_age = 60
    assert run(backend.get_hashes(PART)) == {}
    assert not (backend.root / "objects" / str(PART) / HSH[-3:]).exists()


def test_recent_tombstone_is_kept(backend: FileBackend) -> None:
    run(backend.delete(PART, HSH, Timestamp.now(), {}))
    backend.reclaim_age = 3600
    hashes = run(backend.get_hashes(PART, [HSH[-3:]]))
    assert list(hashes) == [HSH[-3:]]
    assert len(os.listdir(hash_dir(backend))) == 1


def test_verify_checks_every_block_and_the_md5(backend: FileBackend) -> None:
    run(put(backend, os.urandom(BLOCK_SIZE * 2), ts(1)))
    assert run(backend.verify(PART, HSH)) is not None
    assert run(backend.verify(PART, "f" * 32)) is None
    # Rewrite the data with matching CRCs but a stale ETag: only the MD5 check can see it.
    writer_data = b"x" * 10
    run(put(backend, writer_data, ts(2), meta={"etag": "0" * 32}))
    with pytest.raises(diskfile.Quarantined):
        run(backend.verify(PART, HSH))
    assert not hash_dir(backend).exists()


def test_walk(backend: FileBackend) -> None:
    run(put(backend, b"a", ts(1)))
    assert backend.partitions() == [PART]
    assert list(backend.iter_hashes(PART)) == [(HSH[-3:], HSH)]
    assert list(backend.iter_hashes(99)) == []
    backend.remove_partition(PART)
    assert backend.partitions() == []


def test_reader_survives_replacement(backend: FileBackend) -> None:
    data = os.urandom(BLOCK_SIZE * 2)

    async def scenario() -> bytes:
        await put(backend, data, ts(1))
        reader = await backend.open(PART, HSH)
        await put(backend, b"newer", ts(time.time()))
        out = bytearray()
        async for chunk in reader.iter_range():
            out += chunk
        await reader.close()
        return bytes(out)

    assert run(scenario()) == data


def test_invalidations_are_never_lost_to_a_concurrent_get_hashes(backend: FileBackend) -> None:
    """Writers append to hashes.invalid while get_hashes takes it away: every change must show."""
    import threading

    now = time.time()
    suffixes = [f"{i:03x}" for i in range(40)]
    stop = threading.Event()

    def rehash_forever() -> None:
        while not stop.is_set():
            backend._get_hashes(PART, [])

    hasher = threading.Thread(target=rehash_forever)
    hasher.start()
    try:
        for round_ in range(3):
            for suffix in suffixes:
                hsh = "ab" * 14 + "0" + suffix
                at = Timestamp(now + round_)
                backend._write_empty(PART, hsh, f"{at.internal}.ts", {"x-timestamp": at.internal}, None)
    finally:
        stop.set()
        hasher.join()
    cached = backend._get_hashes(PART, [])
    (backend.root / "objects" / str(PART) / "hashes.json").unlink()
    assert backend._get_hashes(PART, []) == cached
    assert sorted(cached) == suffixes


def test_a_write_whose_new_suffix_dir_a_get_hashes_removes_still_lands(
        backend: FileBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    """get_hashes removes an empty suffix dir; one a writer has just made (its hash dir not yet)
    is made again, not a failed write. (The interleaving the concurrent test above hit now and
    then under load, here on purpose: a real get_hashes runs right after the suffix dir is made.)"""
    sdir = backend.part_dir(PART) / HSH[-3:]
    real_mkdir = os.mkdir
    removed: list[bool] = []

    def mkdir(path: str | os.PathLike[str], mode: int = 0o777) -> None:
        real_mkdir(path, mode)
        if Path(path) == sdir and not removed:
            backend._get_hashes(PART, [HSH[-3:]])
            removed.append(not sdir.exists())

    monkeypatch.setattr(os, "mkdir", mkdir)
    at = Timestamp(time.time())
    backend._write_empty(PART, HSH, f"{at.internal}.ts", {"x-timestamp": at.internal}, None)
    monkeypatch.undo()
    assert removed == [True]  # the interleaving did happen
    assert os.listdir(hash_dir(backend)) == [f"{at.internal}.ts"]
    assert list(backend._get_hashes(PART, [])) == [HSH[-3:]]


def rot(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b"\x00\x00\x00\x00")


def test_a_bad_block_of_a_replaced_file_does_not_quarantine_the_new_one(backend: FileBackend) -> None:
    data = os.urandom(2 * BLOCK_SIZE)

    async def scenario() -> None:
        await put(backend, data, ts(1))
        reader = await backend.open(PART, HSH)
        old = reader.files.data_file
        rot(old, BLOCK_SIZE + 3)  # the old copy rots while it is being read...
        await put(backend, b"fresh", ts(2))  # ...and a newer write replaces it meanwhile
        with pytest.raises(diskfile.Quarantined):
            async for _chunk in reader.iter_range():
                pass

    run(scenario())
    assert run(read_all(backend)) == b"fresh"
    assert not (backend.root / "quarantined").exists()


@pytest.mark.parametrize("sizes", [
    [1] * 3000 + [BLOCK_SIZE + 7] + [5] * 100,  # a trickle, then one chunk across a block boundary
    [300_001] * 8,  # chunks that never line up with the blocks
    [3 * BLOCK_SIZE + 1],  # one chunk holding several blocks
    [BLOCK_SIZE - 1, 2, BLOCK_SIZE - 1],  # a block ends one byte into a chunk
])
def test_writer_blocks_whatever_the_chunking(backend: FileBackend, sizes: list[int]) -> None:
    """The CRC per 1 MiB block and the MD5 do not depend on how the body arrived."""
    data = os.urandom(sum(sizes))

    async def write() -> str:
        writer = await backend.create(PART, HSH)
        offset = 0
        for size in sizes:
            await writer.write(data[offset:offset + size])
            offset += size
        etag = await writer.flush()
        await writer.commit(ts(1), {"name": "/a/c/o", "x-timestamp": ts(1).internal, "etag": etag,
                                    "content-length": str(len(data)), "content-type": "x/y"})
        return etag

    assert run(write()) == hashlib.md5(data).hexdigest()
    files = run(backend.read_metadata(PART, HSH))
    assert files.crcs == [zlib.crc32(data[i:i + BLOCK_SIZE]) for i in range(0, len(data), BLOCK_SIZE)]
    assert run(read_all(backend)) == data


def _dead_pid() -> int:
    """The pid of a process that has exited (reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_tmp_files_of_a_dead_writer_go_at_once(backend: FileBackend) -> None:
    tmp = backend.root / "tmp"
    tmp.mkdir(exist_ok=True)
    dead = _dead_pid()
    (tmp / f"{dead}.{'a' * 32}").write_bytes(b"abandoned")
    (tmp / f"pending-{dead}.{'b' * 32}").write_bytes(b"abandoned")
    (tmp / f"{os.getpid()}.{'c' * 32}").write_bytes(b"ours, in progress")
    (tmp / ("d" * 32)).write_bytes(b"no pid: only by age")
    assert backend.cleanup_tmp(max_age=3600) == 2
    assert sorted(os.listdir(tmp)) == sorted([f"{os.getpid()}.{'c' * 32}", "d" * 32])


def test_what_a_crashed_get_hashes_left_is_removed_and_the_partition_rehashed(backend: FileBackend) -> None:
    run(put(backend, b"one", ts(1)))
    pdir = backend.root / "objects" / str(PART)
    first = run(backend.get_hashes(PART))
    # A crash after taking hashes.invalid (its suffix not yet rehashed) and mid-write of hashes.json.
    run(backend.write_meta(PART, HSH, ts(2), {"x-timestamp": ts(2).internal}))
    os.rename(pdir / "hashes.invalid", pdir / f"hashes.invalid.{_dead_pid()}.{'e' * 32}")
    (pdir / f"hashes.json.{_dead_pid()}.{'f' * 32}").write_text("{")
    again = run(backend.get_hashes(PART))
    assert again[HSH[-3:]] != first[HSH[-3:]]  # the lost invalidation did not hide the change
    assert sorted(os.listdir(pdir)) == [HSH[-3:], "hashes.json"]


def test_a_write_fsyncs_the_file_and_the_dirs_its_entry_lives_in(
        backend: FileBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[tuple[int, int]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        st = os.fstat(fd)
        synced.append((st.st_dev, st.st_ino))
        real_fsync(fd)

    def ident(p: Path) -> tuple[int, int]:
        st = p.stat()
        return st.st_dev, st.st_ino

    monkeypatch.setattr(os, "fsync", fsync)
    run(put(backend, b"first", ts(1)))  # the hash, suffix and partition dirs are new
    hdir = hash_dir(backend)
    made = [ident(d) for d in (hdir, hdir.parent, hdir.parent.parent, hdir.parent.parent.parent)]
    assert set(made) <= set(synced)
    assert ident(hdir / f"{ts(1).internal}.data") in synced
    synced.clear()
    run(put(backend, b"second", ts(2)))  # only the hash dir gets a new entry
    assert ident(hdir) in synced and ident(hdir.parent) not in synced

    async def another_in_the_suffix() -> None:  # a new hash dir in an existing suffix dir
        writer = await backend.create(PART, "f" * 29 + HSH[-3:])
        await writer.write(b"third")
        etag = await writer.flush()
        await writer.commit(ts(3), {"name": "/a/c/o3", "x-timestamp": ts(3).internal, "etag": etag,
                                    "content-length": "5", "content-type": "x/y"})

    synced.clear()
    run(another_in_the_suffix())
    assert ident(hdir.parent / ("f" * 29 + HSH[-3:])) in synced and ident(hdir.parent) in synced
    assert ident(hdir.parent.parent) not in synced  # Swift's renamer: the made dirs' parents only


def test_settle_waits_for_every_thread_through_a_cancel_then_is_cancelled() -> None:
    """A reader's close() settles its read-ahead and its current read at once: a cancel meanwhile
    must not let the fd be closed while either thread may still use it."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from onestack.object_store.obj.ondisk import settle

    release = threading.Event()

    def read(fail: bool) -> str:
        release.wait(10)
        if fail:
            raise OSError("read failed")  # ignored: settle only waits
        return "block"

    async def main() -> tuple[bool, bool, bool]:
        with ThreadPoolExecutor(2) as pool:
            ahead, reading = pool.submit(read, False), pool.submit(read, True)
            closer = asyncio.create_task(settle(ahead, None, reading))
            await asyncio.sleep(0.05)
            closer.cancel()
            await asyncio.sleep(0.05)
            still_waiting = not closer.done()
            release.set()
            with pytest.raises(asyncio.CancelledError):
                await closer
            return still_waiting, ahead.done(), reading.done()

    assert run(main()) == (True, True, True)
