"""Conditional requests as swob answers them: ``If-Match``, ``If-None-Match`` (``*`` included),
``If-Modified-Since`` and ``If-Unmodified-Since`` decide whether a GET/HEAD gets its normal
answer, 304 (not modified) or 412 (precondition failed).

Order and rules are swob's: If-None-Match matching → 304; If-Match not matching → 412; a 404
with ``If-Match: *`` → 412; Last-Modified (whole seconds) not after If-Modified-Since → 304;
after If-Unmodified-Since → 412. Unparseable dates are ignored. ETags compare without quotes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate

# The request headers this module judges (left off a sub-request that must not be conditional).
HEADERS = ("if-match", "if-none-match", "if-modified-since", "if-unmodified-since")


def normalize_etag(tag: str | None) -> str | None:
    if tag and len(tag) > 1 and tag.startswith('"') and tag.endswith('"'):
        return tag[1:-1]
    return tag


def match_tags(header: str) -> set[str]:
    return {t for t in (normalize_etag(p.strip()) for p in header.split(",")) if t}


def matches(header: str, etag: str | None) -> bool:
    """Whether an If-(None-)Match header's tags include ``etag`` (``*`` includes everything)."""
    tags = match_tags(header)
    return "*" in tags or normalize_etag(etag) in tags


def parse_http_date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parts = parsedate(value)
        if parts is None:
            return None
        return datetime(*parts[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def evaluate(headers: Mapping[str, str], *, status: int, etag: str | None,
             last_modified: str | None) -> int | None:
    """304 or 412 when the request's conditions say so, else None. ``headers`` has lower-case
    names; ``etag`` is the one to compare (an ``X-Backend-Etag-Is-At`` value if the caller
    resolved one); ``last_modified`` the response's Last-Modified header value."""
    if_none_match = headers.get("if-none-match")
    if_match = headers.get("if-match")
    if etag and if_none_match is not None and matches(if_none_match, etag):
        return 304
    if etag and if_match is not None and not matches(if_match, etag):
        return 412
    if status == 404 and if_match is not None and "*" in match_tags(if_match):
        return 412
    modified = parse_http_date(last_modified)
    if modified is not None:
        since = parse_http_date(headers.get("if-modified-since"))
        if since is not None and modified <= since:
            return 304
        unmodified = parse_http_date(headers.get("if-unmodified-since"))
        if unmodified is not None and modified > unmodified:
            return 412
    return None
