"""Image API 2.17 locations: a service adds a location of a store to a queued image; the cloud
reads it to compute checksum and hash (checked against validation_data) and activates it."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any

import openstack.exceptions
import pytest

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.image_http import ImageHttp


@pytest.fixture(scope="module")
def service(cloud: RunningCloud, admin: Any) -> ImageHttp:
    """A user holding the service role (and member, to create images) on a project of its own."""
    suffix = uuid.uuid4().hex[:8]
    project = admin.identity.create_project(name=f"svc-{suffix}", domain_id="default")
    user = admin.identity.create_user(name=f"svc-{suffix}", password=f"pw-{suffix}", domain_id="default",
                                      default_project_id=project.id)
    for role in ("service", "member"):
        admin.identity.assign_project_role_to_user(project, user, admin.identity.find_role(role))
    conn = cloud.sdk("devstack", auth={"username": user.name, "password": f"pw-{suffix}",
                                       "project_name": project.name})
    return ImageHttp(cloud, conn)


@pytest.fixture(scope="module")
def member(cloud: RunningCloud, demo: Any) -> ImageHttp:
    return ImageHttp(cloud, demo)


def _put_in_store(cloud: RunningCloud, data: bytes) -> str:
    """What Nova or Cinder does before adding a location: write the data into the store itself."""
    path = cloud.data_dir / "images" / f"svc-{uuid.uuid4()}"
    path.write_bytes(data)
    return path.resolve().as_uri()


def _add(http: ImageHttp, image_id: str, url: str, validation: dict[str, str] | None = None,
         **extra: Any) -> Any:
    body: dict[str, Any] = {"url": url, **extra}
    if validation is not None:
        body["validation_data"] = validation
    return http.http.post(f"/v2/images/{image_id}/locations", json=body)


def _locations(http: ImageHttp, image_id: str) -> Any:
    return http.http.get(f"/v2/images/{image_id}/locations")


def _task(http: ImageHttp, image_id: str, status: str) -> dict[str, Any]:
    def done() -> Any:
        found = http.http.get(f"/v2/images/{image_id}/tasks").json()["tasks"]
        return found if found and found[0]["status"] in ("success", "failure") else None
    tasks = wait_until(done, what=f"location task of {image_id}")
    assert len(tasks) == 1 and tasks[0]["type"] == "location_import" and tasks[0]["status"] == status
    return dict(tasks[0])


def test_version_2_17_is_current(service: ImageHttp) -> None:
    assert service.http.get("/versions").json()["versions"][0] == {
        "id": "v2.17", "status": "CURRENT", "links": [{"rel": "self", "href": f"{service.cloud.base_url}/image/v2/"}]}


def test_add_location_with_validation_data(cloud: RunningCloud, service: ImageHttp) -> None:
    data = os.urandom(120_000)
    url = _put_in_store(cloud, data)
    image = service.create()
    resp = _add(service, image["id"], url, {"os_hash_algo": "sha256",
                                           "os_hash_value": hashlib.sha256(data).hexdigest()})
    assert resp.status_code == 202, resp.text
    _task(service, image["id"], "success")
    shown = service.show(image["id"])
    assert shown["status"] == "active" and shown["size"] == len(data) and shown["stores"] == "file"
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert (shown["os_hash_algo"], shown["os_hash_value"]) == ("sha256", hashlib.sha256(data).hexdigest())
    assert "locations" not in shown and "direct_url" not in shown  # show_multiple_locations is off
    assert _locations(service, image["id"]).json() == [{"url": url, "metadata": {"store": "file"}}]
    assert service.get_file(image["id"]).content == data
    # only a queued image takes a location
    again = _add(service, image["id"], url)
    assert again.status_code == 409 and "status is active" in again.text


def test_sdk_add_location_without_validation_data(cloud: RunningCloud, service: ImageHttp) -> None:
    data = os.urandom(30_000)
    url = _put_in_store(cloud, data)
    image = service.create()
    sdk = _service_sdk(cloud, service)
    sdk.image.add_image_location(image["id"], url)
    _task(service, image["id"], "success")
    shown = service.show(image["id"])
    assert shown["status"] == "active" and shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert [loc.url for loc in sdk.image.image_locations(image["id"])] == [url]


def _service_sdk(cloud: RunningCloud, service: ImageHttp) -> Any:
    import openstack

    return openstack.connect(auth_type="token", auth={
        "auth_url": cloud.cloud_config("devstack")["auth"]["auth_url"], "token": service.token},
        region_name=cloud.cloud_config("devstack").get("region_name", "RegionOne"))


def test_wrong_hash_puts_the_image_back_to_queued(cloud: RunningCloud, service: ImageHttp) -> None:
    url = _put_in_store(cloud, os.urandom(10_000))
    image = service.create()
    assert _add(service, image["id"], url, {"os_hash_algo": "sha512", "os_hash_value": "beefdead" * 16}).status_code \
        == 202
    task = _task(service, image["id"], "failure")
    assert "not matched" in task["message"]
    shown = service.show(image["id"])
    assert shown["status"] == "queued"
    assert shown["checksum"] is None and shown["os_hash_algo"] is None and shown["os_hash_value"] is None
    assert _locations(service, image["id"]).json() == []
    assert Path(url.removeprefix("file://")).exists()  # the caller's data is not ours to delete


def test_missing_data_fails_the_task(cloud: RunningCloud, service: ImageHttp) -> None:
    url = (cloud.data_dir / "images" / f"svc-{uuid.uuid4()}").resolve().as_uri()
    image = service.create()
    assert _add(service, image["id"], url).status_code == 202
    _task(service, image["id"], "failure")
    assert service.show(image["id"])["status"] == "queued"


@pytest.mark.parametrize("validation", [
    {"os_hash_algo": "sha512", "os_hash_value": "dbc9e0f80d131e64b94913a7b40bb5"},  # wrong size
    {"os_hash_value": hashlib.sha512(b"x").hexdigest()},  # algo missing
    {"os_hash_algo": "sha512"},  # value missing
    {"os_hash_algo": "sha123", "os_hash_value": hashlib.sha512(b"x").hexdigest()},
    {"os_hash_algo": "sha512", "os_hash_value": hashlib.sha256(b"x").hexdigest()},
    {"os_hash_algo": "sha256", "os_hash_value": "zz" * 32},
    {"os_hash_algo": "sha256", "os_hash_value": hashlib.sha256(b"x").hexdigest(), "checksum": "00"},
    {"os_hash_algo": "sha256", "os_hash_value": 7},
    "sha256",
])
def test_bad_validation_data_is_400(cloud: RunningCloud, service: ImageHttp, validation: Any) -> None:
    image = service.create()
    resp = service.http.post(f"/v2/images/{image['id']}/locations",
                             json={"url": _put_in_store(cloud, b"x"), "validation_data": validation})
    assert resp.status_code == 400, resp.text
    assert service.show(image["id"])["status"] == "queued"


@pytest.mark.parametrize("url", ["http://127.0.0.1/x.img", "file:///etc/passwd", "swift://elsewhere/c/o", "", 5])
def test_url_outside_the_stores_is_400(cloud: RunningCloud, service: ImageHttp, url: Any) -> None:
    image = service.create()
    resp = service.http.post(f"/v2/images/{image['id']}/locations", json={"url": url})
    assert resp.status_code == 400, resp.text
    assert service.show(image["id"])["status"] == "queued"


def test_store_dir_escape_is_400(cloud: RunningCloud, service: ImageHttp) -> None:
    image = service.create()
    outside = (cloud.data_dir / "images" / ".." / "secrets.json").as_uri()
    assert _add(service, image["id"], outside).status_code == 400


def test_another_images_data_is_not_a_location(cloud: RunningCloud, service: ImageHttp) -> None:
    owner = service.create()
    assert service.put_file(owner["id"], b"owned data").status_code == 204
    theirs = (cloud.data_dir / "images" / owner["id"]).resolve().as_uri()
    image = service.create()
    resp = _add(service, image["id"], theirs)
    assert resp.status_code == 400 and "another image" in resp.text
    assert service.show(image["id"])["status"] == "queued"


def test_only_a_service_may_add_or_list(cloud: RunningCloud, service: ImageHttp, member: ImageHttp,
                                        admin: Any) -> None:
    url = _put_in_store(cloud, b"data")
    mine = member.create()
    refused = _add(member, mine["id"], url)
    assert refused.status_code == 403 and "http store" in refused.text
    assert _locations(member, mine["id"]).status_code == 403
    assert member.show(mine["id"])["status"] == "queued"
    # admin passes the policy, but without the service role only http-store locations (none here)
    admin_http = ImageHttp(cloud, admin)
    assert _add(admin_http, mine["id"], url).status_code == 403
    assert _locations(admin_http, mine["id"]).json() == []
    # another project's private image is not even seen by the service
    assert _add(service, mine["id"], url).status_code == 404
    assert _locations(service, mine["id"]).status_code == 404
    assert _add(service, str(uuid.uuid4()), url).status_code == 404


def test_legacy_patch_of_locations_is_403(member: ImageHttp) -> None:
    image = member.create()
    resp = member.http.patch(f"/v2/images/{image['id']}", content=b'[{"op": "add", "path": "/locations/-", '
                             b'"value": {"url": "file:///x", "metadata": {}}}]',
                             headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    assert resp.status_code == 403 and "locations are invisible" in resp.text


def test_sdk_errors_surface(cloud: RunningCloud, service: ImageHttp) -> None:
    sdk = _service_sdk(cloud, service)
    image = service.create()
    with pytest.raises(openstack.exceptions.BadRequestException):
        sdk.image.add_image_location(image["id"], "http://127.0.0.1/x.img")
