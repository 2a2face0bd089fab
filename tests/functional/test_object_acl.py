"""Who may reach another project's containers and objects: container read/write ACLs (grantees by
id, name and ``*``), referrer ACLs with ``.rlistings`` and anonymous access, account ACLs
(read-only, read-write, admin), the reader role, owner-only headers, and Swift's 401 vs 403 —
between two projects' members, through python-swiftclient and raw HTTP."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests
from swiftclient.exceptions import ClientException

from tests.functional.cloud import RunningCloud
from tests.functional.object_store_accounts import SwiftAccount, account_fixture, new_account

owner = account_fixture()
other = account_fixture()
third = account_fixture()


def fresh(owner: SwiftAccount, **headers: str) -> str:
    """A new container of the owner's, with ``headers`` (e.g. X-Container-Read) set."""
    name = "acl-" + uuid.uuid4().hex[:8]
    owner.swift.put_container(name, headers={k.replace("_", "-"): v for k, v in headers.items()})
    return name


def as_other(other: SwiftAccount, owner: SwiftAccount, method: str, path: str = "", **kw: Any) -> requests.Response:
    """``method`` on the owner's account URL + path with the other user's token (or ``token=""``)."""
    headers = {"X-Auth-Token": other.token, **kw.pop("headers", {})}
    if kw.pop("anonymous", False):
        headers.pop("X-Auth-Token")
    return requests.request(method, owner.url + path, headers=headers, timeout=60, **kw)


def anonymous(owner: SwiftAccount, method: str, path: str = "", **kw: Any) -> requests.Response:
    return requests.request(method, owner.url + path, timeout=60, **kw)


def test_no_acl_is_403_with_a_token_and_401_without(owner: SwiftAccount, other: SwiftAccount) -> None:
    name = fresh(owner)
    for method in ("GET", "HEAD", "POST", "DELETE", "PUT"):
        assert as_other(other, owner, method, "/" + name).status_code == 403, method
        assert anonymous(owner, method, "/" + name).status_code == 401, method
    assert as_other(other, owner, "GET").status_code == 403
    resp = anonymous(owner, "GET")
    assert resp.status_code == 401 and resp.headers.get("WWW-Authenticate", "").startswith("Keystone")
    bad = requests.get(owner.url + "/" + name, headers={"X-Auth-Token": "not-a-token"}, timeout=60)
    assert bad.status_code == 401
    # Nothing changed under the refused writes.
    assert owner.swift.head_container(name)["x-container-object-count"] == "0"


@pytest.mark.parametrize("grant", ["{project}:{user}", "{project}:*", "*:{user}", "*:*",
                                   "{project_name}:{user_name}"])
def test_read_acl_grants_listing_and_head(owner: SwiftAccount, other: SwiftAccount, third: SwiftAccount,
                                          grant: str) -> None:
    user_id = other.sdk.current_user_id
    acl = grant.format(project=other.project_id, user=user_id, project_name=other.project_name,
                       user_name=other.username)
    name = fresh(owner, X_Container_Read=acl)
    listing = as_other(other, owner, "GET", "/" + name, params={"format": "json"})
    assert listing.status_code == 200, listing.text
    assert listing.json() == []
    assert as_other(other, owner, "HEAD", "/" + name).status_code == 204
    # Reading is all: the container itself stays the owner's.
    assert as_other(other, owner, "POST", "/" + name, headers={"X-Container-Meta-X": "1"}).status_code == 403
    assert as_other(other, owner, "DELETE", "/" + name).status_code == 403
    # A third project is in only when the ACL says any project.
    assert as_other(third, owner, "GET", "/" + name).status_code == (204 if acl == "*:*" else 403)


def test_grantee_sees_no_owner_headers(owner: SwiftAccount, other: SwiftAccount) -> None:
    name = fresh(owner, X_Container_Read=f"{other.project_id}:*", X_Container_Write="x:y",
                 X_Container_Meta_Temp_URL_Key="secret", X_Container_Meta_Color="red")
    head = as_other(other, owner, "HEAD", "/" + name)
    assert head.status_code == 204
    assert head.headers["X-Container-Meta-Color"] == "red"
    for hidden in ("X-Container-Read", "X-Container-Write", "X-Container-Meta-Temp-URL-Key"):
        assert hidden not in head.headers
    mine = owner.swift.head_container(name)
    assert mine["x-container-read"] == f"{other.project_id}:*" and mine["x-container-meta-temp-url-key"] == "secret"


def test_acls_are_cleaned_and_bad_ones_refused(owner: SwiftAccount) -> None:
    name = fresh(owner, X_Container_Read=".referrer : * , bob ,,, .rlistings")
    assert owner.swift.head_container(name)["x-container-read"] == ".r:*,bob,.rlistings"
    for header, value, text in (
            ("X-Container-Read", ".r:", "No host/domain value after referrer designation in ACL"),
            ("X-Container-Read", ".x:y", "Unknown designator '.x' in ACL"),
            ("X-Container-Write", ".r:*", "Referrers not allowed in write ACL")):
        for method in ("PUT", "POST"):
            resp = owner.request(method, "/" + name, headers={header: value})
            assert resp.status_code == 400, (method, value, resp.text)
            assert text in resp.text
    assert owner.swift.head_container(name)["x-container-read"] == ".r:*,bob,.rlistings"
    assert "x-container-write" not in owner.swift.head_container(name)


def test_referrer_acl_and_rlistings(owner: SwiftAccount, other: SwiftAccount) -> None:
    public = fresh(owner, X_Container_Read=".r:*")
    # .r:* alone serves objects, not the listing.
    assert anonymous(owner, "GET", "/" + public).status_code == 401
    assert as_other(other, owner, "GET", "/" + public).status_code == 403
    listed = fresh(owner, X_Container_Read=".r:*,.rlistings")
    assert anonymous(owner, "GET", "/" + listed).status_code == 204
    assert as_other(other, owner, "GET", "/" + listed, params={"format": "json"}).json() == []
    # Writing stays refused to the anonymous.
    assert anonymous(owner, "POST", "/" + listed, headers={"X-Container-Meta-A": "1"}).status_code == 401
    site = fresh(owner, X_Container_Read=".r:.example.com,.r:-bad.example.com,.rlistings")
    ok = anonymous(owner, "GET", "/" + site, headers={"Referer": "http://www.example.com/page"})
    assert ok.status_code == 204
    assert anonymous(owner, "GET", "/" + site, headers={"Referer": "http://bad.example.com/"}).status_code == 401
    assert anonymous(owner, "GET", "/" + site, headers={"Referer": "http://example.org/"}).status_code == 401
    assert anonymous(owner, "GET", "/" + site).status_code == 401


def test_objects_through_read_write_and_referrer_acls(owner: SwiftAccount, other: SwiftAccount) -> None:
    name = fresh(owner, X_Container_Read=f"{other.project_id}:*", X_Container_Write=f"{other.project_id}:*")
    owner.swift.put_object(name, "o", b"owner's")
    got = as_other(other, owner, "GET", f"/{name}/o")
    assert got.status_code == 200 and got.content == b"owner's"
    put = as_other(other, owner, "PUT", f"/{name}/new", data=b"other's")
    assert put.status_code == 201, put.text
    assert owner.swift.get_object(name, "new")[1] == b"other's"
    assert as_other(other, owner, "DELETE", f"/{name}/new").status_code == 204
    read_only = fresh(owner, X_Container_Read=f"{other.project_id}:*")
    owner.swift.put_object(read_only, "o", b"x")
    assert as_other(other, owner, "PUT", f"/{read_only}/o", data=b"y").status_code == 403
    assert as_other(other, owner, "DELETE", f"/{read_only}/o").status_code == 403
    assert owner.swift.get_object(read_only, "o")[1] == b"x"
    public = fresh(owner, X_Container_Read=".r:*")
    owner.swift.put_object(public, "page.html", b"<p>hi</p>", content_type="text/html")
    anon = anonymous(owner, "GET", f"/{public}/page.html")
    assert anon.status_code == 200 and anon.content == b"<p>hi</p>"
    assert anonymous(owner, "PUT", f"/{public}/x", data=b"no").status_code == 401
    assert anonymous(owner, "GET", f"/{name}/o").status_code == 401


def test_account_acls(owner: SwiftAccount, other: SwiftAccount, third: SwiftAccount) -> None:
    base = fresh(owner)
    me = f"{other.project_id}:{other.sdk.current_user_id}"
    assert as_other(other, owner, "GET").status_code == 403
    # Only valid v2 ACLs are taken.
    for bad, text in (("not json", "Syntax error in input"), ('{"owner": ["x"]}', 'Key "owner" not recognized'),
                      ('{"admin": "x"}', 'Value for key "admin" must be a list')):
        resp = owner.request("POST", headers={"X-Account-Access-Control": bad})
        assert resp.status_code == 400 and text in resp.text, resp.text
    assert "x-account-access-control" not in owner.swift.head_account()

    owner.swift.post_account({"X-Account-Access-Control": json.dumps({"read-only": [me]})})
    assert json.loads(owner.swift.head_account()["x-account-access-control"]) == {"read-only": [me]}
    listing = as_other(other, owner, "GET", params={"format": "json"})
    assert listing.status_code == 200 and base in [c["name"] for c in listing.json()]
    assert "X-Account-Access-Control" not in listing.headers
    assert as_other(other, owner, "GET", "/" + base).status_code == 204
    assert as_other(other, owner, "PUT", "/ro-made").status_code == 403
    assert as_other(third, owner, "GET").status_code == 403

    owner.swift.post_account({"X-Account-Access-Control": json.dumps({"read-write": [me]})})
    assert as_other(other, owner, "PUT", "/rw-made").status_code == 201
    assert as_other(other, owner, "POST", headers={"X-Account-Meta-A": "1"}).status_code == 403
    # A read-write grantee cannot hand out access.
    assert as_other(other, owner, "PUT", "/rw-made", headers={"X-Container-Read": ".r:*"}).status_code == 202
    assert "x-container-read" not in owner.swift.head_container("rw-made")

    owner.swift.post_account({"X-Account-Access-Control": json.dumps({"admin": [me]})})
    assert as_other(other, owner, "POST", headers={"X-Account-Meta-By-Admin": "1"}).status_code == 204
    assert owner.swift.head_account()["x-account-meta-by-admin"] == "1"
    assert as_other(other, owner, "HEAD").headers.get("X-Account-Access-Control")
    assert as_other(other, owner, "DELETE").status_code == 403  # nobody deletes an account but a reseller
    owner.swift.post_account({"X-Account-Access-Control": ""})
    assert as_other(other, owner, "GET").status_code == 403


def test_reader_role_reads_only(cloud: RunningCloud, admin: Any) -> None:
    acct = new_account(cloud, admin)
    acct.swift.put_container("c", headers={"X-Container-Read": "x:y"})
    reader_user = admin.identity.create_user(name="reader-" + uuid.uuid4().hex[:8], password="pw-reader",
                                             domain_id="default")
    admin.identity.assign_project_role_to_user(acct.project_id, reader_user, admin.identity.find_role("reader"))
    conn = cloud.sdk("devstack", auth={"username": reader_user.name, "password": "pw-reader",
                                       "project_name": acct.project_name})
    token = conn.session.get_token()
    assert acct.request("GET", token=token).status_code in (200, 204)
    head = acct.request("HEAD", "/c", token=token)
    assert head.status_code == 204 and "X-Container-Read" not in head.headers
    for method, path in (("PUT", "/d"), ("POST", "/c"), ("DELETE", "/c"), ("POST", "")):
        assert acct.request(method, path, token=token).status_code == 403, (method, path)
    with pytest.raises(ClientException) as err:
        acct.swift.head_container("d")
    assert err.value.http_status == 404


def test_clients_cannot_write_system_metadata(owner: SwiftAccount, other: SwiftAccount) -> None:
    """The gatekeeper drops sysmeta and backend headers: the account ACL's stored form cannot be
    written directly, and no sysmeta is ever shown."""
    me = f"{other.project_id}:{other.sdk.current_user_id}"
    stolen = json.dumps({"admin": [me]})
    assert other.request("POST", headers={"X-Account-Sysmeta-Core-Access-Control": stolen}).status_code == 204
    assert owner.request("POST", headers={"X-Account-Sysmeta-Core-Access-Control": stolen,
                                          "X-Backend-Allow-Reserved-Names": "true"}).status_code == 204
    assert as_other(other, owner, "GET").status_code == 403
    name = fresh(owner, X_Container_Sysmeta_Versions_Location="x", X_Container_Meta_Kept="1")
    head = owner.request("HEAD", "/" + name)
    assert head.headers["X-Container-Meta-Kept"] == "1"
    assert not [k for k in head.headers if "sysmeta" in k.lower() or k.lower().startswith("x-backend")]
    assert not [k for k in owner.request("HEAD").headers if "sysmeta" in k.lower()]
