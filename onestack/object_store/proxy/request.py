"""The proxy's request and response: what every middleware and controller takes and returns.

Swift's proxy is a WSGI pipeline in which each middleware sees the request, may answer it, may
pass it down, and may make sub-requests to the part of the pipeline below it (SLO reading its
segments, versioning copying an object). The same here, typed: a ``Handler`` takes a
``SwiftRequest`` and returns a ``SwiftResponse``; a middleware is a function from the handler
below it to a new handler (``pipeline.py`` assembles them in Swift's order).

Authorization is Swift's too: authtoken sets ``ctx.auth`` (who), keystoneauth sets
``ctx.authorize`` (may they), and the controllers call ``req.authorize()`` once they know the
container's ACLs (``req.acl``), so sub-requests that middleware makes are checked like the
user's own. Middleware that authorizes by other means (temp URLs, form POST, static web) replaces
``ctx.authorize``; ``pre_authed()`` makes a request that is not checked at all (the proxy's own
housekeeping: the expirer, async pendings, versioning's hidden containers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from onestack.core.auth import AuthContext
from onestack.object_store.errors import SwiftError
from onestack.object_store.obj.client import StreamedBody


class Headers(MutableMapping[str, str]):
    """Case-insensitive headers; names are kept lower-case (HTTP/1.1 and every client ignore case)."""

    def __init__(self, items: Any = None) -> None:
        self._d: dict[str, str] = {}
        if items:
            for key, value in (items.items() if hasattr(items, "items") else items):
                self[key] = value

    def __getitem__(self, key: str) -> str:
        return self._d[key.lower()]

    def __setitem__(self, key: str, value: str) -> None:
        self._d[key.lower()] = str(value)

    def __delitem__(self, key: str) -> None:
        del self._d[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._d

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __repr__(self) -> str:
        return f"Headers({self._d!r})"

    def copy(self) -> Headers:
        return Headers(self._d)

    def with_prefix(self, prefix: str) -> dict[str, str]:
        """The headers whose name starts with ``prefix`` (lower-case), e.g. ``x-object-meta-``."""
        return {k: v for k, v in self._d.items() if k.startswith(prefix)}


class Body:
    """A request body read once, as chunks or all at once; ``b""`` when there is none."""

    def __init__(self, source: AsyncIterator[bytes] | bytes = b"") -> None:
        self._source = source
        self.consumed = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        if isinstance(self._source, bytes):
            data, self._source = self._source, b""
            if data:
                self.consumed += len(data)
                yield data
            return
        async for chunk in self._source:
            if chunk:
                self.consumed += len(chunk)
                yield chunk

    async def read(self, limit: int | None = None) -> bytes:
        """All of it; 413 when it is longer than ``limit``."""
        out = bytearray()
        async for chunk in self.chunks():
            out += chunk
            if limit is not None and len(out) > limit:
                raise SwiftError(413)
        return bytes(out)


Authorizer = Callable[["SwiftRequest"], Awaitable[None]]  # raises SwiftError(401 or 403) to refuse


@dataclass
class RequestContext:
    auth: AuthContext | None = None  # the validated token's caller, when there was one
    authorize: Authorizer | None = None  # None: allowed (Swift's env without swift.authorize)
    source: str = ""  # the middleware that made this sub-request (Swift's swift.source), "" for the user's
    request_id: str = ""
    remote_addr: str = ""
    # Temp URL / form POST / S3 requests name the account whose key or credential signed them.
    signed_by: str = ""
    # A request no authorization checks (the proxy's own housekeeping; ``pre_authed()``).
    pre_authed: bool = False
    # Per-request cache of account/container info the controllers and middleware share.
    cache: dict[str, Any] = field(default_factory=dict)


def decode_text(value: str) -> str:
    """Percent-decoded client text that names something (a path, a Destination, an account):
    it must be UTF-8 and hold no NUL, else 412 as Swift answers a bad URL."""
    try:
        text = unquote_to_bytes(value).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SwiftError(412, "Invalid UTF8 or contains NULL") from exc
    if "\x00" in text:
        raise SwiftError(412, "Invalid UTF8 or contains NULL")
    return text


def split_path(path: str) -> tuple[str, str | None, str | None, str | None]:
    """``/v1/a/c/o`` → (version, account, container, object); the object keeps its slashes.
    Empty segments before the object are not allowed (``/v1//c``): ValueError."""
    if not path.startswith("/"):
        raise ValueError(path)
    parts = path[1:].split("/", 3)
    version = parts[0]
    account = parts[1] if len(parts) > 1 else None
    container = parts[2] if len(parts) > 2 else None
    obj = parts[3] if len(parts) > 3 else None
    if not version or account == "" and (container is not None) or container == "" and obj is not None:
        raise ValueError(path)
    return version, account or None, container or None, obj or None


@dataclass
class SwiftRequest:
    method: str
    path: str  # percent-decoded, UTF-8: "/v1/AUTH_<project>/container/object"
    query: dict[str, str] = field(default_factory=dict)  # the first value of each parameter
    headers: Headers = field(default_factory=Headers)
    body: Body = field(default_factory=Body)
    ctx: RequestContext = field(default_factory=RequestContext)
    acl: str | None = None  # the container ACL the controller found for this method (read or write)
    host_url: str = ""  # scheme://host:port the client used (for Location headers and static web)
    script_name: str = ""  # the mount prefix ("/object-store"), for URLs the client must follow

    @property
    def parts(self) -> tuple[str, str | None, str | None, str | None]:
        return split_path(self.path)

    @property
    def account(self) -> str | None:
        return self.parts[1]

    @property
    def container(self) -> str | None:
        return self.parts[2]

    @property
    def obj(self) -> str | None:
        return self.parts[3]

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("content-length")
        if value is None:
            return None
        if not value.isdigit():
            raise SwiftError(400, "Invalid Content-Length header value")
        return int(value)

    @property
    def url(self) -> str:
        return f"{self.host_url}{self.script_name}{quote(self.path)}"

    async def authorize(self) -> None:
        if self.ctx.authorize is not None and not self.ctx.pre_authed:
            await self.ctx.authorize(self)

    def sub(self, method: str, path: str, *, headers: dict[str, str] | Headers | None = None,
            body: bytes | AsyncIterator[bytes] = b"", query: dict[str, str] | None = None,
            source: str = "") -> SwiftRequest:
        """A sub-request with this request's caller and authorization (Swift's make_subrequest).
        A path built from client text (a COPY's Destination, a manifest) is checked as the adapter
        checks a client's: no NUL, which no database column can hold."""
        if "\x00" in path:
            raise SwiftError(412, "Invalid UTF8 or contains NULL")
        ctx = replace(self.ctx, source=source or self.ctx.source, cache=self.ctx.cache)
        return SwiftRequest(method=method, path=path, query=dict(query or {}), headers=Headers(headers or {}),
                            body=Body(body), ctx=ctx, host_url=self.host_url, script_name=self.script_name)

    def pre_authed(self, method: str, path: str, **kwargs: Any) -> SwiftRequest:
        """A sub-request no authorization checks (Swift's make_pre_authed_request)."""
        sub = self.sub(method, path, **kwargs)
        sub.ctx = replace(sub.ctx, authorize=None, pre_authed=True)
        return sub


@dataclass
class SwiftResponse(StreamedBody):
    status: int
    headers: Headers = field(default_factory=Headers)
    body: bytes | AsyncIterator[bytes] = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


Handler = Callable[[SwiftRequest], Awaitable[SwiftResponse]]
Middleware = Callable[[Handler], Handler]


def error_response(err: SwiftError) -> SwiftResponse:
    body = err.body
    headers = Headers(err.headers)
    if body and "content-type" not in headers:
        headers["content-type"] = "text/html; charset=UTF-8" if err.detail is None else "text/plain; charset=UTF-8"
    headers["content-length"] = str(len(body))
    return SwiftResponse(err.status, headers, body)
