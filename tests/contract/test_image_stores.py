"""The contract every image Store passes (onestack/image/stores/__init__.py)."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from onestack.image.stores import NotInStore, SizeLimitExceeded, Store
from onestack.image.stores.filesystem import FilesystemStore
from tests.functional.cloud import wait_until

StoreFactory = Callable[[Path], Store]
FACTORIES: dict[str, StoreFactory] = {
    "filesystem": lambda root: FilesystemStore(root / "images", "file"),
}


@pytest.fixture(params=sorted(FACTORIES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return FACTORIES[request.param](tmp_path)


async def chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def read_all(store: Store, location: str, offset: int = 0, length: int | None = None) -> bytes:
    return b"".join([c async for c in store.get(location, offset, length)])


def leftovers(store: Any) -> list[str]:
    root = getattr(store, "root", None)
    return sorted(p.name for p in root.iterdir()) if root is not None else []


@pytest.mark.parametrize("size", [0, 1, 65535, 4 * 1024 * 1024 + 3, 9 * 1024 * 1024])
def test_add_then_get_is_byte_exact_with_digests(store: Store, size: int) -> None:
    data = os.urandom(size)
    stored = asyncio.run(store.add("img-1", chunks(data)))
    assert stored.size == size
    assert stored.checksum == hashlib.md5(data).hexdigest()
    assert stored.os_hash_value == hashlib.sha512(data).hexdigest()
    assert asyncio.run(read_all(store, stored.location)) == data
    assert asyncio.run(store.size(stored.location)) == size


def test_ranges(store: Store) -> None:
    data = os.urandom(3 * 1024 * 1024)
    loc = asyncio.run(store.add("img-r", chunks(data))).location
    for offset, length in [(0, 1), (10, 100), (1024 * 1024 - 1, 1024 * 1024 + 2), (len(data) - 5, 5), (7, None)]:
        want = data[offset:] if length is None else data[offset:offset + length]
        assert asyncio.run(read_all(store, loc, offset, length)) == want


def test_delete_is_idempotent_and_data_is_gone(store: Store) -> None:
    loc = asyncio.run(store.add("img-d", chunks(b"abc"))).location
    asyncio.run(store.delete(loc))
    asyncio.run(store.delete(loc))
    with pytest.raises(NotInStore):
        asyncio.run(read_all(store, loc))
    assert leftovers(store) == []


def test_too_large_raises_and_leaves_nothing(store: Store) -> None:
    with pytest.raises(SizeLimitExceeded):
        asyncio.run(store.add("img-big", chunks(os.urandom(100_000)), max_size=99_999))
    assert leftovers(store) == []
    stored = asyncio.run(store.add("img-big", chunks(b"x" * 100), max_size=100))
    assert stored.size == 100


def test_failing_stream_leaves_nothing(store: Store) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield os.urandom(5 * 1024 * 1024)
        yield os.urandom(1024)
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        asyncio.run(store.add("img-broken", broken()))
    assert leftovers(store) == []


def test_cancelled_write_leaves_nothing(store: Store) -> None:
    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"z" * 65536
            await asyncio.sleep(0)

    async def run() -> None:
        task = asyncio.ensure_future(store.add("img-cancel", endless()))
        while not leftovers(store):
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    # A batch still being written when the task was cancelled is cleaned up by its worker.
    wait_until(lambda: leftovers(store) == [], timeout=10, what="the abandoned temporary file to go")


def test_replacing_an_image_is_atomic(store: Store) -> None:
    first = asyncio.run(store.add("img-x", chunks(b"first")))
    second = asyncio.run(store.add("img-x", chunks(b"second")))
    assert first.location == second.location
    assert asyncio.run(read_all(store, second.location)) == b"second"


def test_foreign_locations_are_refused(store: Store, tmp_path: Path) -> None:
    with pytest.raises(NotInStore):
        asyncio.run(store.size("file:///etc/passwd"))
    with pytest.raises(NotInStore):
        asyncio.run(store.delete("swift://somewhere/else"))
