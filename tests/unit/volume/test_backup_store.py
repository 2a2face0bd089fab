"""The posix backup store (onestack/volume/agent/backup_store.py) over a real raw file backend:
full and incremental backups restore byte for byte, store only what changed, and survive the
deletion of what they do not depend on."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import random
import uuid
from pathlib import Path

import pytest

from onestack.volume.agent.backup_chunks import default_hash, digest
from onestack.volume.agent.backup_store import BackupStore
from onestack.volume.agent.driver import RAW_PARTS_MAX, GiB, VolumeDriverError, data_ranges
from onestack.volume.agent.file import FileDriver, qemu_img
from onestack.volume.rpcapi import BackupSpec, SnapshotSpec, VolumeSpec

CHUNK = 1024 * 1024


@pytest.fixture
def driver(tmp_path: Path) -> FileDriver:
    return FileDriver(tmp_path / "be", "be", fmt="raw", host="h")


@pytest.fixture
def store(tmp_path: Path) -> BackupStore:
    return BackupStore(tmp_path / "backups", chunk_size=CHUNK)


def vol(size: int = 1) -> VolumeSpec:
    return VolumeSpec(id=str(uuid.uuid4()), size=size, host="h@be#be", status="available", provider_location=None,
                      volume_type_id="t", extra_specs={}, multiattach=False)


def bk(volume: VolumeSpec, parent: BackupSpec | None = None, container: str | None = None) -> BackupSpec:
    return BackupSpec(id=str(uuid.uuid4()), volume_id=volume["id"], snapshot_id=None, status="creating",
                      size=volume["size"], container=container, parent_id=parent["id"] if parent else None,
                      is_incremental=parent is not None)


def put(driver: FileDriver, volume: VolumeSpec, pieces: dict[int, bytes]) -> None:
    path = driver.volume_path(volume["id"])
    with open(path, "r+b") as f:
        for offset, data in pieces.items():
            f.seek(offset)
            f.write(data)


def content(driver: FileDriver, volume: VolumeSpec, offsets: list[int], length: int = 64) -> list[bytes]:
    with driver.read_raw(volume) as f:
        out = []
        for offset in offsets:
            f.seek(offset)
            out.append(f.read(length))
    return out


OFFSETS = [0, 5 * CHUNK + 3, 100 * CHUNK, GiB - 64]


def test_full_then_incremental_restore_byte_for_byte_and_store_only_changes(
        driver: FileDriver, store: BackupStore) -> None:
    v = vol()
    driver.create_volume(v)
    put(driver, v, {0: b"a" * 64, 5 * CHUNK + 3: b"b" * 64, GiB - 64: b"c" * 64})
    first = content(driver, v, OFFSETS)
    full = bk(v)
    update = store.backup(full, driver, v)
    assert update == {"object_count": 3, "container": "volumebackups"}  # zero chunks are not stored

    put(driver, v, {100 * CHUNK: b"d" * 64})
    second = content(driver, v, OFFSETS)
    incr = bk(v, parent=full)
    assert store.backup(incr, driver, v)["object_count"] == 1

    for backup, expected in ((full, first), (incr, second)):
        target = vol()
        driver.create_volume(target)
        put(driver, target, {GiB // 2: b"junk"})  # restore replaces everything
        store.restore(backup, driver, target)
        assert content(driver, target, [*OFFSETS, GiB // 2], 64) == [*expected, bytes(64)]


def test_backing_up_again_is_idempotent(driver: FileDriver, store: BackupStore) -> None:
    v = vol()
    driver.create_volume(v)
    put(driver, v, {0: b"x" * 10})
    b = bk(v, container="mine/../odd")
    first = store.backup(b, driver, v)
    assert first["container"] == "mine_.._odd"  # one safe directory name
    put(driver, v, {CHUNK * 3: b"y"})
    assert store.backup(b, driver, v) == first  # the one already made stands
    assert (store.root / "mine_.._odd" / b["id"] / "manifest.json").exists()


def test_deleting_an_incremental_keeps_its_parent_whole(driver: FileDriver, store: BackupStore) -> None:
    v = vol()
    driver.create_volume(v)
    put(driver, v, {0: b"p" * 64})
    full = bk(v)
    store.backup(full, driver, v)
    put(driver, v, {CHUNK: b"q" * 64})
    incr = bk(v, parent=full)
    store.backup(incr, driver, v)
    store.delete(incr)
    store.delete(incr)  # gone already: fine
    target = vol()
    driver.create_volume(target)
    store.restore(full, driver, target)
    assert content(driver, target, [0, CHUNK]) == [b"p" * 64, bytes(64)]
    with pytest.raises(VolumeDriverError):
        store.restore(incr, driver, target)


def test_a_corrupt_chunk_or_a_too_small_volume_fails_the_restore(driver: FileDriver, store: BackupStore) -> None:
    v = vol(size=2)
    driver.create_volume(v)
    put(driver, v, {0: b"z" * 64})
    b = bk(v)
    store.backup(b, driver, v)
    small = vol(size=1)
    driver.create_volume(small)
    with pytest.raises(VolumeDriverError, match="does not fit"):
        store.restore(b, driver, small)
    chunk = store.root / "volumebackups" / b["id"] / "chunk-000000"
    chunk.write_bytes(b"tampered")
    target = vol(size=2)
    driver.create_volume(target)
    with pytest.raises(VolumeDriverError, match="corrupt"):
        store.restore(b, driver, target)
    assert [p for p in os.listdir(store.root) if p.startswith(".restore-")] == []


def test_a_backup_of_a_snapshot_holds_the_snapshot_data(driver: FileDriver, store: BackupStore) -> None:
    v = vol()
    driver.create_volume(v)
    put(driver, v, {0: b"s" * 64})
    snap = SnapshotSpec(id=str(uuid.uuid4()), volume_id=v["id"], volume_size=1, status="available",
                        provider_location=None)
    driver.create_snapshot(snap, v)
    put(driver, v, {0: b"t" * 64})
    b = bk(v)
    b["snapshot_id"] = snap["id"]
    store.backup(b, driver, v)
    target = vol()
    driver.create_volume(target)
    store.restore(b, driver, target)
    assert content(driver, target, [0]) == [b"s" * 64]


def test_holes_and_written_zeroes_are_not_stored_and_the_last_chunk_may_be_short(tmp_path: Path) -> None:
    # A raw file whose size is not a multiple of the chunk: data, written zeroes, a hole, data.
    source = tmp_path / "disk"
    with open(source, "wb") as f:
        f.write(b"h" * CHUNK)
        f.write(bytes(2 * CHUNK))  # zeroes written out: read, found zero, not stored
        f.seek(10 * CHUNK)  # a hole: never read
        f.write(b"t" * 1000)
    store = BackupStore(tmp_path / "backups", chunk_size=CHUNK)
    size = source.stat().st_size
    with open(source, "rb") as f:
        ranges = data_ranges(f.fileno(), size)
        entries = store._store_chunks(f, size, [(a, b, a) for a, b in ranges], tmp_path, [], "b-1", "sha256")
    assert ranges[0][0] == 0 and ranges[-1][1] == 10 * CHUNK + 1000
    assert len(ranges) >= 2 or ranges == [(0, size)]  # the hole found (else no SEEK_DATA: all is data)
    assert size == 10 * CHUNK + 1000 and len(entries) == 11
    stored = [e["index"] for e in entries if e["stored_in"] == "b-1"]
    assert stored == [0, 10]
    assert entries[10]["length"] == 1000
    assert all(e == {"sha256": None, "length": CHUNK, "stored_in": None} for e in entries[1:10])
    assert sorted(p.name for p in tmp_path.glob("chunk-*")) == ["chunk-000000", "chunk-000010"]


def test_data_ranges_of_an_empty_or_all_hole_file(tmp_path: Path) -> None:
    empty, hole = tmp_path / "empty", tmp_path / "hole"
    empty.write_bytes(b"")
    with open(hole, "wb") as f:
        f.truncate(4 * CHUNK)
    with open(empty, "rb") as f:
        assert data_ranges(f.fileno(), 0) == []
    with open(hole, "rb") as f:
        assert data_ranges(f.fileno(), 4 * CHUNK) in ([], [(0, 4 * CHUNK)])


@pytest.mark.skipif(qemu_img() is None, reason="qemu-img is not installed")
def test_a_qcow2_backend_backs_up_and_restores_byte_for_byte(tmp_path: Path) -> None:
    driver = FileDriver(tmp_path / "q", "q", fmt="qcow2", host="h")
    store = BackupStore(tmp_path / "backups", chunk_size=CHUNK)
    v = vol()
    driver.create_volume(v)
    src = tmp_path / "src"
    with open(src, "wb") as f:
        f.truncate(GiB)
        for offset in OFFSETS:
            f.seek(offset)
            f.write(b"Q" * 64)
    driver.write_raw_from(v, src, "raw")
    b = bk(v)
    assert store.backup(b, driver, v)["object_count"] == len(OFFSETS)
    target = vol()
    driver.create_volume(target)
    store.restore(b, driver, target)
    assert content(driver, target, OFFSETS) == [b"Q" * 64] * len(OFFSETS)


def test_leftovers_of_interrupted_work_go_unless_their_work_runs(store: BackupStore) -> None:
    running, dead, vol = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    container = store.root / "volumebackups"
    for name in (f".tmp-{running}-aaaa1111", f".tmp-{dead}-bbbb2222", f".deleting-{dead}", dead):
        (container / name).mkdir(parents=True)
    (store.root / f".restore-{vol}-cccc3333").write_bytes(b"x")
    removed = store.remove_leftovers({running})
    assert sorted(removed) == sorted([f"volumebackups/.tmp-{dead}-bbbb2222", f"volumebackups/.deleting-{dead}",
                                      f".restore-{vol}-cccc3333"])
    assert sorted(os.listdir(container)) == sorted([f".tmp-{running}-aaaa1111", dead])
    assert store.remove_leftovers(set()) == [f"volumebackups/.tmp-{running}-aaaa1111"]


def old_format_backup(store: BackupStore, volume: VolumeSpec, data: bytes) -> BackupSpec:
    """A backup as the store wrote them before manifests named their hash: sha256 digests under
    ``sha256``, no ``hash`` field; one stored chunk, then a zero chunk."""
    b = bk(volume)
    where = store.root / "volumebackups" / b["id"]
    where.mkdir(parents=True)
    piece = data.ljust(CHUNK, b"\0")
    (where / "chunk-000000").write_bytes(piece)
    (where / "manifest.json").write_text(json.dumps({
        "backup_id": b["id"], "volume_id": volume["id"], "parent_id": None, "size_bytes": 2 * CHUNK,
        "chunk_size": CHUNK, "object_count": 1, "chunks": [
            {"sha256": hashlib.sha256(piece).hexdigest(), "length": CHUNK, "stored_in": b["id"], "index": 0},
            {"sha256": None, "length": CHUNK, "stored_in": None}]}))
    return b


def test_a_backup_in_the_previous_format_restores_and_its_incrementals_keep_sha256(
        driver: FileDriver, store: BackupStore) -> None:
    v = vol()
    driver.create_volume(v)
    put(driver, v, {0: b"o" * 64})
    old = old_format_backup(store, v, b"o" * 64)
    target = vol()
    driver.create_volume(target)
    store.restore(old, driver, target)
    assert content(driver, target, [0, CHUNK]) == [b"o" * 64, bytes(64)]

    put(driver, v, {CHUNK: b"n" * 64})  # chunk 0 unchanged, chunk 1 new
    incr = bk(v, parent=old)
    assert store.backup(incr, driver, v)["object_count"] == 1
    manifest = store.manifest(incr["id"])
    assert manifest["hash"] == "sha256"  # compared with the parent's digests, so hashed as they are
    assert manifest["chunks"][0]["stored_in"] == old["id"]
    assert manifest["chunks"][1]["sha256"] == hashlib.sha256(b"n" * 64 + bytes(CHUNK - 64)).hexdigest()
    target2 = vol()
    driver.create_volume(target2)
    store.restore(incr, driver, target2)
    assert content(driver, target2, [0, CHUNK, GiB - 64]) == [b"o" * 64, b"n" * 64, bytes(64)]


def test_a_new_chain_is_hashed_with_the_default_and_checked_with_it(driver: FileDriver, store: BackupStore) -> None:
    v = vol()
    driver.create_volume(v)
    put(driver, v, {0: b"d" * 64, 3 * CHUNK: b"e" * 64})
    full = bk(v)
    store.backup(full, driver, v)
    manifest = store.manifest(full["id"])
    algorithm = default_hash()
    assert manifest["hash"] == algorithm == ("blake3" if importlib.util.find_spec("blake3") else "sha256")
    stored = [e for e in manifest["chunks"] if e["stored_in"] == full["id"]]
    assert [e["index"] for e in stored] == [0, 3]
    for e in stored:
        chunk = (store.root / "volumebackups" / full["id"] / f"chunk-{e['index']:06d}").read_bytes()
        assert e[algorithm] == digest(algorithm, chunk) and len(chunk) == CHUNK
    put(driver, v, {3 * CHUNK: b"f" * 64})
    incr = bk(v, parent=full)
    assert store.backup(incr, driver, v)["object_count"] == 1
    assert store.manifest(incr["id"])["hash"] == algorithm


def test_a_manifest_hashed_with_an_unknown_algorithm_or_a_short_chunk_fails_the_restore_cleanly(
        driver: FileDriver, store: BackupStore) -> None:
    v = vol()
    driver.create_volume(v)
    put(driver, v, {0: b"u" * 64})
    b = bk(v)
    store.backup(b, driver, v)
    where = store.root / "volumebackups" / b["id"]
    manifest = json.loads((where / "manifest.json").read_text())
    target = vol()
    driver.create_volume(target)
    (where / "manifest.json").write_text(json.dumps({**manifest, "hash": "md7"}))
    with pytest.raises(VolumeDriverError, match="md7"):
        store.restore(b, driver, target)
    (where / "manifest.json").write_text(json.dumps(manifest))
    chunk = where / "chunk-000000"
    chunk.write_bytes(chunk.read_bytes()[:-1])  # cut short (a crash before the data reached the disk)
    with pytest.raises(VolumeDriverError, match="corrupt"):
        store.restore(b, driver, target)
    assert [p for p in os.listdir(store.root) if p.startswith(".restore-")] == []


def test_digests_cover_whole_chunks_whatever_their_zero_pieces(tmp_path: Path, store: BackupStore) -> None:
    # Chunks are read, hashed and written in pieces: zero pieces before, between and after data
    # (written out or holes) must hash as the chunk's bytes do and come back as zeroes.
    source = tmp_path / "disk"
    rng = random.Random(14)
    with open(source, "wb") as f:
        f.truncate(4 * CHUNK)
        for offset, length in ((CHUNK - 5, 10), (CHUNK + 300_000, 70_000), (2 * CHUNK + 700_000, 1),
                               (3 * CHUNK - 1, 1)):
            f.seek(offset)
            f.write(rng.randbytes(length))
        f.seek(3 * CHUNK)
        f.write(bytes(CHUNK // 2))  # written zeroes: a data run the filesystem cannot skip
    raw = source.read_bytes()
    with open(source, "rb") as f:
        runs = [(a, b, a) for a, b in data_ranges(f.fileno(), len(raw))]
        entries = store._store_chunks(f, len(raw), runs, tmp_path, [], "b-1", default_hash())
    algorithm = default_hash()
    for index, entry in enumerate(entries):
        piece = raw[index * CHUNK:(index + 1) * CHUNK]
        if piece == bytes(CHUNK):
            assert entry == {algorithm: None, "length": CHUNK, "stored_in": None}
        else:
            assert entry[algorithm] == digest(algorithm, piece)
            assert (tmp_path / f"chunk-{index:06d}").read_bytes() == piece
    assert [e["stored_in"] for e in entries] == ["b-1", "b-1", "b-1", None]


@pytest.mark.parametrize("fmt", ["raw", "qcow2"])
@pytest.mark.parametrize("stored", [3, RAW_PARTS_MAX])  # few parts: one qemu-img convert of them; many: rebuilt first
def test_a_restore_from_chunk_files_or_a_rebuilt_copy_is_byte_for_byte(tmp_path: Path, fmt: str, stored: int) -> None:
    if fmt == "qcow2" and not qemu_img():
        pytest.skip("qemu-img is not installed")
    chunk = 64 * 1024
    driver = FileDriver(tmp_path / fmt, fmt, fmt=fmt, host="h")
    store = BackupStore(tmp_path / "backups", chunk_size=chunk)
    v = vol()
    driver.create_volume(v)
    rng = random.Random(stored)
    # Every other chunk holds data (a zero run between each two), the last one cut short by the end.
    written = {2 * i * chunk + 1: rng.randbytes(chunk - 1) for i in range(stored)}
    written[GiB - 100] = rng.randbytes(100)
    src = tmp_path / "src"
    with open(src, "wb") as f:
        f.truncate(GiB)
        for offset, data in written.items():
            f.seek(offset)
            f.write(data)
    driver.write_raw_from(v, src, "raw")
    b = bk(v)
    assert store.backup(b, driver, v)["object_count"] == stored + 1
    parts = store.verified_parts(b["id"])
    assert (parts is None) == (stored >= RAW_PARTS_MAX)
    if parts is not None:
        assert sum(n for _, n in parts) == GiB and len(parts) == 2 * stored + 1
    target = vol()
    driver.create_volume(target)
    store.restore(b, driver, target)
    with driver.read_raw(target) as f:
        for offset, data in written.items():
            f.seek(offset)
            assert f.read(len(data)) == data
        f.seek(chunk)
        assert f.read(chunk) == bytes(chunk)  # a zero run stays zeroes
    assert [p for p in os.listdir(store.root) if p.startswith(".restore-")] == []
