"""os-reimage (Cinder 3.68): the volume's bytes become the image's, its status returns to where
it was with the new image's metadata; Cinder's errors change nothing; ``reimage_reserved`` and
the policies (reserved volumes are admin's)."""

from __future__ import annotations

import os
import struct
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from onestack.image import builtin
from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.test_volume_backups import disk_of
from tests.functional.volume_support import (
    cinder_fixture,
    create_volume,
    error_of,
    get_volume,
    wait_volume,
)

GiB = 1024 ** 3


http = cinder_fixture("devstack")
admin_http = cinder_fixture("devstack-admin")


@pytest.fixture(scope="module")
def image(demo: Any) -> Iterator[tuple[Any, bytes]]:
    data = os.urandom(3 * 65536 + 17)
    img = demo.image.create_image(name="ri-image", disk_format="raw", container_format="bare", data=data,
                                  min_disk=0)
    yield img, data
    demo.image.delete_image(img.id, ignore_missing=True)


def _reimage(client: httpx.Client, volume_id: str, image_id: str, **extra: Any) -> httpx.Response:
    return client.post(f"volumes/{volume_id}/action", json={"os-reimage": {"image_id": image_id, **extra}})


def _volume(http: httpx.Client, name: str) -> dict[str, Any]:
    vol = create_volume(http, size=1, name=name)
    return wait_volume(http, vol["id"])


def volume_head(cloud: RunningCloud, volume_id: str, length: int, tmp: Path) -> bytes:
    """The first ``length`` bytes of the volume's data: the file driver's disk as it is when raw
    (no qemu-img on the machine), else converted to raw by qemu-img; its virtual size checked."""
    path = disk_of(cloud, volume_id)
    with path.open("rb") as f:
        qcow2 = f.read(4) == b"QFI\xfb"
    if qcow2:
        raw = tmp / f"{volume_id}.raw"
        subprocess.run(["qemu-img", "convert", "-O", "raw", str(path), str(raw)], capture_output=True, check=True)
        path = raw
    assert path.stat().st_size == GiB
    with path.open("rb") as f:
        return f.read(length)


def test_reimage_writes_the_image(cloud: RunningCloud, http: httpx.Client, image: tuple[Any, bytes],
                                  tmp_path: Path) -> None:
    img, data = image
    vol = _volume(http, "ri-data")
    assert volume_head(cloud, vol["id"], 65536 * 4, tmp_path) == b"\0" * 65536 * 4
    r = _reimage(http, vol["id"], img.id)
    assert r.status_code == 202, r.text
    done = wait_volume(http, vol["id"])
    meta = done["volume_image_metadata"]
    assert meta["image_id"] == img.id and meta["image_name"] == "ri-image"
    assert done["bootable"] == "true"
    raw = volume_head(cloud, vol["id"], len(data) + 4096, tmp_path)
    assert raw[:len(data)] == data and raw[len(data):] == b"\0" * 4096
    http.delete(f"volumes/{vol['id']}")


def test_reimage_from_error_returns_to_error(admin_http: httpx.Client, http: httpx.Client,
                                             image: tuple[Any, bytes]) -> None:
    img, _ = image
    vol = _volume(http, "ri-error")
    assert admin_http.post(f"volumes/{vol['id']}/action",
                           json={"os-reset_status": {"status": "error"}}).status_code == 202
    assert _reimage(http, vol["id"], img.id).status_code == 202
    wait_until(lambda: (get_volume(http, vol["id"]) or {}).get("volume_image_metadata", {}).get("image_id")
               == img.id, 60)
    assert wait_volume(http, vol["id"], "error")["status"] == "error"
    http.delete(f"volumes/{vol['id']}")


def test_errors_change_nothing(admin_http: httpx.Client, http: httpx.Client, demo: Any, admin: Any,
                               image: tuple[Any, bytes]) -> None:
    img, _ = image
    vol = _volume(http, "ri-bad")
    queued = demo.image.create_image(name="ri-queued", disk_format="raw", container_format="bare")
    mindisk = demo.image.create_image(name="ri-mindisk", disk_format="raw", container_format="bare", data=b"x",
                                      min_disk=5)
    private = admin.image.create_image(name="ri-private", disk_format="raw", container_format="bare", data=b"x",
                                       visibility="private")
    try:
        cases: list[tuple[str, dict[str, Any], int, str]] = [
            (vol["id"], {"image_id": str(uuid.uuid4())}, 404, "could not be found"),
            (vol["id"], {"image_id": private.id}, 404, f"Image {private.id} could not be found."),
            (vol["id"], {"image_id": queued.id}, 400, f"Invalid input received: Image {queued.id} is not active."),
            (vol["id"], {"image_id": mindisk.id}, 400,
             "Invalid input received: Volume size 1GB cannot be smaller than the image minDisk size 5GB."),
            (vol["id"], {"image_id": "not-a-uuid"}, 400, "Invalid input"),
            (vol["id"], {"image_id": img.id, "reimage_reserved": "maybe"}, 400, "reimage_reserved"),
            (vol["id"], {"image_id": img.id, "extra": 1}, 400, "Additional properties are not allowed"),
            (vol["id"], {}, 400, "'image_id' is a required property"),
            (str(uuid.uuid4()), {"image_id": img.id}, 404, "could not be found"),
        ]
        for volume_id, arg, status, message in cases:
            r = http.post(f"volumes/{volume_id}/action", json={"os-reimage": arg})
            assert r.status_code == status, (arg, r.text)
            assert message in error_of(r)["message"], (arg, r.text)
            after = get_volume(http, vol["id"])
            assert after is not None and after["status"] == "available" and not after.get("volume_image_metadata")
        # Below 3.68 the action does not exist.
        with cinder_at(http, "3.67") as old:
            r = _reimage(old, vol["id"], img.id)
            assert r.status_code == 400 and "os-reimage" in error_of(r)["message"]
        # Not available or error: Cinder's InvalidVolume.
        with cinder_at(http, "3.71") as same:
            assert same.post(f"volumes/{vol['id']}/action", json={"os-reserve": None}).status_code == 202
            r = _reimage(same, vol["id"], img.id)
            assert r.status_code == 400
            assert error_of(r)["message"] == (f"Invalid volume: Volume {vol['id']} status must be available or error, "
                                              "but current status is attaching.")
            assert same.post(f"volumes/{vol['id']}/action", json={"os-unreserve": None}).status_code == 202
    finally:
        for i in (queued, mindisk):
            demo.image.delete_image(i.id, ignore_missing=True)
        admin.image.delete_image(private.id, ignore_missing=True)
    wait_volume(http, vol["id"])
    http.delete(f"volumes/{vol['id']}")


def cinder_at(client: httpx.Client, microversion: str) -> httpx.Client:
    headers = httpx.Headers(client.headers)
    headers["OpenStack-API-Version"] = f"volume {microversion}"
    return httpx.Client(base_url=client.base_url, timeout=60, headers=headers)


def test_image_larger_than_the_volume(http: httpx.Client, demo: Any) -> None:
    vol = _volume(http, "ri-small")
    # The built-in qcow2 with a virtual size of 2 GiB in its header: Glance records it.
    data = bytearray(builtin.disk_bytes(builtin.BUILTIN_IMAGES[0]))
    struct.pack_into(">Q", data, 24, 2 * GiB)
    big = demo.image.create_image(name="ri-large", disk_format="qcow2", container_format="bare", data=bytes(data))
    try:
        r = _reimage(http, vol["id"], big.id)
        assert r.status_code == 400
        assert error_of(r)["message"] == (f"Image {big.id} is unacceptable: Image virtual size is 2GB and doesn't "
                                          "fit in a volume of size 1GB.")
        assert (get_volume(http, vol["id"]) or {})["status"] == "available"
    finally:
        demo.image.delete_image(big.id, ignore_missing=True)
    http.delete(f"volumes/{vol['id']}")


def test_reserved_needs_the_flag_and_admin(cloud: RunningCloud, admin_http: httpx.Client, http: httpx.Client,
                                           image: tuple[Any, bytes], tmp_path: Path) -> None:
    img, data = image
    vol = _volume(http, "ri-reserved")
    # A new-style attachment without a connector reserves the volume (as Nova's rebuild does).
    server_id = str(uuid.uuid4())
    r = http.post("attachments", json={"attachment": {"volume_uuid": vol["id"], "instance_uuid": server_id}})
    assert r.status_code == 200, r.text
    assert wait_volume(http, vol["id"], "reserved")["status"] == "reserved"
    # Without reimage_reserved a reserved volume is refused (as not available).
    r = _reimage(admin_http, vol["id"], img.id)
    assert r.status_code == 400 and "current status is reserved" in error_of(r)["message"]
    # The member may not reimage a reserved volume (volume:reimage_reserved is admin's).
    r = _reimage(http, vol["id"], img.id, reimage_reserved=True)
    assert r.status_code == 403, r.text
    r = _reimage(admin_http, vol["id"], img.id, reimage_reserved=True)
    assert r.status_code == 202, r.text
    done = wait_volume(http, vol["id"], "reserved")
    wait_until(lambda: (get_volume(http, vol["id"]) or {}).get("volume_image_metadata", {}).get("image_id")
               == img.id, 60)
    assert done["status"] == "reserved"
    assert volume_head(cloud, vol["id"], len(data), tmp_path) == data
    attachment = http.get("attachments", params={"volume_id": vol["id"]}).json()["attachments"][0]
    assert http.delete(f"attachments/{attachment['id']}").status_code == 200
    wait_volume(http, vol["id"])
    http.delete(f"volumes/{vol['id']}")
