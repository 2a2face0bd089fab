"""Image stores: where image bytes live, behind one small interface.

A store keeps whole images addressed by a location URL it hands out. Writes stream in
(never the whole image in memory) and are only visible once complete; a failed or
abandoned write leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol


class StoreError(Exception):
    """A store could not complete an operation."""


class SizeLimitExceeded(StoreError):
    """The stream grew past the ``max_size`` the caller allowed (the caller answers 413)."""


class NotInStore(StoreError):
    """The location does not belong to this store, or its data is gone."""


@dataclass(frozen=True)
class StoredImage:
    location: str  # e.g. file:///var/lib/onestack/images/<id>
    size: int
    checksum: str  # md5 hex
    os_hash_value: str  # sha512 hex


class Store(Protocol):
    """Contract every image store passes (tests/contract/test_image_stores.py)."""

    id: str  # the store identifier shown in /v2/info/stores
    description: str

    async def add(self, image_id: str, chunks: AsyncIterator[bytes], max_size: int | None = None) -> StoredImage:
        """Write the stream; raise on error (nothing stays behind) or when it exceeds ``max_size`` bytes."""
        ...

    def get(self, location: str, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes [offset, offset+length) of the image at ``location``."""
        ...

    async def delete(self, location: str) -> None:
        """Remove the image at ``location``; missing data is not an error."""
        ...

    async def size(self, location: str) -> int:
        """Size in bytes of the image at ``location``."""
        ...
