"""Images cached per host: each image is downloaded from the image service once, then reused."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from onestack.client.image import ImageClient

if TYPE_CHECKING:
    from onestack.compute.agent.manager import ComputeAgent

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
                self.directory.mkdir(parents=True, exist_ok=True)
                await self.client.download(image_id, path)
        return path


def register(agent: ComputeAgent) -> None:
    """Add ``cache_images`` (2.81's aggregate image pre-caching) to ``agent.extra``."""

    async def cache_images(image_ids: list[str]) -> None:
        # A cast: nobody waits for the answer, so one image failing must not stop the others.
        for image_id in image_ids:
            try:
                await agent.images.fetch(image_id)
            except Exception:
                log.exception("%s: caching image %s failed", agent.host, image_id)

    agent.extra["cache_images"] = cache_images
