"""Image metadata API (Glance v2): create, list (filters, sorting, pagination), show, patch, delete, tags."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud, make_cloud

PATCH = "application/openstack-images-v2.1-json-patch"


class Api:
    """Raw HTTP against /image with one connection's token: status codes are the point here."""

    def __init__(self, cloud: RunningCloud, conn: Any) -> None:
        self.base = cloud.base_url + "/image"
        self.conn = conn

    def __call__(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"X-Auth-Token": self.conn.session.get_token(), **kw.pop("headers", {})}
        return httpx.request(method, self.base + path, headers=headers, timeout=30, **kw)

    def create(self, **body: Any) -> dict[str, Any]:
        body.setdefault("name", unique("img"))
        resp = self("POST", "/v2/images", json=body)
        assert resp.status_code == 201, resp.text
        return resp.json()  # type: ignore[no-any-return]

    def patch(self, image_id: str, ops: list[dict[str, Any]], ctype: str = PATCH) -> httpx.Response:
        return self("PATCH", f"/v2/images/{image_id}", json=ops, headers={"Content-Type": ctype})

    def ids(self, query: str = "") -> list[str]:
        resp = self("GET", "/v2/images" + query)
        assert resp.status_code == 200, resp.text
        return [i["id"] for i in resp.json()["images"]]

    def show(self, image_id: str) -> dict[str, Any]:
        resp = self("GET", f"/v2/images/{image_id}")
        assert resp.status_code == 200, resp.text
        return resp.json()  # type: ignore[no-any-return]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def dapi(cloud: RunningCloud, demo: Any) -> Api:
    return Api(cloud, demo)


@pytest.fixture(scope="module")
def aapi(cloud: RunningCloud, admin: Any) -> Api:
    return Api(cloud, admin)


# --- versions and schemas -----------------------------------------------------------------

def test_version_discovery(cloud: RunningCloud) -> None:
    root = httpx.get(cloud.base_url + "/image/")
    assert root.status_code == 300
    versions = root.json()["versions"]
    ids = [v["id"] for v in versions]
    assert ids[0] == "v2.17" and "v2.0" in ids and len(ids) == 18
    assert versions[0]["status"] == "CURRENT" and {v["status"] for v in versions[1:]} == {"SUPPORTED"}
    assert versions[0]["links"][0]["href"] == cloud.base_url + "/image/v2/"
    assert httpx.get(cloud.base_url + "/image/versions").status_code == 200


def test_schemas(dapi: Api) -> None:
    for name in ("image", "images", "member", "members"):
        resp = dapi("GET", f"/v2/schemas/{name}")
        assert resp.status_code == 200 and resp.json()["name"] == name
    image = dapi("GET", "/v2/schemas/image").json()
    assert "qcow2" in image["properties"]["disk_format"]["enum"]
    assert image["additionalProperties"] == {"type": "string"}
    assert httpx.get(dapi.base + "/v2/schemas/image").status_code == 401


# --- create -------------------------------------------------------------------------------

def test_create_defaults_and_fields(dapi: Api, demo: Any) -> None:
    name = unique("create")
    resp = dapi("POST", "/v2/images", json={"name": name, "disk_format": "qcow2", "container_format": "bare",
                                            "min_ram": 64, "tags": ["t1", "t2"], "os_distro": "cirros"})
    assert resp.status_code == 201, resp.text
    img = resp.json()
    assert resp.headers["Location"].endswith(f"/image/v2/images/{img['id']}")
    assert img["status"] == "queued" and img["visibility"] == "shared"
    assert img["size"] is None and img["virtual_size"] is None and img["checksum"] is None
    assert img["protected"] is False and img["os_hidden"] is False and img["min_disk"] == 0 and img["min_ram"] == 64
    assert img["owner"] == demo.current_project_id
    assert img["self"] == f"/v2/images/{img['id']}" and img["file"] == f"/v2/images/{img['id']}/file"
    assert img["schema"] == "/v2/schemas/image" and img["os_distro"] == "cirros"
    assert sorted(img["tags"]) == ["t1", "t2"]
    assert str(uuid.UUID(img["id"])) == img["id"]
    assert dapi.show(img["id"]) == img


def test_create_with_id_and_duplicate(dapi: Api) -> None:
    wanted = str(uuid.uuid4())
    assert dapi.create(id=wanted)["id"] == wanted
    again = dapi("POST", "/v2/images", json={"id": wanted, "name": "dup"})
    assert again.status_code == 409
    assert dapi("POST", "/v2/images", json={"id": "not-a-uuid"}).status_code == 400


@pytest.mark.parametrize("body, status", [
    ({"disk_format": "wrong"}, 400),
    ({"container_format": "wrong"}, 400),
    ({"visibility": "everyone"}, 400),
    ({"protected": "yes"}, 400),
    ({"min_ram": -1}, 400),
    ({"min_disk": "1"}, 400),
    ({"min_ram": 2**31}, 400),  # a 32-bit column: PostgreSQL refused it with a 500
    ({"min_disk": 2**31}, 400),
    ({"name": "x" * 256}, 400),
    ({"custom": 5}, 400),
    ({"tags": "not-a-list"}, 400),
    ({"ramdisk_id": "nope"}, 400),
    ({"status": "active"}, 403),
    ({"checksum": "0" * 32}, 403),
    ({"size": 5}, 403),
    ({"os_glance_foo": "bar"}, 403),
    ({"deleted": True}, 403),
    ({"visibility": "public"}, 403),
    ({"owner": "someone-else"}, 403),
])
def test_create_bad_input_changes_nothing(dapi: Api, body: dict[str, Any], status: int) -> None:
    name = unique("bad")
    resp = dapi("POST", "/v2/images", json={"name": name, **body})
    assert resp.status_code == status, resp.text
    assert dapi.ids(f"?name={name}") == []


def test_create_non_object_body(dapi: Api) -> None:
    assert dapi("POST", "/v2/images", json=["x"]).status_code == 400
    assert dapi("POST", "/v2/images", content=b"{nope", headers={"Content-Type": "application/json"}).status_code == 400
    assert httpx.post(dapi.base + "/v2/images", json={}).status_code == 401


def test_member_may_create_community_and_private(dapi: Api) -> None:
    assert dapi.create(visibility="community")["visibility"] == "community"
    assert dapi.create(visibility="private")["visibility"] == "private"


def test_admin_creates_public_and_for_other_owner(aapi: Api, dapi: Api, demo: Any) -> None:
    pub = aapi.create(visibility="public")
    assert pub["id"] in dapi.ids("?visibility=public")
    owned = aapi.create(owner=demo.current_project_id)
    assert owned["owner"] == demo.current_project_id
    assert dapi.show(owned["id"])["owner"] == demo.current_project_id


# --- list ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def listed(dapi: Api) -> Iterator[dict[str, dict[str, Any]]]:
    """Four images with distinct fields to filter and sort on."""
    group = unique("grp")
    made = {
        "a": dapi.create(name=f"{group}-a", disk_format="raw", container_format="bare", tags=["x", group],
                         protected=False, flavor=group, min_ram=1),
        "b": dapi.create(name=f"{group}-b", disk_format="qcow2", container_format="bare", tags=["y", group],
                         min_ram=2),
        "c": dapi.create(name=f"{group}-c", disk_format="qcow2", container_format="ovf", tags=["x", "y", group],
                         visibility="private", protected=True, min_ram=3),
        "d": dapi.create(name=f"{group}-d", disk_format="iso", container_format="bare", tags=[group],
                         os_hidden=True),
    }
    made["group"] = {"name": group}
    yield made
    for key in "abcd":
        dapi.patch(made[key]["id"], [{"op": "replace", "path": "/protected", "value": False}])
        dapi("DELETE", f"/v2/images/{made[key]['id']}")


def test_list_envelope_and_hidden(dapi: Api, listed: dict[str, Any]) -> None:
    group = listed["group"]["name"]
    body = dapi("GET", f"/v2/images?tag={group}").json()
    assert body["schema"] == "/v2/schemas/images" and body["first"] == f"/v2/images?tag={group}"
    assert "next" not in body
    ids = [i["id"] for i in body["images"]]
    assert set(ids) == {listed[k]["id"] for k in "abc"}  # hidden d is left out by default
    assert dapi.ids(f"?tag={group}&os_hidden=true") == [listed["d"]["id"]]


@pytest.mark.parametrize("query, expected", [
    ("disk_format=qcow2", "bc"),
    ("container_format=ovf", "c"),
    ("visibility=private", "c"),
    ("visibility=shared", "ab"),
    ("tag=x", "ac"),
    ("tag=x&tag=y", "c"),
    ("protected=true", "c"),
    ("protected=false", "ab"),
    ("status=queued", "abc"),
    ("status=active", ""),
    ("min_ram=2", "b"),
    ("disk_format=in:raw,iso", "a"),
    ("size_min=1", ""),
])
def test_list_filters(dapi: Api, listed: dict[str, Any], query: str, expected: str) -> None:
    group = listed["group"]["name"]
    got = set(dapi.ids(f"?tag={group}&{query}"))
    assert got == {listed[k]["id"] for k in expected}


def test_list_name_in_property_and_owner(dapi: Api, listed: dict[str, Any], demo: Any) -> None:
    group = listed["group"]["name"]
    assert set(dapi.ids(f"?name=in:{group}-a,{group}-c")) == {listed["a"]["id"], listed["c"]["id"]}
    assert dapi.ids(f"?name={group}-b") == [listed["b"]["id"]]
    assert dapi.ids(f"?flavor={group}") == [listed["a"]["id"]]
    assert set(dapi.ids(f"?tag={group}&owner={demo.current_project_id}")) == {listed[k]["id"] for k in "abc"}
    assert dapi.ids(f"?tag={group}&owner=nobody") == []


def test_list_time_operators(dapi: Api, listed: dict[str, Any]) -> None:
    group = listed["group"]["name"]
    created = dapi.show(listed["a"]["id"])["created_at"]
    assert listed["a"]["id"] in dapi.ids(f"?tag={group}&created_at=gte:{created}")
    assert listed["a"]["id"] in dapi.ids(f"?tag={group}&created_at=lte:{created}")
    assert listed["a"]["id"] not in dapi.ids(f"?tag={group}&created_at=lt:{created}")
    assert dapi.ids(f"?tag={group}&updated_at=gt:2999-01-01T00:00:00Z") == []
    assert len(dapi.ids(f"?tag={group}&updated_at=gt:2000-01-01T00:00:00Z")) == 3
    assert dapi("GET", "/v2/images?created_at=gt:yesterday").status_code == 400
    assert dapi("GET", "/v2/images?created_at=in:2020-01-01T00:00:00Z").status_code == 400


@pytest.mark.parametrize("query", [
    "limit=-1", "limit=x", "sort_key=bogus", "sort_dir=sideways", "sort=name:up", "sort=name&sort_key=size",
    "member_status=maybe", "visibility=everyone", "size_min=big", "protected=perhaps",
    "marker=00000000-0000-0000-0000-000000000000",
])
def test_list_bad_queries(dapi: Api, query: str) -> None:
    assert dapi("GET", f"/v2/images?{query}").status_code == 400


def test_sorting(dapi: Api, listed: dict[str, Any]) -> None:
    group = listed["group"]["name"]
    a, b, c = (listed[k]["id"] for k in "abc")
    assert dapi.ids(f"?tag={group}&sort_key=name&sort_dir=asc") == [a, b, c]
    assert dapi.ids(f"?tag={group}&sort=name:desc") == [c, b, a]
    assert dapi.ids(f"?tag={group}&sort=disk_format:asc,name:desc") == [c, b, a]
    assert dapi.ids(f"?tag={group}&sort_key=disk_format&sort_key=name&sort_dir=desc&sort_dir=asc") == [a, b, c]
    assert dapi.ids(f"?tag={group}") == [c, b, a]  # default: newest first


def test_pagination_follows_next(dapi: Api, listed: dict[str, Any]) -> None:
    group = listed["group"]["name"]
    seen: list[str] = []
    path = f"/v2/images?tag={group}&limit=2&sort=name:asc"
    pages = 0
    while path:
        body = dapi("GET", path).json()
        seen += [i["id"] for i in body["images"]]
        path = body.get("next", "")
        pages += 1
        assert pages < 5
    assert seen == [listed[k]["id"] for k in "abc"] and pages == 2
    assert dapi.ids(f"?tag={group}&limit=1&marker={listed['c']['id']}") == [listed["b"]["id"]]


def test_sdk_and_cli_listing(cloud: RunningCloud, demo: Any, listed: dict[str, Any]) -> None:
    group = listed["group"]["name"]
    sdk_names = sorted(i.name for i in demo.image.images(tag=group))
    assert sdk_names == [f"{group}-{k}" for k in "abc"]
    # openstacksdk follows "next" links transparently.
    assert len(list(demo.image.images(tag=group, limit=1))) == 3
    rows = cloud.cli("image", "list", "--tag", group, "--sort", "name:asc", cloud="devstack")
    assert [r["Name"] for r in rows] == [f"{group}-{k}" for k in "abc"]


# --- show, patch --------------------------------------------------------------------------

def test_show_missing_and_empty_id(dapi: Api) -> None:
    assert dapi("GET", f"/v2/images/{uuid.uuid4()}").status_code == 404
    assert dapi("GET", "/v2/images/").status_code == 404
    assert dapi("DELETE", "/v2/images/").status_code == 404


def test_patch_core_and_custom(dapi: Api) -> None:
    img = dapi.create(os_distro="cirros")
    resp = dapi.patch(img["id"], [
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "add", "path": "/hw_disk_bus", "value": "virtio"},
        {"op": "replace", "path": "/os_distro", "value": "ubuntu"},
        {"op": "add", "path": "/min_disk", "value": 5},
        {"op": "replace", "path": "/tags", "value": ["p", "q"]},
        {"op": "add", "path": "/trait:CUSTOM_X", "value": "required"},
    ])
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["name"] == "renamed" and got["hw_disk_bus"] == "virtio" and got["os_distro"] == "ubuntu"
    assert got["min_disk"] == 5 and sorted(got["tags"]) == ["p", "q"] and got["trait:CUSTOM_X"] == "required"
    assert dapi.show(img["id"]) == got
    removed = dapi.patch(img["id"], [{"op": "remove", "path": "/hw_disk_bus"}]).json()
    assert "hw_disk_bus" not in removed
    # The older v2.0 media type and operation shape are accepted too (Tempest uses them).
    old = dapi.patch(img["id"], [{"replace": "/name", "value": "old-style"}],
                     ctype="application/openstack-images-v2.0-json-patch")
    assert old.status_code == 200 and old.json()["name"] == "old-style"


@pytest.mark.parametrize("ops, status", [
    ([{"op": "replace", "path": "/status", "value": "active"}], 403),
    ([{"op": "replace", "path": "/size", "value": 1}], 403),
    ([{"op": "replace", "path": "/id", "value": "x"}], 403),
    ([{"op": "add", "path": "/os_glance_x", "value": "y"}], 403),
    ([{"op": "remove", "path": "/name"}], 403),
    ([{"op": "remove", "path": "/min_ram"}], 403),
    ([{"op": "add", "path": "/locations/-", "value": {"url": "file:///x", "metadata": {}}}], 403),
    ([{"op": "replace", "path": "/visibility", "value": "public"}], 403),
    ([{"op": "replace", "path": "/owner", "value": "other"}], 403),
    ([{"op": "replace", "path": "/disk_format", "value": "floppy"}], 400),
    ([{"op": "replace", "path": "/protected", "value": "true"}], 400),
    ([{"op": "replace", "path": "/min_ram", "value": -5}], 400),
    ([{"op": "add", "path": "/custom", "value": 1}], 400),
    ([{"op": "move", "path": "/name", "from": "/x"}], 400),
    ([{"op": "add", "path": "/a/b", "value": "x"}], 400),
    ([{"op": "add", "path": "/name"}], 400),
    ([{"op": "remove", "path": "/not_there"}], 409),
    ([{"op": "replace", "path": "/not_there", "value": "x"}], 409),
])
def test_patch_refusals_change_nothing(dapi: Api, ops: list[dict[str, Any]], status: int) -> None:
    img = dapi.create(keep="me")
    # A valid first operation must not survive a refused second one.
    resp = dapi.patch(img["id"], [{"op": "replace", "path": "/name", "value": "changed"}, *ops])
    assert resp.status_code == status, resp.text
    after = dapi.show(img["id"])
    assert after["name"] == img["name"] and after["keep"] == "me" and after["updated_at"] == img["updated_at"]


def test_patch_media_type_and_body(dapi: Api) -> None:
    img = dapi.create()
    ops = [{"op": "replace", "path": "/name", "value": "n"}]
    assert dapi.patch(img["id"], ops, ctype="application/json").status_code == 415
    assert dapi.patch(img["id"], ops, ctype="application/json-patch+json").status_code == 415
    bad = dapi("PATCH", f"/v2/images/{img['id']}", content=b"{", headers={"Content-Type": PATCH})
    assert bad.status_code == 400
    assert dapi.patch(img["id"], {"op": "x"}).status_code == 400  # type: ignore[arg-type]
    assert dapi.patch(str(uuid.uuid4()), ops).status_code == 404


def test_hidden_via_patch_leaves_listing(dapi: Api) -> None:
    img = dapi.create()
    assert img["id"] in dapi.ids()
    assert dapi.patch(img["id"], [{"op": "replace", "path": "/os_hidden", "value": True}]).status_code == 200
    assert img["id"] not in dapi.ids()
    assert img["id"] in dapi.ids("?os_hidden=true")


def test_cli_create_set_unset_show_delete(cloud: RunningCloud, demo: Any) -> None:
    name = unique("cli")
    made = cloud.cli("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
                     "--property", "os_distro=cirros", "--tag", "first", name, cloud="devstack")
    image_id = made["id"]
    cloud.cli("image", "set", "--tag", "second", "--property", "hw_rng=yes", "--min-ram", "128",
              "--community", image_id, cloud="devstack", json_out=False)
    shown = cloud.cli("image", "show", image_id, cloud="devstack")
    assert sorted(shown["tags"]) == ["first", "second"] and shown["visibility"] == "community"
    assert shown["properties"]["hw_rng"] == "yes" and shown["properties"]["os_distro"] == "cirros"
    assert shown["min_ram"] == 128
    cloud.cli("image", "set", "--private", image_id, cloud="devstack", json_out=False)
    cloud.cli("image", "unset", "--property", "hw_rng", "--tag", "first", image_id, cloud="devstack", json_out=False)
    shown = cloud.cli("image", "show", image_id, cloud="devstack")
    assert "hw_rng" not in shown.get("properties", {}) and shown["tags"] == ["second"]
    assert shown["visibility"] == "private"
    public = cloud.cli("image", "set", "--public", image_id, cloud="devstack", check=False, json_out=False)
    assert public.returncode != 0 and "403" in public.stderr + public.stdout
    cloud.cli("image", "set", "--public", image_id, cloud="devstack-admin", json_out=False)
    assert cloud.cli("image", "show", image_id, cloud="devstack")["visibility"] == "public"
    cloud.cli("image", "delete", image_id, cloud="devstack", json_out=False)
    gone = cloud.cli("image", "show", image_id, cloud="devstack", check=False, json_out=False)
    assert gone.returncode != 0


# --- delete, deactivate, tags -------------------------------------------------------------

def test_delete_protected_then_unprotected(dapi: Api) -> None:
    img = dapi.create(protected=True)
    assert dapi("DELETE", f"/v2/images/{img['id']}").status_code == 403
    assert dapi.show(img["id"])["status"] == "queued"
    assert dapi.patch(img["id"], [{"op": "replace", "path": "/protected", "value": False}]).status_code == 200
    assert dapi("DELETE", f"/v2/images/{img['id']}").status_code == 204
    assert dapi("GET", f"/v2/images/{img['id']}").status_code == 404
    assert dapi("DELETE", f"/v2/images/{img['id']}").status_code == 404
    assert img["id"] not in dapi.ids()
    # A deleted image's id is never handed out again.
    assert dapi("POST", "/v2/images", json={"id": img["id"]}).status_code == 409


def test_deactivate_needs_active_image(dapi: Api) -> None:
    img = dapi.create()
    assert dapi("POST", f"/v2/images/{img['id']}/actions/deactivate").status_code == 403
    assert dapi("POST", f"/v2/images/{img['id']}/actions/reactivate").status_code == 403
    assert dapi("POST", f"/v2/images/{uuid.uuid4()}/actions/deactivate").status_code == 404


def test_deactivate_reactivate_active_image(dapi: Api) -> None:
    img = dapi.create(disk_format="raw", container_format="bare")
    up = dapi("PUT", f"/v2/images/{img['id']}/file", content=b"x" * 1024,
              headers={"Content-Type": "application/octet-stream"})
    assert up.status_code == 204, up.text
    assert dapi.show(img["id"])["status"] == "active"
    assert dapi("POST", f"/v2/images/{img['id']}/actions/deactivate").status_code == 204
    assert dapi.show(img["id"])["status"] == "deactivated"
    assert dapi("POST", f"/v2/images/{img['id']}/actions/deactivate").status_code == 204
    assert dapi("POST", f"/v2/images/{img['id']}/actions/reactivate").status_code == 204
    assert dapi.show(img["id"])["status"] == "active"
    # disk_format is fixed once the image has data.
    assert dapi.patch(img["id"], [{"op": "replace", "path": "/disk_format", "value": "qcow2"}]).status_code == 403


def test_tags_api(dapi: Api) -> None:
    img = dapi.create(tags=["keep"])
    assert dapi("PUT", f"/v2/images/{img['id']}/tags/extra").status_code == 204
    assert dapi("PUT", f"/v2/images/{img['id']}/tags/extra").status_code == 204  # idempotent
    assert sorted(dapi.show(img["id"])["tags"]) == ["extra", "keep"]
    assert dapi("DELETE", f"/v2/images/{img['id']}/tags/extra").status_code == 204
    assert dapi("DELETE", f"/v2/images/{img['id']}/tags/extra").status_code == 404
    assert dapi.show(img["id"])["tags"] == ["keep"]
    assert dapi("PUT", f"/v2/images/{uuid.uuid4()}/tags/x").status_code == 404
    assert dapi("PUT", f"/v2/images/{img['id']}/tags/{'t' * 256}").status_code == 400


def test_sdk_tags_and_properties(demo: Any) -> None:
    image = demo.image.create_image(name=unique("sdk"), disk_format="raw", container_format="bare",
                                    properties={"os_distro": "cirros"})
    demo.image.add_tag(image, "sdk-tag")
    demo.image.update_image(image, my_custom_key="yes")
    got = demo.image.get_image(image.id)
    assert "sdk-tag" in got.tags and got.properties["my_custom_key"] == "yes"
    assert got.os_distro == "cirros" or got.properties.get("os_distro") == "cirros"
    demo.image.remove_tag(got, "sdk-tag")
    demo.image.delete_image(got)
    assert demo.image.find_image(image.id) is None


# --- quotas -------------------------------------------------------------------------------

def test_image_count_quota(tmp_path: Any) -> None:
    cloud = make_cloud(tmp_path, extra_env={"ONESTACK_IMAGE__IMAGE_COUNT_TOTAL": "2",
                                            "ONESTACK_IMAGE__IMAGE_TAG_QUOTA": "2",
                                            "ONESTACK_IMAGE__IMAGE_PROPERTY_QUOTA": "1",
                                            "ONESTACK_IMAGE__BUILTIN_IMAGES": "false"})
    cloud.start()
    try:
        api = Api(cloud, cloud.sdk("devstack"))
        first = api.create(tags=["a", "b"], one="1")
        assert api("POST", "/v2/images", json={"tags": ["a", "b", "c"]}).status_code == 413
        assert api("POST", "/v2/images", json={"one": "1", "two": "2"}).status_code == 413
        assert api("PUT", f"/v2/images/{first['id']}/tags/c").status_code == 413
        assert api.patch(first["id"], [{"op": "add", "path": "/two", "value": "2"}]).status_code == 413
        api.create()
        over = api("POST", "/v2/images", json={"name": "third"})
        assert over.status_code == 413
        assert api.ids("?name=third") == []
        assert api("DELETE", f"/v2/images/{first['id']}").status_code == 204
        api.create(name="third")
    finally:
        cloud.close()
