"""What SLO, DLO and bulk share: calling the pipeline below as a client would, Swift's Accept
negotiation for bulk answers, the GET/HEAD answer over a large object's whole length (Range and
conditionals by ``ranges.py`` and ``conditions.py``, the object server's own rules) and the
streamed concatenation of segments (Swift's SegmentedIterable).

A large object is never held in memory: each segment's GET is opened, streamed chunk by chunk to
the client and closed before the next one is opened, so a proxy's memory does not grow with the
object's size."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from onestack.object_store import accept, conditions, ranges
from onestack.object_store.errors import SwiftError, reason
from onestack.object_store.proxy.request import (
    Handler,
    Headers,
    SwiftRequest,
    SwiftResponse,
    error_response,
)

ACCEPTABLE_FORMATS = ("text/plain", "application/json", "application/xml", "text/xml")
# Response headers that describe the manifest object itself, never the large object it stands for.
MANIFEST_ONLY = ("content-length", "etag", "content-range", "transfer-encoding")


async def call(app: Handler, req: SwiftRequest) -> SwiftResponse:
    """``app(req)`` with a refusal turned into its response, as a WSGI sub-request would see it."""
    try:
        return await app(req)
    except SwiftError as err:
        return error_response(err)


def token_headers(req: SwiftRequest) -> dict[str, str]:
    """The caller's token for a segment or listing sub-request (read as the caller)."""
    return {"x-auth-token": req.headers["x-auth-token"]} if "x-auth-token" in req.headers else {}


def is_conditional(req: SwiftRequest) -> bool:
    return any(h in req.headers for h in (*conditions.HEADERS, "range"))


def unconditional_headers(req: SwiftRequest) -> dict[str, str]:
    return {k: v for k, v in req.headers.items() if k not in (*conditions.HEADERS, "range")}


async def manifest_head(app: Handler, req: SwiftRequest) -> SwiftResponse:
    """HEAD of the object itself without Range and conditionals: the object server would judge
    those against a manifest's own bytes, while they are about the large object it stands for."""
    head = await app(req.sub("HEAD", req.path, headers=unconditional_headers(req), query={"multipart-manifest": "get"}))
    await head.close()
    return head


def status_line(status: int) -> str:
    return f"{status} {reason(status)}"


def unquote_etag(value: str | None) -> str:
    return (value or "").strip().removeprefix("W/").strip('"')


def best_match(header: str | None) -> str | None:
    """The bulk report's format (swob's ``best_match`` over ACCEPTABLE_FORMATS); None when the
    header accepts none of them or is malformed (Swift's bulk ignores a malformed one), which
    the report answers with 406."""
    try:
        return accept.best_match(header, ACCEPTABLE_FORMATS)
    except ValueError:
        return None


# --- conditionals -----------------------------------------------------------------------------

def conditional_response(req: SwiftRequest, etag: str, headers: Headers) -> SwiftResponse | None:
    """swob's conditional answer (``conditions.evaluate``, the object server's rules) against the
    large object's own ETag: 304 or 412 with the object's headers and an empty body, else None."""
    status = conditions.evaluate(req.headers, status=200, etag=etag, last_modified=headers.get("last-modified"))
    if status is None:
        return None
    out = headers.copy()
    out["content-length"] = "0"
    return SwiftResponse(status, out, b"")


# --- segments ---------------------------------------------------------------------------------

@dataclass
class Piece:
    """Bytes [start, end) of one plain object (``path`` = /v1/a/c/o), or literal ``data``."""

    path: str
    start: int
    end: int
    etag: str | None = None  # the segment's whole ETag, checked when the server reports one
    data: bytes | None = None
    full_size: int | None = None  # the object's whole length, when the manifest knew it

    @property
    def length(self) -> int:
        return self.end - self.start


PieceSource = Callable[[int, int], AsyncIterator[Piece]]
T = TypeVar("T")


def overlapping(sized: Iterable[tuple[T, int]], start: int, end: int) -> Iterator[tuple[T, int, int]]:
    """The items (with their lengths, in order) whose bytes overlap [start, end) of their
    concatenation, each with that overlap as [lo, hi) within the item; stops at ``end``."""
    offset = 0
    for item, length in sized:
        seg_start, seg_end = offset, offset + length
        offset = seg_end
        if seg_end <= start:
            continue
        if seg_start >= end:
            break
        yield item, max(start, seg_start) - seg_start, min(end, seg_end) - seg_start
        if seg_end >= end:
            break  # without asking for the next item's length (decoding an inline data segment)


async def open_piece(app: Handler, req: SwiftRequest, piece: Piece, source: str) -> SwiftResponse:
    """The GET of one segment's bytes; 409 when it changed since the manifest named it."""
    headers = token_headers(req)
    whole = piece.start == 0 and piece.full_size is not None and piece.end == piece.full_size
    if not whole:
        headers["range"] = f"bytes={piece.start}-{piece.end - 1}"
    resp = await call(app, req.sub("GET", piece.path, headers=headers, source=source))
    if resp.status not in (200, 206):
        await resp.close()
        if resp.status in (401, 403):
            raise SwiftError(resp.status)
        raise SwiftError(409, f"Object segment no longer valid: {piece.path} ({status_line(resp.status)})")
    got = unquote_etag(resp.headers.get("etag"))
    if piece.etag and got and got != piece.etag:
        await resp.close()
        raise SwiftError(409, f"Object segment no longer valid: {piece.path} (Etag Mismatch)")
    return resp


async def _piece_bytes(resp: SwiftResponse, piece: Piece) -> AsyncIterator[bytes]:
    """The piece's bytes from its open GET (a 200 to a ranged GET is cut to the range)."""
    skip = piece.start if resp.status == 200 else 0
    remaining = piece.length
    try:
        body = resp.body
        chunks: AsyncIterator[bytes] = _once(body) if isinstance(body, bytes) else body
        async for chunk in chunks:
            if skip:
                if len(chunk) <= skip:
                    skip -= len(chunk)
                    continue
                chunk, skip = chunk[skip:], 0
            if len(chunk) > remaining:
                chunk = chunk[:remaining]
            remaining -= len(chunk)
            if chunk:
                yield chunk
            if not remaining:
                break
    finally:
        await resp.close()
    if remaining:
        # Too late for a status: end the stream short, so the client sees a truncated body.
        raise SwiftError(409, f"Object segment no longer valid: {piece.path} (short read)")


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def stream_pieces(app: Handler, req: SwiftRequest, pieces: AsyncIterator[Piece], source: str,
                        first: tuple[Piece, SwiftResponse] | None = None) -> AsyncIterator[bytes]:
    """The pieces' bytes in order, one segment GET open at a time."""
    if first is not None:
        async for chunk in _piece_bytes(first[1], first[0]):
            yield chunk
    async for piece in pieces:
        if piece.length <= 0:
            continue
        if piece.data is not None:
            yield piece.data[piece.start:piece.end]
            continue
        resp = await open_piece(app, req, piece, source)
        async for chunk in _piece_bytes(resp, piece):
            yield chunk


async def large_response(req: SwiftRequest, app: Handler, base: Headers, size: int, etag: str,
                         pieces_for: PieceSource, source: str) -> SwiftResponse:
    """The GET or HEAD answer for a large object of ``size`` bytes whose segments
    ``pieces_for(start, end)`` lists: conditionals, Range (206, multipart/byteranges, 416), the
    first segment opened before the status is sent so that a missing segment is still a 409."""
    headers = base.copy()
    for name in MANIFEST_ONLY:
        headers.pop(name, None)
    headers["etag"] = f'"{etag}"'
    headers["accept-ranges"] = "bytes"
    answer = conditional_response(req, etag, headers)
    if answer is not None:
        return answer
    wanted = ranges.byte_ranges(req.headers.get("range"), size)
    if req.method == "HEAD" or wanted is None or size == 0:
        headers["content-length"] = str(size)
        if req.method == "HEAD":
            return SwiftResponse(200, headers, b"")
        return SwiftResponse(200, headers, await _started(app, req, pieces_for(0, size), source))
    if not wanted:
        raise SwiftError(416, headers={**ranges.unsatisfiable_headers(size), "accept-ranges": "bytes"})
    if len(wanted) == 1:
        start, end = wanted[0]
        headers["content-length"] = str(end - start)
        headers["content-range"] = ranges.content_range(start, end, size)
        return SwiftResponse(206, headers, await _started(app, req, pieces_for(start, end), source))
    boundary = ranges.new_boundary()
    content_type = headers.get("content-type", "application/octet-stream")
    headers["content-type"] = ranges.multipart_content_type(boundary)
    headers["content-length"] = str(ranges.multipart_length(wanted, content_type, boundary, size))

    def read(start: int, end: int) -> AsyncIterator[bytes]:
        return stream_pieces(app, req, pieces_for(start, end), source)

    return SwiftResponse(206, headers, ranges.multipart_body(wanted, content_type, boundary, size, read))


async def _started(app: Handler, req: SwiftRequest, pieces: AsyncIterator[Piece], source: str) -> AsyncIterator[bytes]:
    """Open the first object-backed piece now (its error is still a status), then stream the rest."""
    leading: list[Piece] = []
    first: tuple[Piece, SwiftResponse] | None = None
    async for piece in pieces:
        if piece.length <= 0:
            continue
        if piece.data is not None:
            leading.append(piece)
            continue
        first = (piece, await open_piece(app, req, piece, source))
        break

    async def body() -> AsyncIterator[bytes]:
        for piece in leading:
            yield piece.data[piece.start:piece.end] if piece.data is not None else b""
        if first is not None:
            async for chunk in stream_pieces(app, req, pieces, source, first):
                yield chunk

    return body()


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()

