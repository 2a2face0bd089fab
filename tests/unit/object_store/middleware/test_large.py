"""The shared pieces of the large-object middleware: Accept negotiation, conditionals against the
large object's own ETag; DLO's X-Object-Manifest values."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from onestack.object_store.middleware.dlo import split_manifest
from onestack.object_store.middleware.large import best_match, conditional_response, overlapping
from onestack.object_store.proxy.request import Headers, SwiftRequest


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
    ("application/json;q=0", "application/json"),  # swob ranks q=0 last but does not exclude it
    ("json", None),  # malformed: ignored, the report answers 406
])
def test_best_match(accept: str | None, expected: str | None) -> None:
    assert best_match(accept) == expected


def _req(**headers: str) -> SwiftRequest:
    return SwiftRequest("GET", "/v1/AUTH_p/c/o", headers=Headers(headers))


def test_conditions_on_the_large_objects_etag() -> None:
    lm = "Tue, 01 Dec 2026 10:00:00 GMT"
    base = Headers({"last-modified": lm, "content-type": "text/plain", "etag": '"abc"'})

    def status(**headers: str) -> int | None:
        answer = conditional_response(_req(**headers), "abc", base)
        if answer is None:
            return None
        assert answer.body == b"" and answer.headers["content-length"] == "0"
        assert answer.headers["etag"] == '"abc"' and answer.headers["content-type"] == "text/plain"
        return answer.status

    assert status(**{"if-match": '"abc"'}) is None
    assert status(**{"if-none-match": '"zzz"'}) is None
    assert status(**{"if-modified-since": "Mon, 30 Nov 2026 10:00:00 GMT"}) is None
    assert status(**{"if-match": '"other"'}) == 412
    assert status(**{"if-none-match": '"abc"'}) == 304
    assert status(**{"if-none-match": "*"}) == 304
    assert status(**{"if-modified-since": lm}) == 304
    assert status(**{"if-unmodified-since": "Mon, 30 Nov 2026 10:00:00 GMT"}) == 412
    # swob's order: a matching If-None-Match answers 304 before a failing If-Match is looked at.
    assert status(**{"if-none-match": '"abc"', "if-match": '"other"'}) == 304


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


def test_overlapping_pieces_of_a_concatenation() -> None:
    sized = [("a", 3), ("empty", 0), ("b", 4), ("c", 2)]  # bytes 0-2, 3-6, 7-8
    # an empty item inside the span comes with an empty overlap (the stream skips it)
    assert list(overlapping(sized, 0, 9)) == [("a", 0, 3), ("empty", 0, 0), ("b", 0, 4), ("c", 0, 2)]
    assert list(overlapping(sized, 2, 8)) == [("a", 2, 3), ("empty", 0, 0), ("b", 0, 4), ("c", 0, 1)]
    assert list(overlapping(sized, 4, 7)) == [("b", 1, 4)]
    assert list(overlapping(sized, 9, 20)) == []

    def lazy() -> Iterator[tuple[str, int]]:
        yield "a", 3
        raise AssertionError("read past the end")

    assert list(overlapping(lazy(), 0, 2)) == [("a", 0, 2)]
