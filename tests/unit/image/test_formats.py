"""Disk image inspection: detection, virtual sizes, and the features Glance refuses."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from onestack.core import diskimage
from onestack.image import builtin, formats

GIB = 1 << 30


def reader(data: bytes) -> formats.Reader:
    return lambda offset, length: data[offset:offset + length]


def check(declared: str, data: bytes) -> int | None:
    return formats.check(declared, reader(data), len(data))


def builtin_qcow2() -> bytes:
    return builtin.disk_bytes(builtin.BUILTIN_IMAGES[0])


def test_builtin_image_is_a_qcow2_of_one_gib() -> None:
    assert check("qcow2", builtin_qcow2()) == GIB


def test_builtin_boot_sector_is_bootable_and_fits() -> None:
    sector = diskimage.boot_sector("hello")
    assert len(sector) == 512 and sector[510:] == b"\x55\xaa" and b"hello" in sector


def test_qcow2_with_backing_file_is_refused() -> None:
    data = bytearray(builtin_qcow2())
    struct.pack_into(">QI", data, 8, 0x200, 10)
    data[0x200:0x20A] = b"/etc/shadow"[:10]
    with pytest.raises(formats.UnsafeImage, match="backing file"):
        check("qcow2", bytes(data))


def test_qcow2_with_external_data_file_is_refused() -> None:
    data = bytearray(builtin_qcow2())
    struct.pack_into(">Q", data, 72, formats.QCOW2_INCOMPAT_DATA_FILE)
    with pytest.raises(formats.UnsafeImage, match="data file"):
        check("qcow2", bytes(data))


def test_format_mismatch_either_way() -> None:
    with pytest.raises(formats.FormatMismatch):
        check("raw", builtin_qcow2())
    with pytest.raises(formats.FormatMismatch):
        check("qcow2", b"\0" * 4096)
    with pytest.raises(formats.FormatMismatch):
        check("vmdk", b"random bytes that are nothing in particular")


def test_raw_and_partitioned_raw_are_raw() -> None:
    assert check("raw", b"x" * 1000) == 1000
    mbr = bytearray(4096)
    mbr[446 + 4] = 0x83
    mbr[510:512] = b"\x55\xaa"
    assert check("raw", bytes(mbr)) == 4096
    mbr[446 + 4] = 0xEE
    assert formats.inspect(reader(bytes(mbr)), 4096).format == "gpt"
    assert check("raw", diskimage.boot_sector("x")) == 512


def test_unchecked_formats_and_empty_data() -> None:
    assert check("aki", builtin_qcow2()) == len(builtin_qcow2())
    assert check("qcow2", b"") == 0


def test_iso_is_detected_with_its_size() -> None:
    data = bytearray(0x8800)
    data[0x8001:0x8006] = b"CD001"
    struct.pack_into("<I", data, 0x8050, 100)
    struct.pack_into("<H", data, 0x8080, 2048)
    assert check("iso", bytes(data)) == 204800
    with pytest.raises(formats.FormatMismatch):
        check("raw", bytes(data))


def test_vmdk_descriptor_only_is_refused() -> None:
    text = b'# Disk DescriptorFile\ncreateType="vmfs"\nRW 100 VMFS "other-flat.vmdk"\n'
    with pytest.raises(formats.UnsafeImage):
        check("vmdk", text)


def test_vmdk_sparse_header_with_hostile_descriptor_is_refused() -> None:
    data = bytearray(8192)
    data[:4] = b"KDMV"
    struct.pack_into("<IIQQQQ", data, 4, 1, 3, 2048, 128, 1, 1)
    data[512:600] = b'createType="monolithicFlat"\nRW 2048 FLAT "/dev/sda" 0\n'.ljust(88, b"\0")
    with pytest.raises(formats.UnsafeImage, match="createType"):
        check("vmdk", bytes(data))
    data[512:600] = b'createType="monolithicSparse"\nRW 2048 SPARSE "x.vmdk"\n'.ljust(88, b"\0")
    assert check("vmdk", bytes(data)) == 2048 * 512


QEMU = shutil.which("qemu-img")


@pytest.mark.skipif(QEMU is None, reason="qemu-img is not installed")
@pytest.mark.parametrize(("qemu_fmt", "declared", "opts"), [
    ("qcow2", "qcow2", []), ("vmdk", "vmdk", []), ("vmdk", "vmdk", ["-o", "subformat=streamOptimized"]),
    ("vpc", "vhd", []), ("vhdx", "vhdx", []), ("vdi", "vdi", []), ("raw", "raw", []),
])
def test_images_made_by_qemu_img(tmp_path: Path, qemu_fmt: str, declared: str, opts: list[str]) -> None:
    path = tmp_path / f"disk.{qemu_fmt}"
    subprocess.run([str(QEMU), "create", "-q", "-f", qemu_fmt, *opts, str(path), "64M"], check=True)
    data = path.read_bytes()
    size = check(declared, data)
    assert size is not None and abs(size - 64 * 1024 * 1024) < 4 * 1024 * 1024  # vpc rounds to CHS geometry
    if declared != "raw":
        with pytest.raises(formats.FormatMismatch):
            check("raw", data)


@pytest.mark.skipif(QEMU is None, reason="qemu-img is not installed")
def test_qemu_backing_chain_is_refused(tmp_path: Path) -> None:
    base, top = tmp_path / "base.qcow2", tmp_path / "top.qcow2"
    subprocess.run([str(QEMU), "create", "-q", "-f", "qcow2", str(base), "16M"], check=True)
    subprocess.run([str(QEMU), "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(top)], check=True)
    with pytest.raises(formats.UnsafeImage):
        check("qcow2", top.read_bytes())
