"""Image data path: upload/download round trips, statuses, ranges, failures, quotas, built-in images."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.image_http import ImageHttp, pattern_stream, stray_files, vm_rss_kib

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def demo_http(cloud: RunningCloud, demo: Any) -> ImageHttp:
    return ImageHttp(cloud, demo)


@pytest.fixture(scope="module")
def alt_http(cloud: RunningCloud, alt: Any) -> ImageHttp:
    return ImageHttp(cloud, alt)


@pytest.fixture(scope="module")
def admin_http(cloud: RunningCloud, admin: Any) -> ImageHttp:
    return ImageHttp(cloud, admin)


@pytest.mark.parametrize("size", [0, 1, 3 * MIB + 17])
def test_round_trip_is_byte_exact(demo_http: ImageHttp, size: int) -> None:
    data = os.urandom(size)
    image = demo_http.create()
    assert demo_http.put_file(image["id"], data).status_code == 204
    shown = demo_http.show(image["id"])
    assert shown["status"] == "active"
    assert shown["size"] == size and shown["virtual_size"] == size
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    got = demo_http.get_file(image["id"])
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-md5"] == shown["checksum"]
    assert got.headers["content-type"] == "application/octet-stream"
    assert int(got.headers["content-length"]) == size


def test_queued_image_download_is_204(demo_http: ImageHttp) -> None:
    image = demo_http.create()
    resp = demo_http.get_file(image["id"])
    assert resp.status_code == 204 and resp.content == b""


def test_sdk_and_cli_round_trip(cloud: RunningCloud, demo: Any, tmp_path: Path) -> None:
    data = os.urandom(2 * MIB + 5)
    src = tmp_path / "disk.raw"
    src.write_bytes(data)
    made = cloud.cli("image", "create", "--disk-format", "raw", "--container-format", "bare", "--file", str(src),
                     "--property", "os_distro=none", f"cli-{os.getpid()}", cloud="devstack")
    assert made["status"] == "active" and made["checksum"] == hashlib.md5(data).hexdigest()
    out = tmp_path / "out.img"
    cloud.cli("image", "save", "--file", str(out), made["id"], cloud="devstack", json_out=False)
    assert out.read_bytes() == data
    image = demo.image.create_image(name=f"sdk-{os.getpid()}", data=data, disk_format="raw",
                                    container_format="bare", validate_checksum=True, wait=True)
    assert demo.image.get_image(image.id).checksum == hashlib.md5(data).hexdigest()
    assert demo.image.download_image(image.id).content == data


def test_one_gib_round_trip_keeps_server_memory_flat(cloud: RunningCloud, demo_http: ImageHttp) -> None:
    assert cloud.proc is not None
    pid = cloud.proc.pid
    total = 1024 * MIB
    image = demo_http.create()
    before = vm_rss_kib(pid)
    started = time.monotonic()
    assert demo_http.put_file(image["id"], pattern_stream(total)).status_code == 204
    expected = hashlib.md5()
    for chunk in pattern_stream(total):
        expected.update(chunk)
    shown = demo_http.show(image["id"])
    assert shown["size"] == total and shown["checksum"] == expected.hexdigest()
    digest = hashlib.md5()
    received = 0
    with demo_http.http.stream("GET", f"/v2/images/{image['id']}/file") as resp:
        assert resp.status_code == 200
        for chunk in resp.iter_bytes(MIB):
            digest.update(chunk)
            received += len(chunk)
    assert received == total and digest.hexdigest() == expected.hexdigest()
    grown_mib = (vm_rss_kib(pid) - before) / 1024
    assert grown_mib < 100, f"server RSS grew by {grown_mib:.0f} MiB over a 1 GiB round trip"
    assert time.monotonic() - started < 60
    demo_http.delete(image["id"])
    assert not stray_files(cloud.data_dir, image["id"])


def test_concurrent_uploads(demo_http: ImageHttp) -> None:
    payloads = [os.urandom(2 * MIB + i) for i in range(6)]
    images = [demo_http.create() for _ in payloads]
    codes: list[int] = []

    def put(image_id: str, data: bytes) -> None:
        codes.append(demo_http.put_file(image_id, data).status_code)

    threads = [threading.Thread(target=put, args=(img["id"], d)) for img, d in zip(images, payloads, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [204] * len(payloads)
    for img, data in zip(images, payloads, strict=True):
        assert demo_http.get_file(img["id"]).content == data


def test_racing_uploads_to_one_image_one_wins(demo_http: ImageHttp) -> None:
    image = demo_http.create()
    codes: list[int] = []

    def put(seed: int) -> None:
        codes.append(demo_http.put_file(image["id"], bytes([seed]) * (8 * MIB)).status_code)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [204, 409]
    assert demo_http.show(image["id"])["status"] == "active"


def test_upload_to_active_image_is_409(demo_http: ImageHttp) -> None:
    image = demo_http.create()
    assert demo_http.put_file(image["id"], b"abc").status_code == 204
    assert demo_http.put_file(image["id"], b"def").status_code == 409
    assert demo_http.get_file(image["id"]).content == b"abc"


def test_interrupted_upload_leaves_queued_image_and_no_bytes(cloud: RunningCloud, demo_http: ImageHttp) -> None:
    image = demo_http.create()
    with socket.create_connection(("127.0.0.1", cloud.port)) as sock:
        head = (f"PUT /image/v2/images/{image['id']}/file HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"X-Auth-Token: {demo_http.token}\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {10 * MIB}\r\n\r\n")
        sock.sendall(head.encode())
        sock.sendall(os.urandom(MIB))
        demo_http.wait_status(image["id"], "saving", timeout=10)
    shown = demo_http.wait_status(image["id"], "queued", timeout=15)
    assert shown["size"] is None and shown["checksum"] is None
    assert not stray_files(cloud.data_dir, image["id"])
    assert demo_http.put_file(image["id"], b"second try").status_code == 204  # and it can be retried


def test_content_md5_is_verified(cloud: RunningCloud, demo_http: ImageHttp) -> None:
    data = os.urandom(4096)
    image = demo_http.create()
    wrong = demo_http.put_file(image["id"], data, **{"Content-MD5": hashlib.md5(b"other").hexdigest()})
    assert wrong.status_code == 400
    assert demo_http.show(image["id"])["status"] == "queued"
    assert not stray_files(cloud.data_dir, image["id"])
    right = demo_http.put_file(image["id"], data, **{"Content-MD5": hashlib.md5(data).hexdigest()})
    assert right.status_code == 204


def test_range_requests(demo_http: ImageHttp) -> None:
    data = os.urandom(100_000)
    image = demo_http.create()
    demo_http.put_file(image["id"], data)
    for header, start, end in [("bytes=0-0", 0, 0), ("bytes=10-99", 10, 99), ("bytes=99990-", 99990, 99999),
                               ("bytes=-5", 99995, 99999), ("bytes=99000-200000", 99000, 99999)]:
        resp = demo_http.get_file(image["id"], Range=header)
        assert resp.status_code == 206, header
        assert resp.content == data[start:end + 1], header
        assert resp.headers["content-range"] == f"bytes {start}-{end}/100000"
    for bad in ("bytes=100000-", "bytes=50-10", "bytes=-0", "items=1-2"):
        resp = demo_http.get_file(image["id"], Range=bad)
        assert resp.status_code == 416, bad
        assert resp.headers["content-range"] == "bytes */100000"


def test_permissions(demo_http: ImageHttp, alt_http: ImageHttp, admin_http: ImageHttp) -> None:
    private = demo_http.create()
    assert alt_http.put_file(private["id"], b"x").status_code == 404
    assert alt_http.get_file(private["id"]).status_code == 404
    public = admin_http.create(visibility="public")
    assert demo_http.put_file(public["id"], b"x").status_code == 403
    assert admin_http.put_file(public["id"], b"public data").status_code == 204
    assert demo_http.get_file(public["id"]).content == b"public data"
    admin_http.delete(public["id"])


def test_deactivated_image_download(demo_http: ImageHttp, admin_http: ImageHttp) -> None:
    image = demo_http.create()
    demo_http.put_file(image["id"], b"payload")
    assert admin_http.http.post(f"/v2/images/{image['id']}/actions/deactivate").status_code == 204
    assert demo_http.get_file(image["id"]).status_code == 403
    assert admin_http.get_file(image["id"]).content == b"payload"
    assert admin_http.http.post(f"/v2/images/{image['id']}/actions/reactivate").status_code == 204
    assert demo_http.get_file(image["id"]).content == b"payload"


def test_bad_requests(demo_http: ImageHttp) -> None:
    image = demo_http.create()
    resp = demo_http.http.put(f"/v2/images/{image['id']}/file", content=b"{}",
                              headers={"Content-Type": "application/json"})
    assert resp.status_code == 415
    bare = demo_http.http.post("/v2/images", json={"name": "no-formats"}).json()
    assert demo_http.put_file(bare["id"], b"data").status_code == 400
    assert demo_http.show(bare["id"])["status"] == "queued"
    assert demo_http.put_file(image["id"], b"d", **{"X-Image-Meta-Store": "nowhere"}).status_code == 400
    assert demo_http.put_file("00000000-0000-0000-0000-000000000000", b"d").status_code == 404
    no_token = httpx.put(f"{demo_http.cloud.base_url}/image/v2/images/{image['id']}/file", content=b"d")
    assert no_token.status_code == 401


def test_delete_removes_data(cloud: RunningCloud, demo_http: ImageHttp) -> None:
    image = demo_http.create()
    demo_http.put_file(image["id"], os.urandom(1000))
    assert stray_files(cloud.data_dir, image["id"])
    assert demo_http.http.delete(f"/v2/images/{image['id']}").status_code == 204
    assert not stray_files(cloud.data_dir, image["id"])


def test_builtin_images(cloud: RunningCloud, demo_http: ImageHttp, admin: Any) -> None:
    admin_project = admin.current_project_id
    images = demo_http.http.get("/v2/images", params={"visibility": "public"}).json()["images"]
    builtin = {i["name"]: i for i in images if i["name"].startswith("onestack-tiny-x86_64-disk")}
    assert set(builtin) == {"onestack-tiny-x86_64-disk", "onestack-tiny-x86_64-disk-alt"}
    for image in builtin.values():
        assert image["status"] == "active" and image["visibility"] == "public"
        assert image["owner"] == admin_project
        assert image["disk_format"] == "qcow2" and image["virtual_size"] == 1024 * MIB
        body = demo_http.get_file(image["id"]).content
        assert body[:4] == b"QFI\xfb" and len(body) == image["size"]
        assert hashlib.md5(body).hexdigest() == image["checksum"]
        assert hashlib.sha512(body).hexdigest() == image["os_hash_value"]


def test_size_quota_is_413(fresh_cloud: RunningCloud) -> None:
    fresh_cloud.env["ONESTACK_IMAGE__IMAGE_SIZE_TOTAL"] = "1"  # MiB
    fresh_cloud.env["ONESTACK_IMAGE__IMAGE_SIZE_CAP"] = str(3 * MIB)
    fresh_cloud.env["ONESTACK_IMAGE__BUILTIN_IMAGES"] = "false"
    fresh_cloud.start()
    http = ImageHttp(fresh_cloud, fresh_cloud.sdk("devstack"))
    image = http.create()
    assert http.put_file(image["id"], pattern_stream(2 * MIB)).status_code == 413
    assert http.show(image["id"])["status"] == "queued"
    assert not stray_files(fresh_cloud.data_dir, image["id"])
    assert http.put_file(image["id"], os.urandom(MIB // 2)).status_code == 204
    usage = http.http.get("/v2/info/usage").json()["usage"]
    assert usage["image_size_total"] == {"limit": 1, "usage": 1}
    second = http.create()
    assert http.put_file(second["id"], os.urandom(MIB)).status_code == 413
    assert http.stage(second["id"], os.urandom(10)).status_code == 204  # staging has its own limit
    admin = ImageHttp(fresh_cloud, fresh_cloud.sdk("devstack-admin"))
    big = admin.create()
    assert admin.put_file(big["id"], pattern_stream(4 * MIB)).status_code == 413  # image_size_cap
    assert not stray_files(fresh_cloud.data_dir, big["id"])
