"""Which stores a running image service has, built from configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onestack.core.config import Config, ConfigError
from onestack.image.stores.filesystem import FilesystemStore

# Glance's internal name for the staging area; never listed as a store.
STAGING_STORE_ID = "os_glance_staging_store"


def _resolve(config: Config, path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else config.data_dir / p


def build_stores(config: Config) -> tuple[dict[str, Any], str]:
    """All configured stores by id, and the default store's id."""
    stores: dict[str, Any] = {"file": FilesystemStore(config.data_dir / "images", "file",
                                                      "Local filesystem in the onestack data dir")}
    if config.image.swift_store and config.object_store.enabled:
        from onestack.image.stores.swift import SwiftStore

        stores["swift"] = SwiftStore(config)
    for item in filter(None, (part.strip() for part in config.image.extra_file_stores.split(","))):
        store_id, sep, path = item.partition(":")
        store_id = store_id.strip()
        if not sep or not store_id or not path.strip() or store_id in stores or store_id == STAGING_STORE_ID:
            raise ConfigError(f"image.extra_file_stores: bad or duplicate entry {item!r} (want id:dir)")
        stores[store_id] = FilesystemStore(_resolve(config, path.strip()), store_id,
                                           f"Filesystem store {store_id}")
    default = config.image.default_store or "file"
    if default not in stores:
        raise ConfigError(f"image.default_store {default!r} is not one of {sorted(stores)}")
    return stores, default


def build_staging(config: Config) -> FilesystemStore:
    path = _resolve(config, config.image.staging_dir) if config.image.staging_dir else config.data_dir / "image-staging"
    return FilesystemStore(path, STAGING_STORE_ID, "Staging area for interoperable import")
