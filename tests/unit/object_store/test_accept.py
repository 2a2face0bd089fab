"""Accept negotiation as swob's Accept.best_match (onestack/object_store/accept.py)."""

from __future__ import annotations

import pytest

from onestack.object_store import accept

OFFERS = ("text/plain", "application/json", "application/xml", "text/xml")


@pytest.mark.parametrize(("header", "expected"), [
    (None, "text/plain"),
    ("", "text/plain"),
    ("application/json", "application/json"),
    ("*/*", "text/plain"),
    ("*/xml", "application/xml"),
    ("*/*, application/xml", "application/xml"),  # on a tie the entry without a wildcard first
    ("text/*;q=0.9, application/json;q=0.8", "text/plain"),
    ("application/json;q=0.1, text/html", "application/json"),
    ('application/json; charset="utf-8"; q=0.9, text/xml;q=0.8', "application/json"),
    ("application/json;q=0", "application/json"),  # swob does not exclude q=0
    ("text/html, image/*;q=0.5", None),
    ("Application/JSON", None),  # swob compares case-sensitively
])
def test_best_match(header: str | None, expected: str | None) -> None:
    assert accept.best_match(header, OFFERS) == expected


@pytest.mark.parametrize("header", [
    "json", " ", "text/plain,", ";;;", "text/plain;q=abc", "text/plain;q=1;q=0.5", 'a/b;x="unterminated',
    'a/b;x="c=d"'])
def test_malformed_raises(header: str) -> None:
    with pytest.raises(ValueError):
        accept.best_match(header, OFFERS)
