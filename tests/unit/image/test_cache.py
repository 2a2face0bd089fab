"""The image cache's store (onestack/image/cache.py): fills, hits, corruption, queue, pruning, cleaning."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from pathlib import Path

from onestack.image.cache import ImageCache


def _id() -> str:
    return str(uuid.uuid4())


def _fill(cache: ImageCache, image_id: str, data: bytes, checksum: str | None = None) -> bool:
    fill = cache.begin_fill(image_id, len(data))
    assert fill is not None
    fill.write(data[: len(data) // 2])
    fill.write(data[len(data) // 2:])
    return fill.commit(checksum or hashlib.md5(data).hexdigest(), len(data))


def _read(cache: ImageCache, image_id: str, data: bytes) -> bytes | None:
    entry = cache.open_entry(image_id, hashlib.md5(data).hexdigest(), len(data))
    if entry is None:
        return None
    with entry.file:
        return os.pread(entry.file.fileno(), entry.size, 0)


def test_fill_then_hits(tmp_path: Path) -> None:
    cache = ImageCache(tmp_path / "c", 1 << 20, 86400)
    image_id, data = _id(), os.urandom(5000)
    assert cache.queue(image_id)
    assert cache.queued_images() == [image_id]
    assert _fill(cache, image_id, data)
    assert cache.queued_images() == []  # a fill ends the image's queue entry
    assert not list((tmp_path / "c" / "incomplete").iterdir())
    [row] = cache.cached_images()
    assert row["image_id"] == image_id and row["size"] == 5000 and row["hits"] == 0
    assert _read(cache, image_id, data) == data
    assert _read(cache, image_id, data) == data
    assert cache.cached_images()[0]["hits"] == 2
    assert not cache.queue(image_id)  # cached already
    assert cache.begin_fill(image_id, len(data)) is None


def test_bad_checksum_is_not_cached(tmp_path: Path) -> None:
    cache = ImageCache(tmp_path, 1 << 20, 86400)
    image_id = _id()
    assert not _fill(cache, image_id, b"x" * 100, checksum="0" * 32)
    assert cache.cached_images() == []
    assert not (tmp_path / image_id).exists()
    assert not (tmp_path / "incomplete" / image_id).exists()


def test_one_fill_at_a_time_and_abort(tmp_path: Path) -> None:
    cache = ImageCache(tmp_path, 1 << 20, 86400)
    image_id = _id()
    fill = cache.begin_fill(image_id, 10)
    assert fill is not None
    assert cache.begin_fill(image_id, 10) is None
    assert not cache.queue(image_id)  # being filled
    fill.abort()
    assert cache.begin_fill(image_id, 10) is not None
    assert cache.begin_fill(_id(), (1 << 20) + 1) is None  # could never fit


def test_corrupt_file_is_dropped(tmp_path: Path) -> None:
    cache = ImageCache(tmp_path, 1 << 20, 86400)
    image_id, data = _id(), os.urandom(4096)
    assert _fill(cache, image_id, data)
    with open(tmp_path / image_id, "r+b") as fh:  # same size, other bytes
        fh.write(b"\0" * 16)
    assert _read(cache, image_id, data) is None
    assert cache.cached_images() == []
    assert not (tmp_path / image_id).exists()


def test_other_data_is_a_miss(tmp_path: Path) -> None:
    cache = ImageCache(tmp_path, 1 << 20, 86400)
    image_id, data = _id(), os.urandom(100)
    assert _fill(cache, image_id, data)
    assert cache.open_entry(image_id, "f" * 32, 100) is None  # the image's checksum changed
    assert not cache.is_cached(image_id)


def test_prune_least_recently_accessed_first(tmp_path: Path) -> None:
    cache = ImageCache(tmp_path, 2500, 86400)
    first, second, third = _id(), _id(), _id()
    blobs = {i: os.urandom(1000) for i in (first, second, third)}
    assert _fill(cache, first, blobs[first])
    assert _fill(cache, second, blobs[second])
    time.sleep(0.01)  # last_accessed resolution
    assert _read(cache, first, blobs[first])  # first is now the most recently used
    assert _fill(cache, third, blobs[third])  # 3000 > 2500: the commit prunes
    assert sorted(r["image_id"] for r in cache.cached_images()) == sorted([first, third])
    assert not (tmp_path / second).exists()


def test_delete_and_clear(tmp_path: Path) -> None:
    cache = ImageCache(tmp_path, 1 << 20, 86400)
    a, b, q = _id(), _id(), _id()
    assert _fill(cache, a, b"a" * 10) and _fill(cache, b, b"b" * 10)
    assert cache.queue(q)
    assert cache.is_known(q) and cache.is_known(a) and not cache.is_known(_id())
    cache.forget(a)
    assert [r["image_id"] for r in cache.cached_images()] == [b]
    assert cache.delete_all_queued() == 1 and cache.queued_images() == []
    assert cache.delete_all_cached() == 1 and cache.cached_images() == []
    assert not cache.queue("../escape") and not cache.is_known("cache.db")


def test_clean_removes_stalled_and_orphans(tmp_path: Path) -> None:
    cache = ImageCache(tmp_path, 1 << 20, 10)
    stalled, fresh, orphan, kept = _id(), _id(), _id(), _id()
    old = time.time() - 100
    for path in (tmp_path / "incomplete" / stalled, tmp_path / "incomplete" / fresh, tmp_path / orphan):
        path.write_bytes(b"x")
    os.utime(tmp_path / "incomplete" / stalled, (old, old))
    os.utime(tmp_path / orphan, (old, old))
    assert _fill(cache, kept, b"k" * 10)
    assert cache.clean() == 2
    assert not (tmp_path / "incomplete" / stalled).exists() and (tmp_path / "incomplete" / fresh).exists()
    assert not (tmp_path / orphan).exists() and (tmp_path / kept).exists()
    (tmp_path / kept).unlink()  # an entry whose file went: forgotten
    cache.clean()
    assert cache.cached_images() == []


def test_local_image_is_linked_not_copied(tmp_path: Path) -> None:
    cache = ImageCache(tmp_path / "c", 1 << 20, 86400)
    source = tmp_path / "store-file"
    data = os.urandom(3000)
    source.write_bytes(data)
    short = cache.begin_fill(_id(), len(data), source)
    assert short is not None
    short.write(data[:100])
    assert not short.commit(hashlib.md5(data).hexdigest(), len(data))  # not all of it was read
    image_id = _id()
    fill = cache.begin_fill(image_id, len(data), source)
    assert fill is not None
    fill.write(data)
    assert fill.commit(hashlib.md5(data).hexdigest(), len(data))
    assert (tmp_path / "c" / image_id).stat().st_ino == source.stat().st_ino
    assert _read(cache, image_id, data) == data
    assert not list((tmp_path / "c" / "incomplete").iterdir())
    time.sleep(0.01)
    source.write_bytes(b"z" * len(data))  # the store's file changed in place (same inode)
    assert _read(cache, image_id, data) is None  # its fingerprint changed: hashed, refused, dropped
    assert not cache.is_cached(image_id)
