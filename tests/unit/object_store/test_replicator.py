"""The replicator's and the auditor's passes over real devices in a temp dir, served by the real
object server in-process: what a pass pushes, what it leaves, and that a second pass finds
nothing left to do."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onestack.object_store.obj.auditor import Auditor
from onestack.object_store.obj.clients import ObjectClients
from onestack.object_store.obj.diskfile import FileBackend, Quarantined
from onestack.object_store.obj.http import HttpObjectClient
from onestack.object_store.obj.replicator import Replicator, read_name, scan_hash_dir
from onestack.object_store.ring.builder import build_ring
from onestack.object_store.ring.ring import Device, Ring
from onestack.object_store.state import RingHolder
from onestack.object_store.timestamp import Timestamp

HOST = "h1"
SUFFIX = "test-suffix"
PATH = ("AUTH_test", "c", "o")
REPL = {"x-backend-replication": "true"}


class Cluster:
    """Devices on this host, the in-process object server, a replicator and an auditor over them."""

    def __init__(self, root: Path, devices: list[Device], replicas: int) -> None:
        self.root = root
        for d in devices:
            if d.host == HOST:
                (root / d.device).mkdir(parents=True, exist_ok=True)
        self.ring: Ring = build_ring(devices, replicas, 2, SUFFIX)
        self.holder = RingHolder(self.ring)
        from onestack.object_store.obj.server import ObjectServer

        self.client = ObjectClients(ObjectServer(root, None, SUFFIX, fsync=False), HOST, HttpObjectClient(1.0))
        self.replicator = Replicator(HOST, root, self.holder, self.client, interval=3600)
        self.auditor = Auditor(HOST, lambda: [d.device for d in self.ring.devices_of(HOST)],
                               lambda name: FileBackend(root / name, fsync=False), (Quarantined,), 3600, 0)
        self.part, self.primaries = self.ring.get_nodes(*PATH)
        self.hash = self.ring.hash(*PATH)
        self.path = "/" + "/".join(PATH)

    def hash_dir(self, device: Device) -> Path:
        return self.root / device.device / "objects" / str(self.part) / self.hash[-3:] / self.hash

    def files(self, device: Device) -> list[str]:
        d = self.hash_dir(device)
        return sorted(os.listdir(d)) if d.is_dir() else []

    async def put(self, device: Device, body: bytes, ts: Timestamp, **headers: str) -> None:
        h = {"x-timestamp": ts.internal, "content-type": "application/octet-stream",
             "content-length": str(len(body)), **REPL, **headers}
        resp = await self.client.request(device, self.part, "PUT", self.path, h, body)
        assert resp.status == 201, resp.status

    async def get(self, device: Device) -> tuple[int, dict[str, str], bytes]:
        resp = await self.client.request(device, self.part, "GET", self.path, {})
        return resp.status, resp.headers, await resp.read()


def devices(n: int, other_host: int = 0) -> list[Device]:
    out = [Device(id=i, host=HOST, device=f"d{i}", zone=i) for i in range(1, n + 1)]
    out += [Device(id=n + i, host="elsewhere", device=f"x{i}", zone=n + i) for i in range(1, other_host + 1)]
    return out


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.fixture
def three(tmp_path: Path) -> Iterator[Cluster]:
    yield Cluster(tmp_path, devices(3), 3)


def test_a_copy_on_one_primary_reaches_the_others_and_the_next_pass_is_idle(three: Cluster) -> None:
    body = os.urandom(3 * 1024 * 1024 + 5)
    ts = Timestamp.now()

    async def go() -> None:
        await three.put(three.primaries[0], body, ts, **{"x-object-meta-color": "blue"})
        stats = await three.replicator.run_once()
        assert stats.objects_pushed == 2 and stats.failures == 0
        for d in three.primaries:
            assert three.files(d) == [f"{ts.internal}.data"]
            status, headers, got = await three.get(d)
            assert status == 200 and got == body and headers["x-object-meta-color"] == "blue"
            assert headers["etag"] == hashlib.md5(body).hexdigest()
        again = await three.replicator.run_once()
        assert again.objects_pushed == again.tombstones_pushed == again.metas_pushed == 0
        assert again.suffixes_synced == 0  # the hashes agree everywhere

    run(go())


def test_a_tombstone_and_a_newer_meta_are_pushed(three: Cluster) -> None:
    first = Timestamp.now()

    async def go() -> None:
        for d in three.primaries:
            await three.put(d, b"x" * 10, first)
        a, _, c = three.primaries
        post = await three.client.request(a, three.part, "POST", three.path,
                                          {"x-timestamp": first.later().internal, "x-object-meta-k": "v", **REPL})
        assert post.status == 202
        # a delete only c saw
        gone = Timestamp(first.seconds + 1)
        resp = await three.client.request(c, three.part, "DELETE", three.path, {"x-timestamp": gone.internal, **REPL})
        assert resp.status == 204
        await three.replicator.run_once()
        await three.replicator.run_once()  # a got the tombstone from c in the first pass, b may need a's
        for d in three.primaries:
            assert three.files(d) == [f"{gone.internal}.ts"], (d.device, three.files(d))

    run(go())


def test_a_meta_alone_is_pushed(three: Cluster) -> None:
    ts = Timestamp.now()

    async def go() -> None:
        for d in three.primaries:
            await three.put(d, b"data", ts)
        a = three.primaries[0]
        meta_ts = ts.later()
        resp = await three.client.request(a, three.part, "POST", three.path,
                                          {"x-timestamp": meta_ts.internal, "x-object-meta-k": "v", **REPL})
        assert resp.status == 202
        stats = await three.replicator.run_once()
        assert stats.metas_pushed == 2 and stats.objects_pushed == 0
        for d in three.primaries:
            assert three.files(d) == sorted([f"{ts.internal}.data", f"{meta_ts.internal}.meta"])
            _, headers, got = await three.get(d)
            assert headers["x-object-meta-k"] == "v" and got == b"data"

    run(go())


def test_an_older_copy_never_overwrites_a_newer_one(three: Cluster) -> None:
    old, new = Timestamp(1_700_000_000.0), Timestamp(1_700_000_100.0)

    async def go() -> None:
        a, b, _ = three.primaries
        await three.put(a, b"old", old)
        await three.put(b, b"new", new)
        await three.replicator.run_once()
        await three.replicator.run_once()
        for d in three.primaries:
            status, _, got = await three.get(d)
            assert status == 200 and got == b"new", d.device

    run(go())


def test_a_handoff_pushes_to_the_primaries_then_empties(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, devices(4), 2)
    handoff = next(cluster.ring.get_more_nodes(cluster.part))
    ts = Timestamp.now()

    async def go() -> None:
        await cluster.put(handoff, b"parked", ts)
        stats = await cluster.replicator.run_once()
        assert stats.objects_pushed == 2 and stats.handoffs_removed == 1
        for d in cluster.primaries:
            assert cluster.files(d) == [f"{ts.internal}.data"]
        assert not (tmp_path / handoff.device / "objects" / str(cluster.part)).exists()

    run(go())


def test_a_handoff_stays_while_a_primary_is_unreachable(tmp_path: Path) -> None:
    # one primary on another host with no object server address: unreachable
    cluster = Cluster(tmp_path, devices(3, other_host=1), 2)
    part = next(p for p in range(cluster.ring.partition_count)
                if any(d.host != HOST for d in cluster.ring.get_part_nodes(p)))
    handoff = next(d for d in cluster.ring.get_more_nodes(part) if d.host == HOST)
    cluster.part, cluster.primaries = part, cluster.ring.get_part_nodes(part)

    async def go() -> None:
        # a name in that partition
        for i in range(10_000):
            name = ("AUTH_test", "c", f"o{i}")
            if cluster.ring.get_part(*name) == part:
                cluster.path, cluster.hash = "/" + "/".join(name), cluster.ring.hash(*name)
                break
        await cluster.put(handoff, b"parked", Timestamp.now())
        stats = await cluster.replicator.run_once()
        assert stats.failures >= 1 and stats.handoffs_removed == 0
        local_primary = next(d for d in cluster.primaries if d.host == HOST)
        assert len(cluster.files(local_primary)) == 1  # the reachable one got it
        assert len(cluster.files(handoff)) == 1  # and the handoff keeps its copy

    run(go())


def test_an_unmounted_primary_is_stood_in_for_by_a_handoff_until_it_returns(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, devices(5), 3)
    first, missing, third = cluster.primaries
    handoff = next(cluster.ring.get_more_nodes(cluster.part))
    home, away = tmp_path / missing.device, tmp_path / f"{missing.device}.away"
    handoff_part = tmp_path / handoff.device / "objects" / str(cluster.part)
    ts = Timestamp.now()

    async def go() -> None:
        home.rename(away)  # unmounted: its object server answers 507
        await cluster.put(first, b"three copies", ts)
        await cluster.put(third, b"three copies", ts)
        stats = await cluster.replicator.run_once()
        assert stats.failures >= 1
        # the partition's third copy is on the first handoff, and stays there while the primary is away
        assert cluster.files(handoff) == [f"{ts.internal}.data"]
        again = await cluster.replicator.run_once()
        assert again.objects_pushed == 0 and again.handoffs_removed == 0
        assert cluster.files(handoff) == [f"{ts.internal}.data"]
        others = [d for d in cluster.ring.devices if d not in cluster.primaries and d != handoff]
        assert all(cluster.files(d) == [] for d in others)  # one stand-in, not every handoff

        away.rename(home)  # back: the copy goes home and leaves the handoff
        for _ in range(2):
            await cluster.replicator.run_once()
        assert cluster.files(missing) == [f"{ts.internal}.data"]
        assert cluster.files(handoff) == [] and not handoff_part.exists()
        status, _, body = await cluster.get(missing)
        assert (status, body) == (200, b"three copies")
        idle = await cluster.replicator.run_once()
        assert idle.objects_pushed == idle.handoffs_removed == idle.failures == 0

    run(go())


def test_the_auditor_quarantines_a_flipped_byte_and_the_replicator_restores_it(three: Cluster) -> None:
    body = os.urandom(2 * 1024 * 1024 + 1)
    ts = Timestamp.now()

    async def go() -> None:
        for d in three.primaries:
            await three.put(d, body, ts)
        victim = three.primaries[1]
        data = three.hash_dir(victim) / f"{ts.internal}.data"
        raw = bytearray(data.read_bytes())
        raw[1024 * 1024 + 17] ^= 0x01
        data.write_bytes(bytes(raw))
        stats = await three.auditor.run_once()
        assert stats.quarantined == 1 and stats.files == 2
        assert (three.root / victim.device / "quarantined" / "objects" / three.hash).is_dir()
        assert three.files(victim) == []
        await three.replicator.run_once()
        status, _, got = await three.get(victim)
        assert status == 200 and got == body
        assert (await three.auditor.run_once()).quarantined == 0

    run(go())


def test_the_auditor_keeps_to_its_rate(three: Cluster) -> None:
    three.auditor.bytes_per_second = 4 * 1024 * 1024

    async def go() -> float:
        await three.put(three.primaries[0], os.urandom(1024 * 1024), Timestamp.now())
        loop = asyncio.get_running_loop()
        start = loop.time()
        stats = await three.auditor.run_once()
        assert stats.bytes == 1024 * 1024
        return loop.time() - start

    assert run(go()) >= 0.2  # 1 MiB at 4 MiB/s


def test_scan_and_name_follow_the_diskfile(three: Cluster) -> None:
    ts = Timestamp.now()

    async def go() -> None:
        d = three.primaries[0]
        await three.put(d, b"abc", ts)
        obj = scan_hash_dir(three.hash_dir(d))
        assert obj is not None and not obj.deleted and obj.timestamp == ts and obj.meta is None
        assert read_name(obj.newest) == three.path
        resp = await three.client.request(d, three.part, "DELETE", three.path,
                                          {"x-timestamp": ts.later().internal, **REPL})
        assert resp.status == 204
        obj = scan_hash_dir(three.hash_dir(d))
        assert obj is not None and obj.deleted and read_name(obj.newest) == three.path

    run(go())


def test_a_pass_removes_tmp_files_a_crash_left_an_hour_ago(three: Cluster) -> None:
    async def go() -> None:
        await three.put(three.primaries[0], b"x", Timestamp.now())
        tmp = three.root / three.primaries[0].device / "tmp"
        old, fresh = tmp / "abandoned", tmp / "in-flight"
        old.write_bytes(b"partial")
        fresh.write_bytes(b"partial")
        os.utime(old, (0, 0))
        await three.replicator.run_once()
        assert not old.exists() and fresh.exists()

    run(go())


def test_removing_a_handoff_keeps_what_landed_after_the_snapshot(tmp_path: Path) -> None:
    from onestack.object_store.obj.replicator import _remove_partition, _snapshot

    part_dir = tmp_path / "objects" / "7"
    old = part_dir / "abc" / ("0" * 29 + "abc")
    old.mkdir(parents=True)
    (old / "1.00000.data").write_bytes(b"a")
    (part_dir / "hashes.json").write_text("{}")
    snap = _snapshot(part_dir)
    (old / "2.00000.data").write_bytes(b"b")  # a write landing meanwhile
    assert not _remove_partition(part_dir, snap)
    assert sorted(os.listdir(old)) == ["2.00000.data"]
    assert _remove_partition(part_dir, _snapshot(part_dir))
    assert not part_dir.exists()
