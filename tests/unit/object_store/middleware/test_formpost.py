"""The form POST's multipart reader, fed in awkward chunk sizes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from onestack.object_store.middleware.formpost import (
    FormInvalid,
    Parts,
    content_type_params,
    form_hmac_body,
)

BOUNDARY = "----WebKitFormBoundaryAbc"


def form(*parts: tuple[str, bytes, str | None]) -> bytes:
    out = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename:
            out += b"Content-Type: text/plain\r\n"
        out += b"\r\n" + value + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def read_all(data: bytes, size: int) -> list[tuple[dict[str, str], bytes]]:
    parts = Parts(chunked(data, size), BOUNDARY)
    out = []
    while (headers := await parts.next_headers()) is not None:
        body = b"".join([c async for c in parts.body()])
        out.append((headers, body))
    return out


@pytest.mark.parametrize("size", [1, 3, 7, 64, 100000])
def test_parts_in_any_chunking(size: int) -> None:
    payload = b"line one\r\n--not the boundary\r\n" + bytes(range(256)) * 10
    data = form(("redirect", b"", None), ("max_file_size", b"100000", None), ("file1", payload, "a.txt"),
                ("file2", b"", "b.txt"))
    parts = asyncio.run(read_all(data, size))
    assert [h["content-disposition"] for h, _ in parts][2] == 'form-data; name="file1"; filename="a.txt"'
    assert [body for _, body in parts] == [b"", b"100000", payload, b""]
    assert parts[2][0]["content-type"] == "text/plain"


def test_bad_start_and_truncation() -> None:
    with pytest.raises(FormInvalid, match="invalid starting boundary"):
        asyncio.run(read_all(b"garbage" + form(("a", b"1", None)), 5))
    with pytest.raises(FormInvalid):
        asyncio.run(read_all(form(("a", b"1", None))[:-len(BOUNDARY) - 8], 5))


def test_helpers() -> None:
    assert content_type_params('multipart/form-data; boundary="x y"') == ("multipart/form-data", {"boundary": "x y"})
    assert form_hmac_body("/v1/a/c", {"expires": "5"}) == b"/v1/a/c\n\n0\n0\n5"
