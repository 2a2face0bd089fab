"""Assemble the image service: routes, state, stores."""

from __future__ import annotations

from onestack.core.api.app import Service
from onestack.core.api.faults import plain_error
from onestack.core.api.request import ApiService
from onestack.core.auth import TokenValidator
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.image.api import data, images, info, members, metadefs, schemas, tags, tasks, versions
from onestack.image.api.common import CONVENTIONS
from onestack.image.state import ImageService
from onestack.image.stores.registry import build_staging, build_stores

# Static paths before parameterised ones that could shadow them.
API_MODULES = (versions, schemas, info, metadefs, tasks, data, members, tags, images)
PREFIX = "/image"


def build_image(config: Config, db: Database, validator: TokenValidator) -> tuple[Service, ImageService]:
    stores, default_store = build_stores(config)
    image = ImageService(config, db, stores, default_store=default_store)
    image.staging = build_staging(config)
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
