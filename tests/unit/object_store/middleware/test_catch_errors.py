"""catch_errors turns a failure below it into Swift's 500 and lets SwiftError answers through."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from onestack.object_store.errors import SwiftError
from onestack.object_store.middleware import catch_errors, gatekeeper
from onestack.object_store.proxy.request import (
    Handler,
    Headers,
    Middleware,
    RequestContext,
    SwiftRequest,
    SwiftResponse,
)


async def broken(req: SwiftRequest) -> SwiftResponse:
    raise RuntimeError("a bug")


async def refusing(req: SwiftRequest) -> SwiftResponse:
    raise SwiftError(404)


def state() -> Any:
    class Info:
        def register(self, name: str, **data: Any) -> None:
            pass

    class State:
        info = Info()
    return State()


def wrapped(factory: Callable[[Any], Middleware | None], app: Handler) -> Handler:
    middleware = factory(state())
    assert middleware is not None  # these middlewares are always on
    return middleware(app)


def run(handler: Handler, req: SwiftRequest) -> SwiftResponse:
    async def main() -> SwiftResponse:
        return await handler(req)
    return asyncio.run(main())


def test_unexpected_exception_is_swifts_500(caplog: pytest.LogCaptureFixture) -> None:
    handler = wrapped(catch_errors.factory, broken)
    req = SwiftRequest("GET", "/v1/AUTH_a/c", ctx=RequestContext(request_id="tx-1"))
    with caplog.at_level(logging.ERROR):
        resp = run(handler, req)
    assert (resp.status, resp.body, resp.headers["content-type"]) == (500, b"An error occurred", "text/plain")
    assert "tx-1" in caplog.text and "a bug" in caplog.text
    resp = run(wrapped(catch_errors.factory, refusing), req)
    assert isinstance(resp.body, bytes)
    assert resp.status == 404 and b"Not Found" in resp.body


def test_gatekeeper_strips_both_ways() -> None:
    seen: dict[str, str] = {}

    async def app(req: SwiftRequest) -> SwiftResponse:
        seen.update(req.headers)
        return SwiftResponse(200, Headers({"x-object-sysmeta-a": "1", "x-backend-b": "2", "x-object-meta-c": "3"}))

    handler = wrapped(gatekeeper.factory, app)
    req = SwiftRequest("PUT", "/v1/AUTH_a/c/o", headers=Headers({
        "X-Object-Sysmeta-Evil": "1", "X-Backend-Storage-Policy-Index": "9", "X-Object-Transient-Sysmeta-X": "1",
        "X-Container-Host": "h", "X-Timestamp": "1.0", "X-Object-Meta-Ok": "y"}))
    resp = run(handler, req)
    assert seen == {"x-object-meta-ok": "y", "x-backend-inbound-x-timestamp": "1.0"}
    assert dict(resp.headers) == {"x-object-meta-c": "3"}
