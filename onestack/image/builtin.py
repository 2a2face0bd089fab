"""The built-in images: the one place that makes them.

DevStack registers a CirrOS image so that Tempest's ``image_ref`` / ``image_ref_alt`` and
``server create`` have something to boot. onestack never downloads anything, so it writes
its own: a valid qcow2 (version 3, 64 KiB clusters) with a 1 GiB virtual disk whose first
sector is a tiny x86 boot sector. Under a real hypervisor it boots, prints its name on the
VGA console and the first serial port, and halts. When a real guest is wanted, change
``disk_bytes`` (and the names) here and nowhere else.
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from onestack.core.ids import utcnow
from onestack.image.models import Image, ImageProperty

CLUSTER_BITS = 16
CLUSTER = 1 << CLUSTER_BITS
VIRTUAL_SIZE = 1 << 30  # 1 GiB
COPIED = 1 << 63  # qcow2 "refcount is exactly one" flag on L1/L2 entries


@dataclass(frozen=True)
class BuiltinImage:
    name: str
    message: str  # what the boot sector prints
    disk_format: str = "qcow2"
    container_format: str = "bare"
    properties: dict[str, str] = field(default_factory=dict)


# Names say what they are (not CirrOS); Tempest's image_ref and image_ref_alt point at them.
BUILTIN_IMAGES = (
    BuiltinImage("onestack-tiny-x86_64-disk", "onestack tiny image: booted, no OS installed, halting.",
                 properties={"hw_firmware_type": "bios", "onestack_builtin": "true"}),
    BuiltinImage("onestack-tiny-x86_64-disk-alt", "onestack tiny image (alt): booted, no OS installed, halting.",
                 properties={"hw_firmware_type": "bios", "onestack_builtin": "true"}),
)


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


def disk_bytes(image: BuiltinImage) -> bytes:
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
    clusters[5][:512] = boot_sector(image.message)
    return b"".join(bytes(c) for c in clusters)


def digests(data: bytes) -> tuple[str, str]:
    """(md5, sha512) hex digests, as Glance records them."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest(), hashlib.sha512(data).hexdigest()


def ensure_builtin_images(config: Any, db: Any, owner: str) -> list[str]:
    """Create any missing built-in image (public, active, owned by ``owner``); returns new ids."""
    from onestack.image.stores.registry import build_stores

    stores, default = build_stores(config)
    store = stores[default]
    existing = set(db.run_sync(lambda s: list(s.scalars(select(Image.name).where(
        Image.owner == owner, Image.deleted_at.is_(None), Image.name.in_([b.name for b in BUILTIN_IMAGES])))),
        write=False))
    created = []
    for spec in BUILTIN_IMAGES:
        if spec.name in existing:
            continue
        image_id = str(uuid.uuid4())
        payload = disk_bytes(spec)

        async def one_chunk(data: bytes = payload) -> AsyncIterator[bytes]:
            yield data

        stored = asyncio.run(store.add(image_id, one_chunk()))
        db.run_sync(lambda s, sp=spec, iid=image_id, st=stored: _insert(s, sp, iid, st, owner, default))
        created.append(image_id)
    return created


def _insert(s: Any, spec: BuiltinImage, image_id: str, stored: Any, owner: str, store_id: str) -> None:
    now = utcnow()
    s.add(Image(
        id=image_id, name=spec.name, disk_format=spec.disk_format, container_format=spec.container_format,
        size=stored.size, virtual_size=VIRTUAL_SIZE, status="active", visibility="public",
        checksum=stored.checksum, os_hash_algo="sha512", os_hash_value=stored.os_hash_value,
        min_disk=0, min_ram=0, protected=False, os_hidden=False, owner=owner, created_at=now, updated_at=now,
        locations=[{"url": stored.location, "metadata": {"store": store_id}, "store": store_id}],
        extra={"stores": store_id},
    ))
    for key, value in spec.properties.items():
        s.add(ImageProperty(image_id=image_id, name=key, value=value))
