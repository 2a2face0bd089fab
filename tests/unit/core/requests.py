"""Build a Starlette ``Request`` for the core helpers that read one (no server needed)."""

from __future__ import annotations

from starlette.requests import Request


def make_request(path: str = "/v2.1/servers", query: str = "", headers: dict[str, str] | None = None,
                 extra_headers: list[tuple[str, str]] | None = None) -> Request:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (extra_headers or [])]
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "server": ("127.0.0.1", 5000),
        "root_path": "",
        "path": path,
        "query_string": query.encode("latin-1"),
        "headers": raw,
    }
    return Request(scope)
