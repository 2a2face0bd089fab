"""HTTP Range requests as Swift answers them (swob's ``Range``): parse the header, turn it into
byte ranges for an entity of a known length, and build the 206/416 answer — one range gets a
``Content-Range``, several get a ``multipart/byteranges`` body.

Swift's rules: a syntactically invalid header is ignored (200 with the whole entity); a header
whose ranges all miss is unsatisfiable (416, ``Content-Range: bytes */<len>``); a suffix range
longer than the entity is the whole entity; egregious sets (more than 50 ranges, more than two
overlaps, eight or more out of order) are refused as unsatisfiable. Used by the object server,
SLO and DLO, so it takes a reader callback instead of knowing where the bytes live.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from itertools import combinations, pairwise

MAX_RANGES = 50
MAX_RANGE_OVERLAPS = 2
MAX_NONASCENDING_RANGES = 8

Spec = tuple[int | None, int | None]  # (first, last) as written; None where omitted


def parse_range(header: str | None) -> list[Spec] | None:
    """The specs of a ``Range`` header, or None when there is none or it is invalid (ignored)."""
    if not header:
        return None
    value = header.replace(" ", "")
    if not value.lower().startswith("bytes="):
        return None
    specs: list[Spec] = []
    for item in value[6:].split(","):
        if "-" not in item:
            return None
        first_text, last_text = item.split("-", 1)
        try:
            first = int(first_text) if first_text else None
        except ValueError:
            return None
        if first is not None and first < 0:
            return None
        last: int | None = None
        if last_text:
            # isdigit rejects "--0", "-1" and signs int() would accept.
            if not last_text.isdigit():
                return None
            last = int(last_text)
            if first is not None and last < first:
                return None
        elif first is None:
            return None
        specs.append((first, last))
    return specs or None


def ranges_for_length(specs: list[Spec] | None, length: int | None) -> list[tuple[int, int]] | None:
    """Half-open ``(start, end)`` ranges of an entity of ``length`` bytes: None to ignore the header
    (serve it all), ``[]`` when unsatisfiable (416)."""
    if length is None or not specs:
        return None
    out: list[tuple[int, int]] = []
    for first, last in specs:
        if first is None:
            assert last is not None
            if last == 0:
                continue  # "bytes=-0" asks for nothing
            out.append((max(0, length - last), length))
        elif first < length:
            out.append((first, length if last is None else min(last + 1, length)))
    if len(out) > MAX_RANGES:
        return []
    overlaps = 0
    for (s1, e1), (s2, e2) in combinations(out, 2):
        if s1 < s2 < e1 or s1 < e2 < e1 or s2 < s1 < e2 or s2 < e1 < e2:
            overlaps += 1
            if overlaps > MAX_RANGE_OVERLAPS:
                return []
    ascending = all(a <= b for a, b in pairwise(out))
    if not ascending and len(out) >= MAX_NONASCENDING_RANGES:
        return []
    return out


def byte_ranges(header: str | None, length: int | None) -> list[tuple[int, int]] | None:
    """``ranges_for_length(parse_range(header), length)``: what a GET of ``length`` bytes serves."""
    return ranges_for_length(parse_range(header), length)


def content_range(start: int, end: int, length: int) -> str:
    return f"bytes {start}-{end - 1}/{length}"


def new_boundary() -> str:
    return secrets.token_hex(16)


def _part_head(boundary: str, content_type: str, start: int, end: int, length: int) -> bytes:
    return (f"--{boundary}\r\nContent-Type: {content_type}\r\n"
            f"Content-Range: {content_range(start, end, length)}\r\n\r\n").encode()


def multipart_length(ranges: list[tuple[int, int]], content_type: str, boundary: str, length: int) -> int:
    """The exact size of ``multipart_body`` (for its Content-Length)."""
    size = sum(len(_part_head(boundary, content_type, s, e, length)) + (e - s) + 2 for s, e in ranges)
    return size + len(boundary) + 4


Reader = Callable[[int, int], AsyncIterator[bytes]]  # (start, end) → the bytes of [start, end)


async def multipart_body(ranges: list[tuple[int, int]], content_type: str, boundary: str, length: int,
                         read: Reader) -> AsyncIterator[bytes]:
    """swob's multipart/byteranges body: each part's headers, its bytes, CRLF; the closing boundary."""
    for start, end in ranges:
        yield _part_head(boundary, content_type, start, end, length)
        async for chunk in read(start, end):
            yield chunk
        yield b"\r\n"
    yield f"--{boundary}--".encode()


def multipart_content_type(boundary: str) -> str:
    return f"multipart/byteranges;boundary={boundary}"


def unsatisfiable_headers(length: int) -> dict[str, str]:
    return {"content-range": f"bytes */{length}"}
