"""Header values built from client input: always sendable, and they read back as what was named."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from starlette.responses import Response

from onestack.core.api.headers import header_uri, location, quote_segment


def test_segment_reads_back_exactly() -> None:
    for name in ("€-euro", "a/b", "50% off", "a?b#c", "%E2%82%AC", "tab\there", "ünï", "plain"):
        quoted = quote_segment(name)
        assert quoted.isascii() and "/" not in quoted and unquote(quoted) == name


def test_uri_keeps_structure_and_escapes() -> None:
    url = "http://h:5000/identity/v3/projects/p/tags/%E2%82%AC?x=1&y=ä#frag"
    assert header_uri(url) == "http://h:5000/identity/v3/projects/p/tags/%E2%82%AC?x=1&y=%C3%A4#frag"
    assert header_uri("http://h/a b\r\nSet-Cookie: x") == "http://h/a%20b%0D%0ASet-Cookie:%20x"


def test_any_text_makes_a_header_starlette_can_send() -> None:
    for text in ("€", "\ud800", "\x00", "日本語", "ÿ"):
        headers = location(f"http://h/tags/{text}")
        response = Response(b"", headers=headers)  # raised UnicodeEncodeError for the first ones
        value = dict(response.raw_headers)[b"location"]
        assert value.isascii() and urlsplit(value.decode()).path.startswith("/tags/%")
