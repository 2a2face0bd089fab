"""The swift store without an object store: locations, the stream cutter, deferred deletes.

Its traffic with a real object store is covered by tests/functional/test_image_swift_store.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from onestack.core.config import Config, load_config
from onestack.image.stores import NotInStore, SizeLimitExceeded, StoreError
from onestack.image.stores.registry import build_stores
from onestack.image.stores.swift import SwiftStore, Unreachable, _Source

IMAGE = "0b9c2f3e-1d7a-4a53-9a52-7b1f0e6c8d11"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens there once the socket is closed


def _config(tmp_path: Path, **extra: object) -> Config:
    return load_config(None, environ={}, overrides={
        "server.data_dir": str(tmp_path), "server.port": _closed_port(), **extra})


def test_offered_only_with_the_object_store(tmp_path: Path) -> None:
    stores, default = build_stores(_config(tmp_path))
    assert list(stores) == ["file", "swift"] and default == "file"
    assert list(build_stores(_config(tmp_path, **{"object_store.enabled": False}))[0]) == ["file"]
    assert list(build_stores(_config(tmp_path, **{"image.swift_store": False}))[0]) == ["file"]
    stores, default = build_stores(_config(tmp_path, **{"image.default_store": "swift"}))
    assert default == "swift"


def test_locations(tmp_path: Path) -> None:
    store = SwiftStore(_config(tmp_path))
    location = store.location_for(IMAGE)
    assert location == f"swift+config://ref1/glance/{IMAGE}"
    assert store.object_of(location) == IMAGE
    for foreign in (f"file:///tmp/{IMAGE}", f"swift+config://ref2/glance/{IMAGE}",
                    f"swift+config://ref1/other/{IMAGE}", "swift+config://ref1/glance/", "swift+config://ref1/glance/a/b"):
        with pytest.raises(NotInStore):
            store.object_of(foreign)
    other = SwiftStore(_config(tmp_path, **{"image.swift_store_container": "images"}))
    assert other.location_for(IMAGE) == f"swift+config://ref1/images/{IMAGE}"
    assert other.properties()["container"] == "images"


async def _chunks(pieces: list[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


def test_source_cuts_parts_and_hashes_the_whole() -> None:
    data = bytes(range(256)) * 40  # 10240 bytes in uneven pieces
    pieces = [data[:1000], data[1000:1001], data[1001:7000], data[7000:]]

    async def run() -> list[bytes]:
        source = _Source(_chunks(pieces), None)
        parts = []
        while await source.has_more():
            md5 = hashlib.md5()
            parts.append(b"".join([p async for p in source.part(4096, md5)]))
            assert md5.hexdigest() == hashlib.md5(parts[-1]).hexdigest()
        assert source.size == len(data) and source.md5.hexdigest() == hashlib.md5(data).hexdigest()
        assert source.sha512.hexdigest() == hashlib.sha512(data).hexdigest()
        return parts

    parts = asyncio.run(run())
    assert [len(p) for p in parts] == [4096, 4096, 2048] and b"".join(parts) == data


def test_source_stops_past_max_size() -> None:
    async def run() -> None:
        source = _Source(_chunks([b"x" * 600, b"y" * 600]), 1000)
        assert await source.has_more()
        with pytest.raises(SizeLimitExceeded):
            async for _ in source.part(10_000, hashlib.md5()):
                pass

    asyncio.run(run())


def test_unreachable_delete_is_owed_and_settled_before_a_new_write(tmp_path: Path) -> None:
    """No object store answering (as in the recovery pass before the APIs listen): the delete is kept
    as a marker, survives a new store instance (a restart), and an add() of the same image must
    settle it first (so a late retry can never remove newer data): unreachable, it fails."""
    config = _config(tmp_path)

    async def run() -> None:
        store = SwiftStore(config)
        try:
            await store.delete(store.location_for(IMAGE))
            assert store.pending_deletes() == [IMAGE]
        finally:
            await store.close()
        again = SwiftStore(config)
        try:
            assert again.pending_deletes() == [IMAGE]
            with pytest.raises(Unreachable):
                await again.add(IMAGE, _chunks([b"data"]))
            assert again.pending_deletes() == [IMAGE]
            with pytest.raises(StoreError):
                await again.size(again.location_for(IMAGE))
        finally:
            await again.close()

    asyncio.run(run())
