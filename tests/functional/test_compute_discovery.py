"""Compute discovery and service APIs: version documents, extensions, the /images proxy,
server external events, and the identity roles (manager) Nova's personas rely on.

One cloud with one fake host; the last test restarts it to check that bootstrap repairs the
default role hierarchy of a cloud bootstrapped before ``manager`` existed.
"""

from __future__ import annotations

import urllib.request
import uuid
from typing import Any
from urllib.error import HTTPError

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import call, message, module_cloud

IMAGE = "onestack-tiny-x86_64-disk"


ccloud = module_cloud("compute-discovery", {"ONESTACK_COMPUTE__HOSTS": "1"})


def anonymous(url: str) -> tuple[int, Any]:
    import json

    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_image(conn: Any, upload: bool = True, **extra: Any) -> str:
    """A private raw image of the caller's project, made through the image API."""
    body = {"name": uniq("h7-img"), "disk_format": "raw", "container_format": "bare", "visibility": "private",
            **extra}
    resp = call(conn, "POST", "/v2/images", body=body, service="image")
    assert resp.status_code == 201, resp.text
    image_id = str(resp.json()["id"])
    if upload:
        put = conn.session.request(f"/v2/images/{image_id}/file", "PUT", data=b"*" * 1024, raise_exc=False,
                                   headers={"Content-Type": "application/octet-stream"},
                                   endpoint_filter={"service_type": "image"})
        assert put.status_code == 204, put.text
    return image_id


def wait_server(conn: Any, sid: str, status: str) -> dict[str, Any]:
    def settled() -> dict[str, Any] | None:
        s = call(conn, "GET", f"/servers/{sid}", "2.73").json()["server"]
        return s if s["status"] == status and s["OS-EXT-STS:task_state"] is None else None

    return wait_until(settled, timeout=60, interval=0.1, what=f"{sid} {status}")  # type: ignore[no-any-return]


def boot(conn: Any, name: str) -> str:
    image = conn.image.find_image(IMAGE, ignore_missing=False)
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    server = conn.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id, networks="none")
    wait_server(conn, server.id, "ACTIVE")
    return str(server.id)


# --- version documents ----------------------------------------------------------------------

def test_version_list_and_documents(ccloud: RunningCloud) -> None:
    root = f"{ccloud.base_url}/compute"
    status, body = anonymous(f"{root}/")
    assert status == 200
    v20, v21 = body["versions"]
    assert (v20["id"], v20["status"], v20["version"], v20["min_version"]) == ("v2.0", "SUPPORTED", "", "")
    assert (v21["id"], v21["status"], v21["min_version"]) == ("v2.1", "CURRENT", "2.1")
    assert v20["links"] == [{"rel": "self", "href": f"{root}/v2/"}]
    assert "media-types" not in v20 and "media-types" not in v21
    for entry in (v20, v21):
        # Each self link is followable (with and without the slash) and answers the same self link.
        for href in (entry["links"][0]["href"], entry["links"][0]["href"].rstrip("/")):
            code, doc = anonymous(href)
            assert code == 200
            version = doc["version"]
            assert version["id"] == entry["id"] and version["status"] == entry["status"]
            assert [link for link in version["links"] if link["rel"] == "self"] == entry["links"]
            assert {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"} in version["links"]
    _, v2doc = anonymous(f"{root}/v2/")
    assert v2doc["version"]["media-types"] == [
        {"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"}]
    # Only the version document is served below /v2: the legacy API itself is not.
    assert anonymous(f"{root}/v2/flavors")[0] == 404


def test_version_discovery_by_clients(ccloud: RunningCloud, cdemo: Any) -> None:
    data = cdemo.compute.get_endpoint_data()
    assert tuple(data.min_microversion) == (2, 1) and tuple(data.max_microversion) == (2, 104)
    rows = ccloud.cli("versions", "show", "--service", "compute", cloud="devstack")
    assert {(r["Version"], r["Status"]) for r in rows} >= {("2.0", "SUPPORTED"), ("2.1", "CURRENT")}


# --- extensions -----------------------------------------------------------------------------

def test_extensions_list_and_show(cdemo: Any, ccloud: RunningCloud) -> None:
    resp = call(cdemo, "GET", "/extensions")
    assert resp.status_code == 200
    exts = resp.json()["extensions"]
    assert len(exts) == 99 and len({e["alias"] for e in exts}) == 99
    assert "Hosts" in [e["name"] for e in exts]
    for ext in exts:
        assert set(ext) == {"alias", "description", "links", "name", "namespace", "updated"}
        assert ext["links"] == [] and ext["updated"] == "2014-12-03T00:00:00Z"
        assert ext["namespace"] == "http://docs.openstack.org/compute/ext/fake_xml" and ext["description"]
    one = call(cdemo, "GET", "/extensions/os-consoles")
    assert one.status_code == 200
    assert one.json()["extension"] == next(e for e in exts if e["alias"] == "os-consoles")
    assert call(cdemo, "GET", "/extensions/OS-EXT-IMG-SIZE").json()["extension"]["name"] == "ImageSize"
    missing = call(cdemo, "GET", "/extensions/os-no-such-thing")
    assert missing.status_code == 404 and "itemNotFound" in missing.json()
    assert anonymous(f"{ccloud.base_url}/compute/v2.1/extensions")[0] == 401


# --- the /images proxy ----------------------------------------------------------------------

def test_image_views_and_status(cdemo: Any) -> None:
    queued = new_image(cdemo, upload=False, min_ram=64, min_disk=1, auto_disk_config="true")
    shown = call(cdemo, "GET", f"/images/{queued}").json()["image"]
    assert (shown["status"], shown["progress"], shown["OS-EXT-IMG-SIZE:size"]) == ("SAVING", 25, 0)
    assert (shown["minRam"], shown["minDisk"]) == (64, 1)
    assert shown["metadata"] == {"auto_disk_config": "true"} and shown["OS-DCF:diskConfig"] == "AUTO"
    active = new_image(cdemo)
    image = call(cdemo, "GET", f"/images/{active}").json()["image"]
    assert set(image) == {"id", "name", "minRam", "minDisk", "metadata", "created", "updated", "status",
                          "progress", "OS-EXT-IMG-SIZE:size", "links"}
    assert (image["status"], image["progress"], image["OS-EXT-IMG-SIZE:size"]) == ("ACTIVE", 100, 1024)
    assert image["metadata"] == {} and image["created"].endswith("Z") and image["updated"].endswith("Z")
    rels = [(link["rel"], link.get("type")) for link in image["links"]]
    assert rels == [("self", None), ("bookmark", None), ("alternate", "application/vnd.openstack.image")]
    assert image["links"][0]["href"].endswith(f"/compute/v2.1/images/{active}")
    assert image["links"][1]["href"].endswith(f"/compute/images/{active}")
    assert image["links"][2]["href"].endswith(f"/image/images/{active}")
    listed = call(cdemo, "GET", "/images").json()["images"]
    entry = next(i for i in listed if i["id"] == active)
    assert set(entry) == {"id", "name", "links"} and entry["links"] == image["links"]
    assert next(i for i in call(cdemo, "GET", "/images/detail").json()["images"] if i["id"] == active) == image
    for path in (f"/images/{uuid.uuid4()}", "/images/-1"):
        resp = call(cdemo, "GET", path)
        assert resp.status_code == 404 and message(resp) == "Image not found."


def test_image_list_filters_and_paging(cdemo: Any) -> None:
    first, second = new_image(cdemo, os_distro="h7linux"), new_image(cdemo)
    name = call(cdemo, "GET", f"/images/{first}").json()["image"]["name"]
    by_name = call(cdemo, "GET", "/images", params={"name": name}).json()["images"]
    assert [i["id"] for i in by_name] == [first]
    active = {i["id"] for i in call(cdemo, "GET", "/images/detail", params={"status": "ACTIVE"}).json()["images"]}
    assert {first, second} <= active
    assert not call(cdemo, "GET", "/images", params={"status": "SAVING", "name": name}).json()["images"]
    by_prop = call(cdemo, "GET", "/images", params={"property-os_distro": "h7linux"}).json()["images"]
    assert [i["id"] for i in by_prop] == [first]
    created = call(cdemo, "GET", f"/images/{second}").json()["image"]["created"]
    since = {i["id"] for i in call(cdemo, "GET", "/images", params={"changes-since": created}).json()["images"]}
    assert second in since
    assert call(cdemo, "GET", "/images", params={"minRam": "0", "name": name}).json()["images"]
    # Paging: a full page carries a next link whose marker continues the listing.
    everything = [i["id"] for i in call(cdemo, "GET", "/images").json()["images"]]
    page = call(cdemo, "GET", "/images/detail", params={"limit": "1"}).json()
    assert [i["id"] for i in page["images"]] == everything[:1]
    nxt = page["images_links"][0]
    assert nxt["rel"] == "next" and "/v2.1/images/detail?" in nxt["href"] and f"marker={everything[0]}" in nxt["href"]
    rest = call(cdemo, "GET", "/images", params={"marker": everything[0]}).json()
    assert [i["id"] for i in rest["images"]] == everything[1:] and "images_links" not in rest
    assert len(call(cdemo, "GET", "/images", params={"limit": "0"}).json()["images"]) == len(everything)
    bad = call(cdemo, "GET", "/images", params={"limit": "abc"})
    assert bad.status_code == 400 and "limit" in message(bad)
    assert call(cdemo, "GET", "/images", params={"marker": str(uuid.uuid4())}).status_code == 400


def test_image_metadata(cdemo: Any, cadmin: Any) -> None:
    image = new_image(cdemo)
    base = f"/images/{image}/metadata"
    assert call(cdemo, "PUT", base, body={"metadata": {"os_version": "v1", "os_distro": "d1"}}).json() == {
        "metadata": {"os_version": "v1", "os_distro": "d1"}}
    merged = call(cdemo, "POST", base, body={"metadata": {"os_version": "v2", "architecture": "x86_64"}})
    assert merged.status_code == 200
    assert merged.json()["metadata"] == {"os_version": "v2", "os_distro": "d1", "architecture": "x86_64"}
    assert call(cdemo, "GET", base).json()["metadata"] == merged.json()["metadata"]
    assert call(cdemo, "GET", f"{base}/os_distro").json() == {"meta": {"os_distro": "d1"}}
    assert call(cdemo, "PUT", f"{base}/os_distro", body={"meta": {"os_distro": "d2"}}).json() == {
        "meta": {"os_distro": "d2"}}
    mismatch = call(cdemo, "PUT", f"{base}/os_distro", body={"meta": {"other": "x"}})
    assert mismatch.status_code == 400 and message(mismatch) == "Request body and URI mismatch"
    two = call(cdemo, "PUT", f"{base}/os_distro", body={"meta": {"os_distro": "a", "b": "c"}})
    assert two.status_code == 400
    assert call(cdemo, "DELETE", f"{base}/os_version").status_code == 204
    gone = call(cdemo, "DELETE", f"{base}/os_version")
    assert gone.status_code == 404 and message(gone) == "Invalid metadata key"
    assert call(cdemo, "GET", f"{base}/os_version").status_code == 404
    assert call(cdemo, "GET", base).json()["metadata"] == {"os_distro": "d2", "architecture": "x86_64"}
    # The image service sees the same properties.
    glance = call(cdemo, "GET", f"/v2/images/{image}", service="image").json()
    assert glance["os_distro"] == "d2" and "os_version" not in glance
    assert call(cdemo, "PUT", base, body={"metadata": {"bad/key": "x"}}).status_code == 400
    assert call(cdemo, "PUT", base, body={"metadata": {"k": 1}}).status_code == 400
    assert call(cdemo, "PUT", base, body={"meta": {}}).status_code == 400
    # metadata_items quota bounds the image's properties (403, as Nova).
    project = cdemo.current_project_id
    assert call(cadmin, "PUT", f"/os-quota-sets/{project}", body={"quota_set": {"metadata_items": 3}}).ok
    try:
        over = call(cdemo, "POST", base, body={"metadata": {"a": "1", "b": "2"}})
        assert over.status_code == 403 and message(over) == "Image metadata limit exceeded"
    finally:
        call(cadmin, "PUT", f"/os-quota-sets/{project}", body={"quota_set": {"metadata_items": 128}})
    for method, path, body in (("GET", base, None), ("POST", base, {"metadata": {"a": "b"}}),
                               ("GET", f"{base}/a", None), ("DELETE", f"{base}/a", None)):
        missing = call(cdemo, method, path.replace(image, str(uuid.uuid4())), body=body)
        assert missing.status_code == 404, (method, path)


def test_image_visibility_delete_and_versions(cdemo: Any, calt: Any, cadmin: Any) -> None:
    private = new_image(cdemo)
    assert call(calt, "GET", f"/images/{private}").status_code == 404
    assert private not in [i["id"] for i in call(calt, "GET", "/images").json()["images"]]
    assert call(calt, "DELETE", f"/images/{private}").status_code == 404
    assert call(calt, "POST", f"/images/{private}/metadata", body={"metadata": {"a": "b"}}).status_code == 404
    public = call(cadmin, "POST", "/v2/images", service="image", body={
        "name": uniq("h7-pub"), "disk_format": "raw", "container_format": "bare", "visibility": "public"}).json()["id"]
    forbidden = call(cdemo, "DELETE", f"/images/{public}")
    assert forbidden.status_code == 403 and message(forbidden) == "You are not allowed to delete the image."
    refused = call(cdemo, "POST", f"/images/{public}/metadata", body={"metadata": {"a": "b"}})
    assert refused.status_code == 403 and message(refused) == f"Not authorized for image {public}."
    assert call(cadmin, "DELETE", f"/images/{public}").status_code == 204
    # The proxy is gone from 2.36 (its metadata from 2.39), as in Nova.
    assert call(cdemo, "GET", f"/images/{private}", mv="2.35").status_code == 200
    for path, last in (("/images", "2.35"), ("/images/detail", "2.35"), (f"/images/{private}", "2.35"),
                       (f"/images/{private}/metadata", "2.38")):
        assert call(cdemo, "GET", path, mv=last).status_code == 200
        nxt = f"2.{int(last.split('.')[1]) + 1}"
        assert call(cdemo, "GET", path, mv=nxt).status_code == 404, path
    assert call(cdemo, "DELETE", f"/images/{private}", mv="2.36").status_code == 404
    assert call(cdemo, "DELETE", f"/images/{private}").status_code == 204
    assert call(cdemo, "GET", f"/images/{private}").status_code == 404
    assert call(cdemo, "DELETE", f"/images/{private}").status_code == 404
    assert call(cdemo, "DELETE", "/images/").status_code == 404  # a blank id


def test_snapshot_shown_with_its_server(cdemo: Any) -> None:
    sid = boot(cdemo, uniq("h7-snap"))
    resp = call(cdemo, "POST", f"/servers/{sid}/action", "2.45", {"createImage": {"name": uniq("h7-snapshot")}})
    assert resp.status_code == 202
    snap = resp.json()["image_id"]

    def active() -> dict[str, Any] | None:
        image: dict[str, Any] = call(cdemo, "GET", f"/images/{snap}").json()["image"]
        return image if image["status"] == "ACTIVE" else None

    shown = wait_until(active, timeout=60, what="snapshot ACTIVE")
    assert shown["server"]["id"] == sid
    assert [link["rel"] for link in shown["server"]["links"]] == ["self", "bookmark"]
    assert shown["server"]["links"][0]["href"].endswith(f"/compute/v2.1/servers/{sid}")
    assert shown["metadata"]["instance_uuid"] == sid and shown["metadata"]["image_type"] == "snapshot"
    server = call(cdemo, "GET", f"/servers/{sid}").json()["server"]
    for ref in (sid, *(link["href"] for link in server["links"])):
        found = [i["id"] for i in call(cdemo, "GET", "/images", params={"server": ref}).json()["images"]]
        assert found == [snap], ref
    snapshots = [i["id"] for i in call(cdemo, "GET", "/images/detail", params={"type": "snapshot"}).json()["images"]]
    assert snap in snapshots
    image_id = cdemo.image.find_image(IMAGE, ignore_missing=False).id
    assert image_id not in snapshots
    assert call(cdemo, "DELETE", f"/images/{snap}").status_code == 204
    assert call(cdemo, "DELETE", f"/servers/{sid}").status_code == 204


# --- server external events -----------------------------------------------------------------

def post_events(conn: Any, events: Any, mv: str | None = None) -> Any:
    return call(conn, "POST", "/os-server-external-events", mv, {"events": events})


def test_external_events(cadmin: Any, cdemo: Any) -> None:
    sid = boot(cdemo, uniq("h7-events"))
    ok = post_events(cadmin, [{"name": "network-changed", "server_uuid": sid}])
    assert ok.status_code == 200
    assert ok.json() == {"events": [{"name": "network-changed", "server_uuid": sid, "status": "completed",
                                     "code": 200}]}
    unknown = str(uuid.uuid4())
    mixed = post_events(cadmin, [
        {"name": "network-vif-plugged", "server_uuid": sid, "tag": "port-1", "status": "in-progress"},
        {"name": "network-vif-unplugged", "server_uuid": unknown, "tag": "port-2"},
    ])
    assert mixed.status_code == 207
    first, second = mixed.json()["events"]
    assert (first["code"], first["status"], first["tag"]) == (200, "completed", "port-1")
    assert (second["code"], second["status"], second["server_uuid"]) == (404, "failed", unknown)
    none_found = post_events(cadmin, [{"name": "network-vif-deleted", "server_uuid": unknown}])
    assert none_found.status_code == 207 and none_found.json()["events"][0]["code"] == 404
    # Names arrive with their microversions; some need a tag.
    assert post_events(cadmin, [{"name": "volume-extended", "server_uuid": sid, "tag": "v"}]).status_code == 400
    untagged = post_events(cadmin, [{"name": "volume-extended", "server_uuid": sid}], mv="2.51")
    assert untagged.status_code == 207 and untagged.json()["events"][0]["code"] == 400
    extended = post_events(cadmin, [{"name": "volume-extended", "server_uuid": sid, "tag": "vol-1"}], mv="2.51")
    assert extended.status_code == 200
    power = post_events(cadmin, [{"name": "power-update", "server_uuid": sid, "tag": "POWER_OFF"}], mv="2.76")
    assert power.status_code == 200
    assert post_events(cadmin, [{"name": "power-update", "server_uuid": sid, "tag": "x"}], mv="2.75").status_code \
        == 400
    assert post_events(cadmin, [{"name": "volume-reimaged", "server_uuid": sid, "tag": "v"}], mv="2.93").ok
    actions = [a["action"] for a in call(cdemo, "GET", f"/servers/{sid}/os-instance-actions").json()["instanceActions"]]
    assert "extend_volume" in actions and "power_update" in actions
    # Shelved and offloaded, the server is on no host: nothing could deliver the event.
    assert call(cdemo, "POST", f"/servers/{sid}/action", body={"shelve": None}).status_code == 202
    wait_server(cdemo, sid, "SHELVED_OFFLOADED")
    hostless = post_events(cadmin, [{"name": "network-changed", "server_uuid": sid}])
    assert hostless.status_code == 207 and hostless.json()["events"][0]["code"] == 422
    call(cdemo, "DELETE", f"/servers/{sid}")


def test_external_events_refusals(cadmin: Any, cdemo: Any) -> None:
    sid = str(uuid.uuid4())
    denied = post_events(cdemo, [{"name": "network-changed", "server_uuid": sid}])
    assert denied.status_code == 403
    bodies: list[dict[str, Any]] = [
        {}, {"events": []}, {"events": [{"name": "network-changed"}]},
        {"events": [{"name": "bogus", "server_uuid": sid}]},
        {"events": [{"name": "network-changed", "server_uuid": "not-a-uuid"}]},
        {"events": [{"name": "network-changed", "server_uuid": sid, "status": "odd"}]},
        {"events": [{"name": "network-changed", "server_uuid": sid, "extra": 1}]},
        {"events": [{"name": "network-changed", "server_uuid": sid, "tag": "t" * 256}]},
        {"events": {"name": "network-changed"}, "more": 1}]
    for body in bodies:
        resp = call(cadmin, "POST", "/os-server-external-events", body=body)
        assert resp.status_code == 400, body


# --- identity: the default role hierarchy ---------------------------------------------------

def inferences(ccloud: RunningCloud) -> set[tuple[str, str]]:
    rows = ccloud.cli("implied", "role", "list")
    return {(r["Prior Role Name"], r["Implied Role Name"]) for r in rows}


def test_manager_role_and_hierarchy(ccloud: RunningCloud, cadmin: Any) -> None:
    names = {r.name for r in cadmin.identity.roles()}
    assert {"admin", "manager", "member", "reader", "service"} <= names
    rules = inferences(ccloud)
    assert {("admin", "manager"), ("manager", "member"), ("member", "reader")} <= rules
    assert ("admin", "member") not in rules
    token = call(cadmin, "GET", "/v3/auth/tokens", service="identity",
                 headers={"X-Subject-Token": cadmin.session.get_token()}).json()["token"]
    assert {"admin", "manager", "member", "reader"} <= {r["name"] for r in token["roles"]}


def test_bootstrap_repairs_an_older_hierarchy(ccloud: RunningCloud) -> None:
    """A cloud bootstrapped before ``manager`` existed (admin→member) gets Keystone's hierarchy back."""
    ccloud.cli("implied", "role", "create", "--implied-role", "member", "admin", json_out=False)
    ccloud.cli("role", "delete", "manager", json_out=False)
    before = inferences(ccloud)
    assert ("admin", "member") in before and not any("manager" in pair for pair in before)
    ccloud.stop()
    ccloud.start()
    after = inferences(ccloud)
    assert {("admin", "manager"), ("manager", "member"), ("member", "reader")} <= after
    assert ("admin", "member") not in after
