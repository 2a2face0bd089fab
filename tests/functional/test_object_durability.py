"""Object durability on one host with three replicas over four devices: a lost replica comes back,
a flipped byte is found (by a read or the auditor), quarantined and repaired, and a write that
finds a primary missing meets quorum on a handoff and is moved home — while every GET answers
the exact bytes written (MD5 compared on each).

One cloud of this module's own: host ``dur``, devices d1..d4, three replicas, a small ring and
half-second daemon intervals, so the replicator and the auditor run many passes in a test.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest
import swiftclient.client
import swiftclient.exceptions

from onestack.object_store.obj.ondisk import BLOCK_SIZE, read_trailer
from onestack.object_store.ring.ring import Device
from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import module_cloud
from tests.functional.object_support import NO_ERROR_LIMIT, ring_of
from tests.functional.object_support import swift as swift_of

HOST = "dur"
DEVICES = ("d1", "d2", "d3", "d4")
ENV = {
    **NO_ERROR_LIMIT,
    "ONESTACK_OBJECT_STORE__HOST": HOST,
    "ONESTACK_OBJECT_STORE__REPLICAS": "3",
    "ONESTACK_OBJECT_STORE__DEVICES": ",".join(DEVICES),
    "ONESTACK_OBJECT_STORE__PART_POWER": "6",
    "ONESTACK_OBJECT_STORE__REPLICATOR_INTERVAL": "0.5",
    "ONESTACK_OBJECT_STORE__AUDITOR_INTERVAL": "0.5",
    "ONESTACK_OBJECT_STORE__UPDATER_INTERVAL": "0.5",
    "ONESTACK_OBJECT_STORE__AUDITOR_BYTES_PER_SECOND": str(64 * 1024 * 1024),
}
SIZE = 2 * 1024 * 1024 + 12345  # three checksum blocks, the last one partial
DEADLINE = 60.0


dcloud = module_cloud("object-durability", ENV)


@pytest.fixture(scope="module")
def swift(dcloud: RunningCloud) -> swiftclient.client.Connection:
    conn = swift_of(dcloud, "devstack-admin")[0]
    conn.put_container("durable")
    return conn


class Placed:
    """Where an object's files are: its partition, primaries and first handoff on this host."""

    def __init__(self, cloud: RunningCloud, swift: swiftclient.client.Connection, container: str, name: str) -> None:
        ring = ring_of(cloud)
        self.account = swift.url.rstrip("/").rsplit("/", 1)[1]
        self.container, self.name = container, name
        self.part, self.primaries = ring.get_nodes(self.account, container, name)
        self.handoff: Device = next(ring.get_more_nodes(self.part))
        self.hash = ring.hash(self.account, container, name)
        self.root = cloud.data_dir / "objects" / HOST
        self.scratch = cloud.data_dir.parent  # same filesystem, outside anything the cloud scans

    def hash_dir(self, device: Device) -> Path:
        return self.root / device.device / "objects" / str(self.part) / self.hash[-3:] / self.hash

    def data_files(self, device: Device) -> list[Path]:
        d = self.hash_dir(device)
        return sorted(d.glob("*.data")) if d.is_dir() else []

    def remove(self, path: Path) -> None:
        """Take ``path`` away at once: renamed out of the device (one atomic step), then deleted.
        Deleting in place races the object server, which removes a hash dir it finds emptied."""
        trash = self.scratch / f"trash-{uuid.uuid4().hex}"
        path.rename(trash)
        shutil.rmtree(trash)

    def quarantined(self, device: Device) -> bool:
        return (self.root / device.device / "quarantined" / "objects" / self.hash).exists()


def put(swift: swiftclient.client.Connection, name: str, size: int = SIZE) -> tuple[bytes, str]:
    body = os.urandom(size)
    etag = swift.put_object("durable", name, body)
    md5 = hashlib.md5(body).hexdigest()
    assert etag == md5
    return body, md5


def get_md5(swift: swiftclient.client.Connection, name: str) -> str:
    """GET through the proxy; the MD5 of the bytes it served."""
    headers, body = swift.get_object("durable", name)
    got = hashlib.md5(body).hexdigest()
    assert headers["etag"] == got, "the proxy served bytes that do not match their ETag"
    return got


def converge(swift: swiftclient.client.Connection, name: str, md5: str, done: Any, what: str) -> None:
    """Poll ``done`` with a deadline; every poll also GETs the object and records its MD5. A GET
    may fail (a stream cut when a bad block is found after the first bytes went out), but it must
    never complete with other bytes than those written."""
    served: list[str] = []

    def check() -> bool:
        try:
            served.append(get_md5(swift, name))
        except swiftclient.exceptions.ClientException as exc:
            assert exc.http_status is None or exc.http_status < 500, f"a GET answered {exc.http_status}"
        except Exception:  # noqa: BLE001 — a cut stream is an error the client sees, not bad data
            served.append("error")
        return bool(done())

    wait_until(check, timeout=DEADLINE, interval=0.2, what=what)
    assert served and all(m in (md5, "error") for m in served), f"GETs served other bytes: {served}"
    assert get_md5(swift, name) == md5


def on_all_primaries(placed: Placed) -> bool:
    return all(len(placed.data_files(d)) == 1 for d in placed.primaries)


def test_a_write_lands_on_three_primaries_and_no_handoff(dcloud: RunningCloud, swift: swiftclient.client.Connection) -> None:
    name = f"three-{uuid.uuid4().hex}"
    _, md5 = put(swift, name)
    placed = Placed(dcloud, swift, "durable", name)
    assert len({d.id for d in placed.primaries}) == 3
    assert on_all_primaries(placed)
    assert placed.data_files(placed.handoff) == []
    names = {placed.data_files(d)[0].name for d in placed.primaries}
    assert len(names) == 1  # one timestamp everywhere
    assert get_md5(swift, name) == md5


def stored(path: Path) -> tuple[bytes, dict[str, str], list[int]]:
    """A .data file's object bytes, metadata and block CRCs (read through the on-disk format)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        trailer = read_trailer(fd)
        data = os.pread(fd, trailer.data_len, 0)
    finally:
        os.close(fd)
    return data, trailer.metadata, trailer.crcs


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_every_replica_stores_the_md5_and_crcs_of_its_own_bytes(
        dcloud: RunningCloud, swift: swiftclient.client.Connection, chunked: bool) -> None:
    """The replicas served by this process share one MD5 of the body (the proxy computes it once);
    each still records the CRCs of the bytes it wrote, and both agree with those bytes."""
    name = f"shared-{uuid.uuid4().hex}"
    body = os.urandom(SIZE)
    contents: Any = (body[i:i + 300_000] for i in range(0, SIZE, 300_000)) if chunked else body
    md5 = hashlib.md5(body).hexdigest()
    assert swift.put_object("durable", name, contents) == md5
    placed = Placed(dcloud, swift, "durable", name)
    crcs = [zlib.crc32(body[i:i + BLOCK_SIZE]) for i in range(0, SIZE, BLOCK_SIZE)]
    for device in placed.primaries:
        [path] = placed.data_files(device)
        data, metadata, file_crcs = stored(path)
        assert data == body and metadata["etag"] == md5 and file_crcs == crcs, device.device
    assert get_md5(swift, name) == md5


def test_a_wrong_etag_is_refused_and_no_replica_keeps_the_body(
        dcloud: RunningCloud, swift: swiftclient.client.Connection) -> None:
    name = f"badetag-{uuid.uuid4().hex}"
    with pytest.raises(swiftclient.exceptions.ClientException) as refused:
        swift.put_object("durable", name, os.urandom(SIZE), etag="0" * 32)
    assert refused.value.http_status == 422
    placed = Placed(dcloud, swift, "durable", name)
    assert all(placed.data_files(d) == [] for d in (*placed.primaries, placed.handoff))
    with pytest.raises(swiftclient.exceptions.ClientException) as missing:
        swift.head_object("durable", name)
    assert missing.value.http_status == 404


def test_a_lost_replica_is_restored(dcloud: RunningCloud, swift: swiftclient.client.Connection) -> None:
    name = f"lost-{uuid.uuid4().hex}"
    _, md5 = put(swift, name)
    placed = Placed(dcloud, swift, "durable", name)
    good = placed.data_files(placed.primaries[0])[0]
    victim = placed.primaries[1]
    placed.remove(placed.hash_dir(victim))
    assert placed.data_files(victim) == []
    converge(swift, name, md5, lambda: [p.name for p in placed.data_files(victim)] == [good.name],
             "the replicator to restore the deleted replica")


def test_a_lost_partition_is_restored(dcloud: RunningCloud, swift: swiftclient.client.Connection) -> None:
    name = f"lostpart-{uuid.uuid4().hex}"
    _, md5 = put(swift, name)
    placed = Placed(dcloud, swift, "durable", name)
    victim = placed.primaries[2]
    placed.remove(placed.root / victim.device / "objects" / str(placed.part))
    converge(swift, name, md5, lambda: len(placed.data_files(victim)) == 1,
             "the replicator to restore a whole lost partition")


def test_a_flipped_byte_is_quarantined_and_repaired(dcloud: RunningCloud, swift: swiftclient.client.Connection) -> None:
    name = f"rot-{uuid.uuid4().hex}"
    body, md5 = put(swift, name)
    placed = Placed(dcloud, swift, "durable", name)
    victim = placed.primaries[0]
    path = placed.data_files(victim)[0]
    raw = bytearray(path.read_bytes())
    # a byte in the middle of the object's bytes, wherever the file keeps them
    offset = raw.find(body[SIZE // 2:SIZE // 2 + 64])
    assert offset >= 0, "the .data file does not hold the object's bytes as written"
    raw[offset] ^= 0xFF
    path.write_bytes(bytes(raw))

    def repaired() -> bool:
        files = placed.data_files(victim)
        return placed.quarantined(victim) and len(files) == 1 and body[SIZE // 2:SIZE // 2 + 64] in files[0].read_bytes()

    converge(swift, name, md5, repaired, "the bad replica to be quarantined and restored")


def test_a_write_with_a_primary_missing_meets_quorum_and_moves_home(
        dcloud: RunningCloud, swift: swiftclient.client.Connection) -> None:
    name = f"handoff-{uuid.uuid4().hex}"
    placed = Placed(dcloud, swift, "durable", name)
    missing = placed.primaries[1]
    device_dir = placed.root / missing.device
    away = device_dir.with_name(missing.device + ".away")
    device_dir.rename(away)
    try:
        _, md5 = put(swift, name)  # two primaries + the handoff: quorum met
        assert len(placed.data_files(placed.handoff)) == 1
        assert get_md5(swift, name) == md5
    finally:
        away.rename(device_dir)
    part_on_handoff = placed.root / placed.handoff.device / "objects" / str(placed.part)

    def home() -> bool:
        primaries_have = on_all_primaries(placed)
        handoff_empty = not placed.data_files(placed.handoff)
        # the handoff's copy goes once the primaries have it all (the partition dir with it,
        # unless the handoff device is itself a primary of nothing here and got new writes)
        return primaries_have and handoff_empty and (not part_on_handoff.exists() or not any(part_on_handoff.iterdir()))

    converge(swift, name, md5, home, "the handoff's copy to move to the primary and leave the handoff")


def test_a_delete_missed_by_a_primary_reaches_it(dcloud: RunningCloud, swift: swiftclient.client.Connection) -> None:
    name = f"tomb-{uuid.uuid4().hex}"
    put(swift, name)
    placed = Placed(dcloud, swift, "durable", name)
    missing = placed.primaries[2]
    device_dir = placed.root / missing.device
    away = device_dir.with_name(missing.device + ".away")
    device_dir.rename(away)
    try:
        swift.delete_object("durable", name)
    finally:
        away.rename(device_dir)
    assert len(placed.data_files(missing)) == 1  # it missed the delete

    def gone_everywhere() -> bool:
        return all(placed.data_files(d) == [] and any(placed.hash_dir(d).glob("*.ts")) for d in placed.primaries)

    wait_until(gone_everywhere, timeout=DEADLINE, interval=0.2, what="the tombstone to reach the primary that missed it")
    with pytest.raises(swiftclient.exceptions.ClientException) as err:
        swift.get_object("durable", name)
    assert err.value.http_status == 404


def test_an_unmounted_primary_is_stood_in_for_by_a_handoff_until_it_returns(
        dcloud: RunningCloud, swift: swiftclient.client.Connection) -> None:
    name = f"standin-{uuid.uuid4().hex}"
    placed = Placed(dcloud, swift, "durable", name)
    _, md5 = put(swift, name)
    assert placed.data_files(placed.handoff) == []
    missing = placed.primaries[0]
    device_dir = placed.root / missing.device
    away = device_dir.with_name(missing.device + ".away")
    device_dir.rename(away)
    try:
        # the replicators of the other primaries push the partition to the handoff (507 from the primary)
        wait_until(lambda: len(placed.data_files(placed.handoff)) == 1, timeout=DEADLINE, interval=0.2,
                   what="a replication pass to put the third copy on the handoff")
        assert get_md5(swift, name) == md5
    finally:
        away.rename(device_dir)
    placed.remove(placed.hash_dir(missing))  # it comes back without the object: only a push restores it

    def home() -> bool:
        return on_all_primaries(placed) and not placed.data_files(placed.handoff)

    converge(swift, name, md5, home, "the handoff's copy to go home and leave the handoff")
