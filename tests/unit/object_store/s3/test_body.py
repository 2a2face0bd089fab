"""aws-chunked bodies decode to the object's bytes; a signed SHA-256 that does not match fails the body."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import pytest

from onestack.object_store.s3.body import decoded
from onestack.object_store.s3.errors import S3Error


async def _source(data: bytes, step: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), step):
        yield data[i:i + step]


def _read(data: bytes, payload: str, step: int = 7) -> bytes:
    async def run() -> bytes:
        return b"".join([c async for c in decoded(_source(data, step), payload)])

    return asyncio.run(run())


def _chunked(parts: list[bytes], trailer: bytes = b"") -> bytes:
    out = b""
    for part in parts:
        out += f"{len(part):x};chunk-signature={'0' * 64}\r\n".encode() + part + b"\r\n"
    return out + f"0;chunk-signature={'0' * 64}\r\n".encode() + trailer + b"\r\n"


@pytest.mark.parametrize("step", [1, 5, 1000])
def test_aws_chunked(step: int) -> None:
    parts = [b"a" * 70, b"bc" * 33, b"z"]
    assert _read(_chunked(parts), "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", step) == b"".join(parts)
    trailer = b"x-amz-checksum-crc32:AAAAAA==\r\n"
    assert _read(_chunked(parts, trailer), "STREAMING-UNSIGNED-PAYLOAD-TRAILER", step) == b"".join(parts)


def test_malformed_chunks_fail() -> None:
    with pytest.raises(S3Error) as exc:
        _read(b"zz;chunk-signature=0\r\nabc", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    assert exc.value.code == "IncompleteBody"
    with pytest.raises(S3Error):
        _read(b"10;chunk-signature=0\r\nabc", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")


def test_signed_sha256() -> None:
    data = b"payload" * 100
    assert _read(data, hashlib.sha256(data).hexdigest()) == data
    with pytest.raises(S3Error) as exc:
        _read(data, hashlib.sha256(b"other").hexdigest())
    assert exc.value.code == "XAmzContentSHA256Mismatch" and exc.value.status == 400
    assert _read(data, "UNSIGNED-PAYLOAD") == data
