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
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from onestack.core import diskimage
from onestack.core.ids import utcnow
from onestack.image.models import Image, ImageProperty


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


def disk_bytes(image: BuiltinImage) -> bytes:
    """The image file: change what a built-in image is here (e.g. a real guest) and nowhere else."""
    return diskimage.tiny_qcow2(image.message)


def digests(data: bytes) -> tuple[str, str]:
    """(md5, sha512) hex digests, as Glance records them."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest(), hashlib.sha512(data).hexdigest()


def ensure_builtin_images(config: Any, db: Any, owner: str) -> list[str]:
    """Create any missing built-in image (public, active, owned by ``owner``); returns new ids."""
    from onestack.image.stores.filesystem import FilesystemStore
    from onestack.image.stores.registry import build_stores

    stores, default = build_stores(config)
    # Bootstrap runs before any API listens: a remote store (swift) cannot take the images yet,
    # so they go to the always-present local "file" store then.
    if not isinstance(stores[default], FilesystemStore):
        default = "file"
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
        size=stored.size, virtual_size=diskimage.VIRTUAL_SIZE, status="active", visibility="public",
        checksum=stored.checksum, os_hash_algo="sha512", os_hash_value=stored.os_hash_value,
        min_disk=0, min_ram=0, protected=False, os_hidden=False, owner=owner, created_at=now, updated_at=now,
        locations=[{"url": stored.location, "metadata": {"store": store_id}, "store": store_id}],
        extra={"stores": store_id},
    ))
    for key, value in spec.properties.items():
        s.add(ImageProperty(image_id=image_id, name=key, value=value))
