"""Swift's listing_formats: account and container listings in the format the client asked for.

The controllers (and every middleware below this one) always see JSON listings: the format is
taken from ``?format=json|xml|plain`` or else the Accept header, removed from the request, and the
JSON answer turned into plain text (one name per line; 204 when empty), JSON, or Swift's XML
documents (``<account name=...>`` / ``<container name=...>``) on the way out.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from onestack.object_store import accept as accept_
from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.request import Handler, Middleware, SwiftRequest, SwiftResponse
from onestack.object_store.state import ObjectStoreState

FORMATS = {"json": "application/json", "xml": "application/xml", "plain": "text/plain"}
OFFERED = ("text/plain", "application/json", "application/xml", "text/xml")


def content_type_of(req: SwiftRequest) -> str:
    """Swift's get_listing_content_type: 406 when the Accept header allows none of the formats."""
    fmt = req.query.pop("format", None)
    if fmt is not None:
        return FORMATS.get(fmt.lower(), FORMATS["plain"])
    accept = req.headers.get("accept")
    if not accept:
        return FORMATS["plain"]
    try:
        chosen = accept_.best_match(accept, OFFERED)
    except ValueError:
        raise SwiftError(400, "Invalid Accept header") from None
    if chosen is None:
        raise SwiftError(406)
    return chosen


def to_text(listing: list[dict[str, Any]]) -> bytes:
    return b"".join((item.get("name") or item.get("subdir") or "").encode() + b"\n" for item in listing)


def to_xml(listing: list[dict[str, Any]], root: str, name: str) -> bytes:
    fields = ("name", "count", "bytes", "last_modified") if root == "account" else \
        ("name", "hash", "bytes", "content_type", "last_modified")
    doc = Element(root, name=name)
    for record in listing:
        record = dict(record)
        if "subdir" in record:
            subdir = record.pop("subdir")
            sub = SubElement(doc, "subdir", name=subdir)
            SubElement(sub, "name").text = subdir
        else:
            sub = SubElement(doc, "container" if root == "account" else "object")
            for field in fields:
                SubElement(sub, field).text = str(record.pop(field, ""))
        for field in sorted(record):
            SubElement(sub, field).text = str(record[field])
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(doc, encoding="unicode").encode()


def factory(state: ObjectStoreState) -> Middleware | None:
    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            try:
                _, account, container, obj = req.parts
            except ValueError:
                return await app(req)
            if account is None or obj is not None or req.method not in ("GET", "HEAD"):
                return await app(req)
            content_type = content_type_of(req)
            resp = await app(req)
            if not resp.ok or resp.headers.get("content-type", "").split(";")[0] != "application/json":
                return resp
            original_type = resp.headers["content-type"]
            resp.headers["content-type"] = f"{content_type}; charset=utf-8"
            if req.method == "HEAD" or content_type == "application/json":
                return resp
            raw = await resp.read()
            try:
                listing = json.loads(raw)
            except ValueError:  # UnicodeDecodeError too: an object static web answered, not a listing
                listing = None
            if not isinstance(listing, list) or not all(isinstance(item, dict) for item in listing):
                # As Swift's listing_formats: whatever is not a listing passes straight through.
                resp.headers["content-type"] = original_type
                return resp
            if content_type == "text/plain":
                body = to_text(listing)
            else:
                body = to_xml(listing, "container" if container else "account", container or account)
            resp.status = 200 if body else 204
            resp.body = body
            resp.headers["content-length"] = str(len(body))
            return resp

        return handle

    return middleware
