"""The image cache and its API (/v2/cache), through the openstack CLI, openstacksdk and raw HTTP."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openstack.exceptions
import pytest

from tests.functional.cloud import RunningCloud, make_cloud, wait_until
from tests.functional.image_http import ImageHttp

MAX_SIZE = 200_000  # the module's cloud keeps its cache under this many bytes


@pytest.fixture(scope="module")
def ccloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    running = make_cloud(tmp_path_factory.mktemp("cache"), {
        "ONESTACK_IMAGE__IMAGE_CACHE_MAX_SIZE": str(MAX_SIZE),
        "ONESTACK_IMAGE__BUILTIN_IMAGES": "false",
    })
    running.start()
    yield running
    running.close()


@pytest.fixture
def http(ccloud: RunningCloud) -> ImageHttp:
    """Admin raw HTTP, with the cache emptied first (tests share the module's cloud)."""
    client = ImageHttp(ccloud, ccloud.sdk("devstack-admin"))
    assert client.http.delete("/v2/cache").status_code == 204
    return client


def _cache_dir(cloud: RunningCloud) -> Path:
    return cloud.data_dir / "image-cache"


def _image(http: ImageHttp, size: int = 8192) -> tuple[str, bytes]:
    data = os.urandom(size)
    image = http.create()
    assert http.put_file(image["id"], data).status_code == 204
    return image["id"], data


def _store_file(cloud: RunningCloud, image_id: str) -> Path:
    return cloud.data_dir / "images" / image_id


def _state(http: ImageHttp) -> dict[str, Any]:
    resp = http.http.get("/v2/cache")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _cached(http: ImageHttp) -> dict[str, dict[str, Any]]:
    return {row["image_id"]: row for row in _state(http)["cached_images"]}


def test_cli_queue_prefetch_list_delete_clear(ccloud: RunningCloud, http: ImageHttp) -> None:
    image_id, data = _image(http)
    ccloud.cli("cached", "image", "queue", image_id, json_out=False)
    wait_until(lambda: image_id in _cached(http), timeout=30, what="image prefetched into the cache")
    rows = {row["ID"]: row for row in ccloud.cli("cached", "image", "list")}
    assert rows[image_id]["State"] == "cached"
    assert rows[image_id]["Size"] == len(data)
    assert rows[image_id]["Hits"] == 0
    assert (_cache_dir(ccloud) / image_id).read_bytes() == data
    assert _state(http)["queued_images"] == []

    ccloud.cli("cached", "image", "delete", image_id, json_out=False)
    assert image_id not in _cached(http)
    assert not (_cache_dir(ccloud) / image_id).exists()

    ccloud.cli("cached", "image", "queue", image_id, json_out=False)
    wait_until(lambda: image_id in _cached(http), timeout=30, what="image cached again")
    ccloud.cli("cached", "image", "clear", json_out=False)
    assert ccloud.cli("cached", "image", "list") == []


def test_download_fills_cache_and_counts_hits(http: ImageHttp) -> None:
    image_id, data = _image(http, 50_000)
    md5 = hashlib.md5(data).hexdigest()
    assert http.get_file(image_id, Range="bytes=0-9").content == data[:10]  # a range does not fill it
    assert image_id not in _cached(http)
    first = http.get_file(image_id)
    assert first.status_code == 200 and first.content == data  # cache-on-read
    row = wait_until(lambda: _cached(http).get(image_id), timeout=30, what="cached on read")
    assert row["size"] == len(data) and row["hits"] == 0
    assert isinstance(row["last_accessed"], float) and isinstance(row["last_modified"], float)
    for _ in range(2):
        again = http.get_file(image_id)
        assert again.content == data and again.headers["Content-MD5"] == md5
    part = http.get_file(image_id, Range="bytes=100-199")
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert _cached(http)[image_id]["hits"] == 3


def test_corrupt_cache_file_is_not_served(ccloud: RunningCloud, http: ImageHttp) -> None:
    image_id, data = _image(http)
    assert http.get_file(image_id).content == data
    path = _cache_dir(ccloud) / image_id
    wait_until(lambda: image_id in _cached(http), timeout=30, what="cached on read")
    assert path.read_bytes() == data
    # A local image's cache entry is a hard link to the store's file: damage a copy in its place.
    assert path.stat().st_ino == _store_file(ccloud, image_id).stat().st_ino
    path.unlink()
    path.write_bytes(bytes(b ^ 0xFF for b in data[:64]) + data[64:])
    served = http.get_file(image_id)
    assert served.status_code == 200 and served.content == data  # from the store, not the bad copy
    # The bad copy was dropped and the full read that found it caches the right data again
    # (published just after the last byte went out).
    wait_until(lambda: path.exists() and path.read_bytes() == data, timeout=30, what="re-cached data")
    assert _cached(http)[image_id]["hits"] == 0


def test_clear_targets(ccloud: RunningCloud, http: ImageHttp) -> None:
    image_id, data = _image(http)
    assert http.get_file(image_id).content == data
    wait_until(lambda: image_id in _cached(http), timeout=30, what="cached on read")
    # A queue entry the prefetcher has not reached (another process's, or a pass not yet run).
    queued = str(uuid.uuid4())
    (_cache_dir(ccloud) / "queue" / queued).touch()
    state = _state(http)
    assert state["queued_images"] == [queued] and image_id in _cached(http)

    bad = http.http.delete("/v2/cache", headers={"x-image-cache-clear-target": "invalid"})
    assert bad.status_code == 400
    assert http.http.delete("/v2/cache", headers={"x-image-cache-clear-target": "queue"}).status_code == 204
    assert _state(http)["queued_images"] == [] and image_id in _cached(http)
    (_cache_dir(ccloud) / "queue" / queued).touch()
    assert http.http.delete("/v2/cache", headers={"x-image-cache-clear-target": "cache"}).status_code == 204
    state = _state(http)
    assert state["queued_images"] == [queued] and state["cached_images"] == []
    # DELETE /v2/cache/{id} of an id only queued (its image gone) still removes it.
    assert http.http.delete(f"/v2/cache/{queued}").status_code == 204
    assert _state(http)["queued_images"] == []
    assert http.http.delete(f"/v2/cache/{uuid.uuid4()}").status_code == 404


def test_sdk_errors_and_non_admin(ccloud: RunningCloud, http: ImageHttp) -> None:
    admin = ccloud.sdk("devstack-admin")
    demo = ccloud.sdk("devstack")
    with pytest.raises(openstack.exceptions.NotFoundException):
        admin.image.queue_image(str(uuid.uuid4()))
    queued = http.create()  # no data: not active
    with pytest.raises(openstack.exceptions.BadRequestException):
        admin.image.queue_image(queued["id"])
    with pytest.raises(openstack.exceptions.ForbiddenException):
        demo.image.get_image_cache()
    own = demo.image.create_image(name=f"own-{uuid.uuid4().hex[:6]}", disk_format="raw", container_format="bare",
                                  data=b"x" * 1024)
    with pytest.raises(openstack.exceptions.ForbiddenException):
        demo.image.queue_image(own.id)
    with pytest.raises(openstack.exceptions.ForbiddenException):
        demo.image.clear_cache()
    demo_http = ImageHttp(ccloud, demo)
    assert demo_http.http.delete(f"/v2/cache/{own.id}").status_code == 403
    assert demo_http.http.put(f"/v2/cache/{uuid.uuid4()}").status_code == 404  # unknown before policy
    assert demo_http.http.post("/v2/cache/prune").status_code == 403
    assert http.http.post("/v2/cache").status_code == 405
    admin.image.queue_image(own.id)
    wait_until(lambda: own.id in {c.image_id for c in admin.image.get_image_cache().cached_images},
               timeout=30, what="queued through openstacksdk")
    admin.image.clear_cache("cache")
    assert admin.image.get_image_cache().cached_images == []


def test_image_delete_drops_entry(ccloud: RunningCloud, http: ImageHttp) -> None:
    image_id, data = _image(http)
    assert http.get_file(image_id).content == data
    wait_until(lambda: image_id in _cached(http), timeout=30, what="cached on read")
    assert http.http.delete(f"/v2/images/{image_id}").status_code == 204
    assert image_id not in _cached(http)
    assert not (_cache_dir(ccloud) / image_id).exists()


def test_pruned_under_max_size(http: ImageHttp) -> None:
    images = [_image(http, 60_000) for _ in range(4)]  # 240 000 bytes > MAX_SIZE
    for image_id, data in images[:3]:
        assert http.get_file(image_id).content == data
        wait_until(lambda i=image_id: i in _cached(http), timeout=30, what="cached on read")
    assert http.get_file(images[0][0]).content == images[0][1]  # the oldest fill is now the most recent read
    last_id, last = images[3]
    assert http.get_file(last_id).content == last
    wait_until(lambda: last_id in _cached(http), timeout=30, what="cached on read")
    cached = _cached(http)
    assert sum(row["size"] for row in cached.values()) <= MAX_SIZE
    assert set(cached) == {images[0][0], images[2][0], last_id}  # images[1]: least recently accessed
    # Already under the maximum: an explicit prune finds nothing; clean finds no stalled fill.
    assert http.http.post("/v2/cache/prune").json() == {"total_files_pruned": 0, "total_bytes_pruned": 0}
    assert http.http.post("/v2/cache/clean").status_code == 200
    assert set(_cached(http)) == set(cached)


def test_disabled_cache_answers_404(tmp_path: Path) -> None:
    cloud = make_cloud(tmp_path, {"ONESTACK_IMAGE__IMAGE_CACHE_ENABLED": "false",
                                  "ONESTACK_IMAGE__BUILTIN_IMAGES": "false"})
    cloud.start()
    try:
        admin = ImageHttp(cloud, cloud.sdk("devstack-admin"))
        resp = admin.http.get("/v2/cache")
        assert resp.status_code == 404
        assert "Caching via API is not supported at this site." in resp.text
        image_id, data = _image(admin)
        assert admin.http.put(f"/v2/cache/{image_id}").status_code == 404
        assert admin.get_file(image_id).content == data
        assert not (cloud.data_dir / "image-cache").exists()
        demo = ImageHttp(cloud, cloud.sdk("devstack"))
        assert demo.http.get("/v2/cache").status_code == 403  # policy first, as Glance
    finally:
        cloud.close()
