"""Compute servers: create, list, show, update and delete as Nova answers them."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import call, module_cloud

IMAGE = "onestack-tiny-x86_64-disk"
IMAGE_ALT = "onestack-tiny-x86_64-disk-alt"


ccloud = module_cloud("compute-servers", {"ONESTACK_COMPUTE__HOSTS": "2"})


@pytest.fixture(scope="module")
def images(cadmin: Any) -> dict[str, str]:
    return {name: cadmin.image.find_image(name).id for name in (IMAGE, IMAGE_ALT)}




def uniq(prefix: str = "srv") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def boot(conn: Any, image: str, mv: str = "2.1", **server: Any) -> dict[str, Any]:
    body = {"server": {"name": uniq(), "flavorRef": "1", "imageRef": image, **server}}
    if tuple(int(p) for p in mv.split(".")) >= (2, 37):
        body["server"].setdefault("networks", "none")
    hints = body["server"].pop("hints", None)
    if hints:
        body["os:scheduler_hints"] = hints
    resp = call(conn, "POST", "/servers", mv=mv, body=body)
    assert resp.status_code == 202, resp.text
    return resp.json()["server"]  # type: ignore[no-any-return]


def show(conn: Any, sid: str, mv: str = "2.1") -> dict[str, Any]:
    resp = call(conn, "GET", f"/servers/{sid}", mv=mv)
    assert resp.status_code == 200, resp.text
    return resp.json()["server"]  # type: ignore[no-any-return]


def active(conn: Any, sid: str, mv: str = "2.1") -> dict[str, Any]:
    return wait_until(lambda: (s := show(conn, sid, mv))["status"] == "ACTIVE" and s, timeout=30,  # type: ignore[no-any-return]
                      what=f"server {sid} ACTIVE")


def gone(conn: Any, sid: str) -> None:
    wait_until(lambda: call(conn, "GET", f"/servers/{sid}").status_code == 404, timeout=30, what=f"{sid} deleted")


def ids(resp: Any) -> list[str]:
    assert resp.status_code == 200, resp.text
    return [s["id"] for s in resp.json()["servers"]]


@pytest.fixture(scope="module")
def fleet(cdemo: Any, cadmin: Any, images: dict[str, str]) -> dict[str, Any]:
    """Servers the list and show tests share: three in demo's project, tagged and described."""
    tiny, alt = images[IMAGE], images[IMAGE_ALT]
    a = boot(cdemo, tiny, mv="2.52", name=uniq("fleet-alpha"), networks="none", tags=["red", "blue"],
             description="first", metadata={"role": "db"})
    # (With a network service "auto" needs a network to pick: test_compute_networking.py.)
    b = boot(cdemo, alt, mv="2.52", name=uniq("fleet-beta"), networks="none", tags=["red"], flavorRef="c1")
    c = boot(cdemo, tiny, mv="2.52", name=uniq("fleet-gamma"), networks="none", tags=["green"])
    servers = {key: active(cdemo, s["id"], "2.96") for key, s in (("a", a), ("b", b), ("c", c))}
    return servers


# --- create ----------------------------------------------------------------------------------

def test_create_every_field(cdemo: Any, cadmin: Any, images: dict[str, str]) -> None:
    key = cdemo.compute.create_keypair(name=uniq("key"))
    user_data = base64.b64encode(b"#!/bin/sh\necho hello\n").decode()
    name = uniq("full")
    created = call(cdemo, "POST", "/servers", mv="2.52", body={"server": {
        "name": name, "flavorRef": "1", "imageRef": images[IMAGE], "key_name": key.name, "user_data": user_data,
        "metadata": {"purpose": "test", "a:b": "c"}, "availability_zone": "nova", "description": "described",
        "tags": ["t1", "t2"], "networks": "none", "accessIPv4": "192.0.2.10", "OS-DCF:diskConfig": "AUTO",
        "adminPass": "s3cret-pass", "config_drive": True}})
    assert created.status_code == 202, created.text
    server = created.json()["server"]
    assert set(server) == {"id", "links", "OS-DCF:diskConfig", "security_groups", "adminPass"}
    assert server["adminPass"] == "s3cret-pass" and server["OS-DCF:diskConfig"] == "AUTO"
    assert created.headers["Location"] == server["links"][0]["href"]
    shown = active(cdemo, server["id"], "2.96")
    assert shown["name"] == name and shown["key_name"] == key.name and shown["description"] == "described"
    assert shown["metadata"] == {"purpose": "test", "a:b": "c"} and shown["tags"] == ["t1", "t2"]
    assert shown["OS-EXT-AZ:availability_zone"] == "nova" and shown["pinned_availability_zone"] == "nova"
    assert shown["accessIPv4"] == "192.0.2.10" and shown["OS-DCF:diskConfig"] == "AUTO"
    assert shown["config_drive"] == "True" and shown["addresses"] == {}
    assert shown["flavor"]["original_name"] == "m1.tiny" and shown["image"]["id"] == images[IMAGE]
    assert "OS-EXT-SRV-ATTR:user_data" not in shown  # admin-only extended attribute
    as_admin = show(cadmin, server["id"], "2.3")
    assert as_admin["OS-EXT-SRV-ATTR:user_data"] == user_data
    assert as_admin["OS-EXT-SRV-ATTR:hostname"] == name.lower()
    assert as_admin["OS-EXT-SRV-ATTR:host"] in ("compute-1", "compute-2")
    assert call(cdemo, "DELETE", f"/servers/{server['id']}").status_code == 204
    gone(cdemo, server["id"])
    cdemo.compute.delete_keypair(key)


def test_create_with_cli_and_sdk(ccloud: RunningCloud, cdemo: Any) -> None:
    name = uniq("cli")
    created = ccloud.cli("server", "create", "--flavor", "m1.tiny", "--image", IMAGE, "--nic", "none", "--property", "k=v",
                         "--wait", name, cloud="devstack")
    assert created["status"] == "ACTIVE" and created["name"] == name and created["properties"] == {"k": "v"}
    listed = ccloud.cli("server", "list", "--name", name, cloud="devstack")
    assert [s["ID"] for s in listed] == [created["id"]]
    sdk_server = cdemo.compute.get_server(created["id"])
    assert sdk_server.name == name and sdk_server.flavor.original_name == "m1.tiny"
    ccloud.cli("server", "delete", "--wait", name, cloud="devstack", json_out=False)
    assert cdemo.compute.find_server(name) is None


def test_multi_create_names_and_reservation(cdemo: Any, images: dict[str, str]) -> None:
    name = uniq("multi")
    resp = call(cdemo, "POST", "/servers", body={"server": {
        "name": name, "flavorRef": "1", "imageRef": images[IMAGE], "min_count": 2, "max_count": "3",
        "return_reservation_id": True}})
    assert resp.status_code == 202, resp.text
    reservation = resp.json()["reservation_id"]
    listed = call(cdemo, "GET", f"/servers/detail?reservation_id={reservation}").json()["servers"]
    assert sorted(s["name"] for s in listed) == [f"{name}-1", f"{name}-2", f"{name}-3"]
    for server in listed:
        active(cdemo, server["id"])
        assert call(cdemo, "DELETE", f"/servers/{server['id']}").status_code == 204
    for server in listed:
        gone(cdemo, server["id"])


def test_scheduler_hints(cdemo: Any, cadmin: Any, images: dict[str, str]) -> None:
    first = active(cdemo, boot(cdemo, images[IMAGE])["id"])
    apart = active(cdemo, boot(cdemo, images[IMAGE], hints={"different_host": [first["id"]]})["id"])
    together = active(cdemo, boot(cdemo, images[IMAGE], hints={"same_host": first["id"]})["id"])
    assert apart["hostId"] != first["hostId"] and together["hostId"] == first["hostId"]
    group = cdemo.compute.create_server_group(name=uniq("grp"), policy="anti-affinity")
    grouped = active(cdemo, boot(cdemo, images[IMAGE], mv="2.71", hints={"group": group.id})["id"], "2.71")
    assert grouped["server_groups"] == [group.id]
    bad_group = call(cdemo, "POST", "/servers", body={"server": {"name": uniq(), "flavorRef": "1",
                     "imageRef": images[IMAGE]}, "os:scheduler_hints": {"group": str(uuid.uuid4())}})
    assert bad_group.status_code == 400 and "could not be found" in bad_group.json()["badRequest"]["message"]
    for server in (first, apart, together, grouped):
        call(cdemo, "DELETE", f"/servers/{server['id']}")
    for server in (first, apart, together, grouped):
        gone(cdemo, server["id"])
    cdemo.compute.delete_server_group(group)


def test_networks_by_microversion(cdemo: Any, images: dict[str, str]) -> None:
    base = {"name": uniq(), "flavorRef": "1", "imageRef": images[IMAGE]}
    missing = call(cdemo, "POST", "/servers", mv="2.37", body={"server": base})
    assert missing.status_code == 400 and "'networks' is a required property" in missing.text
    old = call(cdemo, "POST", "/servers", mv="2.36", body={"server": {**base, "networks": "auto"}})
    assert old.status_code == 400
    bad_uuid = call(cdemo, "POST", "/servers", mv="2.37", body={"server": {**base, "networks": [{"uuid": "x"}]}})
    assert bad_uuid.status_code == 400
    net = str(uuid.uuid4())
    unknown = call(cdemo, "POST", "/servers", mv="2.37", body={"server": {**base, "networks": [{"uuid": net}]}})
    assert unknown.status_code == 400 and unknown.json()["badRequest"]["message"] == f"Network {net} could not be found."
    port = str(uuid.uuid4())
    no_port = call(cdemo, "POST", "/servers", body={"server": {**base, "networks": [{"port": port}]}})
    assert no_port.status_code == 400 and no_port.json()["badRequest"]["message"] == f"Port id {port} could not be found."


def test_bad_input_changes_nothing(cdemo: Any, images: dict[str, str]) -> None:
    before = ids(call(cdemo, "GET", "/servers"))
    image = images[IMAGE]
    good = {"name": uniq("bad"), "flavorRef": "1", "imageRef": image}
    cases: list[tuple[str | None, Any, int, str]] = [
        (None, {"server": {"name": "x", "imageRef": image}}, 400, "'flavorRef' is a required property"),
        (None, {"server": {"flavorRef": "1", "imageRef": image}}, 400, "'name' is a required property"),
        (None, {"server": {**good, "flavorRef": "no-such-flavor"}}, 400, "Flavor no-such-flavor could not be found."),
        (None, {"server": {**good, "imageRef": str(uuid.uuid4())}}, 400, "Can not find requested image"),
        (None, {"server": {**good, "imageRef": "not-a-uuid"}}, 400, "imageRef"),
        (None, {"server": {**good, "imageRef": ""}}, 400, "Missing imageRef attribute"),
        (None, {"server": {**good, "user_data": "not base64!"}}, 400, "user_data"),
        (None, {"server": {**good, "metadata": {"k": 1}}}, 400, "metadata"),
        (None, {"server": {**good, "metadata": {"bad/key": "v"}}}, 400, "metadata"),
        (None, {"server": {**good, "metadata": "flat"}}, 400, "metadata"),
        (None, {"server": {**good, "min_count": 3, "max_count": 2}}, 400, "min_count must be <= max_count"),
        (None, {"server": {**good, "min_count": 0}}, 400, "min_count"),
        (None, {"server": {**good, "key_name": "no-such-key"}}, 400, "Invalid key_name provided."),
        (None, {"server": {**good, "availability_zone": "atlantis"}}, 400,
         "The requested availability zone is not available"),
        (None, {"server": {**good, "accessIPv4": "not-an-ip"}}, 400, "accessIPv4"),
        (None, {"server": {**good, "OS-DCF:diskConfig": "SOMETIMES"}}, 400, "OS-DCF:diskConfig"),
        (None, {"server": {**good, "bogus": 1}}, 400, "Additional properties are not allowed"),
        (None, {"server": good, "extra": {}}, 400, "Additional properties are not allowed"),
        (None, {"server": {**good, "description": "too early"}}, 400, "description"),
        ("2.19", {"server": {**good, "description": "x" * 256}}, 400, "description"),
        ("2.52", {"server": {**good, "networks": "none", "tags": ["a/b"]}}, 400, "tags"),
        (None, {"server": {**good, "name": ""}}, 400, "name"),
        (None, {"server": {**good, "name": " padded "}}, 400, "name"),
        (None, {"server": good, "os:scheduler_hints": {"group": "not-a-uuid"}}, 400, "group"),
        (None, {"srv": good}, 400, "'server' is a required property"),
        (None, {"server": {**good, "security_groups": [{"name": "no-such-group"}]}}, 400,
         "Security group no-such-group not found."),
    ]
    for mv, body, code, text in cases:
        resp = call(cdemo, "POST", "/servers", mv=mv, body=body)
        assert resp.status_code == code, (body, resp.text)
        assert text in resp.json()["badRequest"]["message"], (body, resp.text)
    malformed = call(cdemo, "POST", "/servers", raw=b'{"server": {"name": ')
    assert malformed.status_code == 400 and "badRequest" in malformed.json()
    assert ids(call(cdemo, "GET", "/servers")) == before


def test_boot_sees_images_as_the_user_does(cdemo: Any, calt: Any) -> None:
    """The boot path reads the image in-process; it must apply Glance's visibility for the user."""
    private = calt.image.create_image(name=uniq("img"), data=b"\0" * 4096, disk_format="raw",
                                      container_format="bare", visibility="private", wait=True)
    booted: list[tuple[Any, str]] = []
    try:
        body = {"server": {"name": uniq(), "flavorRef": "1", "imageRef": private.id}}
        refused = call(cdemo, "POST", "/servers", body=body)
        assert refused.status_code == 400, refused.text
        assert refused.json()["badRequest"]["message"] == "Can not find requested image"
        own = boot(calt, private.id)
        booted.append((calt, own["id"]))
        assert active(calt, own["id"])["image"]["id"] == private.id
        # A member may read a shared image by id before accepting it, so it may boot from it too.
        calt.image.update_image(private.id, visibility="shared")
        calt.image.add_member(private.id, member_id=cdemo.current_project_id)
        shared = boot(cdemo, private.id)
        booted.append((cdemo, shared["id"]))
        active(cdemo, shared["id"])
    finally:
        for conn, sid in booted:
            call(conn, "DELETE", f"/servers/{sid}")
            gone(conn, sid)
        calt.image.delete_image(private.id)


def test_quota_exceeded(cadmin: Any, calt: Any, images: dict[str, str]) -> None:
    project = calt.current_project_id
    assert call(cadmin, "PUT", f"/os-quota-sets/{project}", body={"quota_set": {"cores": 1, "instances": 3}}).ok
    try:
        over = call(calt, "POST", "/servers", body={"server": {"name": uniq(), "flavorRef": "3",
                                                                "imageRef": images[IMAGE]}})
        assert over.status_code == 403, over.text
        assert over.json()["forbidden"]["message"] == (
            "Quota exceeded for cores: Requested 2, but already used 0 of 1 cores")
        assert ids(call(calt, "GET", "/servers")) == []
        assert call(cadmin, "PUT", f"/os-quota-sets/{project}", body={"quota_set": {"cores": 20}}).ok
        # Quota room for two: min_count 1 .. max_count 5 builds two.
        some = call(calt, "POST", "/servers", body={"server": {"name": uniq("q"), "flavorRef": "1",
                    "imageRef": images[IMAGE], "min_count": 1, "max_count": 5, "return_reservation_id": True}})
        assert some.status_code == 202, some.text
        built = ids(call(calt, "GET", f"/servers?reservation_id={some.json()['reservation_id']}"))
        assert len(built) == 3
        none_left = call(calt, "POST", "/servers", body={"server": {"name": uniq(), "flavorRef": "1",
                                                                     "imageRef": images[IMAGE]}})
        assert none_left.status_code == 403
        assert none_left.json()["forbidden"]["message"].startswith("Quota exceeded for instances: Requested 1")
        for sid in built:
            assert call(calt, "DELETE", f"/servers/{sid}").status_code == 204
        for sid in built:
            gone(calt, sid)
    finally:
        call(cadmin, "DELETE", f"/os-quota-sets/{project}")


def test_metadata_over_quota(cdemo: Any, images: dict[str, str]) -> None:
    limit = call(cdemo, "GET", "/limits").json()["limits"]["absolute"]["maxServerMeta"]
    resp = call(cdemo, "POST", "/servers", body={"server": {
        "name": uniq(), "flavorRef": "1", "imageRef": images[IMAGE],
        "metadata": {str(i): "v" for i in range(limit + 1)}}})
    assert resp.status_code == 403 and resp.json()["forbidden"]["message"] == (
        f"Maximum number of metadata items exceeds {limit}")


# --- list ------------------------------------------------------------------------------------

def test_list_filters(cdemo: Any, cadmin: Any, fleet: dict[str, Any], images: dict[str, str]) -> None:
    a, b, c = fleet["a"], fleet["b"], fleet["c"]
    mine = {a["id"], b["id"], c["id"]}
    brief = call(cdemo, "GET", "/servers").json()["servers"]
    assert {s["id"] for s in brief} >= mine and set(brief[0]) == {"id", "name", "links"}
    assert set(ids(call(cdemo, "GET", "/servers?name=fleet-(alpha|gamma)"))) & mine == {a["id"], c["id"]}
    assert ids(call(cdemo, "GET", f"/servers?name=^{b['name']}$")) == [b["id"]]
    assert ids(call(cdemo, "GET", "/servers?status=active&name=fleet-")) != []
    assert ids(call(cdemo, "GET", "/servers?status=SHUTOFF&name=fleet-")) == []
    assert call(cdemo, "GET", "/servers?status=bogus", mv="2.38").status_code == 400
    assert ids(call(cdemo, "GET", "/servers?status=bogus")) == []
    assert set(ids(call(cdemo, "GET", "/servers?flavor=c1"))) & mine == {b["id"]}
    assert set(ids(call(cdemo, "GET", f"/servers?image={images[IMAGE_ALT]}"))) & mine == {b["id"]}
    assert set(ids(call(cdemo, "GET", "/servers?tags=red,blue", mv="2.26"))) & mine == {a["id"]}
    assert set(ids(call(cdemo, "GET", "/servers?tags-any=red,green", mv="2.26"))) & mine == mine
    assert set(ids(call(cdemo, "GET", "/servers?not-tags=red,blue", mv="2.26"))) & mine == {b["id"], c["id"]}
    assert set(ids(call(cdemo, "GET", "/servers?not-tags-any=red", mv="2.26"))) & mine == {c["id"]}
    assert ids(call(cdemo, "GET", "/servers?ip=10.0.0.1")) == []  # these servers have no ports
    host = show(cadmin, a["id"])["OS-EXT-SRV-ATTR:host"]
    on_host = set(ids(call(cadmin, "GET", f"/servers?all_tenants=1&host={host}")))
    assert a["id"] in on_host and all(show(cadmin, s)["OS-EXT-SRV-ATTR:host"] == host for s in on_host)
    assert set(ids(call(cdemo, "GET", "/servers?host=nowhere"))) & mine == mine  # ignored for a user


def test_list_all_tenants_and_isolation(cdemo: Any, cadmin: Any, calt: Any, fleet: dict[str, Any]) -> None:
    a = fleet["a"]
    assert a["id"] not in ids(call(calt, "GET", "/servers"))
    assert a["id"] not in ids(call(cadmin, "GET", "/servers"))
    assert a["id"] in ids(call(cadmin, "GET", "/servers/detail?all_tenants=1"))
    assert a["id"] in ids(call(cadmin, "GET", "/servers?all_tenants"))
    assert a["id"] in ids(call(cadmin, "GET", f"/servers?all_tenants=1&project_id={cdemo.current_project_id}"))
    assert a["id"] not in ids(call(cadmin, "GET", f"/servers?all_tenants=1&project_id={calt.current_project_id}"))
    forbidden = call(cdemo, "GET", "/servers?all_tenants=1")
    assert forbidden.status_code == 403 and "forbidden" in forbidden.json()
    assert call(cadmin, "GET", "/servers?all_tenants=maybe").status_code == 400
    for method, body in (("GET", None), ("PUT", {"server": {"name": "stolen"}}), ("DELETE", None)):
        resp = call(calt, method, f"/servers/{a['id']}", body=body)
        assert resp.status_code == 404 and "itemNotFound" in resp.json(), (method, resp.text)
    assert show(cdemo, a["id"])["name"] == a["name"]


def test_list_changes_since_and_locked(cdemo: Any, cadmin: Any, fleet: dict[str, Any]) -> None:
    a, c = fleet["a"], fleet["c"]
    mine = {a["id"], fleet["b"]["id"], c["id"]}
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    earlier = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert set(ids(call(cdemo, "GET", f"/servers?changes-since={later}"))) & mine == set()
    assert set(ids(call(cdemo, "GET", f"/servers?changes-since={earlier}"))) >= mine
    assert set(ids(call(cdemo, "GET", f"/servers?changes-before={later}", mv="2.66"))) >= mine
    assert call(cdemo, "GET", f"/servers?changes-since={later}&changes-before={earlier}", mv="2.66").status_code == 400
    assert call(cdemo, "GET", "/servers?changes-since=yesterday").status_code == 400
    assert call(cdemo, "POST", f"/servers/{c['id']}/action", body={"lock": None}).status_code == 202
    try:
        assert set(ids(call(cdemo, "GET", "/servers?locked=true", mv="2.73"))) & mine == {c["id"]}
        assert c["id"] not in ids(call(cdemo, "GET", "/servers?locked=0", mv="2.73"))
        assert call(cdemo, "GET", "/servers?locked=perhaps", mv="2.73").status_code == 400
        assert show(cdemo, c["id"], "2.9")["locked"] is True
    finally:
        call(cdemo, "POST", f"/servers/{c['id']}/action", body={"unlock": None})


def test_list_deleted(cdemo: Any, cadmin: Any, images: dict[str, str]) -> None:
    start = (datetime.now(UTC) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sid = boot(cdemo, images[IMAGE])["id"]
    active(cdemo, sid)
    assert call(cdemo, "DELETE", f"/servers/{sid}").status_code == 204
    gone(cdemo, sid)
    assert sid not in ids(call(cdemo, "GET", "/servers"))
    recent = call(cdemo, "GET", f"/servers/detail?changes-since={start}").json()["servers"]
    assert [s["status"] for s in recent if s["id"] == sid] == ["DELETED"]
    assert sid in ids(call(cadmin, "GET", "/servers?all_tenants=1&deleted=true"))
    assert sid not in ids(call(cdemo, "GET", "/servers?deleted=true"))  # the filter is an admin's
    denied = call(cdemo, "GET", "/servers?status=deleted")
    assert denied.status_code == 403
    assert sid in ids(call(cadmin, "GET", "/servers?all_tenants=1&status=deleted"))


def test_sort_and_paging(cdemo: Any, fleet: dict[str, Any]) -> None:
    every = ids(call(cdemo, "GET", "/servers?sort_key=display_name&sort_dir=asc"))
    names = [s["name"] for s in call(cdemo, "GET", "/servers/detail?sort_key=display_name&sort_dir=asc")
             .json()["servers"]]
    assert names == sorted(names) and len(every) >= 3
    newest_first = call(cdemo, "GET", "/servers/detail").json()["servers"]
    assert [s["created"] for s in newest_first] == sorted((s["created"] for s in newest_first), reverse=True)
    seen: list[str] = []
    url = "/servers?sort_key=display_name&sort_dir=asc&limit=2"
    while url:
        page = call(cdemo, "GET", url).json()
        seen += [s["id"] for s in page["servers"]]
        links = page.get("servers_links", [])
        assert len(page["servers"]) <= 2
        url = links[0]["href"].split("/v2.1", 1)[1] if links else ""
    assert seen == every
    assert call(cdemo, "GET", f"/servers?marker={uuid.uuid4()}").status_code == 400
    assert call(cdemo, "GET", "/servers?sort_key=bogus").status_code == 400
    assert call(cdemo, "GET", "/servers?sort_dir=sideways").status_code == 400
    assert call(cdemo, "GET", "/servers?limit=-1").status_code == 400
    assert call(cdemo, "GET", "/servers?sort_key=host").status_code == 403
    assert call(cdemo, "GET", "/servers?sort_key=vcpus").status_code == 200  # ignored, as in Nova
    assert call(cdemo, "GET", "/servers?sort_key=vcpus", mv="2.75").status_code == 400
    assert call(cdemo, "GET", "/servers?bogus=1", mv="2.75").status_code == 400
    assert call(cdemo, "GET", "/servers?bogus=1").status_code == 200


# --- show ------------------------------------------------------------------------------------

def test_show_by_microversion(cdemo: Any, cadmin: Any, fleet: dict[str, Any]) -> None:
    sid = fleet["a"]["id"]
    v21 = show(cdemo, sid)
    assert v21["flavor"]["id"] == "1" and "locked" not in v21 and "description" not in v21
    assert v21["status"] == "ACTIVE" and v21["progress"] == 0 and v21["OS-EXT-STS:vm_state"] == "active"
    assert "OS-EXT-SRV-ATTR:host" not in v21 and "host_status" not in show(cdemo, sid, "2.16")
    admin21 = show(cadmin, sid)
    assert admin21["OS-EXT-SRV-ATTR:instance_name"].startswith("instance-")
    assert "OS-EXT-SRV-ATTR:reservation_id" not in admin21
    admin23 = show(cadmin, sid, "2.3")
    assert admin23["OS-EXT-SRV-ATTR:launch_index"] == 0 and admin23["OS-EXT-SRV-ATTR:root_device_name"] == "/dev/vda"
    assert show(cdemo, sid, "2.9")["locked"] is False
    assert show(cadmin, sid, "2.16")["host_status"] == "UP"
    assert show(cdemo, sid, "2.19")["description"] == "first"
    assert show(cdemo, sid, "2.26")["tags"] == ["blue", "red"]
    v247 = show(cdemo, sid, "2.47")
    assert v247["flavor"] == {"vcpus": 1, "ram": 512, "disk": 1, "ephemeral": 0, "swap": 0,
                              "original_name": "m1.tiny", "extra_specs": {"hw_rng:allowed": "True"}}
    assert show(cdemo, sid, "2.71")["server_groups"] == []
    v273 = show(cdemo, sid, "2.73")
    assert v273["locked_reason"] is None
    v296 = show(cdemo, sid, "2.96")
    assert v296["pinned_availability_zone"] is None and v296["OS-EXT-SRV-ATTR:hostname"]
    assert "server_groups" not in call(cdemo, "GET", "/servers/detail", mv="2.96").json()["servers"][0]
    missing = call(cdemo, "GET", f"/servers/{uuid.uuid4()}")
    assert missing.status_code == 404 and "itemNotFound" in missing.json()


# --- update and delete -----------------------------------------------------------------------

def test_update(cdemo: Any, fleet: dict[str, Any]) -> None:
    sid = fleet["c"]["id"]
    before = show(cdemo, sid)
    old = call(cdemo, "PUT", f"/servers/{sid}", body={"server": {"name": "renamed", "accessIPv4": "192.0.2.7"}})
    assert old.status_code == 200, old.text
    server = old.json()["server"]
    assert server["name"] == "renamed" and server["accessIPv4"] == "192.0.2.7"
    assert "OS-EXT-STS:vm_state" not in server and "key_name" not in server  # the pre-2.75 shape
    new = call(cdemo, "PUT", f"/servers/{sid}", mv="2.75", body={"server": {"description": "now", "name": before["name"]}})
    assert new.status_code == 200 and new.json()["server"]["description"] == "now"
    assert "OS-EXT-STS:vm_state" in new.json()["server"] and "key_name" in new.json()["server"]
    cleared = call(cdemo, "PUT", f"/servers/{sid}", mv="2.19", body={"server": {"description": None}})
    assert cleared.json()["server"]["description"] is None
    for mv, body in ((None, {"server": {"description": "too early"}}), (None, {"server": {"name": ""}}),
                     (None, {"server": {"accessIPv4": "nope"}}), (None, {"server": {"bogus": 1}}),
                     (None, {"name": "x"})):
        assert call(cdemo, "PUT", f"/servers/{sid}", mv=mv, body=body).status_code == 400, body
    assert show(cdemo, sid)["name"] == before["name"]


def test_sdk_update_and_delete(cdemo: Any, images: dict[str, str]) -> None:
    server = cdemo.compute.create_server(name=uniq("sdk"), flavor_id="1", image_id=images[IMAGE], networks="none")
    server = cdemo.compute.wait_for_server(server, wait=30, interval=0.2)
    updated = cdemo.compute.update_server(server, name="sdk-renamed")
    assert updated.name == "sdk-renamed"
    resp = call(cdemo, "DELETE", f"/servers/{server.id}")
    assert resp.status_code == 204 and resp.content == b""
    cdemo.compute.wait_for_delete(server, wait=30, interval=0.2)
    assert call(cdemo, "GET", f"/servers/{server.id}").status_code == 404
    assert call(cdemo, "DELETE", f"/servers/{server.id}").status_code == 404
