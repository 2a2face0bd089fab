"""Shapes shared by every identity response: self links and collection envelopes."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request


def base_url(request: Request) -> str:
    """``http://host:port/identity`` — the identity root as the client reached it."""
    root = str(request.base_url).rstrip("/")
    mount: str = request.scope.get("root_path", "")
    return root + mount


def self_link(request: Request, path: str) -> dict[str, str]:
    return {"self": f"{base_url(request)}/v3/{path}"}


def with_link(request: Request, doc: dict[str, Any], collection: str) -> dict[str, Any]:
    doc["links"] = self_link(request, f"{collection}/{doc['id']}")
    return doc


def collection(
    request: Request, name: str, items: list[dict[str, Any]], *, truncated: bool = False
) -> dict[str, Any]:
    """``{"<name>": [...], "links": {...}}`` plus ``truncated`` when a list limit cut it short."""
    url = str(request.url).split("?")[0]
    if request.url.query:
        url += f"?{request.url.query}"
    body: dict[str, Any] = {name: items, "links": {"self": url, "previous": None, "next": None}}
    if truncated:
        body["truncated"] = True
    return body
