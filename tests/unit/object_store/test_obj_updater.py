"""Async pendings and their replay (onestack/object_store/obj/updater.py) with the object server
writing them on real device dirs."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

from onestack.object_store.obj import updater
from onestack.object_store.obj.server import ObjectServer
from onestack.object_store.rpcapi import ContainerUpdate
from onestack.object_store.timestamp import Timestamp
from tests.object_servers import Listing

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    async def wrap() -> T:
        return await coro
    return asyncio.run(wrap())


def setup(tmp_path: Path) -> tuple[ObjectServer, Listing]:
    for name in ("d1", "d2"):
        (tmp_path / name).mkdir()
    listing = Listing()
    return ObjectServer(tmp_path, listing, "salt"), listing


def put(server: ObjectServer, device: str, name: str, at: float) -> int:
    headers = {"X-Timestamp": Timestamp(at).internal, "Content-Type": "a/b"}
    return run(server.handle(device, 1, "PUT", f"/a/c/{name}", headers, b"x")).status


def all_pendings(root: Path) -> list[Path]:
    return [p for p in root.rglob("async_pending/*/*") if p.is_file()]


def test_replay_after_failures(tmp_path: Path) -> None:
    server, listing = setup(tmp_path)
    listing.failing = True
    assert put(server, "d1", "o1", 1) == 201
    assert put(server, "d2", "o2", 1) == 201
    assert put(server, "d1", "o1", 2) == 201  # a newer state of o1: its older pending is moot
    assert len(all_pendings(tmp_path)) == 3
    daemon = updater.ObjectUpdater(tmp_path, listing, interval=0.01)
    counts = run(daemon.run_once())
    assert counts["failures"] == 2 and len(all_pendings(tmp_path)) == 3 - counts["dropped"]
    listing.failing = False
    counts = run(daemon.run_once())
    assert all_pendings(tmp_path) == []
    replayed = sorted((u["obj"], u["timestamp"]) for u in listing.updates)
    assert replayed == [("o1", Timestamp(2).internal), ("o2", Timestamp(1).internal)]


def test_pending_of_a_write_that_never_landed(tmp_path: Path) -> None:
    _, listing = setup(tmp_path)
    update = ContainerUpdate(account="a", container="c", obj="ghost", op="PUT", timestamp=Timestamp(5).internal,
                             size=1, etag="e", content_type="a/b", delete_at=None, extra={})
    hsh = "f" * 32
    path = updater.write_pending(tmp_path / "d1", hsh, 1, f"{update['timestamp']}.data", update)
    daemon = updater.ObjectUpdater(tmp_path, listing)
    # Too young to judge: kept (the server may be about to rename the file in).
    assert run(daemon.run_once()) == {"successes": 0, "failures": 0, "dropped": 0} and path.exists()
    old = time.time() - updater.GRACE_SECONDS - 5
    os.utime(path, (old, old))
    assert run(daemon.run_once())["dropped"] == 1
    assert not path.exists() and listing.updates == []


def test_unreadable_pending_is_removed(tmp_path: Path) -> None:
    (tmp_path / "d1" / "async_pending" / "abc").mkdir(parents=True)
    bad = tmp_path / "d1" / "async_pending" / "abc" / "x-1"
    bad.write_text("{not json")
    assert updater.list_pendings(tmp_path / "d1") == []
    assert not bad.exists()


def test_run_loop_stops(tmp_path: Path) -> None:
    server, listing = setup(tmp_path)
    listing.failing = True
    put(server, "d1", "o", 1)
    listing.failing = False
    daemon = updater.ObjectUpdater(tmp_path, listing, interval=0.01)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(daemon.run(stop))
        deadline = time.monotonic() + 5
        while all_pendings(tmp_path) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 5)

    run(scenario())
    assert all_pendings(tmp_path) == [] and len(listing.updates) == 1
