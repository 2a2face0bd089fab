"""The shared pieces of the large-object middleware: Range over a whole length, Accept negotiation,
conditionals against the large object's own ETag; DLO's X-Object-Manifest values."""

from __future__ import annotations

import pytest

from onestack.object_store.errors import SwiftError
from onestack.object_store.middleware.dlo import split_manifest
from onestack.object_store.middleware.large import best_match, check_conditions, parse_range
from onestack.object_store.proxy.request import Headers, SwiftRequest


@pytest.mark.parametrize(("header", "expected"), [
    (None, None),
    ("bytes=0-9", [(0, 10)]),
    ("bytes=5-", [(5, 100)]),
    ("bytes=-10", [(90, 100)]),
    ("bytes=-1000", [(0, 100)]),
    ("bytes=90-1000", [(90, 100)]),
    ("bytes=0-0,-1", [(0, 1), (99, 100)]),
    ("bytes=100-", []),  # valid but beyond the end: 416
    ("bytes=-0", []),
    ("bytes=9-5", None),  # malformed: the whole header is ignored, as Swift does
    ("bytes=a-b", None),
    ("items=0-5", None),
    ("bytes=", None),
    ("bytes=-", None),
])
def test_parse_range(header: str | None, expected: list[tuple[int, int]] | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize(("accept", "expected"), [
    (None, "text/plain"),
    ("", "text/plain"),
    ("application/json", "application/json"),
    ("application/xml", "application/xml"),
    ("text/xml", "text/xml"),
    ("*/*", "text/plain"),
    ("application/*", "application/json"),
    ("text/html", None),
    ("application/json;q=0.5, text/xml", "text/xml"),
    ("application/json;q=0", None),
])
def test_best_match(accept: str | None, expected: str | None) -> None:
    assert best_match(accept) == expected


def _req(**headers: str) -> SwiftRequest:
    return SwiftRequest("GET", "/v1/AUTH_p/c/o", headers=Headers(headers))


def test_conditions_on_the_large_objects_etag() -> None:
    lm = "Tue, 01 Dec 2026 10:00:00 GMT"
    base = Headers({"last-modified": lm, "content-type": "text/plain"})
    check_conditions(_req(**{"if-match": '"abc"'}), "abc", lm, base)
    check_conditions(_req(**{"if-none-match": '"zzz"'}), "abc", lm, base)
    check_conditions(_req(**{"if-modified-since": "Mon, 30 Nov 2026 10:00:00 GMT"}), "abc", lm, base)
    with pytest.raises(SwiftError) as err:
        check_conditions(_req(**{"if-match": '"other"'}), "abc", lm, base)
    assert err.value.status == 412
    with pytest.raises(SwiftError) as err:
        check_conditions(_req(**{"if-none-match": '"abc"'}), "abc", lm, base)
    assert err.value.status == 304 and err.value.headers["etag"] == '"abc"'
    with pytest.raises(SwiftError) as err:
        check_conditions(_req(**{"if-none-match": "*"}), "abc", lm, base)
    assert err.value.status == 304
    with pytest.raises(SwiftError) as err:
        check_conditions(_req(**{"if-modified-since": lm}), "abc", lm, base)
    assert err.value.status == 304
    with pytest.raises(SwiftError) as err:
        check_conditions(_req(**{"if-unmodified-since": "Mon, 30 Nov 2026 10:00:00 GMT"}), "abc", lm, base)
    assert err.value.status == 412


@pytest.mark.parametrize(("value", "expected"), [
    ("segs/prefix", ("segs", "prefix")),
    ("segs/dir/", ("segs", "dir/")),
    ("se%20gs/p%C3%A9", ("se gs", "pé")),
    ("segs/", ("segs", "")),
    ("segs", None),
    ("/segs/p", None),
    ("segs//p", None),
    ("segs/p?x", None),
    ("segs/p&x", None),
])
def test_dlo_manifest_value(value: str, expected: tuple[str, str] | None) -> None:
    assert split_manifest(value) == expected
