"""Disk image inspection: what format the bytes really are, their virtual size, and safety.

Glance inspects uploaded data before it activates an image: content must match the declared
``disk_format``, and formats that can make a hypervisor open other files (a qcow2 backing
file or external data file, a VMDK whose extents live elsewhere) are refused. This module
reads only the headers it needs through ``read(offset, length)``, so it works on any store
without loading the image.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass

Reader = Callable[[int, int], bytes]  # read(offset, length) -> at most length bytes

# Formats whose content we do not check (kernel/ramdisk blobs, container-specific disks).
UNCHECKED_FORMATS = frozenset({"ami", "ari", "aki", "ploop"})
# What "raw" may legitimately contain: a plain disk, or one with an MBR/GPT partition table.
RAW_FAMILY = frozenset({"raw", "gpt", "mbr"})

QCOW2_MAGIC = b"QFI\xfb"
QCOW2_INCOMPAT_DATA_FILE = 1 << 2
QCOW2_KNOWN_INCOMPAT = 0x1F  # dirty, corrupt, data file, compression type, extended L2
VMDK_MAGIC = b"KDMV"
VMDK_SAFE_TYPES = frozenset({"monolithicSparse", "streamOptimized"})
VDI_SIGNATURE = 0xBEDA107F
VHDX_REGION_TABLE = 192 * 1024
VHDX_METADATA_REGION = uuid.UUID("8b7ca206-4790-4b9a-b8fe-575f050f886e").bytes_le
VHDX_VIRTUAL_DISK_SIZE = uuid.UUID("2fa54224-cd1b-4876-b211-5dbed83bf4b8").bytes_le


class UnsafeImage(ValueError):
    """The data is a recognised format but uses a feature we refuse (backing file, ...)."""


class FormatMismatch(ValueError):
    """The data is not the declared disk_format."""


@dataclass(frozen=True)
class Inspection:
    format: str  # qcow2, vmdk, vhd, vhdx, vdi, iso, gpt, mbr or raw
    virtual_size: int


def _u32be(b: bytes, off: int) -> int:
    return int(struct.unpack_from(">I", b, off)[0])


def _u64be(b: bytes, off: int) -> int:
    return int(struct.unpack_from(">Q", b, off)[0])


def _u16le(b: bytes, off: int) -> int:
    return int(struct.unpack_from("<H", b, off)[0])


def _u32le(b: bytes, off: int) -> int:
    return int(struct.unpack_from("<I", b, off)[0])


def _u64le(b: bytes, off: int) -> int:
    return int(struct.unpack_from("<Q", b, off)[0])


def _qcow2(head: bytes) -> Inspection:
    if len(head) < 72:
        raise UnsafeImage("qcow2 header is truncated")
    version = _u32be(head, 4)
    if version not in (2, 3):
        raise UnsafeImage(f"qcow2 version {version} is not supported")
    if _u64be(head, 8) != 0:
        raise UnsafeImage("qcow2 images with a backing file are not allowed")
    if version == 3 and len(head) >= 80:
        incompat = _u64be(head, 72)
        if incompat & QCOW2_INCOMPAT_DATA_FILE:
            raise UnsafeImage("qcow2 images with an external data file are not allowed")
        if incompat & ~QCOW2_KNOWN_INCOMPAT:
            raise UnsafeImage("qcow2 image uses unknown incompatible features")
    return Inspection("qcow2", _u64be(head, 24))


def _vmdk_descriptor(text: str) -> None:
    create_type = ""
    extents = 0
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if line.startswith("createType"):
            create_type = line.split("=", 1)[-1].strip().strip('"')
        elif line.startswith(("RW ", "RDONLY ", "NOACCESS ")):
            extents += 1
    if create_type not in VMDK_SAFE_TYPES:
        raise UnsafeImage(f"VMDK createType {create_type or '(none)'} is not allowed")
    if extents != 1:
        raise UnsafeImage("VMDK images must have exactly one extent in the same file")


def _vmdk(head: bytes, read: Reader) -> Inspection:
    if len(head) < 44:
        raise UnsafeImage("VMDK header is truncated")
    capacity = _u64le(head, 12)
    desc_offset, desc_size = _u64le(head, 28), _u64le(head, 36)
    if desc_offset and desc_size:
        length = min(desc_size * 512, 64 * 1024)
        descriptor = read(desc_offset * 512, length).split(b"\0", 1)[0]
        _vmdk_descriptor(descriptor.decode("ascii", "replace"))
    return Inspection("vmdk", capacity * 512)


def _vhdx(read: Reader) -> Inspection:
    table = read(VHDX_REGION_TABLE, 64 * 1024)
    if table[:4] != b"regi":
        raise UnsafeImage("VHDX region table is missing")
    count = min(_u32le(table, 8), 2047)
    meta_offset = None
    for i in range(count):
        entry = table[16 + 32 * i: 48 + 32 * i]
        if len(entry) == 32 and entry[:16] == VHDX_METADATA_REGION:
            meta_offset = _u64le(entry, 16)
    if meta_offset is None:
        raise UnsafeImage("VHDX metadata region is missing")
    meta = read(meta_offset, 64 * 1024)
    if meta[:8] != b"metadata":
        raise UnsafeImage("VHDX metadata table is missing")
    for i in range(min(_u16le(meta, 10), 2047)):
        entry = meta[32 + 32 * i: 64 + 32 * i]
        if len(entry) == 32 and entry[:16] == VHDX_VIRTUAL_DISK_SIZE:
            return Inspection("vhdx", _u64le(read(meta_offset + _u32le(entry, 16), 8), 0))
    raise UnsafeImage("VHDX virtual disk size is missing")


def _iso(read: Reader) -> Inspection | None:
    pvd = read(0x8000, 2048)
    if len(pvd) < 0x84 or pvd[1:6] != b"CD001":
        return None
    return Inspection("iso", _u32le(pvd, 0x50) * _u16le(pvd, 0x80))


def _partitioned(head: bytes, size: int) -> Inspection:
    if len(head) >= 512 and head[510:512] == b"\x55\xaa":
        kinds = {head[446 + 16 * i + 4] for i in range(4)}
        if 0xEE in kinds:
            return Inspection("gpt", size)
        if kinds - {0}:
            return Inspection("mbr", size)
    return Inspection("raw", size)


def inspect(read: Reader, size: int) -> Inspection:
    """Identify ``size`` bytes of image data; raises UnsafeImage for refused features."""
    head = read(0, 4096)
    if head[:4] == QCOW2_MAGIC:
        return _qcow2(head)
    if head[:4] == VMDK_MAGIC:
        return _vmdk(head, read)
    if head.startswith(b"# Disk DescriptorFile"):
        raise UnsafeImage("A VMDK descriptor that points at other files is not allowed")
    if head[:8] == b"vhdxfile":
        return _vhdx(read)
    if head[:8] == b"conectix":  # dynamic VHD: a copy of the footer at the start
        return Inspection("vhd", _u64be(head, 48))
    if len(head) >= 0x178 and _u32le(head, 0x40) == VDI_SIGNATURE:
        return Inspection("vdi", _u64le(head, 0x170))
    if size >= 0x8800:
        iso = _iso(read)
        if iso is not None:
            return iso
    if size >= 512:
        tail = read(size - 512, 512)
        if tail[:8] == b"conectix":  # fixed VHD: the footer only at the end
            return Inspection("vhd", _u64be(tail, 48))
    return _partitioned(head, size)


def check(declared: str | None, read: Reader, size: int, *, require_match: bool = True) -> int | None:
    """The virtual size of data declared as ``declared``; raises when Glance would refuse it."""
    if size == 0 or declared in UNCHECKED_FORMATS:
        return size
    found = inspect(read, size)
    if not require_match:
        return found.virtual_size
    ok = found.format == declared or (declared == "raw" and found.format in RAW_FAMILY)
    # A bootable ISO usually carries an MBR too; qemu's raw is what an ISO is to a hypervisor.
    ok = ok or (declared == "iso" and found.format == "iso")
    if not ok:
        shown = "raw" if found.format in RAW_FAMILY else found.format
        raise FormatMismatch(f"Image disk_format is {declared} but the data is {shown}")
    return found.virtual_size
