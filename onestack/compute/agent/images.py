"""Images cached per host: each image is downloaded from the image service once, then reused.

The cache is also the agent's part that serves ``cache_images`` (2.81's aggregate image
pre-caching), so the next boot on the host skips the download.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from onestack.client.image import ImageClient
from onestack.core.files import private_dir

log = logging.getLogger("onestack.compute.agent")


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
                private_dir(self.directory)
                await self.client.download(image_id, path)
        return path

    async def cache_images(self, image_ids: list[str]) -> None:
        # A cast: nobody waits for the answer, so one image failing must not stop the others.
        for image_id in image_ids:
            try:
                await self.fetch(image_id)
            except Exception:
                log.exception("caching image %s into %s failed", image_id, self.directory)
