"""ASGI ↔ pipeline: a request's scope and body stream become a ``SwiftRequest``; the response's
status, headers and (streamed) body go back out. Swift's own checks of the raw URL live here:
a path that is not UTF-8 or holds a NUL is 412 "Invalid UTF8 or contains NULL", as Swift says."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, unquote_to_bytes

from starlette.types import Message, Receive, Scope, Send

from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.request import (
    Body,
    Handler,
    Headers,
    RequestContext,
    SwiftRequest,
    SwiftResponse,
    error_response,
)

log = logging.getLogger("onestack.object_store")


def _decode(raw: bytes) -> str:
    try:
        text = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SwiftError(412, "Invalid UTF8 or contains NULL") from exc
    if "\x00" in text:
        raise SwiftError(412, "Invalid UTF8 or contains NULL")
    return text


def _query(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as exc:
        raise SwiftError(400, "Invalid UTF8 in query string") from exc
    for key, value in pairs:
        if "\x00" in key or "\x00" in value:
            raise SwiftError(412, "Invalid UTF8 or contains NULL")
        out.setdefault(key, value)
    return out


async def _receive_body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise SwiftError(499)
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def trans_id(request_id: str) -> str:
    """Swift's transaction id, ``tx<21 hex>-<10 hex of the time>`` (Tempest checks the shape), made
    from the platform's request id so that a client's trans id still finds the request in the logs."""
    digits = "".join(c for c in request_id.lower() if c in "0123456789abcdef")
    return f"tx{digits[-21:].rjust(21, '0')}-{int(time.time()):010x}"


class SwiftASGI:
    """The proxy pipeline as an ASGI app (mounted at the service prefix, and at ``/info``)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def to_request(self, scope: Scope, receive: Receive) -> SwiftRequest:
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        root = scope.get("root_path", "").encode()
        if root and raw_path.startswith(root):
            raw_path = raw_path[len(root):]
        path = _decode(raw_path.split(b"?", 1)[0]) or "/"
        headers = Headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
        state = scope.get("state", {})
        scheme = scope.get("scheme", "http")
        host = headers.get("host") or "{}:{}".format(*(scope.get("server") or ("127.0.0.1", 80)))
        client = scope.get("client") or ("", 0)
        ctx = RequestContext(request_id=state.get("request_id", ""), remote_addr=client[0])
        return SwiftRequest(method=scope["method"], path=path, query=_query(scope.get("query_string", b"")),
                            headers=headers, body=Body(_receive_body(receive)), ctx=ctx,
                            host_url=f"{scheme}://{host}", script_name=scope.get("root_path", ""))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        try:
            req = self.to_request(scope, receive)
            resp = await self.handler(req)
        except SwiftError as err:
            req = None
            resp = error_response(err)
        await self.send_response(scope, resp, send)

    async def send_response(self, scope: Scope, resp: SwiftResponse, send: Send) -> None:
        request_id = scope.get("state", {}).get("request_id", "")
        headers = resp.headers
        if request_id:
            headers["x-trans-id"] = trans_id(request_id)
        if isinstance(resp.body, bytes) and "content-length" not in headers and "transfer-encoding" not in headers:
            headers["content-length"] = str(len(resp.body))
        start: Message = {"type": "http.response.start", "status": resp.status,
                          "headers": [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in headers.items()]}
        head_only = scope["method"] == "HEAD"
        if isinstance(resp.body, bytes):
            await send(start)
            await send({"type": "http.response.body", "body": b"" if head_only else resp.body})
            return
        body = resp.body
        try:
            await send(start)
            if not head_only:
                async for chunk in body:
                    if chunk:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except SwiftError as err:
            # Too late for a status (a replica went bad mid-stream): end the connection, so the
            # client sees a short read, never wrong bytes.
            log.warning("%s aborted a streamed answer: %s", request_id, err)
            raise
        finally:
            await resp.close()
