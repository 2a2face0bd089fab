"""Image data answered in-process (image/local.py: ``LocalImages.download`` and ``data_file``)
over a real image schema and file store: the image service's own file is handed over (a hard
link: deleting the image meanwhile takes nothing away), copies are streamed from the store, and
the download route's rules still hold (an image with no data, or not visible, gives none).

Identity is not running here: the service user's token context is given as identity would
validate it (admin in the service project), the only part of the process stood in for.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from onestack.client.image import ImageDataError
from onestack.core.auth import AuthContext
from onestack.core.config import load_config
from onestack.core.db import open_database
from onestack.core.ids import utcnow
from onestack.image import app as image_app
from onestack.image.cache import build_cache
from onestack.image.local import LocalImages
from onestack.image.models import Image
from onestack.image.state import ImageService
from onestack.image.stores.registry import build_staging, build_stores
from onestack.server import upgrade_schema

SERVICE_PROJECT = "service-project"


class ServiceToken:
    """The service user's session (only its token is used by the data path)."""

    _token: str | None = "service-token"

    async def token(self) -> str:
        return "service-token"


class ServiceValidator:
    async def validate(self, token: str, *, allow_expired: bool = False) -> AuthContext:
        assert token == "service-token"
        return AuthContext(token=token, user_id="onestack", project_id=SERVICE_PROJECT, roles=["admin", "service"])


@pytest.fixture
def image(tmp_path: Path) -> Iterator[ImageService]:
    config = load_config(None, environ={}, overrides={"server.data_dir": str(tmp_path)})
    db = open_database(config)
    upgrade_schema(db, [image_app.SERVICE])
    stores, default = build_stores(config)
    service = ImageService(config, db, stores, default_store=default)
    service.staging = build_staging(config)
    yield service
    db.dispose()


def local(image: ImageService) -> LocalImages:
    return LocalImages(ServiceToken(), image, ServiceValidator())  # type: ignore[arg-type]


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 1 << 16):
        yield data[i:i + (1 << 16)]


def add_image(image: ImageService, data: bytes | None, *, status: str = "active", owner: str = "p",
              visibility: str = "private") -> str:
    image_id = str(uuid.uuid4())
    locations: list[dict[str, Any]] = []
    if data is not None:
        stored = asyncio.run(image.stores["file"].add(image_id, _chunks(data)))
        locations = [{"url": stored.location, "metadata": {"store": "file"}, "store": "file"}]
    now = utcnow()
    image.db.run_sync(lambda s: s.add(Image(
        id=image_id, name="x", disk_format="raw", container_format="bare", status=status, visibility=visibility,
        owner=owner, created_at=now, updated_at=now, size=len(data or b""), locations=locations, extra={})))
    return image_id


def test_data_file_is_the_store_file_itself_and_outlives_the_image_s_deletion(image: ImageService,
                                                                               tmp_path: Path) -> None:
    data = os.urandom(300_000)
    image_id = add_image(image, data)
    work = tmp_path / "work"
    work.mkdir()
    store_file = image.stores["file"].root / image_id

    async def use() -> Path:
        async with local(image).data_file(image_id, work) as path:
            assert path.read_bytes() == data
            assert os.path.samefile(path, store_file)  # no copy: the same inode
            store_file.unlink()  # the image is deleted meanwhile: the reader keeps its data
            assert path.read_bytes() == data
            return path
    used = asyncio.run(use())
    assert not used.exists() and list(work.iterdir()) == []  # the link goes with the block


def test_download_is_a_private_streamed_copy(image: ImageService, tmp_path: Path) -> None:
    data = os.urandom(3 * (1 << 20) + 5)
    image_id = add_image(image, data)
    dest = tmp_path / "copy"
    asyncio.run(local(image).download(image_id, dest))
    assert dest.read_bytes() == data
    assert not os.path.samefile(dest, image.stores["file"].root / image_id)
    assert dest.stat().st_mode & 0o777 == 0o600
    assert not dest.with_name("copy.part").exists()


def test_download_goes_through_the_image_cache(image: ImageService, tmp_path: Path) -> None:
    image.cache = build_cache(image.config)
    assert image.cache is not None
    data = os.urandom(200_000)
    image_id = add_image(image, data)
    for name in ("first", "second"):
        asyncio.run(local(image).download(image_id, tmp_path / name))
        assert (tmp_path / name).read_bytes() == data
    [row] = image.cache.cached_images()
    assert (row["image_id"], row["size"], row["hits"]) == (image_id, len(data), 1)  # filled, then a hit


def test_the_download_route_s_rules_still_hold(image: ImageService, tmp_path: Path) -> None:
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    queued = add_image(image, None, status="queued")  # no data yet: the route answers 204
    missing = str(uuid.uuid4())  # not there: 404
    for image_id in (queued, missing):
        with pytest.raises(ImageDataError):
            asyncio.run(local(image).download(image_id, tmp_path / "x"))

        async def open_it(image_id: str = image_id) -> None:
            async with local(image).data_file(image_id, tmp_path):
                raise AssertionError("no data should be handed out")
        with pytest.raises(ImageDataError):
            asyncio.run(open_it())
    assert list(tmp_path.iterdir()) == []  # nothing left behind
    # Another project's private image: the service user is admin, as over HTTP, so it may.
    other = add_image(image, b"other project's bytes", owner="someone-else")
    asyncio.run(local(image).download(other, tmp_path / "y"))
    assert (tmp_path / "y").read_bytes() == b"other project's bytes"
