"""``limit``/``marker`` pagination and the ``*_links`` that point to the next page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from onestack.core.api.faults import BadRequest


@dataclass(frozen=True)
class Page:
    limit: int | None
    marker: str | None
    # Set when the listing takes one sort_key/sort_dir pair (Req.page with sort_keys).
    sort_key: str | None = None
    sort_dir: str | None = None


def page_params(request: Request, max_limit: int = 1000) -> Page:
    raw = request.query_params.get("limit")
    limit: int | None = None
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            raise BadRequest(f"limit must be an integer, got {raw!r}") from None
        if limit < 0:
            raise BadRequest("limit must be a non-negative integer")
        limit = min(limit, max_limit)
    return Page(limit=limit, marker=request.query_params.get("marker") or None)


def next_link(request: Request, items: Sequence[dict[str, Any]], page: Page, key: str = "id") -> str | None:
    """The URL of the next page, or None when this page was not full."""
    if page.limit is None or len(items) < page.limit or not items:
        return None
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    params.append(("marker", str(items[-1][key])))
    return f"{str(request.url).split('?')[0]}?{urlencode(params)}"


def links(request: Request, items: Sequence[dict[str, Any]], page: Page, collection: str) -> list[dict[str, str]]:
    """Nova/Cinder style ``<collection>_links``: one ``next`` link when there may be more."""
    nxt = next_link(request, items, page)
    return [{"rel": "next", "href": nxt}] if nxt else []
