"""The object server's HTTP face (a remote agent's) and the client the proxy and replicators
use to reach it. Swift's wire protocol: ``<METHOD> /<device>/<part>/<account>/<container>/<object>``
with the headers of ``obj/client.py``'s protocol; ``REPLICATE /<device>/<part>[/<suffix>-...]``
answers the suffix hashes as JSON. uvicorn's fast parser knows only the standard methods, so the
client sends REPLICATE as ``POST`` with ``X-Backend-Replicate: true`` (a literal REPLICATE is
understood too, under h11). Bodies stream both ways in chunks (never whole in memory).

Header values travel as UTF-8 (metadata may hold non-ASCII text); bytes that are not UTF-8 come
through as surrogate escapes and go back out as the same bytes. A GET body that fails on the
server (a corrupt block) ends with a broken connection, which the client raises as
``ConnectionError``; so are timeouts and refused connections.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

import httpx

from onestack.object_store.obj.client import ObjectServerResponse, Unmounted
from onestack.object_store.obj.diskfile import DeviceUnavailable
from onestack.object_store.obj.server import ObjectServer
from onestack.object_store.ring.ring import Device

log = logging.getLogger("onestack.object_store.obj.http")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
CHUNK = 1 << 20


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")  # what _encode_headers turns back into the same bytes


def _encode_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    # surrogateescape: a value that came from undecodable bytes goes back as those bytes.
    return [(k.lower().encode("utf-8", "surrogateescape"), str(v).encode("utf-8", "surrogateescape"))
            for k, v in headers.items()]


class ObjectServerApp:
    """A raw ASGI app over an ``ObjectServer`` (no framework: bodies stream as they come)."""

    def __init__(self, server: ObjectServer, client_timeout: float = 60.0) -> None:
        self.server = server
        # Seconds to wait for the next piece of a request body (Swift's client_timeout): 408 after.
        self.client_timeout = client_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        method = scope["method"]
        headers = {_decode(k).lower(): _decode(v) for k, v in scope["headers"]}
        headers.pop("transfer-encoding", None)
        parts = scope["path"].split("/", 3)  # "", device, part, rest
        if len(parts) < 3 or not parts[1] or not parts[2].isdigit():
            await self._send_whole(send, 400, {"content-type": "text/plain"}, b"Invalid path")
            return
        device, part = parts[1], int(parts[2])
        rest = "/" + parts[3] if len(parts) > 3 else ""
        if method == "REPLICATE" or (method == "POST" and headers.get("x-backend-replicate") == "true"):
            suffixes = [s for s in rest.strip("/").split("-") if s]
            try:
                hashes = await self.server.replicate(device, part, suffixes)
            except DeviceUnavailable:
                await self._send_whole(send, 507, {}, b"")
                return
            await self._send_whole(send, 200, {"content-type": "application/json"}, json.dumps(hashes).encode())
            return
        resp = await self.server.handle(device, part, method, rest, headers, _body(receive, self.client_timeout))
        await send({"type": "http.response.start", "status": resp.status,
                    "headers": _encode_headers(resp.headers)})
        if isinstance(resp.body, bytes):
            await send({"type": "http.response.body", "body": b"" if method == "HEAD" else resp.body})
            return
        try:
            async for chunk in resp.body:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except ConnectionError as exc:
            # A body that fails midway must not look complete: the server drops the connection.
            log.warning("%s %s failed while streaming: %s", method, scope["path"], exc)
            raise
        finally:
            await resp.close()
        await send({"type": "http.response.body", "body": b""})

    @staticmethod
    async def _send_whole(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
        headers = {**headers, "content-length": str(len(body))}
        await send({"type": "http.response.start", "status": status, "headers": _encode_headers(headers)})
        await send({"type": "http.response.body", "body": body})


async def _body(receive: Receive, timeout: float) -> AsyncIterator[bytes]:
    while True:
        message = await asyncio.wait_for(receive(), timeout)
        if message["type"] == "http.disconnect":
            raise ConnectionError("client disconnected")
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def make_http_server(server: ObjectServer, host: str, port: int, client_timeout: float = 60.0,
                     **options: Any) -> Any:
    """A ``uvicorn.Server`` for the HTTP face (``await it.serve()``; set ``should_exit`` to stop)."""
    import uvicorn

    config = uvicorn.Config(ObjectServerApp(server, client_timeout), host=host, port=port, log_level="warning",
                            lifespan="off", access_log=False, **options)
    return uvicorn.Server(config)


class HttpObjectClient:
    """``ObjectServerClient`` over HTTP to ``device.ip:device.port``."""

    def __init__(self, node_timeout: float, client: httpx.AsyncClient | None = None) -> None:
        self.timeout = node_timeout
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(node_timeout), limits=httpx.Limits(max_connections=256, max_keepalive_connections=64))

    def is_local(self, device: Device) -> bool:
        return False

    @staticmethod
    def _url(device: Device, part: int, path: str = "") -> str:
        return f"http://{device.ip}:{device.port}/{quote(device.device)}/{part}{quote(path)}"

    async def request(self, device: Device, part: int, method: str, path: str, headers: dict[str, str],
                      body: bytes | AsyncIterator[bytes] = b"") -> ObjectServerResponse:
        if not device.port:
            raise ConnectionError(f"device {device.device} of {device.host} has no object server address")
        content: bytes | AsyncIterator[bytes] | None = body if (body or not isinstance(body, bytes)) else None
        request = self.client.build_request(method, self._url(device, part, path),
                                            headers=_encode_headers(headers), content=content)
        try:
            response = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise ConnectionError(f"{method} {device.ip}:{device.port}/{device.device}: {exc}") from exc
        out = {_decode(k).lower(): _decode(v) for k, v in response.headers.raw}
        if method == "HEAD" or response.status_code in (204, 304):
            await response.aclose()
            return ObjectServerResponse(response.status_code, out, b"")
        return ObjectServerResponse(response.status_code, out, _stream(response))

    async def replicate(self, device: Device, part: int, suffixes: list[str]) -> dict[str, str]:
        url = self._url(device, part) + ("/" + "-".join(suffixes) if suffixes else "")
        try:
            response = await self.client.request("POST", url, headers={"x-backend-replicate": "true"})
        except httpx.HTTPError as exc:
            raise ConnectionError(f"REPLICATE {device.ip}:{device.port}/{device.device}: {exc}") from exc
        if response.status_code == 507:
            raise Unmounted(f"REPLICATE {device.device}/{part}: 507")
        if response.status_code != 200:
            raise ConnectionError(f"REPLICATE {device.device}/{part}: {response.status_code}")
        body = response.json()
        return {str(k): str(v) for k, v in body.items()}

    async def aclose(self) -> None:
        await self.client.aclose()


async def _stream(response: httpx.Response) -> AsyncIterator[bytes]:
    """The raw body (no content-decoding: a gzip object stays gzip) until it ends or breaks."""
    try:
        async for chunk in response.aiter_raw(CHUNK):
            yield chunk
    except httpx.HTTPError as exc:
        raise ConnectionError(f"object server body broke off: {exc}") from exc
    finally:
        await response.aclose()
