"""web-download import: the cloud fetches the image from a URL that passes [import_filtering_opts].

The URLs are served by a local http.server thread; the cloud allows its host and port.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

from onestack.image import builtin
from tests.functional.cloud import RunningCloud, make_cloud
from tests.functional.image_http import ImageHttp
from tests.functional.web_server import WebServer, web_server

CAP = 1_000_000  # image_size_cap of this cloud


@pytest.fixture(scope="module")
def web() -> Iterator[WebServer]:
    with web_server() as server:
        yield server


@pytest.fixture(scope="module")
def wcloud(tmp_path_factory: pytest.TempPathFactory, web: WebServer) -> Iterator[RunningCloud]:
    running = make_cloud(tmp_path_factory.mktemp("webdl"), extra_env={
        "ONESTACK_IMAGE__IMPORT_FILTERING_ALLOWED_HOSTS": "127.0.0.1",
        "ONESTACK_IMAGE__IMPORT_FILTERING_ALLOWED_PORTS": f"80,443,{web.port}",
        "ONESTACK_IMAGE__IMAGE_SIZE_CAP": str(CAP),
        "ONESTACK_IMAGE__SWIFT_STORE": "false",
        "ONESTACK_IMAGE__BUILTIN_IMAGES": "false",
    })
    running.start()
    yield running
    running.close()


@pytest.fixture(scope="module")
def user(wcloud: RunningCloud) -> ImageHttp:
    return ImageHttp(wcloud, wcloud.sdk("devstack"))


def _serve(web: WebServer, data: bytes) -> str:
    path = f"/img-{os.urandom(6).hex()}"
    web.files[path] = data
    return str(web.url(path))


def _web_download(user: ImageHttp, image_id: str, uri: Any) -> Any:
    return user.import_(image_id, {"method": {"name": "web-download", "uri": uri}})


def _tasks(user: ImageHttp, image_id: str) -> list[dict[str, Any]]:
    return list(user.http.get(f"/v2/images/{image_id}/tasks").json()["tasks"])


def _failed_back_to_queued(user: ImageHttp, image_id: str) -> dict[str, Any]:
    shown = user.wait_status(image_id, "queued")
    assert shown["os_glance_failed_import"] == "file" and shown["os_glance_importing_to_stores"] == ""
    assert shown["checksum"] is None and shown["size"] is None
    tasks = _tasks(user, image_id)
    assert len(tasks) == 1 and tasks[0]["status"] == "failure" and tasks[0]["message"]
    return shown


def test_info_import_offers_web_download(user: ImageHttp) -> None:
    methods = user.http.get("/v2/info/import").json()["import-methods"]["value"]
    assert methods == ["glance-direct", "web-download", "copy-image"]


def test_sdk_web_download_of_a_qcow2(wcloud: RunningCloud, web: WebServer) -> None:
    conn = wcloud.sdk("devstack")
    data = builtin.disk_bytes(builtin.BUILTIN_IMAGES[0])
    uri = _serve(web, data)
    image = conn.image.create_image(name="webdl-sdk", disk_format="qcow2", container_format="bare")
    conn.image.import_image(image, method="web-download", uri=uri)
    image = conn.image.wait_for_status(image, "active", failures=["queued"], wait=60)
    assert image.checksum == hashlib.md5(data).hexdigest() and image.size == len(data)
    assert image.hash_value == hashlib.sha512(data).hexdigest()
    assert image.virtual_size == 1 << 30
    assert b"".join(conn.image.download_image(image, stream=True).iter_content(65536)) == data
    user = ImageHttp(wcloud, conn)
    (task,) = _tasks(user, image.id)
    assert task["status"] == "success" and task["type"] == "api_image_import"
    assert task["input"]["import_req"]["method"] == {"name": "web-download", "uri": uri}


def test_cli_image_import_web_download(wcloud: RunningCloud, web: WebServer, user: ImageHttp) -> None:
    """OSC's `image import --method web-download --uri` (its `image create --import` has no --uri)."""
    data = os.urandom(50_000)
    uri = _serve(web, data)
    # Created over HTTP: `openstack image create` with no --file uploads its (non-tty) stdin.
    created = user.create()
    wcloud.cli("image", "import", "--method", "web-download", "--uri", uri, created["id"], cloud="devstack",
               json_out=False)
    shown = user.wait_status(created["id"], "active", "queued")
    assert shown["status"] == "active" and shown["checksum"] == hashlib.md5(data).hexdigest()
    assert user.get_file(created["id"]).content == data


def test_redirect_to_an_allowed_target_is_followed(web: WebServer, user: ImageHttp) -> None:
    data = os.urandom(10_000)
    target = _serve(web, data)
    web.redirects["/hop"] = target
    image = user.create()
    assert _web_download(user, image["id"], web.url("/hop")).status_code == 202
    assert user.wait_status(image["id"], "active", "queued")["checksum"] == hashlib.md5(data).hexdigest()


def test_redirect_to_a_disallowed_target_fails_the_import(web: WebServer, user: ImageHttp) -> None:
    forbidden = f"http://127.0.0.1:{web.port + 1 if web.port < 65535 else 1}/x"
    web.redirects["/bounce"] = forbidden
    image = user.create()
    assert _web_download(user, image["id"], web.url("/bounce")).status_code == 202
    shown = _failed_back_to_queued(user, image["id"])
    assert "Redirect to disallowed URL" in _tasks(user, shown["id"])[0]["message"]


@pytest.mark.parametrize("uri", [
    "http://127.0.0.1:81/img",  # port not allowed
    "ftp://127.0.0.1/img",  # scheme not allowed
    "file:///etc/passwd",
    "http://localhost:80/img",  # host not in allowed_hosts
    "http://2130706433/img",  # an encoded address
    "http://127.1/img",
    "not a uri",
    "",
    None,
    42,
])
def test_uri_that_does_not_pass_filtering_is_400(user: ImageHttp, uri: Any) -> None:
    image = user.create()
    resp = _web_download(user, image["id"], uri)
    assert resp.status_code == 400, resp.text
    assert "does not pass filtering" in resp.text
    shown = user.show(image["id"])
    assert shown["status"] == "queued" and "os_glance_import_task" not in shown
    assert _tasks(user, image["id"]) == []


def test_missing_url_puts_the_image_back_with_failed_import(web: WebServer, user: ImageHttp) -> None:
    image = user.create()
    assert _web_download(user, image["id"], web.url("/nothing-here")).status_code == 202
    _failed_back_to_queued(user, image["id"])
    # queued again: a second import with a good URL succeeds
    data = os.urandom(1000)
    assert _web_download(user, image["id"], _serve(web, data)).status_code == 202
    assert user.wait_status(image["id"], "active", "queued")["checksum"] == hashlib.md5(data).hexdigest()


def test_download_over_image_size_cap_fails(wcloud: RunningCloud, web: WebServer, user: ImageHttp) -> None:
    image = user.create()
    assert _web_download(user, image["id"], _serve(web, os.urandom(CAP + 1))).status_code == 202
    _failed_back_to_queued(user, image["id"])
    assert not list((wcloud.data_dir / "image-staging").glob(f"*{image['id']}*"))


def test_content_not_of_the_disk_format_fails(web: WebServer, user: ImageHttp) -> None:
    image = user.create(disk_format="qcow2")
    assert _web_download(user, image["id"], _serve(web, os.urandom(5000))).status_code == 202
    _failed_back_to_queued(user, image["id"])


def test_only_a_queued_image_of_the_owner(wcloud: RunningCloud, web: WebServer, user: ImageHttp) -> None:
    uri = _serve(web, os.urandom(1000))
    image = user.create()
    assert _web_download(user, image["id"], uri).status_code == 202
    user.wait_status(image["id"], "active")
    resp = _web_download(user, image["id"], uri)
    assert resp.status_code == 409 and "queued" in resp.text
    no_format = user.http.post("/v2/images", json={"name": "bare"}).json()
    assert _web_download(user, no_format["id"], uri).status_code == 409
    other = ImageHttp(wcloud, wcloud.sdk("devstack-alt"))
    fresh = user.create()
    assert _web_download(other, fresh["id"], uri).status_code == 404
    assert user.show(fresh["id"])["status"] == "queued"


def test_credentials_in_the_uri_are_not_shown(web: WebServer, user: ImageHttp) -> None:
    data = os.urandom(2000)
    path = _serve(web, data).split(str(web.port), 1)[1]
    image = user.create()
    uri = f"http://someone:s3cret@127.0.0.1:{web.port}{path}"
    assert _web_download(user, image["id"], uri).status_code == 202
    assert user.wait_status(image["id"], "active", "queued")["status"] == "active"
    (task,) = _tasks(user, image["id"])
    assert task["input"]["import_req"]["method"]["uri"] == f"http://127.0.0.1:{web.port}{path}"
