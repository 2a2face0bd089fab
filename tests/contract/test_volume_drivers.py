"""The contract every VolumeDriver passes (onestack/volume/agent/driver.py docstrings).

One suite, parametrised over every driver: the file driver making qcow2 disks (where qemu-img is
installed) and sparse raw files, thin and thick. Data is checked byte for byte: a pattern is
written, snapshotted, cloned, grown and reverted, and read back through ``read_raw``.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pytest

from onestack.volume.agent.driver import (
    DataRun,
    ExtendAttached,
    GiB,
    ManageExisting,
    ReadsDataRuns,
    VolumeDriver,
    VolumeDriverError,
)
from onestack.volume.agent.file import FileDriver, parse_backends, qemu_img
from onestack.volume.rpcapi import SnapshotSpec, VolumeSpec

HAS_QEMU = qemu_img() is not None


@dataclass
class Subject:
    driver: VolumeDriver
    reopen: Callable[[], VolumeDriver]  # a new driver on the same backend (the agent restarted)
    directory: Path
    fmt: str
    thick: bool


def _file(fmt: str, thick: bool = False) -> Callable[[Path], Subject]:
    def make(tmp: Path) -> Subject:
        directory = tmp / "volumes" / "host-1" / "be"

        def build() -> FileDriver:
            return FileDriver(directory, "be", fmt=fmt, thick=thick, host="host-1")
        return Subject(build(), build, directory, fmt, thick)
    return make


FACTORIES: dict[str, Callable[[Path], Subject]] = {
    "file-raw": _file("raw"), "file-raw-thick": _file("raw", thick=True),
    "file-qcow2": _file("qcow2"), "file-qcow2-thick": _file("qcow2", thick=True),
}


# Preallocating whole GiBs is slow: thick backends run only the tests where thick differs.
THICK_TESTS = {"test_thick_backends_preallocate_and_thin_ones_do_not", "test_pools_report_real_capacity",
               "test_snapshot_then_revert_brings_the_data_back"}


@pytest.fixture(params=sorted(FACTORIES))
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
    if "qcow2" in request.param and not HAS_QEMU:
        pytest.skip("qemu-img is not installed")
    if request.param.endswith("-thick") and request.node.originalname not in THICK_TESTS:
        pytest.skip("thin and thick do not differ here")
    return FACTORIES[request.param](tmp_path)


def vol(size: int = 1, backend: str = "be") -> VolumeSpec:
    return VolumeSpec(id=str(uuid.uuid4()), size=size, host=f"host-1@{backend}#{backend}", status="creating",
                      provider_location=None, volume_type_id="t-1", extra_specs={}, multiattach=False)


def snap(volume: VolumeSpec) -> SnapshotSpec:
    return SnapshotSpec(id=str(uuid.uuid4()), volume_id=volume["id"], volume_size=volume["size"],
                        status="creating", provider_location=None)


# Pieces of data at offsets spread over the first GiB (the first and last bytes included).
def pattern(seed: bytes) -> dict[int, bytes]:
    return {0: seed * 512, 300 * 1024 * 1024 + 7: seed * 100, GiB - len(seed) * 64: seed * 64}


def write(subject: Subject, volume: VolumeSpec, pieces: dict[int, bytes], tmp: Path) -> None:
    """Put ``pieces`` into the volume through ``write_raw_from`` (a sparse raw source)."""
    src = tmp / f"src-{uuid.uuid4().hex[:6]}"
    with open(src, "wb") as f:
        f.truncate(volume["size"] * GiB)
        for offset, data in pieces.items():
            f.seek(offset)
            f.write(data)
    try:
        subject.driver.write_raw_from(volume, src, "raw")
    finally:
        src.unlink()


def read(subject: Subject, volume: VolumeSpec, offsets: dict[int, int]) -> dict[int, bytes]:
    with subject.driver.read_raw(volume) as f:
        out = {}
        for offset, length in offsets.items():
            f.seek(offset)
            out[offset] = f.read(length)
        f.seek(0, os.SEEK_END)
        assert f.tell() == volume["size"] * GiB
    return out


def holds(subject: Subject, volume: VolumeSpec, pieces: dict[int, bytes]) -> bool:
    return read(subject, volume, {o: len(d) for o, d in pieces.items()}) == pieces


def size_of(subject: Subject, volume: VolumeSpec) -> int:
    with subject.driver.read_raw(volume) as f:
        return f.seek(0, os.SEEK_END)


def test_a_blank_volume_is_zeroes_of_its_size_and_observed(subject: Subject) -> None:
    v = vol(size=1)
    update = subject.driver.create_volume(v)
    assert update["provider_location"]
    assert read(subject, v, {0: 4096, GiB - 4096: 4096}) == {0: bytes(4096), GiB - 4096: bytes(4096)}
    assert v["id"] in subject.driver.observed().volumes
    assert v["id"] in subject.reopen().observed().volumes  # disks outlive the driver


def test_creating_again_keeps_the_data(subject: Subject, tmp_path: Path) -> None:
    v = vol()
    subject.driver.create_volume(v)
    data = pattern(b"A1")
    write(subject, v, data, tmp_path)
    subject.driver.create_volume(v)
    assert holds(subject, v, data)


def test_snapshot_then_revert_brings_the_data_back(subject: Subject, tmp_path: Path) -> None:
    v = vol()
    subject.driver.create_volume(v)
    before, after = pattern(b"be"), pattern(b"AF")
    write(subject, v, before, tmp_path)
    s = snap(v)
    assert subject.driver.create_snapshot(s, v)["provider_location"]
    assert s["id"] in subject.driver.observed().snapshots
    write(subject, v, after, tmp_path)
    assert holds(subject, v, after)
    with subject.driver.read_raw(v, s["id"]) as f:  # the snapshot still reads as it was taken
        assert {o: (f.seek(o), f.read(len(d)))[1] for o, d in before.items()} == before
    subject.driver.revert_to_snapshot(v, s)
    assert holds(subject, v, before)
    assert size_of(subject, v) == GiB


def test_revert_keeps_a_grown_volume_its_size(subject: Subject, tmp_path: Path) -> None:
    v = vol()
    subject.driver.create_volume(v)
    data = pattern(b"r1")
    write(subject, v, data, tmp_path)
    s = snap(v)
    subject.driver.create_snapshot(s, v)
    subject.driver.extend_volume(v, 2)
    grown = VolumeSpec(**{**v, "size": 2})
    subject.driver.revert_to_snapshot(grown, s)
    assert holds(subject, grown, data)


def test_clone_and_volume_from_snapshot_copy_the_data_grown_and_independent(subject: Subject, tmp_path: Path) -> None:
    src = vol()
    subject.driver.create_volume(src)
    data = pattern(b"CL")
    write(subject, src, data, tmp_path)
    s = snap(src)
    subject.driver.create_snapshot(s, src)
    clone, from_snap = vol(size=2), vol(size=1)
    subject.driver.create_cloned_volume(clone, src)
    subject.driver.create_volume_from_snapshot(from_snap, s)
    assert size_of(subject, clone) == 2 * GiB
    assert holds(subject, clone, data) and holds(subject, from_snap, data)
    assert read(subject, clone, {GiB + 5: 10}) == {GiB + 5: bytes(10)}
    # Independent: the source, then the snapshot, go; the copies keep everything.
    write(subject, src, pattern(b"zz"), tmp_path)
    subject.driver.delete_volume(src)
    subject.driver.delete_snapshot(s)
    assert holds(subject, clone, data) and holds(subject, from_snap, data)


def test_extend_grows_keeping_the_data_and_never_shrinks(subject: Subject, tmp_path: Path) -> None:
    v = vol()
    subject.driver.create_volume(v)
    data = pattern(b"EX")
    write(subject, v, data, tmp_path)
    subject.driver.extend_volume(v, 3)
    grown = VolumeSpec(**{**v, "size": 3})
    assert size_of(subject, grown) == 3 * GiB
    assert holds(subject, grown, data)
    subject.driver.extend_volume(v, 3)  # again: nothing changes
    subject.driver.extend_volume(v, 1)  # smaller: nothing changes
    assert size_of(subject, grown) == 3 * GiB
    assert isinstance(subject.driver, ExtendAttached)
    with pytest.raises(VolumeDriverError):
        subject.driver.extend_volume(vol(), 2)


def test_deletes_are_idempotent(subject: Subject) -> None:
    v = vol()
    subject.driver.create_volume(v)
    s = snap(v)
    subject.driver.create_snapshot(s, v)
    for _ in range(2):
        subject.driver.delete_snapshot(s)
        subject.driver.delete_volume(v)
    seen = subject.driver.observed()
    assert v["id"] not in seen.volumes and s["id"] not in seen.snapshots
    assert sorted(os.listdir(subject.directory)) == []


def test_source_data_bigger_than_the_volume_is_refused_and_changes_nothing(subject: Subject, tmp_path: Path) -> None:
    v = vol(size=1)
    subject.driver.create_volume(v)
    data = pattern(b"KP")
    write(subject, v, data, tmp_path)
    big = tmp_path / "big"
    with open(big, "wb") as f:
        f.truncate(2 * GiB)
    with pytest.raises(VolumeDriverError, match="doesn't fit"):
        subject.driver.write_raw_from(v, big, "raw")
    assert holds(subject, v, data)
    assert subject.driver.remove_leftovers(set()) == []  # its temporary went with the failure


def test_a_copy_from_a_missing_source_fails_and_leaves_nothing(subject: Subject) -> None:
    ghost = vol()
    target = vol()
    with pytest.raises(VolumeDriverError):
        subject.driver.create_cloned_volume(target, ghost)
    with pytest.raises(VolumeDriverError):
        subject.driver.create_volume_from_snapshot(target, snap(ghost))
    assert subject.driver.observed().volumes == {}
    assert sorted(os.listdir(subject.directory)) == []


def test_leftovers_of_interrupted_work_are_removed_unless_busy(subject: Subject) -> None:
    # What a crash mid-create leaves: a temporary, never a file under the final name.
    (subject.directory / ".tmp-busy-id-1234abcd").write_bytes(b"x")
    (subject.directory / ".tmp-dead-id-5678abcd").write_bytes(b"x")
    assert subject.driver.observed().volumes == {}
    assert subject.reopen().remove_leftovers({"busy-id"}) == [".tmp-dead-id-5678abcd"]
    assert sorted(os.listdir(subject.directory)) == [".tmp-busy-id-1234abcd"]


def test_thick_backends_preallocate_and_thin_ones_do_not(subject: Subject, tmp_path: Path) -> None:
    v = vol(size=1)
    subject.driver.create_volume(v)
    path = subject.directory / f"volume-{v['id']}"
    for step in ("blank", "written"):
        used = path.stat().st_blocks * 512
        if subject.thick:
            assert used >= GiB, step
        else:
            assert used < 64 * 1024 * 1024, step
        write(subject, v, pattern(b"th"), tmp_path)  # new data replaces the file: provisioned alike


def test_pools_report_real_capacity(subject: Subject) -> None:
    (pool,) = subject.driver.pools(7)
    assert pool["name"] == "host-1@be#be"
    st = os.statvfs(subject.directory)
    assert pool["total_capacity_gb"] == pytest.approx(st.f_blocks * st.f_frsize / GiB, abs=0.02)
    assert 0 <= pool["free_capacity_gb"] <= pool["total_capacity_gb"]
    assert pool["allocated_capacity_gb"] == 7.0 and pool["provisioned_capacity_gb"] == 7.0
    assert pool["thin_provisioning_support"] is (not subject.thick)
    assert pool["thick_provisioning_support"] is subject.thick
    assert pool["capabilities"]["volume_backend_name"] == "be"


def test_a_configured_capacity_is_reported_minus_what_the_disks_use(tmp_path: Path) -> None:
    driver = FileDriver(tmp_path / "be", "be", fmt="raw", thick=True, capacity_gb=10, host="h")
    driver.create_volume(vol(size=1))
    (pool,) = driver.pools(1)
    assert pool["total_capacity_gb"] == 10.0
    assert pool["free_capacity_gb"] == pytest.approx(9.0, abs=0.01)


def test_connection_info_points_at_the_disk(subject: Subject) -> None:
    v = vol()
    subject.driver.create_volume(v)
    info = subject.driver.initialize_connection(v, {"host": "compute-1"})
    assert info["driver_volume_type"] == "file"
    assert info["data"]["device_path"] == str(subject.directory / f"volume-{v['id']}")
    assert info["data"]["format"] == subject.fmt and info["data"]["volume_id"] == v["id"]
    assert info["data"]["access_mode"] == "rw"
    subject.driver.terminate_connection(v, {"host": "compute-1"})
    with pytest.raises(VolumeDriverError):
        subject.driver.initialize_connection(vol(), {"host": "compute-1"})


def read_runs(f: BinaryIO, runs: list[DataRun], offset: int, length: int) -> bytes:
    """Bytes [offset, offset+length) of a volume as its data runs say (zeroes between runs)."""
    out = bytearray(length)
    for a, b, at in runs:
        lo, hi = max(a, offset), min(b, offset + length)
        if lo < hi:
            out[lo - offset:hi - offset] = os.pread(f.fileno(), hi - lo, at + lo - a)
    return bytes(out)


def test_data_runs_hold_the_volume_s_data_and_skip_what_was_never_written(subject: Subject, tmp_path: Path) -> None:
    v = vol()
    subject.driver.create_volume(v)
    data = pattern(b"DR")
    write(subject, v, data, tmp_path)
    s = snap(v)
    subject.driver.create_snapshot(s, v)
    write(subject, v, pattern(b"NW"), tmp_path)
    assert isinstance(subject.driver, ReadsDataRuns)
    for snapshot_id, expected in ((None, pattern(b"NW")), (s["id"], data)):
        with subject.driver.read_data_runs(v, snapshot_id) as (f, size, runs):
            assert size == GiB
            assert runs == sorted(runs) and all(a < b for a, b, _ in runs)
            for offset, piece in expected.items():
                assert read_runs(f, runs, offset, len(piece)) == piece
            assert read_runs(f, runs, GiB // 2, 4096) == bytes(4096)
            assert sum(b - a for a, b, _ in runs) < 64 * 1024 * 1024  # the untouched GiB is not data
    with pytest.raises(VolumeDriverError), subject.driver.read_data_runs(vol()):
        pass


@pytest.mark.skipif(not HAS_QEMU, reason="qemu-img is not installed")
def test_a_qcow2_that_cannot_be_read_in_place_is_read_through_a_raw_copy(tmp_path: Path) -> None:
    driver = FileDriver(tmp_path / "be", "be", fmt="qcow2", host="host-1")
    v = vol()
    src = tmp_path / "src"
    with open(src, "wb") as f:
        f.truncate(GiB)
        f.write(b"compressed?" * 1000)
    driver.create_volume(v)
    path = driver.volume_path(v["id"])
    subprocess.run(["qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", str(src), str(path)], check=True)
    with driver.read_data_runs(v) as (f, size, runs):
        assert size == GiB and f.name != str(path)  # a raw copy, since compressed clusters have no offset
        assert read_runs(f, runs, 0, 11000) == b"compressed?" * 1000


def test_backends_parse_with_their_provisioning() -> None:
    assert parse_backends("a, b:thick ,c:thin") == [("a", False), ("b", True), ("c", False)]
    with pytest.raises(ValueError):
        parse_backends("a:fat")


def test_an_unmanaged_disk_is_listed_and_adopted_under_a_new_id_with_its_data(subject: Subject, tmp_path: Path) -> None:
    driver = subject.driver
    if not isinstance(driver, ManageExisting):
        pytest.skip("the driver cannot manage existing disks")
    old = vol(size=2)
    driver.create_volume(old)
    pieces = pattern(b"adopt")
    write(subject, old, pieces, tmp_path)
    taken = snap(old)
    driver.create_snapshot(taken, old)
    ref = {"source-name": f"volume-{old['id']}"}
    # Unmanaged: the row went, the disk stays, listed with its size.
    listed = driver.list_manageable("volumes")
    assert {"reference": ref, "size": 2} in listed
    assert {"reference": {"source-name": f"snapshot-{taken['id']}"}, "size": 2} in driver.list_manageable("snapshots")
    new = vol(size=0)
    assert driver.manage_existing_get_size(new, ref) == 2
    update = driver.manage_existing(new, ref)
    assert update["size"] == 2
    new["size"] = 2
    assert holds(subject, new, pieces)
    assert {"reference": ref, "size": 2} not in driver.list_manageable("volumes")
    assert driver.manage_existing(new, ref)["size"] == 2  # again (a crash before the report): the same
    assert set(subject.reopen().observed().volumes) == {new["id"]}
    new_snap = snap(new)
    got = driver.manage_existing_snapshot(new_snap, new, {"source-name": f"snapshot-{taken['id']}"})
    assert got["size"] == 2 and set(driver.observed().snapshots) == {new_snap["id"]}
    # A reference to nothing, or outside the backend, adopts nothing.
    for bad in ({}, {"source-name": "volume-nope"}, {"source-name": "../be"}, {"source-name": ".tmp-x"}):
        with pytest.raises(VolumeDriverError):
            driver.manage_existing(vol(size=0), bad)
    assert set(driver.observed().volumes) == {new["id"]}


def test_a_disk_of_a_size_short_of_a_gib_is_rounded_up(subject: Subject) -> None:
    driver = subject.driver
    if not isinstance(driver, ManageExisting) or subject.fmt != "raw":
        pytest.skip("a raw file of any size is a raw disk")
    (subject.directory / "volume-odd").write_bytes(b"x" * 1000)
    new = vol(size=0)
    assert driver.manage_existing(new, {"source-name": "volume-odd"})["size"] == 1
    new["size"] = 1
    assert size_of(subject, new) == GiB
