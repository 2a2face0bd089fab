"""An unhandled exception answers the service's own 500 and leaves the keep-alive connection usable.

A real uvicorn server on 127.0.0.1 (as ``onestack up`` runs it) serves an app built by the shared
factory with one route that raises; one HTTP/1.1 connection then asks for the crash and for a
working route. Were the exception re-raised to uvicorn, it would close the connection after the
500 and the second request on it would fail with a reset.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from onestack.core.api.app import Service, build_root_app
from onestack.core.api.faults import nova_error, placement_error
from onestack.core.api.microversion import MicroversionPolicy, Version


class Bug(Exception):
    pass


async def crash(request: Request) -> Response:
    raise Bug("a bug in a handler")


async def fine(request: Request) -> Response:
    return PlainTextResponse("fine")


async def crash_midway(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        yield b"partial"
        raise Bug("a bug after the answer started")

    return StreamingResponse(body(), media_type="text/plain")


def _services() -> list[Service]:
    routes = [Route("/v2.1/crash", crash), Route("/v2.1/fine", fine), Route("/v2.1/midway", crash_midway)]
    compute = Service(name="compute", prefix="/compute", routes=routes, render_error=nova_error,
                      microversion=MicroversionPolicy("compute", Version(2, 1), Version(2, 5)),
                      versioned_prefix="/v2.1/")
    placement = Service(name="placement", prefix="/placement", routes=[Route("/crash", crash)],
                        render_error=placement_error)
    return [compute, placement]


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    app = build_root_app(_services(), max_body_size=1024)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)  # polled with a deadline: the server says when it listens
    assert server.started, "uvicorn did not start"
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    thread.join(timeout=10)


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, dict[str, str], bytes]:
    conn.request("GET", path)
    resp = conn.getresponse()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()


def test_500_keeps_the_connection(port: int, caplog: pytest.LogCaptureFixture) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        status, headers, body = _get(conn, "/compute/v2.1/crash")
        assert status == 500
        assert json.loads(body) == {"computeFault": {
            "code": 500, "message": "An unexpected error prevented the server from fulfilling your request."}}
        assert headers["openstack-api-version"] == "compute 2.1"  # the answer went through the whole stack
        assert headers.get("connection", "").lower() != "close"
        sock = conn.sock
        assert sock is not None
        # The same socket serves the next requests: http.client reconnects only when it was closed.
        assert _get(conn, "/compute/v2.1/fine")[:1] == (200,)
        status, _, body = _get(conn, "/placement/crash")
        assert conn.sock is sock
        assert status == 500 and json.loads(body)["errors"][0]["status"] == 500
        assert json.loads(body)["errors"][0]["request_id"].startswith("req-")
        assert _get(conn, "/compute/v2.1/fine")[2] == b"fine"
        assert conn.sock is sock
    finally:
        conn.close()
    # Logged once each, with the traceback and the request id; nothing reached uvicorn's own handler.
    crashes = [r for r in caplog.records if r.exc_info and r.exc_info[0] is Bug]
    assert len(crashes) == 2
    assert all(r.name == "onestack.api" and r.getMessage().startswith("req-") for r in crashes)
    assert not [r for r in caplog.records if r.name.startswith("uvicorn") and r.levelno >= logging.ERROR]


def test_crash_after_the_answer_started_closes_only_that_connection(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/compute/v2.1/midway")
        resp = conn.getresponse()
        assert resp.status == 200
        with pytest.raises(http.client.IncompleteRead):  # a cut-short body must not look complete
            resp.read()
    finally:
        conn.close()
    fresh = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        assert _get(fresh, "/compute/v2.1/fine")[2] == b"fine"
    finally:
        fresh.close()
