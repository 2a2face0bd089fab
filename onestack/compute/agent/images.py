"""Images cached per host: each image is downloaded from the image service once, then reused."""

from __future__ import annotations

import asyncio
from pathlib import Path

from onestack.client.image import ImageClient


class ImageCache:
    def __init__(self, directory: Path, client: ImageClient) -> None:
        self.directory = directory
        self.client = client
        self._locks: dict[str, asyncio.Lock] = {}

    async def fetch(self, image_id: str) -> Path:
        path = self.directory / image_id
        if path.exists():
            return path
        lock = self._locks.setdefault(image_id, asyncio.Lock())
        async with lock:
            if not path.exists():
                self.directory.mkdir(parents=True, exist_ok=True)
                await self.client.download(image_id, path)
        return path
