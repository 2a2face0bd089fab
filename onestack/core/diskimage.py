"""Small disk images onestack writes itself (it never downloads any).

A valid qcow2 (version 3, 64 KiB clusters) with a 1 GiB virtual disk whose first sector is a
tiny x86 boot sector: under a real hypervisor it prints its message on the VGA console and
the first serial port, and halts. The image service's built-in images and the fake
hypervisor's snapshots are made here.
"""

from __future__ import annotations

import struct

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


def _header(l1_entries: int) -> bytes:
    header = struct.pack(
        ">4sIQIIQIIQQIIQQQQII",
        b"QFI\xfb", 3,          # magic, version
        0, 0,                    # no backing file
        CLUSTER_BITS, VIRTUAL_SIZE,
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
