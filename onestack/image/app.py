"""Assemble the image service: routes, state, stores."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from onestack.core.api.app import Service
from onestack.core.api.faults import plain_error
from onestack.core.api.request import ApiService
from onestack.core.auth import TokenValidator
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.service import CatalogEntry, Migrations, Running, ServiceDefinition
from onestack.image import models
from onestack.image.api import (
    cache,
    data,
    images,
    info,
    locations,
    members,
    metadefs,
    schemas,
    tags,
    tasks,
    versions,
)
from onestack.image.api.common import CONVENTIONS
from onestack.image.cache import build_cache
from onestack.image.policies import DEFAULT_RULES
from onestack.image.state import ImageService
from onestack.image.stores.registry import build_staging, build_stores

if TYPE_CHECKING:
    from onestack.process import Process

# Static paths before parameterised ones that could shadow them.
API_MODULES = (versions, schemas, info, metadefs, tasks, cache, data, locations, members, tags, images)
PREFIX = "/image"


def build_image(config: Config, db: Database, validator: TokenValidator) -> tuple[Service, ImageService]:
    stores, default_store = build_stores(config)
    image = ImageService(config, db, stores, default_store=default_store)
    image.staging = build_staging(config)
    image.cache = build_cache(config)
    routes = [route for module in API_MODULES for route in module.routes.routes]
    service = Service(
        name="image",
        prefix=PREFIX,
        routes=routes,
        render_error=plain_error,
        # Handlers reach the ImageService as req.state (api/common.py).
        state={"token_validator": validator, "api": ApiService(image, db, image.enforcer, CONVENTIONS)},
    )
    return service, image


# --- the service's declaration (server.py runs it) ---------------------------------------------


class ImageWorkers:
    """Put back work a crash or stop cut off, renew this process's leases; the scrubber for delayed
    deletes; the image cache's prefetcher and pruner."""

    def __init__(self, image: ImageService) -> None:
        self.image = image

    async def start(self) -> None:
        from onestack.image.service import cache, recovery, scrubber
        from onestack.image.service import data as image_data

        await recovery.recover(self.image)
        image_data.tracked(self.image, recovery.run(self.image))
        image_data.tracked(self.image, scrubber.run(self.image))
        if self.image.cache is not None:
            image_data.tracked(self.image, cache.run(self.image))

    async def stop(self) -> None:
        tasks = list(self.image.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for store in self.image.stores.values():  # a remote store (swift) holds an HTTP client
            close = getattr(store, "close", None)
            if close is not None:
                await close()


def build(process: Process) -> Running:
    service, image = build_image(process.config, process.database(), process.validator)
    image.directory = process.directory
    return Running("image", api=service, workers=[ImageWorkers(image)], state=image)


SERVICE = ServiceDefinition(
    name="image", summary="Glance v2 at /image", build=build,
    migrations=(Migrations("image", Path(models.__file__).parent / "migrations", models.Base.metadata),),
    catalog=(CatalogEntry("image", "glance", PREFIX),), policies=DEFAULT_RULES)
