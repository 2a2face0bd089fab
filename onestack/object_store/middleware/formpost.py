"""Swift's formpost: a browser uploads files straight into a container with an HTML form
(``multipart/form-data`` POST to ``/v1/<account>/<container>[/<prefix>]``), no token needed.

The form's fields ``redirect``, ``max_file_size``, ``max_file_count``, ``expires`` and
``signature`` come before the files; the signature is the HMAC (SHA1/256/512, hex or
``<digest>:<base64>``) of ``<path>\\n<redirect>\\n<max_file_size>\\n<max_file_count>\\n<expires>``
with one of the account's or container's temp URL keys. Each file becomes a PUT of
``<path>/<filename>`` (``<prefix><filename>`` under a prefix), streamed and capped at
max_file_size; ``x_delete_at`` / ``x_delete_after`` fields pass on. The answer is ``201 Created``
as text, or a 303 to ``redirect?status=<code>&message=<text>``; a bad form is 400 "FormPost: …",
a bad or expired signature 401.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator
from urllib.parse import quote

from onestack.object_store.errors import SwiftError, reason
from onestack.object_store.middleware.tempurl import DIGESTS, digest_and_hex, keys_of
from onestack.object_store.proxy.request import (
    Handler,
    Headers,
    Middleware,
    SwiftRequest,
    SwiftResponse,
)
from onestack.object_store.state import ObjectStoreState

SOURCE = "FP"
MAX_VALUE_LENGTH = 4096
MAX_HEADER_BLOCK = 16384


class FormInvalid(Exception):
    """400 "FormPost: <message>"."""


class FormUnauthorized(Exception):
    """401 "FormPost: <Message>"."""


def content_type_params(value: str) -> tuple[str, dict[str, str]]:
    """``multipart/form-data; boundary=x`` → ("multipart/form-data", {"boundary": "x"})."""
    main, *params = value.split(";")
    attrs: dict[str, str] = {}
    for param in params:
        if "=" in param:
            key, val = param.split("=", 1)
            attrs[key.strip().lower()] = val.strip().strip('"')
    return main.strip().lower(), attrs


class Parts:
    """A multipart body read as it arrives: part headers, then the part's bytes in chunks."""

    def __init__(self, chunks: AsyncIterator[bytes], boundary: str) -> None:
        self.chunks = chunks.__aiter__()
        self.delim = b"\r\n--" + boundary.encode()
        self.buf = b"\r\n"  # so the first boundary looks like every later one
        self.started = False

    async def fill(self) -> bool:
        try:
            self.buf += await self.chunks.__anext__()
        except StopAsyncIteration:
            return False
        return True

    async def next_headers(self) -> dict[str, str] | None:
        """The next part's headers (lower-case names), None after the closing boundary."""
        if not self.started:
            while len(self.buf) < len(self.delim) and await self.fill():
                pass
            if not self.buf.startswith(self.delim):
                raise FormInvalid("invalid starting boundary")
            self.buf = self.buf[len(self.delim):]
            self.started = True
        while len(self.buf) < 2:
            if not await self.fill():
                raise FormInvalid("invalid MIME document")  # cut short
        if self.buf.startswith(b"--"):
            return None
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > MAX_HEADER_BLOCK or not await self.fill():
                raise FormInvalid("invalid MIME document")
        block, self.buf = self.buf.split(b"\r\n\r\n", 1)
        headers: dict[str, str] = {}
        for line in block.decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        return headers

    async def body(self) -> AsyncIterator[bytes]:
        """The current part's bytes up to the next boundary (which is consumed)."""
        keep = len(self.delim) - 1
        while True:
            index = self.buf.find(self.delim)
            if index >= 0:
                out, self.buf = self.buf[:index], self.buf[index + len(self.delim):]
                if out:
                    yield out
                return
            if len(self.buf) > keep:
                out, self.buf = self.buf[:-keep], self.buf[-keep:]
                yield out
            if not await self.fill():
                raise FormInvalid("invalid MIME document")

    async def read_value(self) -> str:
        data = bytearray()
        async for chunk in self.body():
            if len(data) < MAX_VALUE_LENGTH:
                data += chunk[:MAX_VALUE_LENGTH - len(data)]
        return data.decode("utf-8", "replace")


def form_hmac_body(path: str, attributes: dict[str, str]) -> bytes:
    return "\n".join((path, attributes.get("redirect") or "", attributes.get("max_file_size") or "0",
                      attributes.get("max_file_count") or "0", attributes.get("expires") or "0")).encode()


def factory(state: ObjectStoreState) -> Middleware | None:
    digests = tuple(getattr(state.config, "tempurl_digests", " ".join(DIGESTS)).split())
    state.info.register("formpost", allowed_digests=sorted(digests))

    async def keys_for(req: SwiftRequest) -> list[str]:
        try:
            _version, account, container, _obj = req.parts
        except ValueError:
            return []
        if not account or not container:
            return []
        acct = await state.containers.account_info(account)
        cont = await state.containers.container_info(account, container)
        return keys_of(acct.meta if acct else {}, "x-account-meta-") + \
            keys_of(cont.meta if cont else {}, "x-container-meta-")

    def check_signature(req: SwiftRequest, attributes: dict[str, str], keys: list[str]) -> None:
        if not keys:
            raise FormUnauthorized("invalid signature")
        try:
            if int(attributes.get("expires") or 0) < time.time():
                raise FormUnauthorized("form expired")
        except ValueError:
            raise FormInvalid("expired not an integer") from None
        try:
            algo, signature = digest_and_hex(attributes.get("signature", ""))
        except ValueError:
            raise FormUnauthorized("invalid signature") from None
        if algo not in digests:
            raise FormUnauthorized("invalid signature")
        # The URL's path as the client sees it (with the mount prefix), or Swift's from /v1.
        messages = [form_hmac_body(p, attributes) for p in {req.path, req.script_name + req.path}]
        if not any(hmac.compare_digest(hmac.new(key.encode(), message, algo).hexdigest(), signature)
                   for key in keys for message in messages):
            raise FormUnauthorized("invalid signature")

    async def upload(app: Handler, req: SwiftRequest, parts: Parts, attributes: dict[str, str],
                     keys: list[str]) -> tuple[int, Headers, bytes]:
        """One file's PUT (pre-authorized once the form's signature holds)."""
        try:
            max_size = int(attributes.get("max_file_size") or 0)
        except ValueError:
            raise FormInvalid("max_file_size not an integer") from None
        headers = Headers({"transfer-encoding": "chunked"})
        for field, header, what in (("x_delete_at", "x-delete-at", "Unix timestamp required."),
                                    ("x_delete_after", "x-delete-after", "Number of seconds required.")):
            if field in attributes:
                try:
                    headers[header] = str(int(attributes[field]))
                except ValueError:
                    raise FormInvalid(f"{field} not an integer: {what}") from None
        if "content-type" in attributes:
            headers["content-type"] = attributes["content-type"] or "application/octet-stream"
        if "content-encoding" in attributes:
            headers["content-encoding"] = attributes["content-encoding"]
        check_signature(req, attributes, keys)
        path = req.path
        if not path.endswith("/") and path.count("/") < 4:
            path += "/"
        path += attributes.get("filename") or "filename"
        exceeded = False

        async def capped() -> AsyncIterator[bytes]:
            nonlocal exceeded
            size = 0
            async for chunk in parts.body():
                size += len(chunk)
                if size > max_size:
                    exceeded = True
                    raise SwiftError(400, "FormPost: max_file_size exceeded")
                yield chunk

        sub = req.pre_authed("PUT", path, headers=headers, body=capped(), source=SOURCE)
        try:
            resp = await app(sub)
            body = await resp.read()
        except SwiftError as err:
            if exceeded:
                raise FormInvalid("max_file_size exceeded") from None
            return err.status, Headers(err.headers), err.body
        if exceeded:
            raise FormInvalid("max_file_size exceeded")
        return resp.status, resp.headers, body

    async def translate(app: Handler, req: SwiftRequest, boundary: str) -> SwiftResponse:
        keys = await keys_for(req)
        parts = Parts(req.body.chunks(), boundary)
        attributes: dict[str, str] = {}
        status, message, sub_headers, sub_body = 0, "", Headers(), b""
        file_count = 0
        while (part := await parts.next_headers()) is not None:
            disposition, attrs = content_type_params(part.get("content-disposition", ""))
            if disposition == "form-data" and attrs.get("filename"):
                file_count += 1
                try:
                    if file_count > int(attributes.get("max_file_count") or 0):
                        status, message = 400, "max file count exceeded"
                        break
                except ValueError:
                    raise FormInvalid("max_file_count not an integer") from None
                file_attributes = dict(attributes, filename=attrs["filename"] or "filename")
                if "content-type" not in attributes and "content-type" in part:
                    file_attributes["content-type"] = part["content-type"] or "application/octet-stream"
                if "content-encoding" not in attributes and "content-encoding" in part:
                    file_attributes["content-encoding"] = part["content-encoding"]
                status, sub_headers, sub_body = await upload(app, req, parts, file_attributes, keys)
                if not 200 <= status < 300:
                    break
            else:
                value = await parts.read_value()
                if "name" in attrs:
                    attributes[attrs["name"].lower()] = value.rstrip("\r\n-")  # Swift trims stray CR, LF and dashes
        if not status:
            status, message = 400, "no files to process"
        headers = Headers({k: v for k, v in sub_headers.items() if k.startswith("access-control")})
        redirect = attributes.get("redirect")
        status_line = f"{status} {reason(status)}"
        if not redirect:
            body = (status_line + ("\r\nFormPost: " + message.title() if message else "")).encode()
            if not 200 <= status < 300 and sub_body:
                body = sub_body
            headers["content-type"] = "text/plain"
            return SwiftResponse(status, headers, body)
        redirect += ("&" if "?" in redirect else "?") + f"status={quote(str(status))}&message={quote(message)}"
        page = f'<html><body><p><a href="{redirect}">Click to continue...</a></p></body></html>'.encode()
        headers["location"] = redirect
        return SwiftResponse(303, headers, page)

    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            if req.method != "POST" or req.ctx.source or req.ctx.pre_authed:
                return await app(req)
            content_type, attrs = content_type_params(req.headers.get("content-type", ""))
            if content_type != "multipart/form-data" or "boundary" not in attrs:
                return await app(req)
            try:
                return await translate(app, req, attrs["boundary"])
            except FormInvalid as err:
                body = f"FormPost: {err}".encode()
                return SwiftResponse(400, Headers({"content-type": "text/plain"}), body)
            except FormUnauthorized as err:
                raise SwiftError(401, f"FormPost: {str(err).title()}") from None

        return handle

    return middleware
