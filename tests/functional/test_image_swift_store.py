"""The image service's ``swift`` store: image data as objects in the service account's ``glance`` container.

The cloud runs with a 1 MiB chunk size so that a few MiB make a segmented image (DLO manifest).
What the store wrote is checked through the object store's own API as the service user.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import signal
from typing import Any

import pytest
from swiftclient.client import ClientException, Connection

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import module_cloud
from tests.functional.image_http import ImageHttp, pattern_stream, vm_rss_kib

MIB = 1024 * 1024

ccloud = module_cloud("image-swift", {
    "ONESTACK_IMAGE__SWIFT_STORE_LARGE_OBJECT_CHUNK_SIZE": "1",
    "ONESTACK_IMAGE__BUILTIN_IMAGES": "false",
    "ONESTACK_IMAGE__IMAGE_SIZE_CAP": str(5 * 1024 * 1024),
})


@pytest.fixture(scope="module")
def user(ccloud: RunningCloud) -> ImageHttp:
    return ImageHttp(ccloud, ccloud.sdk("devstack"))


@pytest.fixture(scope="module")
def admin_user(ccloud: RunningCloud) -> ImageHttp:
    return ImageHttp(ccloud, ccloud.sdk("devstack-admin"))


@pytest.fixture(scope="module")
def service_swift(ccloud: RunningCloud) -> Connection:
    """python-swiftclient as the onestack service user on its own account (where the store writes)."""
    import openstack

    conn = openstack.connect(auth_url=ccloud.identity_url + "/v3", username="onestack",
                             password=ccloud.password("onestack"), project_name="service",
                             user_domain_id="default", project_domain_id="default")
    url = conn.session.get_endpoint(service_type="object-store", interface="public")
    return Connection(preauthurl=url, preauthtoken=conn.auth_token, retries=0)


def objects_of(sw: Connection, image_id: str) -> dict[str, dict[str, Any]]:
    """The image's object and segments in the glance container, by name."""
    try:
        _, rows = sw.get_container("glance", prefix=image_id, full_listing=True)
    except ClientException as exc:
        if exc.http_status == 404:
            return {}
        raise
    return {row["name"]: row for row in rows}


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def pattern(total: int) -> bytes:
    return b"".join(pattern_stream(total))


def test_listed_beside_file(user: ImageHttp, admin_user: ImageHttp) -> None:
    stores = user.http.get("/v2/info/stores").json()["stores"]
    assert [s["id"] for s in stores] == ["file", "swift"]
    assert stores[0].get("default") is True and "default" not in stores[1]
    detail = {s["id"]: s for s in admin_user.http.get("/v2/info/stores/detail").json()["stores"]}
    assert detail["swift"]["type"] == "swift" and detail["file"]["type"] == "file"
    assert detail["swift"]["properties"]["container"] == "glance"


def test_small_image_is_one_object(ccloud: RunningCloud, user: ImageHttp, service_swift: Connection) -> None:
    data = os.urandom(300_000)
    image = user.create()
    resp = user.put_file(image["id"], data, **{"X-Image-Meta-Store": "swift"})
    assert resp.status_code == 204, resp.text
    shown = user.show(image["id"])
    assert shown["status"] == "active" and shown["stores"] == "swift"
    assert shown["size"] == len(data) and shown["checksum"] == md5(data)
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert user.get_file(image["id"]).content == data
    # One object named by the image id, the same bytes; nothing in the file store.
    found = objects_of(service_swift, image["id"])
    assert list(found) == [image["id"]]
    assert found[image["id"]]["hash"] == md5(data) and found[image["id"]]["bytes"] == len(data)
    headers, body = service_swift.get_object("glance", image["id"])
    assert body == data and "x-object-manifest" not in headers
    assert not (ccloud.data_dir / "images" / image["id"]).exists()
    # Deleting the image removes the object.
    assert user.http.delete(f"/v2/images/{image['id']}").status_code == 204
    assert objects_of(service_swift, image["id"]) == {}


def test_large_image_is_segments_and_a_manifest(user: ImageHttp, service_swift: Connection) -> None:
    total = 3 * MIB + 12345  # four segments of 1 MiB, the last one short
    data = pattern(total)
    image = user.create()
    resp = user.put_file(image["id"], pattern_stream(total, chunk=256 * 1024), **{"X-Image-Meta-Store": "swift"})
    assert resp.status_code == 204, resp.text
    shown = user.show(image["id"])
    assert shown["stores"] == "swift" and shown["size"] == total and shown["checksum"] == md5(data)
    found = objects_of(service_swift, image["id"])
    segments = [f"{image['id']}-{n:05d}" for n in range(1, 5)]
    assert sorted(found) == sorted([image["id"], *segments])
    for number, name in enumerate(segments):
        piece = data[number * MIB:(number + 1) * MIB]
        assert found[name]["bytes"] == len(piece) and found[name]["hash"] == md5(piece), name
    headers, _ = service_swift.get_object("glance", image["id"], query_string="multipart-manifest=get")
    assert headers["x-object-manifest"] == f"glance/{image['id']}-"
    # Byte-exact download through the manifest, and ranges inside and across segments.
    got = user.get_file(image["id"])
    assert got.status_code == 200 and got.content == data
    for first, last in ((0, 99), (MIB - 10, MIB + 9), (2 * MIB + 5, total - 1), (total - 1, total - 1)):
        part = user.get_file(image["id"], Range=f"bytes={first}-{last}")
        assert part.status_code == 206, (first, last, part.status_code)
        assert part.content == data[first:last + 1], (first, last)
    tail = user.get_file(image["id"], Range="bytes=-1000")
    assert tail.status_code == 206 and tail.content == data[-1000:]
    # Delete removes the manifest and every segment.
    assert user.http.delete(f"/v2/images/{image['id']}").status_code == 204
    assert objects_of(service_swift, image["id"]) == {}


def test_chunk_size_exactly_is_one_object(user: ImageHttp, service_swift: Connection) -> None:
    data = pattern(MIB)
    image = user.create()
    assert user.put_file(image["id"], data, **{"X-Image-Meta-Store": "swift"}).status_code == 204
    assert list(objects_of(service_swift, image["id"])) == [image["id"]]
    assert user.get_file(image["id"]).content == data


def test_empty_image(user: ImageHttp, service_swift: Connection) -> None:
    image = user.create()
    assert user.put_file(image["id"], b"", **{"X-Image-Meta-Store": "swift"}).status_code == 204
    shown = user.show(image["id"])
    assert shown["status"] == "active" and shown["size"] == 0 and shown["stores"] == "swift"
    assert objects_of(service_swift, image["id"])[image["id"]]["bytes"] == 0


def test_import_and_copy_into_swift(user: ImageHttp, admin_user: ImageHttp, service_swift: Connection) -> None:
    data = pattern(2 * MIB + 7)
    image = user.create()
    assert user.stage(image["id"], data).status_code == 204
    assert user.import_(image["id"], {"method": {"name": "glance-direct"}, "stores": ["file"]}).status_code == 202
    assert user.wait_status(image["id"], "active")["stores"] == "file"
    assert objects_of(service_swift, image["id"]) == {}
    # copy-image from the file store into swift: a segmented copy, both stores answer the same bytes.
    copy = {"method": {"name": "copy-image"}, "stores": ["swift"]}  # copy-image is admin-only (Glance's policy)
    assert admin_user.import_(image["id"], copy).status_code == 202
    wait_until(lambda: user.show(image["id"])["stores"] == "file,swift", timeout=60, what="the copy into swift")
    assert len(objects_of(service_swift, image["id"])) == 4  # manifest + 3 segments
    assert user.get_file(image["id"]).content == data
    # Deleting the image removes its data from both stores.
    assert user.http.delete(f"/v2/images/{image['id']}").status_code == 204
    assert objects_of(service_swift, image["id"]) == {}


def test_oversize_upload_leaves_nothing(user: ImageHttp, service_swift: Connection) -> None:
    """Past image_size_cap (5 MiB here) midway through the segments: 413, no object or segment stays."""
    image = user.create()
    resp = user.put_file(image["id"], pattern_stream(6 * MIB), **{"X-Image-Meta-Store": "swift"})
    assert resp.status_code == 413, resp.text
    assert user.show(image["id"])["status"] == "queued"
    assert objects_of(service_swift, image["id"]) == {}


def test_client_hanging_up_leaves_nothing(ccloud: RunningCloud, user: ImageHttp, service_swift: Connection) -> None:
    """The uploader disconnects after 2.5 of 4 MiB: the image goes back to queued, the container is clean."""
    image = user.create()
    hc = _start_upload(ccloud, user, image["id"], 4 * MIB, 5 * MIB // 2)
    wait_until(lambda: len(objects_of(service_swift, image["id"])) >= 2, timeout=60, what="segments written")
    hc.close()
    wait_until(lambda: user.show(image["id"])["status"] == "queued", timeout=60, what="the image back to queued")
    wait_until(lambda: objects_of(service_swift, image["id"]) == {}, timeout=60, what="the partial objects gone")



def _start_upload(cloud: RunningCloud, user: ImageHttp, image_id: str, total: int, send: int) -> http.client.HTTPConnection:
    """A PUT …/file into swift declaring ``total`` bytes and sending only ``send`` of them (left open)."""
    hc = http.client.HTTPConnection("127.0.0.1", cloud.port, timeout=60)
    hc.putrequest("PUT", f"/image/v2/images/{image_id}/file")
    for key, value in {"X-Auth-Token": user.token, "Content-Type": "application/octet-stream",
                       "Content-Length": str(total), "X-Image-Meta-Store": "swift"}.items():
        hc.putheader(key, value)
    hc.endheaders()
    for piece in pattern_stream(send):
        hc.send(piece)
    return hc


def test_crash_mid_upload_leaves_nothing_after_restart(ccloud: RunningCloud, user: ImageHttp,
                                                        service_swift: Connection) -> None:
    """SIGKILL while segments are being written; after the restart the image is queued again and its
    objects go too (the recovery pass runs before the APIs listen: the delete is owed, then done)."""
    image = user.create()
    hc = _start_upload(ccloud, user, image["id"], 4 * MIB, 5 * MIB // 2)
    wait_until(lambda: len(objects_of(service_swift, image["id"])) >= 2, timeout=60, what="segments written")
    ccloud.stop(signal.SIGKILL)
    hc.close()
    ccloud.start()
    wait_until(lambda: user.show(image["id"])["status"] == "queued", timeout=60, what="the image back to queued")
    wait_until(lambda: objects_of(service_swift, image["id"]) == {}, timeout=60, what="the partial objects gone")
    assert not list((ccloud.data_dir / "image-swift-pending-deletes").glob("*"))
    # And the image takes a new upload into swift.
    data = pattern(2 * MIB)
    assert user.put_file(image["id"], data, **{"X-Image-Meta-Store": "swift"}).status_code == 204
    assert user.get_file(image["id"]).content == data


bigcloud = module_cloud("image-swift-big", {
    "ONESTACK_IMAGE__SWIFT_STORE_LARGE_OBJECT_CHUNK_SIZE": "64",
    "ONESTACK_IMAGE__DEFAULT_STORE": "swift",  # built-in images still land in "file" (bootstrap)
})


def test_builtin_images_with_swift_default(bigcloud: RunningCloud) -> None:
    """With swift as the default store the built-in images are still registered, in "file", and readable."""
    demo = ImageHttp(bigcloud, bigcloud.sdk("devstack"))
    images = demo.http.get("/v2/images", params={"onestack_builtin": "true"}).json()["images"]
    assert images and all(img["stores"] == "file" and img["status"] == "active" for img in images)
    assert demo.get_file(images[0]["id"]).status_code == 200


def test_large_round_trip_keeps_server_memory_flat(bigcloud: RunningCloud) -> None:
    """256 MiB in (4 segments of 64 MiB, swift as the default store) and out: the server's RSS stays flat."""
    assert bigcloud.proc is not None
    demo = ImageHttp(bigcloud, bigcloud.sdk("devstack"))
    total = 256 * MIB
    expected = hashlib.md5()
    for chunk in pattern_stream(total):
        expected.update(chunk)
    image = demo.create()
    before = vm_rss_kib(bigcloud.proc.pid)
    assert demo.put_file(image["id"], pattern_stream(total)).status_code == 204
    shown = demo.show(image["id"])
    assert shown["stores"] == "swift" and shown["size"] == total and shown["checksum"] == expected.hexdigest()
    digest = hashlib.md5()
    with demo.http.stream("GET", f"/v2/images/{image['id']}/file") as resp:
        assert resp.status_code == 200
        for chunk in resp.iter_bytes(MIB):
            digest.update(chunk)
    assert digest.hexdigest() == expected.hexdigest()
    grown_mib = (vm_rss_kib(bigcloud.proc.pid) - before) / 1024
    assert grown_mib < 100, f"server RSS grew by {grown_mib:.0f} MiB over a 256 MiB round trip"
    demo.delete(image["id"])
