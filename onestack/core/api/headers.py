"""Response header values built from what a client sent (a tag, a name, an id in a URL).

HTTP/1.1 carries header values as Latin-1 bytes without control characters: Starlette refuses
anything else with ``UnicodeEncodeError`` — after the handler has written, so the client got a
500 for a change that was made. A URL bound for a header goes through here instead; its
user-given parts become percent-encoded UTF-8, as werkzeug does for Keystone's and Glance's
``Location`` and as Nova quotes a server tag's.
"""

from __future__ import annotations

from urllib.parse import quote

# What a URI keeps as it is (RFC 3986 reserved and unreserved characters, and ``%`` of escapes
# already made); everything else (non-ASCII, spaces, controls, quotes) is escaped.
_URI_SAFE = "!#$&'()*+,/:;=?@[]~%"


def quote_segment(value: str) -> str:
    """``value`` as one path segment: every character that is not unreserved is escaped, ``/`` and
    ``%`` too, so the segment reads back as exactly ``value``."""
    return quote(value, safe="", errors="surrogatepass")


def header_uri(url: str) -> str:
    """``url`` as a value any header can carry; its structure and existing escapes are kept."""
    return quote(url, safe=_URI_SAFE, errors="surrogatepass")


def location(url: str) -> dict[str, str]:
    """A ``Location`` header for ``url``."""
    return {"Location": header_uri(url)}


__all__ = ["header_uri", "location", "quote_segment"]
