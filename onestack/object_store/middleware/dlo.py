"""Swift's dlo middleware: dynamic large objects.

An object with ``X-Object-Manifest: <container>/<prefix>`` stands for the concatenation, in
listing order, of the objects of that container whose names start with the prefix, as they are
when it is read. GET and HEAD answer that concatenation: its total length, an ETag that is the
quoted md5 of the segments' etags, conditionals against it, and byte ranges across segments; the
listing and the segments are read as the caller. ``?multipart-manifest=get`` answers the manifest
object itself. A PUT's ``X-Object-Manifest`` must be ``container/prefix`` (400 otherwise)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

from onestack.object_store.errors import SwiftError
from onestack.object_store.middleware.large import (
    Piece,
    call,
    is_conditional,
    large_response,
    manifest_head,
    md5_hex,
    overlapping,
    status_line,
    token_headers,
    unquote_etag,
)
from onestack.object_store.proxy.request import (
    Handler,
    Headers,
    Middleware,
    SwiftRequest,
    SwiftResponse,
)
from onestack.object_store.state import ObjectStoreState

SOURCE = "DLO"
MAX_LISTING_PAGES = 100  # a manifest over more than a million segments is refused, not read forever


def split_manifest(value: str) -> tuple[str, str] | None:
    """``container/prefix`` of an X-Object-Manifest value (URL-quoted or not); None when malformed."""
    container, sep, prefix = value.partition("/")
    if not sep or not container or "?" in value or "&" in value or prefix.startswith("/"):
        return None
    return unquote(container), unquote(prefix)


class DynamicLargeObject:
    def __init__(self, state: ObjectStoreState, app: Handler) -> None:
        self.state = state
        self.app = app

    async def __call__(self, req: SwiftRequest) -> SwiftResponse:
        try:
            _v, account, container, obj = req.parts
        except ValueError:
            return await self.app(req)
        if account is None or container is None or obj is None:
            return await self.app(req)
        if req.method == "PUT" and "x-object-manifest" in req.headers:
            value = req.headers["x-object-manifest"]
            parsed = split_manifest(value)
            if parsed is None or not parsed[1]:
                raise SwiftError(400, "X-Object-Manifest must be in the format container/prefix")
            return await self.app(req)
        if req.method not in ("GET", "HEAD") or req.query.get("multipart-manifest") == "get":
            return await self.app(req)
        if is_conditional(req):
            head = await manifest_head(self.app, req)
            if not head.ok or "x-object-manifest" not in head.headers:
                return await self.app(req)
            return await self.answer(req, head.headers)
        resp = await self.app(req)
        if not resp.ok or "x-object-manifest" not in resp.headers:
            return resp
        await resp.close()
        return await self.answer(req, resp.headers)

    async def answer(self, req: SwiftRequest, headers: Headers) -> SwiftResponse:
        parsed = split_manifest(headers["x-object-manifest"])
        if parsed is None:
            raise SwiftError(409, "Invalid X-Object-Manifest on the object")
        container, prefix = parsed
        version, account, _c, _o = req.parts
        root = f"/{version}/{account}/{container}"
        listing = await self._listing(req, root, prefix)
        size = sum(int(item.get("bytes", 0)) for item in listing)
        etag = md5_hex("".join(unquote_etag(item.get("hash")) for item in listing).encode())
        base = headers.copy()

        async def pieces(start: int, end: int) -> AsyncIterator[Piece]:
            sized = ((item, int(item.get("bytes", 0))) for item in listing)
            for item, lo, hi in overlapping(sized, start, end):
                yield Piece(path=f"{root}/{item['name']}", start=lo, end=hi,
                            etag=unquote_etag(item.get("hash")) or None, full_size=int(item.get("bytes", 0)))

        return await large_response(req, self.app, base, size, etag, pieces, SOURCE)

    async def _listing(self, req: SwiftRequest, root: str, prefix: str) -> list[dict[str, Any]]:
        """Every object of the segment container under ``prefix``, page by page."""
        out: list[dict[str, Any]] = []
        marker = ""
        token = token_headers(req)
        for _page in range(MAX_LISTING_PAGES):
            query = {"format": "json", "prefix": prefix}
            if marker:
                query["marker"] = marker
            resp = await call(self.app, req.sub("GET", root, headers={**token, "accept": "application/json"},
                                                query=query, source=SOURCE))
            if resp.status == 404:
                await resp.close()
                return out
            if resp.status in (401, 403):
                await resp.close()
                raise SwiftError(resp.status)
            if not resp.ok:
                await resp.close()
                raise SwiftError(503, f"Could not list the segments of the manifest ({status_line(resp.status)})")
            body = await resp.read()
            if resp.status == 204 or not body.strip():
                return out
            try:
                page = json.loads(body)
            except ValueError:
                raise SwiftError(503, "Could not list the segments of the manifest") from None
            page = [item for item in page if isinstance(item, dict) and "name" in item]
            if not page:
                return out
            out.extend(page)
            marker = page[-1]["name"]
        raise SwiftError(409, "Too many segments in the manifest's container")


def factory(state: ObjectStoreState) -> Middleware | None:
    state.info.register("dlo")

    def middleware(app: Handler) -> Handler:
        return DynamicLargeObject(state, app)

    return middleware
