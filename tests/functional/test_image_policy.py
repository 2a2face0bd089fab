"""Image policy: Glance's personas (admin, project member, project reader) and operator overrides."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.functional.cloud import RunningCloud, make_cloud
from tests.functional.test_image_metadata import Api


@pytest.fixture(scope="module")
def dapi(cloud: RunningCloud, demo: Any) -> Api:
    return Api(cloud, demo)


@pytest.fixture(scope="module")
def aapi(cloud: RunningCloud, admin: Any) -> Api:
    return Api(cloud, admin)


@pytest.fixture(scope="module")
def reader_api(cloud: RunningCloud, admin: Any, demo: Any) -> Api:
    """A user holding only the reader role on the demo project."""
    name = f"reader-{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    user = admin.identity.create_user(name=name, password=password, domain_id="default")
    role = admin.identity.find_role("reader")
    admin.identity.assign_project_role_to_user(demo.current_project_id, user, role)
    conn = cloud.sdk("devstack", auth={"username": name, "password": password})
    return Api(cloud, conn)


def test_reader_reads_but_cannot_write(dapi: Api, reader_api: Api, alt: Any) -> None:
    img = dapi.create(tags=["r"])
    assert reader_api.show(img["id"])["id"] == img["id"]
    assert img["id"] in reader_api.ids()
    assert reader_api("GET", f"/v2/images/{img['id']}/members").status_code == 200
    assert reader_api("POST", "/v2/images", json={"name": "nope"}).status_code == 403
    assert reader_api.patch(img["id"], [{"op": "replace", "path": "/name", "value": "x"}]).status_code == 403
    assert reader_api("DELETE", f"/v2/images/{img['id']}").status_code == 403
    assert reader_api("PUT", f"/v2/images/{img['id']}/tags/new").status_code == 403
    assert reader_api("DELETE", f"/v2/images/{img['id']}/tags/r").status_code == 403
    assert reader_api("POST", f"/v2/images/{img['id']}/members",
                      json={"member": alt.current_project_id}).status_code == 403
    after = dapi.show(img["id"])
    assert after["name"] == img["name"] and after["tags"] == ["r"]


def test_admin_sees_and_changes_any_image(dapi: Api, aapi: Api, demo: Any, alt: Any) -> None:
    img = dapi.create(visibility="private")
    assert img["id"] in aapi.ids()
    assert aapi.show(img["id"])["owner"] == demo.current_project_id
    resp = aapi.patch(img["id"], [{"op": "replace", "path": "/owner", "value": alt.current_project_id}])
    assert resp.status_code == 200 and resp.json()["owner"] == alt.current_project_id
    assert dapi("GET", f"/v2/images/{img['id']}").status_code == 404
    assert aapi("DELETE", f"/v2/images/{img['id']}").status_code == 204


def test_member_cannot_publicize_but_admin_can(dapi: Api, aapi: Api) -> None:
    img = dapi.create()
    assert dapi.patch(img["id"], [{"op": "replace", "path": "/visibility", "value": "public"}]).status_code == 403
    assert dapi.show(img["id"])["visibility"] == "shared"
    assert aapi.patch(img["id"], [{"op": "replace", "path": "/visibility", "value": "public"}]).status_code == 200
    # Once public, the owner may still take it back to private.
    assert dapi.patch(img["id"], [{"op": "replace", "path": "/visibility", "value": "private"}]).status_code == 200


def test_unauthenticated_is_401(cloud: RunningCloud) -> None:
    import httpx

    assert httpx.get(cloud.base_url + "/image/v2/images").status_code == 401
    bad = httpx.get(cloud.base_url + "/image/v2/images", headers={"X-Auth-Token": "bogus"})
    assert bad.status_code == 401


def test_policy_file_overrides(tmp_path: Path) -> None:
    policy = tmp_path / "image-policy.yaml"
    policy.write_text('"add_image": "role:admin"\n"publicize_image": "role:member"\n')
    cloud = make_cloud(tmp_path, extra_env={"ONESTACK_IMAGE__POLICY_FILE": str(policy),
                                            "ONESTACK_IMAGE__BUILTIN_IMAGES": "false"})
    cloud.start()
    try:
        demo = Api(cloud, cloud.sdk("devstack"))
        admin = Api(cloud, cloud.sdk("devstack-admin"))
        assert demo("POST", "/v2/images", json={"name": "x"}).status_code == 403
        img = admin.create(owner=cloud.sdk("devstack").current_project_id)
        resp = demo.patch(img["id"], [{"op": "replace", "path": "/visibility", "value": "public"}])
        assert resp.status_code == 200 and resp.json()["visibility"] == "public"
    finally:
        cloud.close()
