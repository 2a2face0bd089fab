"""The ASGI application factory: each service mounts under its own path prefix on one port."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onestack.core.api.faults import (
    ApiError,
    BadRequest,
    ErrorRenderer,
    MethodNotAllowed,
    NotFound,
)
from onestack.core.api.microversion import MicroversionMiddleware, MicroversionPolicy
from onestack.core.api.parse import unstorable
from onestack.core.api.routing import IndexedRouter

log = logging.getLogger("onestack.api")

REQUEST_ID_HEADER = "x-openstack-request-id"
_REQUEST_ID_RE = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass
class Service:
    """One API service as mounted into the process."""

    name: str  # catalog type, e.g. "identity"
    prefix: str  # mount path, e.g. "/identity"
    routes: Sequence[BaseRoute]
    render_error: ErrorRenderer
    state: dict[str, Any] = field(default_factory=dict)
    ready: Callable[[], bool] = lambda: True
    # Services with microversions (compute, volume, placement) negotiate them for every
    # request whose path (below the mount) starts with ``versioned_prefix``.
    microversion: MicroversionPolicy | None = None
    versioned_prefix: str = "/"
    # Routes served at the process's root, outside the prefix (compute's noVNC console proxy).
    root_routes: Sequence[BaseRoute] = ()
    # More headers carrying the request id on every answer of the service (compute's
    # ``x-compute-request-id``, as Nova's compute_req_id middleware sends beside the standard one).
    request_id_headers: tuple[str, ...] = ()
    # ASGI wrappers around the service's app, innermost first (volume's ProjectInUrl).
    middleware: Sequence[Callable[[ASGIApp], ASGIApp]] = ()
    # Refuse URLs that are not UTF-8 or hold a NUL with the service's 400 (``UrlGuard``); a service
    # with its own answer for them (Swift's 412) checks them itself.
    guard_urls: bool = True


def new_request_id() -> str:
    return f"req-{uuid.uuid4()}"


class RequestContextMiddleware:
    """Stamps every response with a request id and logs one line per request.

    An incoming valid ``X-OpenStack-Request-ID`` is kept as the global request id and
    chained in the log line, as oslo.middleware does; the response carries our own id.
    """

    def __init__(self, app: ASGIApp, log_requests: bool = True) -> None:
        self.app = app
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        global_id = None
        for name, value in scope["headers"]:
            if name == b"x-openstack-request-id":
                candidate = value.decode("latin-1")
                if _REQUEST_ID_RE.match(candidate):
                    global_id = candidate
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["global_request_id"] = global_id
        started = time.perf_counter()
        status_holder = [500]
        header = (REQUEST_ID_HEADER.encode(), request_id.encode())

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if self.log_requests:
                auth = state.get("auth")
                log.info(
                    "%s %s %s status=%s ms=%.1f user=%s project=%s%s",
                    request_id,
                    scope["method"],
                    scope["path"],
                    status_holder[0],
                    (time.perf_counter() - started) * 1000,
                    getattr(auth, "user_id", "-") or "-",
                    getattr(auth, "project_id", "-") or "-",
                    f" global={global_id}" if global_id else "",
                )


def build_service_app(service: Service, max_body_size: int) -> ASGIApp:
    """A Starlette app for one service whose every error has the service's own shape."""

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return service.render_error(exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            err: ApiError = MethodNotAllowed("The method specified is not allowed for the requested resource.")
        elif exc.status_code == 404:
            err = NotFound("The resource could not be found.")
        else:
            err = ApiError(str(exc.detail), status=exc.status_code)
        return service.render_error(err)

    # The crash guard sits inside Starlette's ServerErrorMiddleware, so that one never sees an
    # exception: it would re-raise it to uvicorn, which logs it again and drops the connection.
    app = Starlette(
        routes=list(service.routes),
        middleware=[Middleware(CrashGuard, render_error=service.render_error),
                    *([Middleware(UrlGuard, render_error=service.render_error)] if service.guard_urls else [])],
        exception_handlers={ApiError: on_api_error, HTTPException: on_http_error},
    )
    app.router = IndexedRouter(app.router.routes)
    app.state.max_body_size = max_body_size
    app.state.service = service
    for key, value in service.state.items():
        setattr(app.state, key, value)
    wrapped: ASGIApp = app
    for wrap in service.middleware:
        wrapped = wrap(wrapped)
    if service.microversion is not None:
        wrapped = MicroversionMiddleware(wrapped, service.microversion, service.render_error, service.versioned_prefix)
    if service.request_id_headers:
        wrapped = RequestIdHeaders(wrapped, service.request_id_headers)
    return wrapped


class RequestIdHeaders:
    """Adds the request id (set by RequestContextMiddleware) under more names to every answer."""

    def __init__(self, app: ASGIApp, names: Sequence[str]) -> None:
        self.app = app
        self.names = [name.lower().encode() for name in names]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = scope.get("state", {}).get("request_id") if scope["type"] == "http" else None
        if not request_id:
            await self.app(scope, receive, send)
            return
        extra = [(name, request_id.encode()) for name in self.names]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_wrapper)


class CrashGuard:
    """Turns an unhandled exception into the service's own 500 and keeps the connection.

    The exception is logged once, with its traceback and the request id, and not re-raised: a
    re-raised exception reaches uvicorn, which closes the keep-alive connection under a client
    that has already read its answer (its next request on it fails with a reset). When the
    response had already started, no answer can be sent any more; returning without finishing it
    makes the server close that one connection, as it must.
    """

    def __init__(self, app: ASGIApp, render_error: ErrorRenderer) -> None:
        self.app = app
        self.render_error = render_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception:
            request_id = scope.get("state", {}).get("request_id", "-")
            log.exception("%s unhandled error in %s %s", request_id, scope["method"], scope["path"])
            if started:
                return
            err = ApiError("An unexpected error prevented the server from fulfilling your request.")
            err.request_id = request_id  # type: ignore[attr-defined]  # placement's error body names it
            await self.render_error(err)(scope, receive, send)


def url_problem(raw_path: bytes, query: bytes) -> str | None:
    """Why a request URL cannot be served, or None.

    Every id, name and filter in a URL is text that gets compared with, or stored as, database
    text: it must decode as UTF-8 (a lone surrogate does not) and hold no NUL, which PostgreSQL
    cannot take at all (a query with one failed with a 500 instead of finding nothing).
    """
    for part in (raw_path, query.replace(b"+", b" ")):
        if b"%" not in part and part.isascii() and b"\x00" not in part:
            continue  # the common case, decided without decoding
        try:
            text = unquote_to_bytes(part).decode("utf-8")
        except UnicodeDecodeError:
            return "Invalid URL: it is not UTF-8 text."
        why = unstorable(text)  # the one rule for what text can be stored (a NUL, here)
        if why is not None:
            return f"Invalid URL: it contains {why}."
    return None


class UrlGuard:
    """Refuses a URL no handler could serve faithfully (``url_problem``) in the service's shape, with 400."""

    def __init__(self, app: ASGIApp, render_error: ErrorRenderer) -> None:
        self.app = app
        self.render_error = render_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogatepass")
            problem = url_problem(raw_path, scope.get("query_string", b""))
            if problem is not None:
                err = BadRequest(problem)
                err.request_id = scope.get("state", {}).get("request_id", "")  # type: ignore[attr-defined]
                await self.render_error(err)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def build_root_app(
    services: Sequence[Service],
    *,
    max_body_size: int,
    log_requests: bool = True,
    lifespan: Callable[[Starlette], Any] | None = None,
) -> ASGIApp:
    """All services under their prefixes, plus ``/healthz`` and a root version index."""

    async def healthz(request: Request) -> Response:
        pending = [s.name for s in services if not s.ready()]
        if pending:
            return JSONResponse({"status": "starting", "waiting_for": pending}, status_code=503)
        return JSONResponse({"status": "ok", "services": [s.name for s in services]})

    async def index(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse({"services": {s.name: f"{base}{s.prefix}" for s in services}})

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/", index, methods=["GET", "HEAD"]),
    ]
    for service in services:
        routes.extend(service.root_routes)
        routes.append(Mount(service.prefix, app=build_service_app(service, max_body_size)))
    root = Starlette(routes=routes, lifespan=lifespan)
    return RequestContextMiddleware(_ExactPrefix(root, [s.prefix for s in services]), log_requests=log_requests)


class _ExactPrefix:
    """Serves ``/identity`` as ``/identity/`` instead of redirecting: clients discover there."""

    def __init__(self, app: ASGIApp, prefixes: list[str]) -> None:
        self.app = app
        self.prefixes = set(prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.prefixes:
            scope = dict(scope, path=scope["path"] + "/", raw_path=(scope["path"] + "/").encode())
        await self.app(scope, receive, send)


Startup = Callable[[], Awaitable[None]]

__all__ = ["NotFound", "Service", "build_root_app", "build_service_app", "new_request_id"]
