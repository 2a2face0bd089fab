"""The noVNC console proxy, on the cloud's own port (nova-novncproxy's job, without a port of its own).

``GET /novnc/vnc_lite.html`` is the viewer page the API's console URLs name; its ``path``
parameter (``?token=…``) is where the viewer opens its websocket, below the host's root as
noVNC does, so the websocket is served at ``/`` (and at ``/websockify``). The token comes in the
query, or in a ``token`` cookie as older noVNC sends it; an unknown or expired one is refused
before the upgrade. A good one connects over TCP to the guest's VNC server where the host said
it listens (``CONNECT <internal_access_path>`` first when the host multiplexes guests, as
nova-novncproxy does) and relays bytes both ways.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from http.cookies import CookieError, SimpleCookie
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from onestack.compute.service import consoles
from onestack.core.db import Database

log = logging.getLogger("onestack.compute.novncproxy")

NOVNC_PAGE = "/novnc/vnc_lite.html"
CONNECT_TIMEOUT = 10.0  # seconds to reach the guest's VNC server and hear its CONNECT answer
POLICY_VIOLATION = 1008  # the close code of a refused upgrade (Starlette answers it with HTTP 403)


def token_of(ws: WebSocket) -> str:
    """The console token from the query, else from noVNC's ``token`` cookie (as Nova reads it)."""
    token = ws.query_params.get("token", "")
    if token:
        return token
    cookie: SimpleCookie = SimpleCookie()
    for part in ws.headers.get("cookie", "").split(";"):
        with contextlib.suppress(CookieError):
            cookie.load(part.strip())
    morsel = cookie.get("token")
    return morsel.value if morsel is not None else ""


async def open_guest(target: dict[str, Any]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the guest's VNC server, past the host's CONNECT step when it has one."""
    reader, writer = await asyncio.open_connection(target["host"], target["port"])
    path = target.get("internal_access_path")
    if path:
        writer.write(f"CONNECT {path} HTTP/1.1\r\n\r\n".encode())
        await writer.drain()
        answer = await reader.readuntil(b"\r\n\r\n")
        if b"200" not in answer.split(b"\r\n", 1)[0]:
            writer.close()
            raise ConnectionError(f"the VNC server refused {path}: {answer.splitlines()[0]!r}")
    return reader, writer


async def _to_guest(ws: WebSocket, writer: asyncio.StreamWriter) -> None:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("bytes")
        if data is None and message.get("text") is not None:
            data = message["text"].encode("latin-1")
        if data:
            writer.write(data)
            await writer.drain()


async def _to_viewer(ws: WebSocket, reader: asyncio.StreamReader) -> None:
    while data := await reader.read(65536):
        await ws.send_bytes(data)


def novnc_routes(db: Database) -> list[BaseRoute]:
    """The page and the websocket, to mount at the root of the process's app."""

    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def websockify(ws: WebSocket) -> None:
        token = token_of(ws)
        target = await db.read(consoles.redeem, token) if token else None
        if target is None:
            log.info("noVNC: refused a console connection: the token is invalid or expired")
            await ws.close(code=POLICY_VIOLATION)
            return
        try:
            reader, writer = await asyncio.wait_for(open_guest(target), CONNECT_TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
            log.warning("noVNC: the console of %s is unreachable: %s", target["instance_uuid"], exc)
            await ws.close(code=POLICY_VIOLATION)
            return
        # noVNC asks for 'binary'; an old one may ask for 'base64', which is not spoken here.
        offered = [p.strip() for p in ws.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
        await ws.accept(subprotocol="binary" if "binary" in offered else None)
        log.info("noVNC: console of %s opened", target["instance_uuid"])
        relays = [asyncio.create_task(_to_guest(ws, writer)), asyncio.create_task(_to_viewer(ws, reader))]
        try:
            await asyncio.wait(relays, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in relays:
                task.cancel()
            await asyncio.gather(*relays, return_exceptions=True)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await ws.close()

    return [
        Route(NOVNC_PAGE, page, methods=["GET", "HEAD"]),
        WebSocketRoute("/", websockify),
        WebSocketRoute("/websockify", websockify),
        WebSocketRoute("/novnc/websockify", websockify),
    ]


# A small viewer in place of noVNC's bundle: it opens the websocket ``path`` names, does the RFB
# handshake (security None) and shows the guest's name on its blank screen.
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>noVNC (onestack)</title>
<style>body{background:#222;color:#ddd;font-family:sans-serif}canvas{background:#000}</style>
</head>
<body>
<div id="status">noVNC: connecting...</div>
<canvas id="screen" width="640" height="480"></canvas>
<script>
(function () {
  var status = document.getElementById("status");
  var params = new URLSearchParams(window.location.search);
  var path = params.get("path") || "websockify";
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var ws = new WebSocket(scheme + window.location.host + "/" + path.replace(/^\\//, ""), ["binary"]);
  ws.binaryType = "arraybuffer";
  var step = 0;
  ws.onmessage = function (event) {
    var data = new Uint8Array(event.data);
    if (step === 0) { ws.send(new TextEncoder().encode("RFB 003.008\\n")); step = 1; }
    else if (step === 1) { ws.send(new Uint8Array([1])); step = 2; }
    else if (step === 2) { ws.send(new Uint8Array([1])); step = 3; }
    else if (step === 3 && data.length > 24) {
      var name = new TextDecoder().decode(data.slice(24));
      status.textContent = "noVNC: connected to " + name;
      step = 4;
    }
  };
  ws.onclose = function () { status.textContent = "noVNC: disconnected"; };
})();
</script>
</body>
</html>
"""
