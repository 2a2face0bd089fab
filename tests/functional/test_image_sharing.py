"""Image sharing between the demo and alt_demo projects, and cross-project isolation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.test_image_metadata import Api


@pytest.fixture(scope="module")
def dapi(cloud: RunningCloud, demo: Any) -> Api:
    return Api(cloud, demo)


@pytest.fixture(scope="module")
def alt_api(cloud: RunningCloud, alt: Any) -> Api:
    return Api(cloud, alt)


def test_share_accept_reject_remove(dapi: Api, alt_api: Api, alt: Any) -> None:
    img = dapi.create()
    alt_project = alt.current_project_id
    added = dapi("POST", f"/v2/images/{img['id']}/members", json={"member": alt_project})
    assert added.status_code == 200, added.text
    member = added.json()
    assert member["member_id"] == alt_project and member["image_id"] == img["id"]
    assert member["status"] == "pending" and member["schema"] == "/v2/schemas/member"
    # Pending: the member may look at the image but it is not in its list.
    assert alt_api.show(img["id"])["id"] == img["id"]
    assert img["id"] not in alt_api.ids()
    assert alt_api.ids("?member_status=pending&visibility=shared") == [img["id"]]
    assert img["id"] in alt_api.ids("?member_status=all")
    # The owner cannot answer for the member; bad statuses are refused.
    path = f"/v2/images/{img['id']}/members/{alt_project}"
    assert dapi("PUT", path, json={"status": "accepted"}).status_code == 403
    assert alt_api("PUT", path, json={"status": "maybe"}).status_code == 400
    accepted = alt_api("PUT", path, json={"status": "accepted"})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert img["id"] in alt_api.ids()
    assert dapi("GET", path).json()["status"] == "accepted"
    listing = dapi("GET", f"/v2/images/{img['id']}/members").json()
    assert listing["schema"] == "/v2/schemas/members" and [m["member_id"] for m in listing["members"]] == [alt_project]
    assert alt_api("PUT", path, json={"status": "rejected"}).status_code == 200
    assert img["id"] not in alt_api.ids()
    # Members cannot remove themselves or others; the owner can.
    assert alt_api("DELETE", path).status_code == 403
    assert dapi("DELETE", path).status_code == 204
    assert dapi("DELETE", path).status_code == 404
    assert alt_api("GET", f"/v2/images/{img['id']}").status_code == 404


def test_member_rules(dapi: Api, alt_api: Api, alt: Any, demo: Any) -> None:
    img = dapi.create()
    members = f"/v2/images/{img['id']}/members"
    assert dapi("POST", members, json={"member": alt.current_project_id}).status_code == 200
    assert dapi("POST", members, json={"member": alt.current_project_id}).status_code == 409
    assert dapi("POST", members, json={}).status_code == 400
    assert dapi("POST", members, json={"member": 5}).status_code == 400
    # The member sees only itself and cannot share further or change the image.
    assert alt_api("POST", members, json={"member": "third"}).status_code == 403
    seen = alt_api("GET", members).json()["members"]
    assert [m["member_id"] for m in seen] == [alt.current_project_id]
    assert alt_api.patch(img["id"], [{"op": "replace", "path": "/name", "value": "stolen"}]).status_code == 403
    assert alt_api("DELETE", f"/v2/images/{img['id']}").status_code == 403
    assert alt_api("PUT", f"/v2/images/{img['id']}/tags/x").status_code == 403
    assert dapi.show(img["id"])["name"] == img["name"]
    # Only shared images have members.
    private = dapi.create(visibility="private")
    assert dapi("POST", f"/v2/images/{private['id']}/members",
                json={"member": alt.current_project_id}).status_code == 403
    assert dapi("GET", f"/v2/images/{private['id']}/members").status_code == 403
    # Going private hides the image from its members even though the membership stays.
    assert dapi.patch(img["id"], [{"op": "replace", "path": "/visibility", "value": "private"}]).status_code == 200
    assert alt_api("GET", f"/v2/images/{img['id']}").status_code == 404


def test_private_image_isolated(dapi: Api, alt_api: Api) -> None:
    img = dapi.create(visibility="private")
    base = f"/v2/images/{img['id']}"
    assert alt_api("GET", base).status_code == 404
    assert alt_api.patch(img["id"], [{"op": "replace", "path": "/name", "value": "x"}]).status_code == 404
    assert alt_api("DELETE", base).status_code == 404
    assert alt_api("PUT", base + "/tags/x").status_code == 404
    assert alt_api("GET", base + "/members").status_code == 404
    assert alt_api("POST", base + "/actions/deactivate").status_code == 404
    assert img["id"] not in alt_api.ids("?visibility=all")
    assert dapi.show(img["id"])["tags"] == []


def test_community_and_public_visibility(dapi: Api, alt_api: Api, aapi_factory: Any) -> None:
    community = dapi.create(visibility="community")
    assert alt_api.show(community["id"])["visibility"] == "community"
    assert community["id"] not in alt_api.ids()
    assert community["id"] in alt_api.ids("?visibility=community")
    assert community["id"] in dapi.ids()  # the owner sees its community images unasked
    assert alt_api.patch(community["id"], [{"op": "add", "path": "/x", "value": "y"}]).status_code == 403
    public = aapi_factory().create(visibility="public")
    assert public["id"] in alt_api.ids()
    assert alt_api("DELETE", f"/v2/images/{public['id']}").status_code == 403


@pytest.fixture(scope="module")
def aapi_factory(cloud: RunningCloud, admin: Any) -> Any:
    return lambda: Api(cloud, admin)


def test_cli_sharing(cloud: RunningCloud, demo: Any, alt: Any) -> None:
    name = f"cli-share-{uuid.uuid4().hex[:8]}"
    image_id = cloud.cli("image", "create", "--shared", name, cloud="devstack")["id"]
    alt_project = alt.current_project_id
    added = cloud.cli("image", "add", "project", image_id, alt_project, cloud="devstack")
    assert added["status"] == "pending"
    alt_names = [r["Name"] for r in cloud.cli("image", "list", cloud="devstack-alt")]
    assert name not in alt_names
    cloud.cli("image", "set", "--accept", image_id, cloud="devstack-alt", json_out=False)
    alt_names = [r["Name"] for r in cloud.cli("image", "list", cloud="devstack-alt")]
    assert name in alt_names
    members = cloud.cli("image", "member", "list", image_id, cloud="devstack")
    assert [(m["Member ID"], m["Status"]) for m in members] == [(alt_project, "accepted")]
    cloud.cli("image", "remove", "project", image_id, alt_project, cloud="devstack", json_out=False)
    assert cloud.cli("image", "member", "list", image_id, cloud="devstack") == []
    alt_names = [r["Name"] for r in cloud.cli("image", "list", cloud="devstack-alt")]
    assert name not in alt_names


def test_sdk_sharing(demo: Any, alt: Any) -> None:
    image = demo.image.create_image(name=f"sdk-share-{uuid.uuid4().hex[:8]}", visibility="shared")
    member = demo.image.add_member(image, member_id=alt.current_project_id)
    assert member.status == "pending"
    alt.image.update_member(member, image, status="accepted")
    assert image.id in [i.id for i in alt.image.images()]
    assert [m.member_id for m in demo.image.members(image)] == [alt.current_project_id]
    demo.image.remove_member(member, image)
    assert image.id not in [i.id for i in alt.image.images()]
