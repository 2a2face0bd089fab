"""If-Match / If-None-Match / If-(Un)Modified-Since as swob answers them."""

from __future__ import annotations

import pytest

from onestack.object_store import conditions

LM = "Tue, 14 Nov 2023 22:13:20 GMT"  # 1700000000


@pytest.mark.parametrize(("headers", "status", "expected"), [
    ({}, 200, None),
    ({"if-match": '"abc"'}, 200, None),
    ({"if-match": "abc"}, 200, None),
    ({"if-match": "*"}, 200, None),
    ({"if-match": "x, abc"}, 200, None),
    ({"if-match": "nope"}, 200, 412),
    ({"if-none-match": "abc"}, 200, 304),
    ({"if-none-match": '"abc"'}, 200, 304),
    ({"if-none-match": "*"}, 200, 304),
    ({"if-none-match": "nope"}, 200, None),
    ({"if-match": "*"}, 404, 412),
    ({"if-match": "abc"}, 404, None),  # no entity: nothing to compare (swob: only * fails a 404)
    ({"if-none-match": "*"}, 404, None),
    ({"if-modified-since": LM}, 200, 304),
    ({"if-modified-since": "Tue, 14 Nov 2023 22:13:19 GMT"}, 200, None),
    ({"if-modified-since": "not a date"}, 200, None),
    ({"if-unmodified-since": LM}, 200, None),
    ({"if-unmodified-since": "Tue, 14 Nov 2023 22:13:19 GMT"}, 200, 412),
    ({"if-unmodified-since": "garbage"}, 200, None),
    # If-None-Match wins over If-Match, etags win over dates.
    ({"if-none-match": "abc", "if-match": "nope"}, 200, 304),
    ({"if-match": "abc", "if-modified-since": LM}, 200, 304),
])
def test_evaluate(headers: dict[str, str], status: int, expected: int | None) -> None:
    etag = "abc" if status == 200 else None
    last_modified = LM if status == 200 else None
    assert conditions.evaluate(headers, status=status, etag=etag, last_modified=last_modified) == expected


def test_normalize_and_match() -> None:
    assert conditions.normalize_etag('"x"') == "x"
    assert conditions.normalize_etag('"') == '"'
    assert conditions.matches(' "a" , b ', "b")
    assert not conditions.matches("a", None)
