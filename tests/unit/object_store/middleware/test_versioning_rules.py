"""The pure rules of symlink, versioned_writes and object_versioning: target and flag validation
with Swift's answers, archive and hidden names, inverted timestamps, listing rows."""

from __future__ import annotations

import pytest

from onestack.object_store.errors import SwiftError
from onestack.object_store.middleware import object_versioning as ov
from onestack.object_store.middleware import symlink
from onestack.object_store.middleware import versioned_writes as vw
from onestack.object_store.proxy.request import Headers


@pytest.mark.parametrize("value,expected", [
    ("c/o", ("c", "o")), ("c/o/with/slashes", ("c", "o/with/slashes")), ("c%2Fx/o", ("c", "x/o")),
    ("c/%E2%98%83", ("c", "\u2603")),
])
def test_symlink_targets(value: str, expected: tuple[str, str]) -> None:
    assert symlink.check_target(value) == expected


@pytest.mark.parametrize("value", ["/c/o", "c", "c/", "/", "%2Fc/o"])
def test_bad_symlink_targets_are_412(value: str) -> None:
    with pytest.raises(SwiftError) as err:
        symlink.check_target(value)
    assert err.value.status == 412
    assert err.value.detail == "X-Symlink-Target header must be of the form <container name>/<object name>"


def test_symlink_listing_rows() -> None:
    row = {"name": "l", "hash": symlink.MD5_OF_EMPTY, "symlink_target": "c/t%20x", "symlink_target_etag": "abc",
           "symlink_target_bytes": "12"}
    assert symlink.listing_row(dict(row), "v1", "AUTH_a") == {
        "name": "l", "hash": symlink.MD5_OF_EMPTY, "symlink_path": "/v1/AUTH_a/c/t%20x", "symlink_etag": "abc",
        "symlink_bytes": 12}
    other = symlink.listing_row({"name": "l", "symlink_target": "c/t", "symlink_target_account": "AUTH_b"},
                                "v1", "AUTH_a")
    assert other == {"name": "l", "symlink_path": "/v1/AUTH_b/c/t"}
    plain = {"name": "o", "hash": "x", "slo_etag": "y"}
    assert symlink.listing_row(dict(plain), "v1", "AUTH_a") == plain


def test_symlink_get_shows_user_headers_and_keeps_sysmeta() -> None:
    headers = Headers({symlink.SYS_TARGET: "c/o", symlink.SYS_TARGET_ETAG: "e"})
    symlink.sysmeta_to_user(headers)
    assert headers[symlink.TARGET] == "c/o" and headers[symlink.TARGET_ETAG] == "e"
    assert symlink.SYS_TARGET in headers


@pytest.mark.parametrize("name,prefix", [("obj", "003obj/"), ("\u00e9", "002\u00e9/"), ("a" * 300, "12c" + "a" * 300 + "/")])
def test_archive_prefix_counts_utf8_bytes(name: str, prefix: str) -> None:
    assert vw.versions_prefix(name) == prefix


def test_legacy_flags_become_sysmeta() -> None:
    headers = Headers({"x-versions-location": "arch"})
    vw.container_headers(headers)
    assert headers[vw.SYSMETA_VERSIONS_LOC] == "arch" and headers[vw.SYSMETA_VERSIONS_MODE] == "stack"
    assert "x-versions-location" not in headers and "x-history-location" not in headers
    assert headers["x-remove-versions-location"] == headers["x-remove-history-location"] == "x"
    headers = Headers({"x-history-location": "arch", "x-remove-versions-location": "x"})
    vw.container_headers(headers)  # setting wins over removing in the same request
    assert headers[vw.SYSMETA_VERSIONS_MODE] == "history" and headers[vw.SYSMETA_VERSIONS_LOC] == "arch"
    headers = Headers({"x-remove-history-location": "1"})
    vw.container_headers(headers)
    assert headers[vw.SYSMETA_VERSIONS_LOC] == "" and headers[vw.SYSMETA_VERSIONS_MODE] == ""
    headers = Headers({"x-versions-location": "", "x-history-location": "h"})
    vw.container_headers(headers)
    assert headers[vw.SYSMETA_VERSIONS_MODE] == "history"


@pytest.mark.parametrize("headers,status", [
    ({"x-versions-location": "a", "x-history-location": "b"}, 400),
    ({"x-versions-location": "a/b"}, 412),
    ({"x-history-location": "/"}, 412),
])
def test_bad_legacy_flags(headers: dict[str, str], status: int) -> None:
    with pytest.raises(SwiftError) as err:
        vw.container_headers(Headers(headers))
    assert err.value.status == status


def test_legacy_flag_shown_under_its_mode() -> None:
    headers = Headers({vw.SYSMETA_VERSIONS_LOC: "arch", vw.SYSMETA_VERSIONS_MODE: "history"})
    vw.show_flag(headers)
    assert headers["x-history-location"] == "arch" and "x-versions-location" not in headers


@pytest.mark.parametrize("version_id", ["1700000000.12345", "0000000001.00000", "9999999999.99999"])
def test_inverted_timestamps_round_trip_and_sort_newest_first(version_id: str) -> None:
    assert ov.invert(ov.invert(version_id)) == version_id
    name = ov.version_object("dir/obj", version_id)
    assert name.startswith(ov.RESERVED + "dir/obj" + ov.RESERVED)
    assert ov.parse_version_object(name) == ("dir/obj", version_id)


def test_newer_versions_list_first() -> None:
    names = [ov.version_object("o", v) for v in ("1700000000.00001", "1700000000.00002", "1800000000.00000")]
    assert sorted(names, key=lambda n: n.encode()) == list(reversed(names))


def test_names_that_are_not_versions() -> None:
    assert ov.parse_version_object("plain") == ("plain", None)
    assert ov.parse_version_object(ov.RESERVED + "no-separator") == (ov.RESERVED + "no-separator", None)
    assert ov.parse_version_object(ov.reserved("o", "not-a-time")) == (ov.reserved("o", "not-a-time"), None)


@pytest.mark.parametrize("value", ["bogus", "", "-1"])
def test_bad_version_ids_are_400(value: str) -> None:
    with pytest.raises(SwiftError) as err:
        ov.validate_version(value)
    assert (err.value.status, err.value.detail) == (400, "Invalid version parameter")


def test_null_version_only_where_allowed() -> None:
    ov.validate_version("null")
    with pytest.raises(SwiftError):
        ov.validate_version("null", allow_null=False)
