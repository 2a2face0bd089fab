"""Swift accounts over HTTP: auto-create, metadata (set, remove, limits), statistics, the container
listing with every parameter and format, and who may see an account — through python-swiftclient,
openstacksdk and raw requests for Swift's exact statuses."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import requests
import swiftclient.client
from swiftclient.exceptions import ClientException

from tests.functional.cloud import RunningCloud
from tests.functional.object_store_accounts import (
    SwiftAccount,
    account_fixture,
    new_account,
    openstack_cli,
)

acct = account_fixture()


@pytest.fixture(scope="module")
def listed(cloud: RunningCloud, admin: Any) -> SwiftAccount:
    """An account with containers whose names exercise the listing parameters."""
    account = new_account(cloud, admin)
    for name in NAMES:
        account.swift.put_container(name)
    return account


# In UTF-8 byte order (what Swift lists): "Z" < "a" < "é" < "ａ" (U+FF41) < "😀".
NAMES = ["Z", "a", "a-1", "a-2", "a-x-1", "b", "\u00e9t\u00e9", "\uff41", "\U0001f600"]


def test_never_written_account_answers_empty(acct: SwiftAccount) -> None:
    head = acct.request("HEAD")
    assert head.status_code == 204
    assert head.headers["X-Account-Container-Count"] == "0"
    assert head.headers["X-Account-Object-Count"] == "0"
    assert head.headers["X-Account-Bytes-Used"] == "0"
    assert float(head.headers["X-Timestamp"]) > 0
    # Tempest's header checks: Swift's trans id shape, a content type on every answer.
    assert re.match(r"^tx[0-9a-f]{21}-[0-9a-f]{10}$", head.headers["X-Trans-Id"])
    assert head.headers["Content-Type"] and head.headers["Date"]
    assert "Accept-Ranges" not in head.headers  # Swift's auto-create answer lacks it; a stored account has it
    plain = acct.request("GET")
    assert plain.status_code == 204 and plain.content == b""
    as_json = acct.request("GET", params={"format": "json"})
    assert as_json.status_code == 200 and as_json.json() == []
    assert as_json.headers["Content-Type"] == "application/json; charset=utf-8"
    as_xml = acct.request("GET", params={"format": "xml"})
    assert as_xml.status_code == 200
    doc = ET.fromstring(as_xml.content)
    assert doc.tag == "account" and doc.get("name") == acct.name and list(doc) == []
    headers, listing = acct.swift.get_account()
    assert listing == [] and headers["x-account-container-count"] == "0"


def test_metadata_set_replace_remove(acct: SwiftAccount) -> None:
    acct.swift.post_account({"X-Account-Meta-Color": "blue", "X-Account-Meta-Size": "L",
                             "X-Account-Meta-Temp-URL-Key": "secret"})
    head = acct.swift.head_account()
    assert head["x-account-meta-color"] == "blue" and head["x-account-meta-size"] == "L"
    assert head["x-account-meta-temp-url-key"] == "secret"  # the owner sees it
    resp = acct.request("POST", headers={"X-Account-Meta-Color": "red", "X-Remove-Account-Meta-Size": "x"})
    assert resp.status_code == 204
    head = acct.swift.head_account()
    assert head["x-account-meta-color"] == "red" and "x-account-meta-size" not in head
    acct.swift.post_account({"X-Account-Meta-Color": ""})  # an empty value removes too
    assert "x-account-meta-color" not in acct.swift.head_account()
    # openstacksdk's account metadata calls
    acct.sdk.object_store.set_account_metadata(shape="round")
    assert acct.sdk.object_store.get_account_metadata().metadata.get("shape") == "round"
    acct.sdk.object_store.delete_account_metadata(["shape"])
    assert "shape" not in acct.sdk.object_store.get_account_metadata().metadata


@pytest.mark.parametrize(("headers", "words"), [
    ({"X-Account-Meta-" + "n" * 129: "v"}, "Metadata name too long"),
    ({"X-Account-Meta-Big": "v" * 257}, "Metadata value longer than 256"),
    ({f"X-Account-Meta-K{i}": "v" for i in range(91)}, "Too many metadata items"),
    ({f"X-Account-Meta-K{i}": "v" * 250 for i in range(17)}, "Total metadata too large"),
])
def test_metadata_limits(acct: SwiftAccount, headers: dict[str, str], words: str) -> None:
    before = acct.swift.head_account()
    resp = acct.request("POST", headers=headers)
    assert resp.status_code == 400 and words in resp.text
    after = acct.swift.head_account()
    assert {k: v for k, v in after.items() if k.startswith("x-account-meta-")} == \
        {k: v for k, v in before.items() if k.startswith("x-account-meta-")}


def test_account_management_is_off(acct: SwiftAccount) -> None:
    resp = acct.request("PUT")
    assert resp.status_code == 405 and resp.headers["Allow"] == "GET, HEAD, OPTIONS, POST"
    # keystoneauth refuses an account DELETE to all but a reseller admin before the proxy's 405.
    assert acct.request("DELETE").status_code == 403
    assert acct.request("COPY").status_code == 405
    options = acct.request("OPTIONS", token="")
    assert options.status_code == 200 and options.headers["Allow"] == "GET, HEAD, OPTIONS, POST"


def test_only_the_owner_gets_in(acct: SwiftAccount, cloud: RunningCloud, admin: Any) -> None:
    stranger = new_account(cloud, admin)
    assert acct.request("GET", token="").status_code == 401
    assert acct.request("GET", token="not-a-token").status_code == 401
    assert acct.request("GET", token=stranger.token).status_code == 403
    assert acct.request("POST", headers={"X-Account-Meta-X": "1"}, token=stranger.token).status_code == 403
    assert "x-account-meta-x" not in acct.swift.head_account()
    # An admin of another project without ResellerAdmin is a stranger too (keystoneauth's rule).
    other = swiftclient.client.Connection(preauthurl=acct.url, preauthtoken=admin.session.get_token(), retries=0)
    with pytest.raises(ClientException) as err:
        other.head_account()
    assert err.value.http_status == 403


def test_statistics_follow_containers(acct: SwiftAccount) -> None:
    before = int(acct.swift.head_account()["x-account-container-count"])
    acct.swift.put_container("stats-1")
    acct.swift.put_container("stats-2")
    head = acct.swift.head_account()
    assert int(head["x-account-container-count"]) == before + 2
    assert head["x-account-storage-policy-policy-0-container-count"] == str(before + 2)
    assert head["accept-ranges"] == "bytes"
    acct.swift.delete_container("stats-2")
    assert int(acct.swift.head_account()["x-account-container-count"]) == before + 1


def names(account: SwiftAccount, **params: str) -> list[str]:
    resp = account.request("GET", params={"format": "json", **params})
    assert resp.status_code == 200, resp.text
    return [r.get("name") or "/" + r["subdir"] for r in resp.json()]


def test_listing_order_and_parameters(listed: SwiftAccount) -> None:
    assert names(listed) == NAMES
    assert names(listed, limit="3") == NAMES[:3]
    assert names(listed, marker="a-1") == NAMES[3:]
    assert names(listed, marker="a", end_marker="b") == ["a-1", "a-2", "a-x-1"]
    assert names(listed, prefix="a-") == ["a-1", "a-2", "a-x-1"]
    assert names(listed, prefix="\uff41") == ["\uff41"]
    assert names(listed, delimiter="-") == ["Z", "a", "/a-", "b", "\u00e9t\u00e9", "\uff41", "\U0001f600"]
    assert names(listed, delimiter="-", prefix="a-") == ["a-1", "a-2", "/a-x-"]
    assert names(listed, reverse="true") == NAMES[::-1]
    assert names(listed, reverse="true", marker="b", end_marker="a") == ["a-x-1", "a-2", "a-1"]
    # swiftclient pages with markers itself
    _, full = listed.swift.get_account(full_listing=True)
    assert [c["name"] for c in full] == NAMES
    record = full[0]
    assert set(record) >= {"name", "count", "bytes", "last_modified"}
    assert record["count"] == 0 and record["bytes"] == 0


def test_listing_limit_over_maximum(listed: SwiftAccount) -> None:
    resp = listed.request("GET", params={"limit": "10001"})
    assert resp.status_code == 412 and "Maximum limit is 10000" in resp.text
    assert listed.request("GET", params={"delimiter": "ab"}).status_code == 412


def test_listing_formats(listed: SwiftAccount) -> None:
    plain = listed.request("GET")
    assert plain.status_code == 200
    assert plain.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert plain.content.decode().split("\n") == [*NAMES, ""]
    assert listed.request("GET", headers={"Accept": "application/json"}).json()[0]["name"] == "Z"
    xml = listed.request("GET", headers={"Accept": "text/xml"})
    assert xml.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert xml.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    doc = ET.fromstring(xml.content)
    assert doc.get("name") == listed.name
    assert [c.findtext("name") for c in doc.findall("container")] == NAMES
    first = doc.find("container")
    assert first is not None
    assert {e.tag for e in first} == {"name", "count", "bytes", "last_modified"}
    sub = ET.fromstring(listed.request("GET", params={"format": "xml", "delimiter": "-"}).content)
    assert [s.get("name") for s in sub.findall("subdir")] == ["a-"]
    # ?format wins over Accept; an Accept no format satisfies is 406
    assert json.loads(listed.request("GET", params={"format": "json"}, headers={"Accept": "text/xml"}).content)
    assert listed.request("GET", headers={"Accept": "image/png"}).status_code == 406
    head = listed.request("HEAD", headers={"Accept": "application/json"})
    assert head.status_code == 204 and head.headers["Content-Type"] == "application/json; charset=utf-8"
    assert head.headers["X-Account-Container-Count"] == str(len(NAMES))


def test_reseller_admin(acct: SwiftAccount, cloud: RunningCloud, admin: Any) -> None:
    reseller = new_account(cloud, admin, role="ResellerAdmin")
    head = acct.request("HEAD", token=reseller.token)
    assert head.status_code == 204 and "X-Account-Container-Count" in head.headers
    base = acct.url.rsplit("/", 1)[0]
    long_name = "AUTH_" + "x" * 252  # 257 bytes
    for method, path in (("GET", ""), ("POST", ""), ("PUT", "/c")):
        resp = requests.request(method, f"{base}/{long_name}{path}", headers={"X-Auth-Token": reseller.token},
                                timeout=60)
        assert resp.status_code == 400 and "Account name length of 257 longer than 256" in resp.text


def test_openstack_cli_account(acct: SwiftAccount, cloud: RunningCloud) -> None:
    cli = openstack_cli(acct, cloud)

    cli("object", "store", "account", "set", "--property", "team=blue")
    shown = json.loads(cli("object", "store", "account", "show", "-f", "json"))
    assert shown["Account"] == acct.name and shown["properties"]["team"] == "blue"
    assert "Containers" in shown
    cli("object", "store", "account", "unset", "--property", "team")
    assert "team" not in (json.loads(cli("object", "store", "account", "show", "-f", "json")).get("properties") or {})
