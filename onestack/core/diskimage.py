"""Small disk images onestack writes itself (it never downloads any).

A valid qcow2 (version 3, 64 KiB clusters) with a 1 GiB virtual disk whose first sector is a
tiny x86 boot sector: under a real hypervisor it prints its message on the VGA console and
the first serial port, and halts. The image service's built-in images and the fake
hypervisor's snapshots are made here. Also an empty qcow2 of any size, laid out as
``qemu-img create -f qcow2`` lays it out (header, refcount table, one refcount block, the L1
table; no data clusters), which the volume file driver writes instead of spawning qemu-img
for every blank volume; and a qcow2 file's virtual size read from its header.
"""

from __future__ import annotations

import struct
from pathlib import Path

CLUSTER_BITS = 16
CLUSTER = 1 << CLUSTER_BITS
VIRTUAL_SIZE = 1 << 30  # 1 GiB
COPIED = 1 << 63  # qcow2 "refcount is exactly one" flag on L1/L2 entries


def boot_sector(message: str) -> bytes:
    """A 512-byte MBR boot sector that prints ``message`` (BIOS teletype and COM1) and halts."""
    text = message.encode("ascii") + b"\r\n\0"
    msg_addr = 0x7C00 + 30
    code = bytes([
        0x31, 0xC0,                     # xor ax, ax
        0x8E, 0xD8,                     # mov ds, ax
        0xBE, msg_addr & 0xFF, msg_addr >> 8,  # mov si, msg
        0xFC,                           # cld
        0xAC,                           # .loop: lodsb
        0x08, 0xC0,                     # or al, al
        0x74, 0x0D,                     # jz .halt
        0xBA, 0xF8, 0x03,               # mov dx, 0x3f8 (COM1)
        0xEE,                           # out dx, al
        0xB4, 0x0E,                     # mov ah, 0x0e (teletype)
        0xBB, 0x07, 0x00,               # mov bx, 7
        0xCD, 0x10,                     # int 0x10
        0xEB, 0xEE,                     # jmp .loop
        0xFA,                           # .halt: cli
        0xF4,                           # hlt
        0xEB, 0xFC,                     # jmp .halt
    ])
    assert len(code) == 30
    body = code + text
    if len(body) > 446:  # keep clear of the partition table area
        raise ValueError("boot message too long")
    return body.ljust(510, b"\0") + b"\x55\xaa"


MAGIC = b"QFI\xfb"


def _header(l1_entries: int, virtual_size: int = VIRTUAL_SIZE) -> bytes:
    header = struct.pack(
        ">4sIQIIQIIQQIIQQQQII",
        MAGIC, 3,                # magic, version
        0, 0,                    # no backing file
        CLUSTER_BITS, virtual_size,
        0,                       # no encryption
        l1_entries, 3 * CLUSTER,  # L1 table in cluster 3
        1 * CLUSTER, 1,          # refcount table in cluster 1, one cluster long
        0, 0,                    # no snapshots
        0, 0, 0,                 # incompatible, compatible, autoclear features
        4, 104,                  # refcount_order (16-bit), header length
    )
    return header + b"\0" * 8  # end of header extensions


def tiny_qcow2(message: str) -> bytes:
    """The whole qcow2 file: header, refcount table and block, L1, one L2 and one data cluster."""
    l2_entries = CLUSTER // 8
    l1_entries = -(-VIRTUAL_SIZE // (CLUSTER * l2_entries))
    clusters = [bytearray(CLUSTER) for _ in range(6)]
    clusters[0][: 112] = _header(l1_entries)
    struct.pack_into(">Q", clusters[1], 0, 2 * CLUSTER)  # refcount table -> block in cluster 2
    for i in range(6):
        struct.pack_into(">H", clusters[2], 2 * i, 1)  # every used cluster is referenced once
    struct.pack_into(">Q", clusters[3], 0, (4 * CLUSTER) | COPIED)  # L1[0] -> L2 in cluster 4
    struct.pack_into(">Q", clusters[4], 0, (5 * CLUSTER) | COPIED)  # L2[0] -> data in cluster 5
    clusters[5][:512] = boot_sector(message)
    return b"".join(bytes(c) for c in clusters)


def blank_qcow2(virtual_size: int) -> bytes:
    """An empty qcow2 (version 3, 64 KiB clusters) of ``virtual_size`` bytes (a multiple of 512):
    header in cluster 0, refcount table in 1, its one refcount block in 2, the L1 table (all
    zeros: nothing allocated) from cluster 3, the file ending where the L1 table ends."""
    if virtual_size <= 0 or virtual_size % 512:
        raise ValueError(f"a qcow2 virtual size is a positive multiple of 512, not {virtual_size}")
    l1_entries = -(-virtual_size // (CLUSTER * (CLUSTER // 8)))
    l1_clusters = -(-l1_entries * 8 // CLUSTER)
    used = 3 + l1_clusters
    if used > CLUSTER // 2:  # one 16-bit refcount block covers 32768 clusters (an L1 of ~16 EiB)
        raise ValueError(f"virtual size {virtual_size} is too large")
    head = bytearray(3 * CLUSTER)
    head[:112] = _header(l1_entries, virtual_size)
    struct.pack_into(">Q", head, CLUSTER, 2 * CLUSTER)  # refcount table → the block in cluster 2
    for i in range(used):
        struct.pack_into(">H", head, 2 * CLUSTER + 2 * i, 1)  # header, tables and L1: referenced once
    return bytes(head) + bytes(l1_entries * 8)


def qcow2_virtual_size(path: Path) -> int:
    """The virtual size a qcow2 file's header records (what ``qemu-img info`` reports)."""
    with open(path, "rb") as fh:
        head = fh.read(32)
    if len(head) < 32 or head[:4] != MAGIC:
        raise ValueError(f"{path} is not a qcow2 file")
    return int(struct.unpack_from(">Q", head, 24)[0])
