"""Legacy versioning: the flags as sysmeta with Swift's refusals, and archive names."""

from __future__ import annotations

import pytest

from onestack.object_store.errors import SwiftError
from onestack.object_store.middleware import versioned_writes as vw
from onestack.object_store.proxy.request import Headers


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
