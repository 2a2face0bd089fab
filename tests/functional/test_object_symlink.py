"""Symlinks as Swift's clients use them: dynamic and static links made with python-swiftclient,
followed on GET/HEAD (ranges, Content-Location, chains up to symloop_max, loops refused), the link
itself with ``?symlink=get``, POST's 307, listings' ``symlink_path``, the target's ACLs checked as
the caller, cross-account links, copies of a link and of its target, and /info."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from swiftclient.exceptions import ClientException
from swiftclient.utils import generate_temp_url

from tests.functional.cloud import RunningCloud
from tests.functional.object_store_accounts import SwiftAccount, new_account

EMPTY_MD5 = hashlib.md5(b"").hexdigest()


@pytest.fixture(scope="module")
def owner(cloud: RunningCloud, admin: Any) -> SwiftAccount:
    return new_account(cloud, admin)


@pytest.fixture(scope="module")
def other(cloud: RunningCloud, admin: Any) -> SwiftAccount:
    return new_account(cloud, admin)


def fresh(acct: SwiftAccount, **headers: str) -> str:
    name = "sym-" + uuid.uuid4().hex[:8]
    acct.swift.put_container(name, headers=headers)
    return name


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_info_advertises_symlinks(owner: SwiftAccount) -> None:
    info = requests.get(owner.url.split("/v1/")[0] + "/info", timeout=30).json()
    assert info["symlink"] == {"symloop_max": 2, "static_links": True}


def test_dynamic_link_follows_its_target(owner: SwiftAccount) -> None:
    c = fresh(owner)
    data = b"0123456789" * 100
    owner.swift.put_object(c, "target", data, content_type="text/x-target", headers={"X-Object-Meta-Color": "red"})
    owner.swift.put_object(c, "link", b"", headers={"X-Symlink-Target": f"{c}/target"})
    headers, body = owner.swift.get_object(c, "link")
    assert body == data
    assert headers["etag"] == md5(data)
    assert headers["content-type"] == "text/x-target"
    assert headers["x-object-meta-color"] == "red"
    assert headers["content-location"] == f"/v1/{owner.name}/{c}/target"
    head = owner.swift.head_object(c, "link")
    assert head["content-length"] == str(len(data)) and head["content-location"].endswith(f"/{c}/target")
    # A range is the target's (the link's own empty body does not answer 416).
    r = owner.request("GET", f"/{c}/link", headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    # ?symlink=get: the link itself, empty, with its target in X-Symlink-Target.
    r = owner.request("GET", f"/{c}/link", params={"symlink": "get"})
    assert r.status_code == 200 and r.content == b""
    assert r.headers["X-Symlink-Target"] == f"{c}/target"
    assert r.headers["Content-Type"] == "application/symlink"
    assert r.headers["Etag"] == EMPTY_MD5
    assert "Content-Location" not in r.headers
    assert not any(k.lower().startswith("x-object-sysmeta") for k in r.headers)
    # Deleting the link leaves the target.
    owner.swift.delete_object(c, "link")
    assert owner.swift.get_object(c, "target")[1] == data


def test_link_to_a_missing_target_is_404_until_it_exists(owner: SwiftAccount) -> None:
    c = fresh(owner)
    owner.swift.put_object(c, "link", b"", headers={"X-Symlink-Target": f"{c}/later"})
    r = owner.request("GET", f"/{c}/link")
    assert r.status_code == 404
    assert r.headers["Content-Location"] == f"/v1/{owner.name}/{c}/later"
    owner.swift.put_object(c, "later", b"now")
    assert owner.swift.get_object(c, "link")[1] == b"now"


def test_listing_shows_symlink_path_and_static_fields(owner: SwiftAccount) -> None:
    c = fresh(owner)
    owner.swift.put_object(c, "t", b"abc")
    owner.swift.put_object(c, "dyn", b"", headers={"X-Symlink-Target": f"{c}/t"})
    owner.swift.put_object(c, "stat", b"", headers={"X-Symlink-Target": f"{c}/t", "X-Symlink-Target-Etag": md5(b"abc")})
    _, rows = owner.swift.get_container(c)
    by_name = {r["name"]: r for r in rows}
    assert by_name["dyn"]["symlink_path"] == f"/v1/{owner.name}/{c}/t"
    assert by_name["dyn"]["hash"] == EMPTY_MD5 and by_name["dyn"]["bytes"] == 0
    assert by_name["dyn"]["content_type"] == "application/symlink"
    assert "symlink_etag" not in by_name["dyn"]
    assert by_name["stat"]["symlink_path"] == f"/v1/{owner.name}/{c}/t"
    assert by_name["stat"]["symlink_etag"] == md5(b"abc")
    assert by_name["stat"]["symlink_bytes"] == 3
    assert by_name["stat"]["content_type"] == "application/octet-stream"  # the target's
    assert "symlink_path" not in by_name["t"] and "symlink_target" not in by_name["t"]
    # Plain-text listing is just the names.
    r = owner.request("GET", f"/{c}", params={"format": "plain"})
    assert r.text.split() == ["dyn", "stat", "t"]


def test_static_link_checks_the_target(owner: SwiftAccount) -> None:
    c = fresh(owner)
    owner.swift.put_object(c, "t", b"first")
    # The target must exist and match.
    r = owner.request("PUT", f"/{c}/nolink", headers={"X-Symlink-Target": f"{c}/absent",
                                                      "X-Symlink-Target-Etag": md5(b"x")}, data=b"")
    assert r.status_code == 409 and r.text == "X-Symlink-Target does not exist"
    r = owner.request("PUT", f"/{c}/badlink", headers={"X-Symlink-Target": f"{c}/t",
                                                       "X-Symlink-Target-Etag": md5(b"other")}, data=b"")
    assert r.status_code == 409
    assert r.text == f"Object Etag {md5(b'first')!r} does not match X-Symlink-Target-Etag header {md5(b'other')!r}"
    for name in ("nolink", "badlink"):
        assert owner.request("HEAD", f"/{c}/{name}").status_code == 404
    r = owner.request("PUT", f"/{c}/ok", headers={"X-Symlink-Target": f"{c}/t",
                                                  "X-Symlink-Target-Etag": f'"{md5(b"first")}"'}, data=b"")
    assert r.status_code == 201
    assert owner.swift.get_object(c, "ok")[1] == b"first"
    r = owner.request("HEAD", f"/{c}/ok", params={"symlink": "get"})
    assert r.headers["X-Symlink-Target-Etag"] == md5(b"first") and r.headers["X-Symlink-Target-Bytes"] == "5"
    # The target changes: the static link refuses to serve it; a dynamic one would.
    owner.swift.put_object(c, "t", b"second")
    r = owner.request("GET", f"/{c}/ok")
    assert r.status_code == 409 and r.headers["Content-Location"] == f"/v1/{owner.name}/{c}/t"
    assert "does not match X-Symlink-Target-Etag header" in r.text


def test_bad_symlink_requests(owner: SwiftAccount) -> None:
    c = fresh(owner)
    cases = [
        ({"X-Symlink-Target": f"{c}/t"}, b"body", 400, "Symlink requests require a zero byte body"),
        ({"X-Symlink-Target": f"/{c}/t"}, b"", 412,
         "X-Symlink-Target header must be of the form <container name>/<object name>"),
        ({"X-Symlink-Target": "nocontainer"}, b"", 412,
         "X-Symlink-Target header must be of the form <container name>/<object name>"),
        ({"X-Symlink-Target": f"{c}/self"}, b"", 400, "Symlink cannot target itself"),
        ({"X-Symlink-Target": f"{c}/t", "X-Symlink-Target-Account": ""}, b"", 412, "Account name cannot be empty"),
        ({"X-Symlink-Target": f"{c}/t", "X-Symlink-Target-Account": "a/b"}, b"", 412,
         "Account name cannot contain slashes"),
        ({"X-Symlink-Target": f"{c}/t", "X-Symlink-Target-Etag": 'ab;c'}, b"", 400,
         "Bad X-Symlink-Target-Etag format"),
    ]
    for headers, body, status, text in cases:
        r = owner.request("PUT", f"/{c}/self", headers=headers, data=body)
        assert (r.status_code, r.text) == (status, text), headers
    assert owner.request("HEAD", f"/{c}/self").status_code == 404
    r = owner.request("POST", f"/{c}/self", headers={"X-Symlink-Target": f"{c}/t"})
    assert (r.status_code, r.text) == (400, "A PUT request is required to set a symlink target")


def test_chains_loops_and_symloop_max(owner: SwiftAccount) -> None:
    c = fresh(owner)
    owner.swift.put_object(c, "t", b"end")
    owner.swift.put_object(c, "l1", b"", headers={"X-Symlink-Target": f"{c}/t"})
    owner.swift.put_object(c, "l2", b"", headers={"X-Symlink-Target": f"{c}/l1"})
    owner.swift.put_object(c, "l3", b"", headers={"X-Symlink-Target": f"{c}/l2"})
    headers, body = owner.swift.get_object(c, "l2")
    assert body == b"end" and headers["content-location"] == f"/v1/{owner.name}/{c}/t"
    r = owner.request("GET", f"/{c}/l3")
    assert (r.status_code, r.text) == (409, "Too many levels of symbolic links, maximum allowed is 2")
    owner.swift.put_object(c, "a", b"", headers={"X-Symlink-Target": f"{c}/b"})
    owner.swift.put_object(c, "b", b"", headers={"X-Symlink-Target": f"{c}/a"})
    assert owner.request("HEAD", f"/{c}/a").status_code == 409


def test_post_to_a_link_is_applied_and_redirected(owner: SwiftAccount) -> None:
    c = fresh(owner)
    owner.swift.put_object(c, "t", b"data")
    owner.swift.put_object(c, "l", b"", headers={"X-Symlink-Target": f"{c}/t"})
    r = requests.post(f"{owner.url}/{c}/l", headers={"X-Auth-Token": owner.token, "X-Object-Meta-Tag": "on-link"},
                      allow_redirects=False, timeout=60)
    assert r.status_code == 307
    assert r.headers["Location"] == f"/v1/{owner.name}/{c}/t"
    assert r.text == "The requested POST was applied to a symlink. POST directly to the target to apply " \
        "requested metadata."
    link = owner.request("HEAD", f"/{c}/l", params={"symlink": "get"})
    assert link.headers["X-Object-Meta-Tag"] == "on-link"
    assert "X-Object-Meta-Tag" not in owner.request("HEAD", f"/{c}/t").headers
    # The link's listing row still says it is a link after the POST.
    rows = owner.swift.get_container(c)[1]
    assert next(r for r in rows if r["name"] == "l")["symlink_path"].endswith(f"/{c}/t")
    r = owner.request("POST", f"/{c}/t", headers={"X-Object-Meta-Tag": "on-target"})
    assert r.status_code == 202


def test_target_acl_is_checked_as_the_caller(owner: SwiftAccount, other: SwiftAccount) -> None:
    private = fresh(owner)
    public = fresh(owner, **{"X-Container-Read": f"{other.project_id}:*"})
    owner.swift.put_object(private, "secret", b"s3cret")
    owner.swift.put_object(public, "peek", b"", headers={"X-Symlink-Target": f"{private}/secret"})
    owner.swift.put_object(public, "plain", b"visible")
    r = owner.request("GET", f"/{public}/plain", token=other.token)
    assert r.status_code == 200 and r.content == b"visible"
    r = owner.request("GET", f"/{public}/peek", token=other.token)
    assert r.status_code == 403 and b"s3cret" not in r.content
    assert owner.request("GET", f"/{public}/peek").content == b"s3cret"


def test_cross_account_link(owner: SwiftAccount, other: SwiftAccount) -> None:
    theirs = fresh(other, **{"X-Container-Read": f"{owner.project_id}:*"})
    other.swift.put_object(theirs, "shared", b"from the other account")
    mine = fresh(owner)
    owner.swift.put_object(mine, "l", b"", headers={"X-Symlink-Target": f"{theirs}/shared",
                                                   "X-Symlink-Target-Account": other.name})
    headers, body = owner.swift.get_object(mine, "l")
    assert body == b"from the other account"
    assert headers["content-location"] == f"/v1/{other.name}/{theirs}/shared"
    row = owner.swift.get_container(mine)[1][0]
    assert row["symlink_path"] == f"/v1/{other.name}/{theirs}/shared"
    r = owner.request("GET", f"/{mine}/l", params={"symlink": "get"})
    assert r.headers["X-Symlink-Target-Account"] == other.name


def test_copy_of_a_link(owner: SwiftAccount) -> None:
    c = fresh(owner)
    owner.swift.put_object(c, "t", b"payload")
    owner.swift.put_object(c, "l", b"", headers={"X-Symlink-Target": f"{c}/t"})
    # COPY follows the link: the copy is the target's data.
    owner.swift.copy_object(c, "l", f"/{c}/data-copy")
    assert owner.swift.get_object(c, "data-copy")[1] == b"payload"
    r = owner.request("HEAD", f"/{c}/data-copy", params={"symlink": "get"})
    assert "X-Symlink-Target" not in r.headers
    # ?symlink=get copies the link itself.
    r = owner.request("COPY", f"/{c}/l", params={"symlink": "get"}, headers={"Destination": f"{c}/link-copy"})
    assert r.status_code == 201
    r = owner.request("HEAD", f"/{c}/link-copy", params={"symlink": "get"})
    assert r.headers["X-Symlink-Target"] == f"{c}/t"
    assert owner.swift.get_object(c, "link-copy")[1] == b"payload"
    rows = {row["name"]: row for row in owner.swift.get_container(c)[1]}
    assert rows["link-copy"]["symlink_path"].endswith(f"/{c}/t")
    assert "symlink_path" not in rows["data-copy"]


def test_openstacksdk_reads_through_a_link(owner: SwiftAccount) -> None:
    c = fresh(owner)
    owner.sdk.object_store.upload_object(container=c, name="t", data=b"sdk data")
    owner.swift.put_object(c, "l", b"", headers={"X-Symlink-Target": f"{c}/t"})
    assert owner.sdk.object_store.download_object("l", container=c) == b"sdk data"
    names = [o.name for o in owner.sdk.object_store.objects(c)]
    assert names == ["l", "t"]


def test_unknown_symlink_query_is_a_normal_read(owner: SwiftAccount) -> None:
    c = fresh(owner)
    owner.swift.put_object(c, "t", b"x")
    owner.swift.put_object(c, "l", b"", headers={"X-Symlink-Target": f"{c}/t"})
    r = owner.request("GET", f"/{c}/l", params={"symlink": "other"})
    assert r.status_code == 200 and r.content == b"x"
    with pytest.raises(ClientException) as err:
        owner.swift.get_object(c, "absent")
    assert err.value.http_status == 404
    assert json.loads(owner.request("GET", f"/{c}", params={"format": "json"}).text)[0]["name"] == "l"


def test_conditionals_apply_to_the_target(owner: SwiftAccount) -> None:
    c = fresh(owner)
    owner.swift.put_object(c, "t", b"conditional")
    owner.swift.put_object(c, "l", b"", headers={"X-Symlink-Target": f"{c}/t"})
    etag = md5(b"conditional")
    r = owner.request("GET", f"/{c}/l", headers={"If-Match": etag})
    assert r.status_code == 200 and r.content == b"conditional"
    assert owner.request("GET", f"/{c}/l", headers={"If-None-Match": etag}).status_code == 304
    assert owner.request("GET", f"/{c}/l", headers={"If-Match": md5(b"other")}).status_code == 412


def test_static_link_to_a_large_object(owner: SwiftAccount) -> None:
    c = fresh(owner)
    parts = [b"x" * 2048, b"y" * 1024]
    manifest = []
    for i, part in enumerate(parts):
        owner.swift.put_object(c, f"seg{i}", part)
        manifest.append({"path": f"/{c}/seg{i}", "etag": md5(part), "size_bytes": len(part)})
    owner.swift.put_object(c, "big", json.dumps(manifest), query_string="multipart-manifest=put")
    manifest_etag = owner.request("HEAD", f"/{c}/big", params={"multipart-manifest": "get"}).headers["Etag"]
    manifest_etag = manifest_etag.strip('"')
    r = owner.request("PUT", f"/{c}/l", headers={"X-Symlink-Target": f"{c}/big",
                                                 "X-Symlink-Target-Etag": manifest_etag}, data=b"")
    assert r.status_code == 201, r.text
    headers, body = owner.swift.get_object(c, "l")
    assert body == b"".join(parts)
    row = next(r for r in owner.swift.get_container(c)[1] if r["name"] == "l")
    assert row["symlink_bytes"] == 3072 and row["symlink_etag"] == manifest_etag
    assert row["slo_etag"] == "\"" + headers["etag"].strip("\"") + "\""  # quoted, as SLO lists it
    r = owner.request("GET", f"/{c}/l", headers={"Range": "bytes=2040-2050"})
    assert r.status_code == 206 and r.content == b"x" * 8 + b"y" * 3


def test_temp_urls_follow_links_within_their_scope(owner: SwiftAccount) -> None:
    c, other_c = fresh(owner), fresh(owner)
    owner.swift.post_container(c, {"X-Container-Meta-Temp-URL-Key": "ckey"})
    owner.swift.post_account({"X-Account-Meta-Temp-URL-Key": "akey"})
    owner.swift.put_object(c, "t", b"same container")
    owner.swift.put_object(other_c, "t", b"other container")
    owner.swift.put_object(c, "near", b"", headers={"X-Symlink-Target": f"{c}/t"})
    owner.swift.put_object(c, "far", b"", headers={"X-Symlink-Target": f"{other_c}/t"})
    path = urlsplit(owner.url).path

    def get(name: str, key: str) -> requests.Response:
        signed = generate_temp_url(f"{path}/{c}/{name}", 600, key, "GET")
        return requests.get(owner.url.split(path)[0] + signed, timeout=30)

    assert get("near", "ckey").content == b"same container"
    assert get("far", "ckey").status_code == 401  # a container key reaches its container only
    assert get("far", "akey").content == b"other container"
    signed = generate_temp_url(f"{path}/{c}/new-link", 600, "akey", "PUT")
    r = requests.put(owner.url.split(path)[0] + signed, headers={"X-Symlink-Target": f"{c}/t"}, data=b"",
                     timeout=30)
    assert r.status_code == 400  # temp URLs cannot make links
