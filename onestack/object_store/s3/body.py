"""An S3 request's body as Swift should store it: the signed SHA-256 checked as it streams, and
aws-chunked (``STREAMING-*`` payloads) decoded to the object's bytes."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from onestack.object_store.s3.auth import STREAMING, UNSIGNED
from onestack.object_store.s3.errors import S3Error

MAX_CHUNK_HEADER = 4096


async def _checked(source: AsyncIterator[bytes], expected: str) -> AsyncIterator[bytes]:
    digest = hashlib.sha256()
    async for chunk in source:
        digest.update(chunk)
        yield chunk
    # Raised before the last chunk is acknowledged: the object server never commits the write.
    if digest.hexdigest() != expected:
        raise S3Error("XAmzContentSHA256Mismatch", ClientComputedContentSHA256=expected, S3ComputedContentSHA256=digest.hexdigest())


class _Reader:
    def __init__(self, source: AsyncIterator[bytes]) -> None:
        self.source = source
        self.buf = bytearray()
        self.done = False

    async def _more(self) -> bool:
        if self.done:
            return False
        try:
            self.buf += await self.source.__anext__()
        except StopAsyncIteration:
            self.done = True
            return False
        return True

    async def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if len(self.buf) > MAX_CHUNK_HEADER or not await self._more():
                raise S3Error("IncompleteBody", "The aws-chunked body is malformed")
        at = self.buf.index(b"\r\n")
        out = bytes(self.buf[:at])
        del self.buf[:at + 2]
        return out

    async def take(self, n: int) -> AsyncIterator[bytes]:
        while n > 0:
            if not self.buf and not await self._more():
                raise S3Error("IncompleteBody")
            piece = bytes(self.buf[:n])
            del self.buf[:len(piece)]
            n -= len(piece)
            yield piece


async def _dechunk(source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    reader = _Reader(source)
    while True:
        header = (await reader.line()).split(b";", 1)[0].strip()
        try:
            size = int(header, 16)
        except ValueError:
            raise S3Error("IncompleteBody", "The aws-chunked body is malformed") from None
        if size == 0:
            break
        async for piece in reader.take(size):
            yield piece
        if await reader.line() != b"":
            raise S3Error("IncompleteBody", "The aws-chunked body is malformed")
    # Trailers (x-amz-checksum-…) up to the empty line; their values are not kept.
    while True:
        try:
            if await reader.line() == b"":
                break
        except S3Error:
            if reader.buf.strip():
                raise
            break  # the body ended without the closing empty line: nothing of the object is missing


def decoded(source: AsyncIterator[bytes], payload: str) -> AsyncIterator[bytes]:
    """The object's bytes of a body sent with ``x-amz-content-sha256: payload``."""
    if payload in STREAMING:
        return _dechunk(source)
    if payload == UNSIGNED or not payload:
        return source
    return _checked(source, payload)
