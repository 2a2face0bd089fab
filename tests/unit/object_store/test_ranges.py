"""Range parsing and multipart/byteranges as swob does them (onestack/object_store/ranges.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from onestack.object_store import ranges


@pytest.mark.parametrize("header", [
    None, "", "bytes", "bytes=", "bits=0-1", "bytes=5-3", "bytes=-", "bytes=45", "bytes=a-b", "bytes=1--0",
    "bytes=0-1,x", "bytes=--1"])
def test_invalid_headers_are_ignored(header: str | None) -> None:
    assert ranges.parse_range(header) is None
    assert ranges.ranges_for_length(ranges.parse_range(header), 10) is None


@pytest.mark.parametrize(("header", "length", "expected"), [
    ("bytes=0-0", 10, [(0, 1)]),
    ("bytes=2-5", 10, [(2, 6)]),
    ("bytes=2-", 10, [(2, 10)]),
    ("bytes=5-100", 10, [(5, 10)]),
    ("bytes=-3", 10, [(7, 10)]),
    ("bytes=-100", 10, [(0, 10)]),  # a suffix longer than the entity: all of it
    ("bytes = 0-1 , 4-5", 10, [(0, 2), (4, 6)]),
    ("bytes=0-1,20-30", 10, [(0, 2)]),  # the unsatisfiable one dropped
    ("bytes=10-", 10, []),  # starts at the end: unsatisfiable
    ("bytes=-0", 10, []),
    ("bytes=-0,0-1", 10, [(0, 2)]),
])
def test_ranges_for_length(header: str, length: int, expected: list[tuple[int, int]]) -> None:
    assert ranges.ranges_for_length(ranges.parse_range(header), length) == expected


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
    ("bytes=9-5", None),  # malformed: the whole header is ignored, as Swift does (SLO: invalid range)
    ("bytes=a-b", None),
    ("items=0-5", None),
    ("bytes=", None),
    ("bytes=-", None),
])
def test_byte_ranges_over_a_length(header: str | None, expected: list[tuple[int, int]] | None) -> None:
    assert ranges.byte_ranges(header, 100) == expected


def test_egregious_sets_are_unsatisfiable() -> None:
    many = "bytes=" + ",".join(f"{i}-{i}" for i in range(51))
    assert ranges.ranges_for_length(ranges.parse_range(many), 100) == []
    assert len(ranges.ranges_for_length(ranges.parse_range(many.rsplit(",", 1)[0]), 100) or []) == 50
    three_overlaps = "bytes=0-10,5-15,8-20,9-12"
    assert ranges.ranges_for_length(ranges.parse_range(three_overlaps), 100) == []
    backwards = "bytes=" + ",".join(f"{i}-{i}" for i in range(16, 0, -2))  # eight out of order
    assert ranges.ranges_for_length(ranges.parse_range(backwards), 100) == []
    seven = "bytes=" + ",".join(f"{i}-{i}" for i in range(14, 0, -2))
    assert len(ranges.ranges_for_length(ranges.parse_range(seven), 100) or []) == 7


def test_multipart_body_matches_its_length() -> None:
    data = bytes(range(100))

    async def read(start: int, end: int) -> AsyncIterator[bytes]:
        yield data[start:end]

    async def scenario() -> bytes:
        out = bytearray()
        async for chunk in ranges.multipart_body([(0, 3), (50, 52)], "text/plain", "b0undary", 100, read):
            out += chunk
        return bytes(out)

    body = asyncio.run(scenario())
    assert len(body) == ranges.multipart_length([(0, 3), (50, 52)], "text/plain", "b0undary", 100)
    assert body == (b"--b0undary\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-2/100\r\n\r\n"
                    b"\x00\x01\x02\r\n"
                    b"--b0undary\r\nContent-Type: text/plain\r\nContent-Range: bytes 50-51/100\r\n\r\n"
                    b"23\r\n--b0undary--")
    assert ranges.content_range(0, 3, 100) == "bytes 0-2/100"
    assert ranges.unsatisfiable_headers(7) == {"content-range": "bytes */7"}
