"""Shapes shared by every identity response: self links and collection envelopes."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.identity.api.conventions import Req


def self_link(req: Req, path: str) -> dict[str, str]:
    return {"self": req.url_for(f"/v3/{path}")}


def with_link(req: Req, doc: dict[str, Any], collection_path: str) -> dict[str, Any]:
    doc["links"] = self_link(req, f"{collection_path}/{doc['id']}")
    return doc


def collection(req: Req, name: str, items: list[dict[str, Any]], *, truncated: bool = False) -> dict[str, Any]:
    """``{"<name>": [...], "links": {...}}`` plus ``truncated`` when a list limit cut it short."""
    url = str(req.request.url).split("?")[0]
    if req.request.url.query:
        url += f"?{req.request.url.query}"
    body: dict[str, Any] = {name: items, "links": {"self": url, "previous": None, "next": None}}
    if truncated:
        body["truncated"] = True
    return body


def linked(req: Req, name: str, items: list[dict[str, Any]], collection_path: str) -> Response:
    """A collection response with each item's self link."""
    return json_response(collection(req, name, [with_link(req, item, collection_path) for item in items]))


def listing(req: Req, name: str, items: list[dict[str, Any]], collection_path: str) -> Response:
    """A collection response, cut at ``identity.list_limit`` (with ``truncated``) when one is set."""
    limit = req.state.config.identity.list_limit
    truncated = bool(limit) and len(items) > limit
    shown = items[:limit] if truncated else items
    docs = [with_link(req, item, collection_path) for item in shown]
    return json_response(collection(req, name, docs, truncated=truncated))
