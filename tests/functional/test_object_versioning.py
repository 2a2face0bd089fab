"""Object versioning as Swift's clients use it. Legacy versioned_writes: X-Versions-Location (stack
mode: each overwrite archived as ``<len hex><name>/<timestamp>``, a DELETE restores the previous
version) and X-History-Location (history mode: a DELETE archives the object and writes a delete
marker); the flags' validation, removal and display; who may version; large objects and symlinks
archived as themselves; restoring by COPY. Through python-swiftclient, openstacksdk and raw HTTP."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest
import requests
from swiftclient.exceptions import ClientException

from tests.functional.cloud import RunningCloud
from tests.functional.object_store_accounts import SwiftAccount, new_account

MARKER = "application/x-deleted;swift_versions_deleted=1"


@pytest.fixture(scope="module")
def owner(cloud: RunningCloud, admin: Any) -> SwiftAccount:
    return new_account(cloud, admin)


@pytest.fixture(scope="module")
def other(cloud: RunningCloud, admin: Any) -> SwiftAccount:
    return new_account(cloud, admin)


def names() -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return f"ver-{suffix}", f"arch-{suffix}"


def versioned(acct: SwiftAccount, mode: str = "X-Versions-Location", **headers: str) -> tuple[str, str]:
    cont, archive = names()
    acct.swift.put_container(archive)
    acct.swift.put_container(cont, headers={mode: archive, **headers})
    return cont, archive


def archived(acct: SwiftAccount, archive: str, prefix: str = "") -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = acct.swift.get_container(archive, prefix=prefix or None)[1]
    return rows


def prefix_of(name: str) -> str:
    return f"{len(name.encode('utf-8')):03x}{name}/"


def test_info_advertises_versioned_writes(owner: SwiftAccount) -> None:
    info = requests.get(owner.url.split("/v1/")[0] + "/info", timeout=30).json()
    assert info["versioned_writes"] == {"allowed_flags": ["x-versions-location", "x-history-location"]}


def test_flags_are_shown_validated_and_removed(owner: SwiftAccount) -> None:
    cont, archive = versioned(owner)
    head = owner.swift.head_container(cont)
    assert head["x-versions-location"] == archive and "x-history-location" not in head
    assert not any(k.startswith("x-container-sysmeta") for k in head)
    # Switching to history mode replaces the flag.
    owner.swift.post_container(cont, {"X-History-Location": archive})
    head = owner.swift.head_container(cont)
    assert head["x-history-location"] == archive and "x-versions-location" not in head
    r = owner.request("POST", f"/{cont}", headers={"X-Versions-Location": "a", "X-History-Location": "b"})
    assert (r.status_code, r.text) == (400, "Only one of x-versions-location or x-history-location may be specified")
    r = owner.request("PUT", f"/{cont}-2", headers={"X-Versions-Location": "a", "X-History-Location": "b"})
    assert r.status_code == 400
    assert owner.request("HEAD", f"/{cont}-2").status_code == 404
    r = owner.request("POST", f"/{cont}", headers={"X-Versions-Location": "a/b"})
    assert (r.status_code, r.text) == (412, "Container name cannot contain slashes")
    assert owner.swift.head_container(cont)["x-history-location"] == archive  # unchanged
    # An empty value of the other flag defers to the one given.
    owner.swift.post_container(cont, {"X-Versions-Location": archive, "X-History-Location": ""})
    assert owner.swift.head_container(cont)["x-versions-location"] == archive
    owner.swift.post_container(cont, {"X-Remove-Versions-Location": "x"})
    head = owner.swift.head_container(cont)
    assert "x-versions-location" not in head and "x-history-location" not in head
    owner.swift.post_container(cont, {"X-History-Location": archive})
    owner.swift.post_container(cont, {"X-Versions-Location": ""})
    head = owner.swift.head_container(cont)
    assert "x-versions-location" not in head and "x-history-location" not in head
    # Unversioned now: an overwrite archives nothing.
    owner.swift.put_object(cont, "o", b"1")
    owner.swift.put_object(cont, "o", b"2")
    assert archived(owner, archive) == []


def test_stack_mode_archives_and_restores(owner: SwiftAccount) -> None:
    cont, archive = versioned(owner)
    for body in (b"one", b"two", b"three"):
        owner.swift.put_object(cont, "obj", body, headers={"X-Object-Meta-Body": body.decode()})
    rows = archived(owner, archive)
    assert [r["name"].rsplit("/", 1)[0] + "/" for r in rows] == [prefix_of("obj")] * 2
    assert [r["bytes"] for r in rows] == [3, 3]
    assert owner.swift.get_object(archive, rows[0]["name"])[1] == b"one"
    headers, body = owner.swift.get_object(archive, rows[1]["name"])
    assert body == b"two" and headers["x-object-meta-body"] == "two"
    assert owner.swift.head_container(cont)["x-container-object-count"] == "1"
    # POST changes metadata only: no new version.
    owner.swift.post_object(cont, "obj", {"X-Object-Meta-Body": "changed"})
    assert len(archived(owner, archive)) == 2
    # Each DELETE brings back the one before.
    owner.swift.delete_object(cont, "obj")
    headers, body = owner.swift.get_object(cont, "obj")
    assert body == b"two" and headers["x-object-meta-body"] == "two"
    assert len(archived(owner, archive)) == 1
    owner.swift.delete_object(cont, "obj")
    assert owner.swift.get_object(cont, "obj")[1] == b"one"
    assert archived(owner, archive) == []
    owner.swift.delete_object(cont, "obj")
    with pytest.raises(ClientException) as err:
        owner.swift.get_object(cont, "obj")
    assert err.value.http_status == 404
    with pytest.raises(ClientException) as err:
        owner.swift.delete_object(cont, "obj")
    assert err.value.http_status == 404


def test_version_names_use_the_utf8_length(owner: SwiftAccount) -> None:
    cont, archive = versioned(owner)
    name = "dir/\u00e9t\u00e9 \u2603"
    owner.swift.put_object(cont, name, b"a")
    owner.swift.put_object(cont, name, b"b")
    rows = archived(owner, archive)
    assert len(rows) == 1 and rows[0]["name"].startswith(prefix_of(name))
    stamp = rows[0]["name"][len(prefix_of(name)):]
    assert float(stamp) > 0 and len(stamp.split(".")[1]) == 5
    owner.swift.delete_object(cont, name)
    assert owner.swift.get_object(cont, name)[1] == b"a"


def test_history_mode_keeps_everything_with_delete_markers(owner: SwiftAccount) -> None:
    cont, archive = versioned(owner, "X-History-Location")
    owner.swift.put_object(cont, "h", b"v1")
    owner.swift.put_object(cont, "h", b"v2")
    owner.swift.delete_object(cont, "h")
    with pytest.raises(ClientException) as err:
        owner.swift.head_object(cont, "h")
    assert err.value.http_status == 404
    rows = archived(owner, archive, prefix_of("h"))
    assert [r["content_type"] for r in rows][-1] == MARKER
    assert [owner.swift.get_object(archive, r["name"])[1] for r in rows[:2]] == [b"v1", b"v2"]
    assert rows[2]["bytes"] == 0
    assert owner.swift.get_container(cont)[1] == []
    # Restoring is a COPY from the archive.
    owner.swift.copy_object(archive, rows[0]["name"], f"/{cont}/h")
    assert owner.swift.get_object(cont, "h")[1] == b"v1"
    assert len(archived(owner, archive)) == 3  # nothing was current when it was restored


def test_stack_mode_over_history_markers(owner: SwiftAccount) -> None:
    """A container switched from history to stack mode: a DELETE that meets a delete marker
    brings back the version before it, as Swift's stack mode does."""
    cont, archive = versioned(owner, "X-History-Location")
    owner.swift.put_object(cont, "m", b"first")
    owner.swift.delete_object(cont, "m")  # archive: first, marker
    owner.swift.post_container(cont, {"X-Versions-Location": archive})
    owner.swift.delete_object(cont, "m")
    assert owner.swift.get_object(cont, "m")[1] == b"first"
    assert archived(owner, archive) == []


def test_versions_of_a_missing_archive_container_are_412(owner: SwiftAccount) -> None:
    cont, archive = names()
    owner.swift.put_container(cont, headers={"X-Versions-Location": archive})
    owner.swift.put_object(cont, "o", b"1")  # nothing to archive yet
    r = owner.request("PUT", f"/{cont}/o", data=b"2")
    assert r.status_code == 412
    assert owner.swift.get_object(cont, "o")[1] == b"1"


def test_who_may_version(owner: SwiftAccount, other: SwiftAccount) -> None:
    cont, archive = versioned(owner, **{"X-Container-Read": f"{other.project_id}:*"})
    owner.swift.put_object(cont, "o", b"owner's")
    # Read access is not enough: nothing is archived or changed.
    r = owner.request("PUT", f"/{cont}/o", data=b"intruder", token=other.token)
    assert r.status_code == 403
    r = owner.request("DELETE", f"/{cont}/o", token=other.token)
    assert r.status_code == 403
    assert archived(owner, archive) == []
    assert owner.swift.get_object(cont, "o")[1] == b"owner's"
    # Write access to the container versions into its archive, which the writer cannot reach itself.
    owner.swift.post_container(cont, {"X-Container-Write": f"{other.project_id}:*"})
    r = owner.request("PUT", f"/{cont}/o", data=b"writer's", token=other.token)
    assert r.status_code == 201
    assert owner.request("GET", f"/{archive}", token=other.token).status_code == 403
    rows = archived(owner, archive)
    assert len(rows) == 1 and owner.swift.get_object(archive, rows[0]["name"])[1] == b"owner's"
    r = owner.request("DELETE", f"/{cont}/o", token=other.token)
    assert r.status_code == 204
    assert owner.swift.get_object(cont, "o")[1] == b"owner's"


def test_symlinks_and_large_objects_are_archived_as_themselves(owner: SwiftAccount) -> None:
    cont, archive = versioned(owner)
    owner.swift.put_object(cont, "target", b"target data")
    owner.swift.put_object(cont, "link", b"", headers={"X-Symlink-Target": f"{cont}/target"})
    owner.swift.put_object(cont, "link", b"plain now")
    rows = archived(owner, archive, prefix_of("link"))
    assert len(rows) == 1 and rows[0]["symlink_path"].endswith(f"/{cont}/target")
    r = owner.request("HEAD", f"/{archive}/{rows[0]['name']}", params={"symlink": "get"})
    assert r.headers["X-Symlink-Target"] == f"{cont}/target"
    owner.swift.delete_object(cont, "link")
    assert owner.swift.get_object(cont, "link")[1] == b"target data"  # the link is back, and followed
    # A static large object's manifest is archived, not its concatenation.
    segs = f"{cont}-segs"
    owner.swift.put_container(segs)
    parts = [b"a" * 1024, b"b" * 1024]
    manifest = []
    for i, part in enumerate(parts):
        owner.swift.put_object(segs, f"s{i}", part)
        manifest.append({"path": f"/{segs}/s{i}", "etag": hashlib.md5(part).hexdigest(), "size_bytes": len(part)})
    owner.swift.put_object(cont, "big", json.dumps(manifest), query_string="multipart-manifest=put")
    owner.swift.put_object(cont, "big", b"small")
    rows = archived(owner, archive, prefix_of("big"))
    assert len(rows) == 1 and rows[0]["bytes"] == 2048 and "slo_etag" in rows[0]
    assert owner.swift.get_object(archive, rows[0]["name"])[1] == b"".join(parts)
    owner.swift.delete_object(cont, "big")
    headers, body = owner.swift.get_object(cont, "big")
    assert body == b"".join(parts) and headers["x-static-large-object"] == "True"


def test_openstacksdk_overwrites_are_versioned(owner: SwiftAccount) -> None:
    cont, archive = versioned(owner)
    sdk = owner.sdk.object_store
    sdk.upload_object(container=cont, name="s", data=b"sdk-1")
    sdk.upload_object(container=cont, name="s", data=b"sdk-2")
    versions = list(sdk.objects(archive))
    assert len(versions) == 1 and versions[0].name.startswith(prefix_of("s"))
    assert sdk.download_object(versions[0].name, container=archive) == b"sdk-1"
    sdk.delete_object("s", container=cont)
    assert sdk.download_object("s", container=cont) == b"sdk-1"


# -- object_versioning (X-Versions-Enabled) -------------------------------------------------------

def enabled_container(acct: SwiftAccount) -> str:
    name = f"ov-{uuid.uuid4().hex[:8]}"
    acct.swift.put_container(name, headers={"X-Versions-Enabled": "true"})
    return name


def versions(acct: SwiftAccount, cont: str, **params: str) -> list[dict[str, Any]]:
    r = acct.request("GET", f"/{cont}", params={"versions": "", "format": "json", **params})
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


def test_info_advertises_object_versioning(owner: SwiftAccount) -> None:
    info = requests.get(owner.url.split("/v1/")[0] + "/info", timeout=30).json()
    assert "object_versioning" in info


def test_enable_disable_and_the_legacy_conflict(owner: SwiftAccount) -> None:
    cont = enabled_container(owner)
    assert owner.swift.head_container(cont)["x-versions-enabled"] == "True"
    owner.swift.post_container(cont, {"X-Versions-Enabled": "false"})
    assert owner.swift.head_container(cont)["x-versions-enabled"] == "False"
    legacy, _archive = versioned(owner)
    r = owner.request("POST", f"/{legacy}", headers={"X-Versions-Enabled": "true"})
    assert r.status_code == 400 and "legacy versioned writes" in r.text
    both = f"ov-{uuid.uuid4().hex[:8]}"
    r = owner.request("PUT", f"/{both}", headers={"X-Versions-Enabled": "true", "X-Versions-Location": "x"})
    assert r.status_code == 400 and owner.request("HEAD", f"/{both}").status_code == 404
    # Hidden containers never show in the account listing; clients cannot name them.
    names_listed = [c["name"] for c in owner.swift.get_account(full_listing=True)[1]]
    assert cont in names_listed and not any(n.startswith("\x01") for n in names_listed)
    assert owner.request("GET", "/%01versions%01" + cont).status_code == 412


def test_versions_are_kept_listed_read_and_deleted(owner: SwiftAccount) -> None:
    cont = enabled_container(owner)
    ids = []
    for body in (b"v1", b"v22", b"v333"):
        r = owner.request("PUT", f"/{cont}/obj", data=body, headers={"Content-Type": "text/plain"})
        assert r.status_code == 201 and r.headers["Etag"] == hashlib.md5(body).hexdigest()
        ids.append(r.headers["X-Object-Version-Id"])
    assert len(set(ids)) == 3
    r = owner.request("GET", f"/{cont}/obj")
    assert r.content == b"v333" and r.headers["X-Object-Version-Id"] == ids[2]
    assert r.headers["Content-Location"].endswith(f"/{cont}/obj?version-id={ids[2]}")
    # The plain listing shows the object once, with the latest version's size and ETag.
    rows = owner.swift.get_container(cont)[1]
    assert [(r["name"], r["bytes"], r["hash"]) for r in rows] == [("obj", 4, hashlib.md5(b"v333").hexdigest())]
    assert owner.swift.head_container(cont)["x-container-bytes-used"] == str(0 + 2 + 3 + 4)
    listed = versions(owner, cont)
    assert [(r["name"], r["version_id"], r["is_latest"], r["bytes"]) for r in listed] == [
        ("obj", ids[2], True, 4), ("obj", ids[1], False, 3), ("obj", ids[0], False, 2)]
    # Older versions by id.
    r = owner.request("GET", f"/{cont}/obj", params={"version-id": ids[0]})
    assert r.content == b"v1" and r.headers["X-Object-Version-Id"] == ids[0]
    assert owner.request("HEAD", f"/{cont}/obj", params={"version-id": "1.0"}).status_code == 404
    assert owner.request("GET", f"/{cont}/obj", params={"version-id": "bogus"}).status_code == 400
    assert owner.request("POST", f"/{cont}/obj", params={"version-id": ids[0]}).status_code == 400
    # DELETE writes a delete marker; the versions stay.
    r = owner.request("DELETE", f"/{cont}/obj")
    assert r.status_code == 204
    marker_id = r.headers["X-Object-Version-Id"]
    assert owner.request("GET", f"/{cont}/obj").status_code == 404
    assert owner.swift.get_container(cont)[1] == []
    listed = versions(owner, cont)
    assert listed[0]["version_id"] == marker_id and listed[0]["is_latest"]
    assert listed[0]["content_type"] == MARKER
    r = owner.request("GET", f"/{cont}/obj", params={"version-id": marker_id})
    assert r.status_code == 404 and r.headers["X-Object-Version-Id"] == marker_id
    # Restore an old version as the latest.
    r = owner.request("PUT", f"/{cont}/obj", params={"version-id": ids[1]}, data=b"")
    assert r.status_code == 201
    assert owner.swift.get_object(cont, "obj")[1] == b"v22"
    # Deleting the latest version by id removes the link too; other versions stay.
    r = owner.request("DELETE", f"/{cont}/obj", params={"version-id": ids[1]})
    assert r.status_code == 204 and r.headers["X-Object-Current-Version-Id"] == "null"
    assert owner.request("HEAD", f"/{cont}/obj").status_code == 404
    left = {r["version_id"] for r in versions(owner, cont)}
    assert left == {ids[0], ids[2], marker_id}
    # The container cannot go while versions remain.
    r = owner.request("DELETE", f"/{cont}")
    assert r.status_code == 409 and r.text == "Delete all versions before deleting container."
    for vid in left:
        assert owner.request("DELETE", f"/{cont}/obj", params={"version-id": vid}).status_code == 204
    assert versions(owner, cont) == []
    assert owner.request("DELETE", f"/{cont}").status_code == 204


def test_null_versions_and_suspended_versioning(owner: SwiftAccount) -> None:
    cont = f"ov-{uuid.uuid4().hex[:8]}"
    owner.swift.put_container(cont)
    owner.swift.put_object(cont, "n", b"before")
    owner.swift.post_container(cont, {"X-Versions-Enabled": "true"})
    r = owner.request("GET", f"/{cont}/n")
    assert r.headers["X-Object-Version-Id"] == "null"
    assert [(r["version_id"], r["is_latest"]) for r in versions(owner, cont)] == [("null", True)]
    r = owner.request("PUT", f"/{cont}/n", data=b"after")
    new_id = r.headers["X-Object-Version-Id"]
    rows = versions(owner, cont)
    assert [r["is_latest"] for r in rows] == [True, False] and rows[0]["version_id"] == new_id
    old_id = rows[1]["version_id"]
    assert owner.request("GET", f"/{cont}/n", params={"version-id": old_id}).content == b"before"
    # Suspended: a PUT replaces the latest in place (a null version); versions stay readable.
    owner.swift.post_container(cont, {"X-Versions-Enabled": "false"})
    owner.swift.put_object(cont, "n", b"suspended")
    assert owner.request("GET", f"/{cont}/n").headers["X-Object-Version-Id"] == "null"
    assert owner.request("GET", f"/{cont}/n", params={"version-id": new_id}).content == b"after"
    assert owner.request("GET", f"/{cont}/n", params={"version-id": "null"}).content == b"suspended"


def test_post_reaches_the_latest_version(owner: SwiftAccount) -> None:
    cont = enabled_container(owner)
    owner.swift.put_object(cont, "p", b"data")
    r = requests.post(f"{owner.url}/{cont}/p", headers={"X-Auth-Token": owner.token, "X-Object-Meta-Color": "blue"},
                      allow_redirects=False, timeout=60)
    assert r.status_code == 202
    assert owner.swift.head_object(cont, "p")["x-object-meta-color"] == "blue"


def test_swiftclient_and_sdk_see_a_plain_container(owner: SwiftAccount) -> None:
    cont = enabled_container(owner)
    sdk = owner.sdk.object_store
    sdk.upload_object(container=cont, name="a", data=b"1")
    sdk.upload_object(container=cont, name="a", data=b"22")
    owner.swift.put_object(cont, "b", b"333")
    assert sdk.download_object("a", container=cont) == b"22"
    assert [(o.name, o.content_length) for o in sdk.objects(cont)] == [("a", 2), ("b", 3)]
    owner.swift.delete_object(cont, "a")
    assert [o["name"] for o in owner.swift.get_container(cont)[1]] == ["b"]


def test_copy_into_a_versioned_container(owner: SwiftAccount) -> None:
    """A COPY is a read of the current version and a versioned PUT."""
    cont = enabled_container(owner)
    owner.request("PUT", f"/{cont}/src", data=b"old")
    owner.swift.copy_object(cont, "src", f"/{cont}/dst")
    owner.request("PUT", f"/{cont}/src", data=b"new")
    owner.swift.copy_object(cont, "src", f"/{cont}/dst")
    assert owner.swift.get_object(cont, "dst")[1] == b"new"
    rows = versions(owner, cont, prefix="dst")
    assert [r["is_latest"] for r in rows] == [True, False]
    r = owner.request("GET", f"/{cont}/dst", params={"version-id": rows[1]["version_id"]})
    assert r.content == b"old"


def test_copy_of_a_version(owner: SwiftAccount) -> None:
    """COPY ?version-id= and PUT X-Copy-From ?version-id= copy that version (the source read asks
    for it; the destination's PUT is a new, versioned object), as Swift's copy middleware does."""
    cont = enabled_container(owner)
    old_id = owner.request("PUT", f"/{cont}/src", data=b"old").headers["X-Object-Version-Id"]
    owner.request("PUT", f"/{cont}/src", data=b"new")
    r = owner.request("COPY", f"/{cont}/src", params={"version-id": old_id},
                      headers={"Destination": f"{cont}/restored"})
    assert r.status_code == 201, r.text
    assert r.headers["X-Copied-From"] == f"{cont}/src"
    assert owner.swift.get_object(cont, "restored")[1] == b"old"
    assert r.headers["X-Object-Version-Id"] != old_id  # a version of its own
    # onto the object itself: the old content becomes the latest, the newer one stays a version
    r = owner.request("PUT", f"/{cont}/src", params={"version-id": old_id},
                      headers={"X-Copy-From": f"{cont}/src", "Content-Length": "0"})
    assert r.status_code == 201, r.text
    assert owner.swift.get_object(cont, "src")[1] == b"old"
    assert len(versions(owner, cont, prefix="src")) == 3
    # an unknown version is the source's 404; nothing is written
    r = owner.request("COPY", f"/{cont}/src", params={"version-id": "1234567890.12345"},
                      headers={"Destination": f"{cont}/nothing"})
    assert r.status_code == 404
    assert owner.request("HEAD", f"/{cont}/nothing").status_code == 404


def test_acl_writers_version_through_the_container(owner: SwiftAccount, other: SwiftAccount) -> None:
    cont = enabled_container(owner)
    owner.swift.post_container(cont, {"X-Container-Read": f"{other.project_id}:*",
                                      "X-Container-Write": f"{other.project_id}:*"})
    r = owner.request("PUT", f"/{cont}/shared", data=b"by other", token=other.token)
    assert r.status_code == 201 and r.headers["X-Object-Version-Id"]
    r = owner.request("GET", f"/{cont}/shared", token=other.token)
    assert r.status_code == 200 and r.content == b"by other"
    # Without write access nothing is versioned or written.
    readonly = enabled_container(owner)
    owner.swift.post_container(readonly, {"X-Container-Read": f"{other.project_id}:*"})
    r = owner.request("PUT", f"/{readonly}/o", data=b"x", token=other.token)
    assert r.status_code == 403
    assert versions(owner, readonly) == []
    # Only the owner may turn versioning on or off.
    r = owner.request("POST", f"/{cont}", headers={"X-Versions-Enabled": "false"}, token=other.token)
    assert r.status_code == 403
    assert owner.swift.head_container(cont)["x-versions-enabled"] == "True"


def test_a_copied_version_link_is_not_a_key_to_the_account(owner: SwiftAccount, other: SwiftAccount) -> None:
    """A writer copies a versioning link (?symlink=get) and re-targets it: the copy is an ordinary
    link, followed with the writer's own rights."""
    private = f"private-{uuid.uuid4().hex[:8]}"
    owner.swift.put_container(private)
    owner.swift.put_object(private, "secret", b"owner only")
    cont = enabled_container(owner)
    owner.swift.post_container(cont, {"X-Container-Read": f"{other.project_id}:*",
                                      "X-Container-Write": f"{other.project_id}:*"})
    owner.swift.put_object(cont, "o", b"shared")
    for extra in ({}, {"X-Symlink-Target-Etag": hashlib.md5(b"owner only").hexdigest()}):
        r = owner.request("COPY", f"/{cont}/o", params={"symlink": "get"}, token=other.token,
                          headers={"Destination": f"{cont}/evil", "X-Symlink-Target": f"{private}/secret", **extra})
        assert r.status_code in (201, 403), r.text
        for method in ("GET", "HEAD"):
            r = owner.request(method, f"/{cont}/evil", token=other.token)
            assert r.status_code in (403, 404, 409) and b"owner only" not in r.content


def test_versions_listing_pages_with_version_marker(owner: SwiftAccount) -> None:
    cont = enabled_container(owner)
    a_ids = [owner.request("PUT", f"/{cont}/a", data=bytes([65 + i])).headers["X-Object-Version-Id"]
             for i in range(3)]
    b_id = owner.request("PUT", f"/{cont}/b", data=b"b").headers["X-Object-Version-Id"]
    page = versions(owner, cont, limit="2")
    assert [(r["name"], r["version_id"]) for r in page] == [("a", a_ids[2]), ("a", a_ids[1])]
    page = versions(owner, cont, limit="2", marker="a", version_marker=a_ids[1])
    assert [(r["name"], r["version_id"], r["is_latest"]) for r in page] == [("a", a_ids[0], False), ("b", b_id, True)]
    page = versions(owner, cont, marker="a")
    assert [r["name"] for r in page] == ["b"]
    assert [r["name"] for r in versions(owner, cont, prefix="b")] == ["b"]
    r = owner.request("GET", f"/{cont}", params={"versions": "", "version_marker": a_ids[0]})
    assert (r.status_code, r.text) == (400, "version_marker param requires marker")


def test_versions_listing_of_a_legacy_container(owner: SwiftAccount) -> None:
    """``?versions`` on a container that never enabled object versioning: its objects as null
    versions (Swift's functional test); DELETE ?version-id=null is the legacy DELETE."""
    cont, archive = versioned(owner)
    for body in (b"version1", b"version2", b"version3"):
        owner.swift.put_object(cont, "o", body, content_type="text/x")
    rows = versions(owner, cont)
    assert [(r["name"], r["version_id"], r["is_latest"], r["bytes"]) for r in rows] == [("o", "null", True, 8)]
    assert [r["version_id"] for r in versions(owner, archive)] == ["null", "null"]
    assert owner.request("DELETE", f"/{cont}/o", params={"version-id": "null"}).status_code == 204
    assert owner.swift.get_object(cont, "o")[1] == b"version2"
    r = owner.request("GET", f"/{cont}/o", params={"version-id": "1700000000.00000"})
    assert (r.status_code, r.text) == (400, "version-aware operations require that the container is versioned")


@pytest.mark.parametrize("mode", ["X-Versions-Location", "X-Versions-Enabled"])
def test_refused_writes_archive_nothing(owner: SwiftAccount, mode: str) -> None:
    if mode == "X-Versions-Enabled":
        cont = enabled_container(owner)

        def kept() -> list[dict[str, Any]]:
            return versions(owner, cont)
    else:
        cont, archive = versioned(owner)

        def kept() -> list[dict[str, Any]]:
            return archived(owner, archive)
    owner.swift.put_object(cont, "o", b"current")
    before = kept()
    for headers, status in (({"X-Delete-At": "1"}, 400), ({"X-Delete-After": "soon"}, 400),
                            ({"X-Object-Meta-" + "k" * 200: "v"}, 400), ({"If-None-Match": "*"}, 412),
                            ({"If-None-Match": "abc"}, 400), ({"X-Symlink-Target": "c/o"}, 400)):
        r = owner.request("PUT", f"/{cont}/o", data=b"refused", headers=headers)
        assert r.status_code == status, (headers, r.text)
    assert kept() == before
    assert owner.swift.get_object(cont, "o")[1] == b"current"
