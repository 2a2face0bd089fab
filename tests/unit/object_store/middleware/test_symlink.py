"""Symlink targets as Swift validates them, and listing rows as JSON listings show links."""

from __future__ import annotations

import pytest

from onestack.object_store.errors import SwiftError
from onestack.object_store.middleware import symlink
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
