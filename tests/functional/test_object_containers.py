"""Swift containers over HTTP: create/update/delete with Swift's statuses, every header a container
keeps, storage policy and name and metadata checks, who may do what, object listings with every
parameter and format, pseudo-folders, UTF-8 order and the statistics objects make — through
python-swiftclient, openstacksdk, the openstack CLI and raw requests."""

from __future__ import annotations

import hashlib
import subprocess
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
from swiftclient.exceptions import ClientException

from tests.functional.cloud import RunningCloud
from tests.functional.object_store_accounts import (
    SwiftAccount,
    account_fixture,
    openstack_cli,
)

acct = account_fixture()
stranger = account_fixture()


def test_create_then_update_answers_201_then_202(acct: SwiftAccount) -> None:
    first = acct.request("PUT", "/life", headers={"X-Container-Meta-A": "1"})
    assert first.status_code == 201 and first.content == b""
    head = acct.request("HEAD", "/life")
    assert head.status_code == 204
    h = head.headers
    assert (h["X-Container-Object-Count"], h["X-Container-Bytes-Used"]) == ("0", "0")
    assert h["X-Storage-Policy"] == "Policy-0" and h["X-Container-Meta-A"] == "1"
    assert h["X-Timestamp"] == h["X-Put-Timestamp"] and "Last-Modified" in h
    assert h["Accept-Ranges"] == "bytes"
    again = acct.request("PUT", "/life", headers={"X-Container-Meta-B": "2"})
    assert again.status_code == 202
    h2 = acct.request("HEAD", "/life").headers
    assert h2["X-Timestamp"] == h["X-Timestamp"] and float(h2["X-Put-Timestamp"]) >= float(h["X-Put-Timestamp"])
    assert (h2["X-Container-Meta-A"], h2["X-Container-Meta-B"]) == ("1", "2")  # merged
    assert acct.request("DELETE", "/life").status_code == 204
    assert acct.request("DELETE", "/life").status_code == 404
    assert acct.request("HEAD", "/life").status_code == 404
    assert acct.request("GET", "/life").status_code == 404
    assert acct.request("POST", "/life", headers={"X-Container-Meta-A": "1"}).status_code == 404
    assert acct.request("HEAD", "/life").status_code == 404  # the POST did not create it
    assert acct.request("COPY", "/life").status_code == 405


def test_metadata_acls_and_versions_headers(acct: SwiftAccount) -> None:
    acct.swift.put_container("meta", headers={
        "X-Container-Read": "other:*, .r:example.com", "X-Container-Write": f"{acct.project_id}:*",
        "X-Versions-Location": "meta-versions", "X-Container-Meta-Quota-Bytes": "1000",
        "X-Container-Meta-Color": "blue"})
    head = acct.swift.head_container("meta")
    assert head["x-container-read"] == "other:*,.r:example.com"  # as keystoneauth's clean_acl tidies it
    assert head["x-container-write"] == f"{acct.project_id}:*"
    assert head["x-versions-location"] == "meta-versions"
    assert head["x-container-meta-quota-bytes"] == "1000"
    acct.swift.post_container("meta", {"X-Remove-Container-Read": "x", "X-Container-Meta-Color": "",
                                       "X-Remove-Versions-Location": "1", "X-Container-Meta-New": "n"})
    head = acct.swift.head_container("meta")
    assert "x-container-read" not in head and "x-container-meta-color" not in head
    assert "x-versions-location" not in head and head["x-container-meta-new"] == "n"
    assert head["x-container-write"] == f"{acct.project_id}:*"  # untouched
    both = acct.request("POST", "/meta", headers={"X-Versions-Location": "v", "X-History-Location": "h"})
    assert both.status_code == 400 and "Only one of" in both.text
    assert acct.request("PUT", "/meta2", headers={"X-Versions-Location": "v",
                                                  "X-History-Location": "h"}).status_code == 400
    assert acct.request("HEAD", "/meta2").status_code == 404
    acct.swift.put_container("meta", headers={"X-Versions-Location": "meta-versions"})
    acct.swift.put_container("meta", headers={"X-History-Location": "meta-history"})
    head = acct.swift.head_container("meta")
    assert head["x-history-location"] == "meta-history" and "x-versions-location" not in head  # one mode


def test_storage_policy(acct: SwiftAccount) -> None:
    assert acct.request("PUT", "/pol", headers={"X-Storage-Policy": "policy-0"}).status_code == 201
    assert acct.swift.head_container("pol")["x-storage-policy"] == "Policy-0"
    bad = acct.request("PUT", "/pol-bad", headers={"X-Storage-Policy": "gold"})
    assert bad.status_code == 400 and "Invalid X-Storage-Policy 'gold'" in bad.text
    assert acct.request("HEAD", "/pol-bad").status_code == 404
    assert acct.request("PUT", "/pol-empty", headers={"X-Storage-Policy": ""}).status_code == 201


def test_names(acct: SwiftAccount) -> None:
    longest = "\u00e9" * 128  # 256 bytes
    assert acct.request("PUT", "/" + quote(longest)).status_code == 201
    too_long = acct.request("PUT", "/" + quote(longest + "x"))
    assert too_long.status_code == 400 and "longer than 256" in too_long.text
    assert acct.request("PUT", "/" + quote("sp ace+\u2603")).status_code == 201
    assert acct.swift.head_container("sp ace+\u2603")["x-container-object-count"] == "0"


@pytest.mark.parametrize("method", ["PUT", "POST"])
@pytest.mark.parametrize(("headers", "words"), [
    ({"X-Container-Meta-" + "n" * 129: "v"}, "Metadata name too long"),
    ({"X-Container-Meta-Big": "v" * 257}, "Metadata value longer than 256"),
    ({f"X-Container-Meta-K{i}": "v" for i in range(91)}, "Too many metadata items"),
    ({f"X-Container-Meta-K{i}": "v" * 250 for i in range(17)}, "Total metadata too large"),
])
def test_metadata_limits(acct: SwiftAccount, method: str, headers: dict[str, str], words: str) -> None:
    acct.swift.put_container("limits", headers={"X-Container-Meta-Keep": "1"})
    resp = acct.request(method, "/limits", headers=headers)
    assert resp.status_code == 400 and words in resp.text
    meta = {k for k in acct.swift.head_container("limits") if k.startswith("x-container-meta-")}
    assert meta == {"x-container-meta-keep"}


def test_only_the_owner_writes_and_acl_decides_reads(acct: SwiftAccount, stranger: SwiftAccount) -> None:
    acct.swift.put_container("private")
    assert acct.request("GET", "/private", token=stranger.token).status_code == 403
    # Refused before learning whether it exists (Swift's delay_denial then authorize).
    assert acct.request("HEAD", "/absent", token=stranger.token).status_code == 403
    assert acct.request("GET", "/private", token="").status_code == 401
    assert acct.request("PUT", "/theirs", token=stranger.token).status_code == 403
    assert acct.request("HEAD", "/theirs").status_code == 404
    assert acct.request("POST", "/private", headers={"X-Container-Meta-X": "1"},
                        token=stranger.token).status_code == 403
    assert acct.request("DELETE", "/private", token=stranger.token).status_code == 403
    # A read ACL naming the stranger's project lets them list it, and only that.
    acct.swift.post_container("private", {"X-Container-Read": f"{stranger.project_id}:*"})
    listed = acct.request("GET", "/private", params={"format": "json"}, token=stranger.token)
    assert listed.status_code == 200 and listed.json() == []
    assert "X-Container-Read" not in listed.headers  # owner-only headers
    assert acct.request("DELETE", "/private", token=stranger.token).status_code == 403


def test_openstacksdk(acct: SwiftAccount) -> None:
    store = acct.sdk.object_store
    store.create_container(name="sdk-c")
    store.set_container_metadata("sdk-c", color="green", read_ACL=".r:*")
    meta = store.get_container_metadata("sdk-c")
    assert meta.metadata.get("color") == "green" and meta.read_ACL == ".r:*"
    assert meta.object_count == 0 and meta.bytes_used == 0
    store.delete_container_metadata("sdk-c", ["color"])
    assert "color" not in store.get_container_metadata("sdk-c").metadata
    assert "sdk-c" in {c.name for c in store.containers()}
    store.delete_container("sdk-c")
    assert "sdk-c" not in {c.name for c in store.containers()}


def test_openstack_cli(acct: SwiftAccount, cloud: RunningCloud) -> None:
    cli = openstack_cli(acct, cloud)

    assert "cli-c" in cli("container", "create", "cli-c", "-f", "value")
    assert "cli-c" in cli("container", "list", "-f", "value").split()
    cli("container", "set", "--property", "owner=me", "cli-c")
    shown = cli("container", "show", "cli-c", "-f", "json")
    assert '"owner": "me"' in shown.replace("'", '"') or "owner='me'" in shown
    cli("container", "unset", "--property", "owner", "cli-c")
    assert "owner" not in cli("container", "show", "cli-c", "-f", "json")
    cli("container", "delete", "cli-c")
    assert "cli-c" not in cli("container", "list", "-f", "value").split()


# --- with objects: listings and statistics -------------------------------------------------------

OBJECTS = ["a", "a/b", "a/c", "a/d/e", "a0", "b", "b/x", "c", "\u00e9", "\uff41", "\U0001f600"]


@pytest.fixture(scope="module")
def filled(acct: SwiftAccount) -> str:
    acct.swift.put_container("filled")
    for i, name in enumerate(OBJECTS):
        acct.swift.put_object("filled", name, b"x" * i, content_type="text/plain")
    return "filled"


def names(acct: SwiftAccount, container: str, **params: str) -> list[str]:
    resp = acct.request("GET", "/" + quote(container), params={"format": "json", **params})
    assert resp.status_code == 200, resp.text
    return [r.get("name") or "/" + r["subdir"] for r in resp.json()]


def test_listing_parameters(acct: SwiftAccount, filled: str) -> None:
    assert names(acct, filled) == OBJECTS
    assert names(acct, filled, limit="2") == ["a", "a/b"]
    assert names(acct, filled, marker="a/c") == OBJECTS[3:]
    assert names(acct, filled, marker="a", end_marker="b") == ["a/b", "a/c", "a/d/e", "a0"]
    assert names(acct, filled, prefix="a/") == ["a/b", "a/c", "a/d/e"]
    assert names(acct, filled, delimiter="/") == ["a", "/a/", "a0", "b", "/b/", "c", *OBJECTS[8:]]
    assert names(acct, filled, delimiter="/", prefix="a/") == ["a/b", "a/c", "/a/d/"]
    assert names(acct, filled, delimiter="/", marker="a/") == ["a0", "b", "/b/", "c", *OBJECTS[8:]]
    assert names(acct, filled, reverse="yes") == OBJECTS[::-1]
    assert names(acct, filled, reverse="true", marker="b", end_marker="a/b") == ["a0", "a/d/e", "a/c"]
    assert names(acct, filled, path="a") == ["a/b", "a/c"]
    assert names(acct, filled, prefix="\uff41") == ["\uff41"]
    too_many = acct.request("GET", "/filled", params={"limit": "10001"})
    assert too_many.status_code == 412 and "Maximum limit is 10000" in too_many.text
    _, full = acct.swift.get_container(filled, full_listing=True)
    assert [o["name"] for o in full] == OBJECTS
    record = full[1]
    assert record["bytes"] == 1 and record["content_type"] == "text/plain"
    assert record["hash"] == hashlib.md5(b"x", usedforsecurity=False).hexdigest()
    assert len(record["last_modified"]) == 26 and "T" in record["last_modified"]


def test_listing_formats(acct: SwiftAccount, filled: str) -> None:
    plain = acct.request("GET", "/filled", params={"delimiter": "/", "prefix": "a/"})
    assert plain.status_code == 200 and plain.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert plain.text == "a/b\na/c\na/d/\n"
    xml = acct.request("GET", "/filled", params={"format": "xml", "prefix": "a/", "delimiter": "/"})
    assert xml.headers["Content-Type"] == "application/xml; charset=utf-8"
    doc = ET.fromstring(xml.content)
    assert doc.tag == "container" and doc.get("name") == "filled"
    assert [o.findtext("name") for o in doc.findall("object")] == ["a/b", "a/c"]
    first = doc.find("object")
    assert first is not None
    assert [e.tag for e in first] == ["name", "hash", "bytes", "content_type", "last_modified"]
    assert [s.get("name") for s in doc.findall("subdir")] == ["a/d/"]
    acct.swift.put_container("empty")
    empty = acct.request("GET", "/empty")
    assert empty.status_code == 204 and empty.content == b""
    as_json = acct.request("GET", "/empty", headers={"Accept": "application/json"})
    assert as_json.status_code == 200 and as_json.json() == []


def test_statistics_follow_objects(acct: SwiftAccount) -> None:
    acct.swift.put_container("stats")
    before = acct.swift.head_account()
    acct.swift.put_object("stats", "one", b"12345")
    acct.swift.put_object("stats", "two", b"123")
    head = acct.swift.head_container("stats")
    assert (head["x-container-object-count"], head["x-container-bytes-used"]) == ("2", "8")
    acct.swift.put_object("stats", "one", b"1")  # overwrite
    acct.swift.delete_object("stats", "two")
    head = acct.swift.head_container("stats")
    assert (head["x-container-object-count"], head["x-container-bytes-used"]) == ("1", "1")
    after = acct.swift.head_account()
    assert int(after["x-account-object-count"]) == int(before["x-account-object-count"]) + 1
    assert int(after["x-account-bytes-used"]) == int(before["x-account-bytes-used"]) + 1
    account_row = next(c for c in acct.swift.get_account()[1] if c["name"] == "stats")
    assert (account_row["count"], account_row["bytes"]) == (1, 1)
    # Not empty: 409 and nothing changes; empty: 204.
    with pytest.raises(ClientException) as err:
        acct.swift.delete_container("stats")
    assert err.value.http_status == 409
    acct.swift.delete_object("stats", "one")
    acct.swift.delete_container("stats")
    assert acct.request("HEAD", "/stats").status_code == 404


def test_cors(acct: SwiftAccount) -> None:
    acct.swift.put_container("cors", headers={
        "X-Container-Meta-Access-Control-Allow-Origin": "http://a.example http://b.example",
        "X-Container-Meta-Access-Control-Max-Age": "60",
        "X-Container-Meta-Access-Control-Expose-Headers": "X-Custom"})
    plain = acct.request("OPTIONS", "/cors", token="")
    assert plain.status_code == 200 and "OPTIONS" in plain.headers["Allow"]
    pre = acct.request("OPTIONS", "/cors", token="", headers={
        "Origin": "http://a.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-auth-token"})
    assert pre.status_code == 200
    assert pre.headers["Access-Control-Allow-Origin"] == "http://a.example"
    assert pre.headers["Access-Control-Max-Age"] == "60"
    assert pre.headers["Access-Control-Allow-Headers"] == "x-auth-token"
    assert "GET" in pre.headers["Access-Control-Allow-Methods"]
    for origin, method in (("http://evil.example", "GET"), ("http://a.example", "TRACE")):
        refused = acct.request("OPTIONS", "/cors", token="", headers={
            "Origin": origin, "Access-Control-Request-Method": method})
        assert refused.status_code == 401 and "Access-Control-Allow-Origin" not in refused.headers
    assert acct.request("OPTIONS", "/no-such", token="", headers={
        "Origin": "http://a.example", "Access-Control-Request-Method": "GET"}).status_code == 401
    actual = acct.request("GET", "/cors", headers={"Origin": "http://b.example"})
    assert actual.headers["Access-Control-Allow-Origin"] == "http://b.example"
    assert "x-custom" in actual.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Origin" not in acct.request("GET", "/cors", headers={"Origin": "http://c.example"}).headers


@pytest.mark.parametrize(("method", "path", "params", "headers", "status"), [
    ("GET", "/hostile", {"limit": "-1"}, {}, 204),
    ("GET", "/hostile", {"limit": "99999999999999999999999"}, {}, 412),
    ("GET", "/hostile", {"marker": "m" * 5000, "end_marker": "\U0010ffff" * 3}, {}, 204),
    ("GET", "/hostile", {"prefix": "%_\\'\"", "delimiter": "%"}, {}, 204),
    ("GET", "/hostile", {"prefix": "\U0010ffff"}, {}, 204),
    ("GET", "/hostile", {"delimiter": "\u00ff"}, {}, 412),
    ("GET", "/hostile", {"path": "", "reverse": "maybe"}, {}, 204),
    ("GET", "/hostile", {"format": "json", "limit": "0"}, {}, 200),
    ("GET", "/hostile", {}, {"Accept": ";;;q=x, */*;q=nonsense"}, 400),
    ("GET", "/hostile", {}, {"Accept": "text/html, image/*;q=0.5"}, 406),
    ("POST", "/hostile", {}, {"X-Container-Meta-": "v"}, 400),
    ("POST", "/hostile", {}, {"X-Container-Meta-Latin": "caf\u00e9"}, 204),
    ("PUT", "/hostile", {}, {"X-Container-Meta-A": "x" * 9000}, 400),
    ("PUT", "/hostile", {}, {"X-Storage-Policy": "Policy-1"}, 400),
    ("GET", "", {"limit": "10001"}, {}, 412),
    ("GET", "", {"marker": "\U0001f600" * 300, "reverse": "true"}, {}, 200),
    ("POST", "", {}, {"X-Account-Meta-" + "k" * 129: "v"}, 400),
])
def test_hostile_input(acct: SwiftAccount, method: str, path: str, params: dict[str, str],
                       headers: dict[str, str], status: int) -> None:
    acct.swift.put_container("hostile")
    before = acct.request("HEAD", "/hostile").headers
    resp = acct.request(method, path, params=params, headers=headers)
    assert resp.status_code == status, resp.text
    after = acct.request("HEAD", "/hostile").headers
    if status >= 400:
        assert {k: v for k, v in after.items() if k.lower().startswith("x-container-meta-")} == \
            {k: v for k, v in before.items() if k.lower().startswith("x-container-meta-")}


def test_swift_cli(acct: SwiftAccount) -> None:
    """python-swiftclient's ``swift`` command: stat, post, list with a prefix and a delimiter."""
    from tests.functional.object_large_support import SWIFT_CLI

    def swift(*args: str) -> str:
        proc = subprocess.run([SWIFT_CLI, "--os-storage-url", acct.url, "--os-auth-token", acct.token, *args],
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    # (An ACL naming the owner's own project would admit the owner as a grantee, and Swift's
    # keystoneauth then hides the ACL headers from them: another project is named here.)
    swift("post", "cli-swift", "--meta", "Color:red", "--read-acl", "other-project:*")
    stat = swift("stat", "cli-swift")
    assert "Meta Color: red" in stat and "Objects: 0" in stat and "Read ACL: other-project:*" in stat
    for name in ("x/1", "x/2", "y"):
        acct.swift.put_object("cli-swift", name, b"data")
    assert swift("list", "cli-swift", "--prefix", "x/").split() == ["x/1", "x/2"]
    assert swift("list", "cli-swift", "--delimiter", "/").split() == ["x/", "y"]
    assert "cli-swift" in swift("list").split()
    account = swift("stat")
    assert f"Account: {acct.name}" in account and "Containers:" in account
