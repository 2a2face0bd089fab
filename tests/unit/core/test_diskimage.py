"""The qcow2 files onestack writes itself (core/diskimage.py), checked by qemu's own tools: a
blank qcow2 of any size is what ``qemu-img create`` makes (it passes ``qemu-img check``, reads
as zeroes, takes writes and grows), and the virtual size read from a header is qemu's."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from onestack.core.diskimage import blank_qcow2, qcow2_virtual_size

GiB = 1024 ** 3
needs_qemu = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img is not installed")


def info(path: Path) -> dict[str, object]:
    out = subprocess.run(["qemu-img", "info", "--output=json", "-f", "qcow2", str(path)], check=True,
                         capture_output=True, text=True).stdout
    found: dict[str, object] = json.loads(out)
    return found


@needs_qemu
@pytest.mark.parametrize("size", [512, 3 * 1024 * 1024 + 512, GiB, 17 * GiB, 5000 * GiB])
def test_a_blank_qcow2_is_a_valid_empty_disk_of_its_size(tmp_path: Path, size: int) -> None:
    disk = tmp_path / "blank.qcow2"
    disk.write_bytes(blank_qcow2(size))
    subprocess.run(["qemu-img", "check", "-f", "qcow2", str(disk)], check=True, capture_output=True)
    got = info(disk)
    assert got["format"] == "qcow2" and got["virtual-size"] == size
    assert qcow2_virtual_size(disk) == size
    made = tmp_path / "made.qcow2"  # qemu-img's own: same size on disk (header, tables, no data)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(made), str(size)], check=True)
    assert disk.stat().st_size == made.stat().st_size


@needs_qemu
def test_a_blank_qcow2_reads_as_zeroes_takes_writes_and_grows(tmp_path: Path) -> None:
    disk = tmp_path / "blank.qcow2"
    disk.write_bytes(blank_qcow2(GiB))
    raw = tmp_path / "raw"
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(disk), str(raw)], check=True)
    assert raw.stat().st_size == GiB
    with open(raw, "rb") as f:
        assert f.read(4096) == bytes(4096)
        f.seek(GiB - 4096)
        assert f.read(4096) == bytes(4096)
    if shutil.which("qemu-io"):
        subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0xab 700M 64k", str(disk)], check=True,
                       capture_output=True)
        subprocess.run(["qemu-img", "resize", "-q", "-f", "qcow2", str(disk), "2G"], check=True)
        subprocess.run(["qemu-img", "check", "-f", "qcow2", str(disk)], check=True, capture_output=True)
        done = subprocess.run(["qemu-io", "-f", "qcow2", "-c", "read -P 0xab 700M 64k", "-c", "read -P 0 1G 1M",
                               str(disk)], check=True, capture_output=True, text=True)
        assert "Pattern verification failed" not in done.stdout
        assert qcow2_virtual_size(disk) == 2 * GiB


def test_sizes_qcow2_cannot_hold_and_files_that_are_not_qcow2_are_refused(tmp_path: Path) -> None:
    for bad in (0, -512, 1000):
        with pytest.raises(ValueError):
            blank_qcow2(bad)
    other = tmp_path / "raw"
    other.write_bytes(bytes(4096))
    with pytest.raises(ValueError, match="not a qcow2"):
        qcow2_virtual_size(other)
