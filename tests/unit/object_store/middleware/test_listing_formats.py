"""listing_formats: format negotiation (Swift's get_listing_content_type) and the plain/XML renderings."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from onestack.object_store.errors import SwiftError
from onestack.object_store.middleware.listing_formats import content_type_of, to_text, to_xml
from onestack.object_store.proxy.request import Headers, SwiftRequest


def negotiate(query: dict[str, str] | None = None, accept: str | None = None) -> str:
    req = SwiftRequest("GET", "/v1/AUTH_a/c", query=dict(query or {}),
                       headers=Headers({"accept": accept} if accept else {}))
    chosen = content_type_of(req)
    assert "format" not in req.query  # the layers below always see JSON
    return chosen


@pytest.mark.parametrize(("query", "accept", "expected"), [
    ({}, None, "text/plain"),
    ({"format": "json"}, None, "application/json"),
    ({"format": "XML"}, None, "application/xml"),
    ({"format": "nonsense"}, None, "text/plain"),
    ({"format": "json"}, "text/xml", "application/json"),
    ({}, "*/*", "text/plain"),
    ({}, "application/json", "application/json"),
    ({}, "text/xml", "text/xml"),
    ({}, "application/*", "application/json"),
    ({}, "text/plain;q=0.5, application/xml", "application/xml"),
    ({}, "application/json;q=0, text/*", "text/plain"),
])
def test_negotiation(query: dict[str, str], accept: str | None, expected: str) -> None:
    assert negotiate(query, accept) == expected


def test_unacceptable_is_406() -> None:
    with pytest.raises(SwiftError) as err:
        negotiate({}, "image/png")
    assert err.value.status == 406


@pytest.mark.parametrize("accept", ["text/plain;q=abc", ";;;", "text/plain,", "json", 'a/b;x="unterminated'])
def test_malformed_accept_is_400(accept: str) -> None:
    with pytest.raises(SwiftError) as err:
        negotiate({}, accept)
    assert err.value.status == 400 and err.value.detail == "Invalid Accept header"


def test_accept_parameters() -> None:
    assert negotiate({}, 'application/json; charset="utf-8"; q=0.9, text/xml;q=0.8') == "application/json"


def test_renderings() -> None:
    listing: list[dict[str, Any]] = [{"name": "a", "hash": "h", "bytes": 1, "content_type": "t", "last_modified": "x", "symlink_path": "/c/o"},
               {"subdir": "d/"}]
    assert to_text(listing) == b"a\nd/\n"
    body = to_xml(listing, "container", "c\u00e9")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<container name="c\xc3\xa9">')
    doc = ET.fromstring(body)
    obj = doc.find("object")
    assert obj is not None
    assert [e.tag for e in obj] == ["name", "hash", "bytes", "content_type", "last_modified", "symlink_path"]
    sub = doc.find("subdir")
    assert sub is not None and sub.get("name") == "d/" and sub.findtext("name") == "d/"
    account = ET.fromstring(to_xml([{"name": "c", "count": 2, "bytes": 3, "last_modified": "x"}], "account", "AUTH_a"))
    container = account.find("container")
    assert container is not None and [e.tag for e in container] == ["name", "count", "bytes", "last_modified"]
