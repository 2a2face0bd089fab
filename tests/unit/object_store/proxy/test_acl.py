"""Swift's ACL syntax: cleaning, parsing, referrer matching, account ACL validation."""

from __future__ import annotations

import pytest

from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy import acl
from onestack.object_store.proxy.request import Headers


@pytest.mark.parametrize(("raw", "clean"), [
    ("bob, sue", "bob,sue"), ("bob , sue", "bob,sue"), ("bob,,,sue", "bob,sue"),
    (".referrer : *", ".r:*"), (".ref:*.example.com", ".r:.example.com"), (".r:*, .rlistings", ".r:*,.rlistings"),
    (".r:-thief.com", ".r:-thief.com"), (".r: - *.thief.com", ".r:-.thief.com"), ("p1:u1,*:*", "p1:u1,*:*"),
    ("", ""),
])
def test_clean_acl(raw: str, clean: str) -> None:
    assert acl.clean_acl("X-Container-Read", raw) == clean


@pytest.mark.parametrize(("name", "raw", "words"), [
    ("x-container-read", ".r:", "No host/domain value after referrer designation in ACL: '.r:'"),
    ("x-container-read", ".r:-", "No host/domain value"),
    ("x-container-read", ".r:.", "No host/domain value"),
    ("x-container-read", ".bad:x", "Unknown designator '.bad' in ACL: '.bad:x'"),
    ("x-container-write", ".r:*", "Referrers not allowed in write ACL: '.r:*'"),
])
def test_bad_acls(name: str, raw: str, words: str) -> None:
    with pytest.raises(ValueError, match=words.replace(".", r"\.").replace("*", r"\*")):
        acl.clean_acl(name, raw)


def test_clean_headers_rewrites_or_refuses_with_400() -> None:
    headers = Headers({"X-Container-Read": "a , b", "X-Container-Write": "c"})
    acl.clean_container_acl_headers(headers)
    assert headers["x-container-read"] == "a,b" and headers["x-container-write"] == "c"
    with pytest.raises(SwiftError) as err:
        acl.clean_container_acl_headers(Headers({"X-Container-Write": ".r:*"}))
    assert err.value.status == 400 and b"Referrers not allowed" in err.value.body


def test_parse_acl() -> None:
    assert acl.parse_acl(".r:*,.rlistings,p:u,.r:-x.com") == (["*", "-x.com"], [".rlistings", "p:u"])
    assert acl.parse_acl(None) == ([], [])


@pytest.mark.parametrize(("referrer", "designations", "allowed"), [
    ("http://www.example.com/a", ["*"], True),
    (None, ["*"], True),  # .r:* lets in requests without a Referer too
    ("http://www.example.com/", [".example.com"], True),
    ("http://example.org/", [".example.com"], False),
    ("http://thief.example.com/", [".example.com", "-thief.example.com"], False),
    ("http://ok.example.com/", [".example.com", "-thief.example.com"], True),
    ("http://www.example.com/", ["*", "-.example.com"], False),
    ("http://host/", ["host"], True),
    ("http://host/", [], False),
])
def test_referrer_allowed(referrer: str | None, designations: list[str], allowed: bool) -> None:
    assert acl.referrer_allowed(referrer, designations) is allowed


@pytest.mark.parametrize(("value", "error"), [
    ('{"admin":["a"],"read-only":["b","c"]}', None),
    ("", None),
    ("{}", None),
    ("nope", "Syntax error in input ('nope')"),
    ("[]", "Syntax error in input ('[]')"),
    ('{"owner":[]}', 'Key "owner" not recognized'),
    ('{"admin":"a"}', 'Value for key "admin" must be a list'),
    ('{"read-write":[1]}', 'Elements of "read-write" list must be strings'),
])
def test_account_acl_validation(value: str, error: str | None) -> None:
    assert acl.account_acl_error(value) == error


def test_account_acls_read_back() -> None:
    assert acl.account_acls(acl.format_account_acl({"read-only": ["x"]})) == {
        "admin": [], "read-write": [], "read-only": ["x"]}
    assert acl.account_acls("{}") is None and acl.account_acls(None) is None and acl.account_acls("junk") is None
    assert acl.format_account_acl({"read-only": ["é"], "admin": []}) == '{"admin":[],"read-only":["\\u00e9"]}'
