"""Interoperable import: stage + glance-direct, copy-image, multiple stores, refusals."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.functional.cloud import RunningCloud, make_cloud
from tests.functional.image_http import ImageHttp, stray_files


@pytest.fixture(scope="module")
def multi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    """A cloud with two filesystem stores: "file" (default) and "cheap"."""
    running = make_cloud(tmp_path_factory.mktemp("multistore"), extra_env={
        "ONESTACK_IMAGE__EXTRA_FILE_STORES": "cheap:cheap-images",
        "ONESTACK_IMAGE__SWIFT_STORE": "false",  # just the two filesystem stores
        "ONESTACK_IMAGE__BUILTIN_IMAGES": "false",
    })
    running.start()
    yield running
    running.close()


@pytest.fixture(scope="module")
def user(multi: RunningCloud) -> ImageHttp:
    return ImageHttp(multi, multi.sdk("devstack"))


@pytest.fixture(scope="module")
def admin_user(multi: RunningCloud) -> ImageHttp:
    return ImageHttp(multi, multi.sdk("devstack-admin"))


def test_discovery(user: ImageHttp, admin_user: ImageHttp) -> None:
    methods = user.http.get("/v2/info/import").json()["import-methods"]
    assert methods["value"] == ["glance-direct", "web-download", "copy-image"]
    stores = user.http.get("/v2/info/stores").json()["stores"]
    assert [s["id"] for s in stores] == ["file", "cheap"]
    assert stores[0]["default"] is True and "default" not in stores[1]
    assert user.http.get("/v2/info/stores/detail").status_code == 403
    detail = admin_user.http.get("/v2/info/stores/detail").json()["stores"]
    assert all(s["type"] == "file" and "datadir" in s["properties"] for s in detail)


def test_glance_direct_end_to_end(multi: RunningCloud, user: ImageHttp) -> None:
    data = os.urandom(300_000)
    image = user.create()
    assert user.stage(image["id"], data).status_code == 204
    assert user.show(image["id"])["status"] == "uploading"
    resp = user.import_(image["id"])
    assert resp.status_code == 202
    shown = user.wait_status(image["id"], "active")
    assert shown["checksum"] == hashlib.md5(data).hexdigest() and shown["size"] == len(data)
    assert shown["stores"] == "file"
    assert shown["os_glance_importing_to_stores"] == "" and shown["os_glance_failed_import"] == ""
    assert user.get_file(image["id"]).content == data
    tasks = user.http.get(f"/v2/images/{image['id']}/tasks").json()["tasks"]
    assert len(tasks) == 1 and tasks[0]["status"] == "success"
    assert tasks[0]["request_id"] == resp.headers["x-openstack-request-id"]
    assert tasks[0]["input"]["import_req"]["method"]["name"] == "glance-direct"
    assert not list((multi.data_dir / "image-staging").glob(f"*{image['id']}*"))


def test_import_to_all_stores_then_delete_from_one(multi: RunningCloud, user: ImageHttp,
                                                   admin_user: ImageHttp) -> None:
    data = os.urandom(70_000)
    image = user.create()
    user.stage(image["id"], data)
    assert user.import_(image["id"], {"method": {"name": "glance-direct"}, "all_stores": True}).status_code == 202
    shown = user.wait_status(image["id"], "active")
    assert shown["stores"] == "cheap,file"
    assert len(stray_files(multi.data_dir, image["id"])) == 2
    resp = admin_user.http.delete(f"/v2/stores/file/{image['id']}")
    assert resp.status_code == 204
    assert user.show(image["id"])["stores"] == "cheap"
    assert user.get_file(image["id"]).content == data
    assert admin_user.http.delete(f"/v2/stores/cheap/{image['id']}").status_code == 409  # the last copy stays
    assert user.http.delete(f"/v2/stores/cheap/{image['id']}").status_code == 403


def test_upload_to_a_named_store_and_copy_image(multi: RunningCloud, user: ImageHttp,
                                                admin_user: ImageHttp) -> None:
    data = os.urandom(50_000)
    image = user.create()
    assert user.put_file(image["id"], data, **{"X-Image-Meta-Store": "cheap"}).status_code == 204
    assert user.show(image["id"])["stores"] == "cheap"
    body = {"method": {"name": "copy-image"}, "all_stores": True, "all_stores_must_succeed": False}
    assert user.import_(image["id"], body).status_code == 403  # copying is for administrators
    assert admin_user.import_(image["id"], body).status_code == 202

    def copied() -> Any:
        shown = user.show(image["id"])
        return shown if shown.get("os_glance_importing_to_stores") == "" else None

    from tests.functional.cloud import wait_until
    shown = wait_until(copied, what="copy-image to finish")
    assert shown["stores"] == "cheap,file" and shown["os_glance_failed_import"] == ""
    admin_user.http.delete(f"/v2/stores/cheap/{image['id']}")
    assert user.get_file(image["id"]).content == data


def test_import_refusals(user: ImageHttp) -> None:
    image = user.create()
    assert user.import_(image["id"]).status_code == 409  # nothing staged
    web = user.import_(image["id"], {"method": {"name": "web-download", "uri": "http://127.0.0.1:9/x.img"}})
    assert web.status_code == 400 and "does not pass filtering" in web.text  # port 9 is not allowed
    assert user.import_(image["id"], {"method": {"name": "teleport"}}).status_code == 400
    assert user.import_(image["id"], {"nomethod": True}).status_code == 400
    user.stage(image["id"], b"staged")
    assert user.stage(image["id"], b"again").status_code == 409
    assert user.put_file(image["id"], b"direct").status_code == 409
    bad = {"method": {"name": "glance-direct"}, "stores": ["nowhere"]}
    assert user.import_(image["id"], bad).status_code == 400
    both = {"method": {"name": "glance-direct"}, "stores": ["file"], "all_stores": True}
    assert user.import_(image["id"], both).status_code == 400
    assert user.show(image["id"])["status"] == "uploading"


def test_other_project_cannot_stage_or_import(multi: RunningCloud, user: ImageHttp) -> None:
    alt = ImageHttp(multi, multi.sdk("devstack-alt"))
    image = user.create()
    assert alt.stage(image["id"], b"x").status_code == 404
    user.stage(image["id"], b"x")
    assert alt.import_(image["id"]).status_code == 404


def test_sdk_import(multi: RunningCloud) -> None:
    conn = multi.sdk("devstack")
    data = os.urandom(10_000)
    image = conn.image.create_image(name="sdk-import", disk_format="raw", container_format="bare")
    conn.image.stage_image(image, data=data)
    conn.image.import_image(image, method="glance-direct")
    http = ImageHttp(multi, conn)
    http.wait_status(image.id, "active")
    assert conn.image.download_image(image.id).content == data
