"""Swift's bulk middleware: ``POST ?bulk-delete`` (newline-separated, URL-quoted names; objects
deleted before containers) and ``PUT ?extract-archive=tar|tar.gz|tar.bz2`` (each regular file of
the archive becomes an object, its first path component the container, made when missing).

Both answer 200 at once and report the outcome in the body (``Response Status``, ``Number
Deleted`` / ``Number Not Found`` / ``Number Files Created``, ``Errors``) in the format the Accept
header asks for, with a space every ``YIELD_FREQUENCY`` seconds while working so that proxies and
clients do not time out — as Swift does. Every delete and PUT is a sub-request with the caller's
token through the rest of the pipeline, so it is authorized like the caller's own request.

The archive is read as it arrives: tar headers are parsed from the (decompressed) stream and each
file's bytes are handed to its PUT chunk by chunk; nothing is buffered beyond a chunk."""

from __future__ import annotations

import bz2
import json
import tarfile
import time
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

from onestack.object_store.errors import SwiftError
from onestack.object_store.middleware.large import best_match, call, status_line
from onestack.object_store.proxy.request import (
    Handler,
    Headers,
    Middleware,
    SwiftRequest,
    SwiftResponse,
)
from onestack.object_store.state import ObjectStoreState

MAX_CONTAINERS_PER_EXTRACTION = 10000
MAX_FAILED_EXTRACTIONS = 1000
MAX_DELETES_PER_REQUEST = 10000
MAX_FAILED_DELETES = 1000
YIELD_FREQUENCY = 10.0
DELETE_CONCURRENCY = 2
ARCHIVE_TYPES = {"tar": "", "tar.gz": "gz", "tar.bz2": "bz2"}
DECOMPRESS_CHUNK = 1 << 20  # at most this much decompressed output per step (a zip bomb stays small)


class _Failure(Exception):
    """Ends the work with this status (and body) in the report, as Swift's HTTPException does."""

    def __init__(self, status: int, body: str = "") -> None:
        super().__init__(body)
        self.status = status
        self.body = body


def _outcome(data: dict[str, Any], status: int, body: str | bytes) -> None:
    """The report's status and body when the work ended early or found nothing to do."""
    data["Response Status"] = status_line(status)
    data["Response Body"] = body if isinstance(body, str) else body.decode("utf-8", "replace")


def report_body(fmt: str | None, data: dict[str, Any], errors: list[list[str]], root: str) -> bytes:
    """Swift's get_heartbeat_response_body: JSON, XML, or ``Key: value`` lines."""
    if fmt == "application/json":
        return json.dumps({**data, "Errors": errors}).encode("ascii")
    if fmt and fmt.endswith("/xml"):
        out = [f"<{root}>\n"]
        for key in sorted(data):
            tag = key.replace(" ", "_").lower()
            out.append(f"<{tag}>{escape(str(data[key]))}</{tag}>\n")
        out.append("<errors>\n")
        out.extend(f"<object><name>{escape(n)}</name><status>{escape(s)}</status></object>\n" for n, s in errors)
        out.append(f"</errors>\n</{root}>\n")
        return "".join(out).encode()
    lines = [f"{key}: {data[key]}\n" for key in sorted(data)]
    lines.append("Errors:\n")
    lines.extend(f"{n}, {s}\n" for n, s in errors)
    return "".join(lines).encode()


class _Heartbeat:
    """A space every YIELD_FREQUENCY seconds (XML's first is its declaration); once one went out,
    the report is preceded by a blank line."""

    def __init__(self, fmt: str | None) -> None:
        self.last = time.monotonic()
        self.next = b'<?xml version="1.0" encoding="UTF-8"?>\n' if fmt and fmt.endswith("/xml") else b" "
        self.separator = b""

    def due(self) -> bytes | None:
        if time.monotonic() - self.last < YIELD_FREQUENCY:
            return None
        self.last = time.monotonic()
        out, self.next, self.separator = self.next, b" ", b"\r\n\r\n"
        return out


def _token_headers(req: SwiftRequest) -> dict[str, str]:
    return {"x-auth-token": req.headers["x-auth-token"]} if "x-auth-token" in req.headers else {}


def quote_name(name: str) -> str:
    return quote(name.encode("utf-8", "surrogateescape"), safe="/")


# --- bulk delete ------------------------------------------------------------------------------

async def _names_from_body(req: SwiftRequest, max_path: int) -> list[dict[str, Any]]:
    if req.content_length is None and req.headers.get("transfer-encoding", "").lower() != "chunked":
        raise _Failure(411, "Length Required")
    names: list[dict[str, Any]] = []
    line = b""

    def take(raw: bytes) -> None:
        text = unquote(raw.strip().decode("utf-8", "surrogateescape"), errors="surrogateescape")
        if text:
            names.append({"name": text})
        if len(names) > MAX_DELETES_PER_REQUEST:
            raise _Failure(413, f"Maximum Bulk Deletes: {MAX_DELETES_PER_REQUEST} per request")

    async for chunk in req.body.chunks():
        line += chunk
        while b"\n" in line:
            raw, line = line.split(b"\n", 1)
            take(raw)
        if len(line) > max_path * 2:
            raise _Failure(400, "Invalid File Name")
    take(line)
    return names


def _valid_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


async def delete_report(app: Handler, req: SwiftRequest, fmt: str | None, source: str,
                        names: Iterable[dict[str, Any]] | AsyncIterable[dict[str, Any]] | None = None,
                        max_path: int = 2050) -> AsyncIterator[bytes]:
    """Delete the named objects (then containers) as the caller; yields heartbeats, then the
    report. ``names`` entries are ``{"name": "/c/o"}``, or with ``error: {code, message}`` for a
    name the caller already knows failed (SLO's unreadable sub-manifests)."""
    beat = _Heartbeat(fmt)
    data: dict[str, Any] = {"Response Status": status_line(200), "Response Body": "",
                            "Number Deleted": 0, "Number Not Found": 0}
    failed: list[list[str]] = []
    failed_status = 400
    try:
        if fmt is None:
            raise _Failure(406, "")
        try:
            version, account, _c, _o = req.parts
        except ValueError:
            raise _Failure(404) from None
        if account is None:
            raise _Failure(404)
        incoming = req.headers.get("content-type")
        if incoming and not incoming.startswith("text/plain") and names is None:
            raise _Failure(406)
        if names is None:
            names = await _names_from_body(req, max_path)

        async def one(name: str) -> tuple[str, int]:
            path = f"/{version}/{account}/{name.lstrip('/')}"
            sub = req.sub("DELETE", path, headers=_token_headers(req), source=source)
            resp = await call(app, sub)
            await resp.close()
            return name, resp.status

        async def each(entries: list[dict[str, Any]]) -> AsyncIterator[bytes]:
            nonlocal failed_status
            todo: list[str] = []
            for entry in entries:
                name = entry["name"]
                if entry.get("error"):
                    if entry["error"]["code"] == 404:
                        data["Number Not Found"] += 1
                    else:
                        failed.append([quote_name(name), entry["error"]["message"]])
                    continue
                if not _valid_utf8(f"/{account}/{name}"):
                    failed.append([quote_name(name), status_line(412)])
                    continue
                todo.append(name)
            for name in todo:
                _n, status = await one(name)
                if status // 100 == 2:
                    data["Number Deleted"] += 1
                elif status == 404:
                    data["Number Not Found"] += 1
                else:
                    if status // 100 == 5:
                        failed_status = 502
                    failed.append([quote_name(name), status_line(status)])
                beat_bytes = beat.due()
                if beat_bytes:
                    yield beat_bytes
                if len(failed) >= MAX_FAILED_DELETES:
                    raise _Failure(400, "Max delete failures exceeded")

        if isinstance(names, AsyncIterable):
            # SLO's segments, manifests last: already in order, read as they are found.
            async for entry in names:
                async for beat_bytes in each([entry]):
                    yield beat_bytes
        else:
            listed = [n for n in names if n.get("name")]
            objects = [n for n in listed if "/" in n["name"].strip("/")]
            containers = [n for n in listed if "/" not in n["name"].strip("/")]
            for group in (objects, containers):
                async for beat_bytes in each(group):
                    yield beat_bytes
        if failed:
            data["Response Status"] = status_line(failed_status)
        elif not (data["Number Deleted"] or data["Number Not Found"]):
            _outcome(data, 400, "Invalid bulk delete.")
    except (_Failure, SwiftError) as err:
        _outcome(data, err.status, err.body)
    yield beat.separator + report_body(fmt, data, failed, "delete")


# --- extract archive --------------------------------------------------------------------------

class _Decompressor:
    """gzip or bzip2 (or nothing) applied to the request body, in bounded steps."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.zlib = zlib.decompressobj(16 + zlib.MAX_WBITS) if kind == "gz" else None
        self.bz2 = bz2.BZ2Decompressor() if kind == "bz2" else None

    def feed(self, raw: bytes) -> Iterable[bytes]:
        if self.zlib is not None:
            out = self.zlib.decompress(raw, DECOMPRESS_CHUNK)
            while out:
                yield out
                tail = self.zlib.unconsumed_tail
                out = self.zlib.decompress(tail, DECOMPRESS_CHUNK) if tail else b""
        elif self.bz2 is not None:
            if self.bz2.eof:
                return
            out = self.bz2.decompress(raw, DECOMPRESS_CHUNK)
            while True:
                if out:
                    yield out
                if self.bz2.eof or self.bz2.needs_input:
                    return
                out = self.bz2.decompress(b"", DECOMPRESS_CHUNK)
        else:
            yield raw


class _TarStream:
    """Exact reads over the decompressed body (tar is 512-byte blocks)."""

    def __init__(self, chunks: AsyncIterator[bytes], kind: str) -> None:
        self._chunks = chunks
        self._d = _Decompressor(kind)
        self._pending: Iterable[bytes] = iter(())
        self._buf = bytearray()

    async def _piece(self) -> bytes:
        """The next decompressed piece of the body; b"" at its end."""
        for out in self._pending:
            if out:
                return out
        async for raw in self._chunks:
            self._pending = iter(self._d.feed(raw))
            for out in self._pending:
                if out:
                    return out
        return b""

    async def read(self, n: int) -> bytes:
        """``n`` bytes, or fewer only at the end of the stream."""
        while len(self._buf) < n:
            piece = await self._piece()
            if not piece:
                break
            self._buf += piece
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    async def chunks(self, n: int) -> AsyncIterator[bytes]:
        """The next ``n`` bytes as they come (pieces passed on without a copy when they fit)."""
        while n > 0:
            if self._buf:
                out = bytes(self._buf[:n])
                del self._buf[:len(out)]
            else:
                out = await self._piece()
                if not out:
                    raise tarfile.ReadError("unexpected end of data")
                if len(out) > n:
                    self._buf += out[n:]
                    out = out[:n]
            n -= len(out)
            yield out


class _FileBody:
    """One member's bytes for its PUT; what the PUT left unread is skipped afterwards."""

    def __init__(self, stream: _TarStream, size: int) -> None:
        self.stream = stream
        self.remaining = size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.stream.chunks(self.remaining):
            self.remaining -= len(chunk)
            yield chunk

    async def drain(self) -> None:
        async for chunk in self.stream.chunks(self.remaining):
            self.remaining -= len(chunk)


def _pax(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0 or not data[pos:space].isdigit():
            break
        length = int(data[pos:space])
        if length <= 0:
            break
        record = data[space + 1:pos + length].rstrip(b"\n")
        key, _, value = record.partition(b"=")
        out[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return out


def pax_header(key: str) -> str | None:
    """Swift's pax_key_to_swift_header: user xattrs become Content-Type and X-Object-Meta-*."""
    for prefix in ("SCHILY.xattr.user.", "LIBARCHIVE.xattr.user."):
        if key == prefix + "mime_type":
            return "content-type"
        if key.startswith(prefix + "meta."):
            return "x-object-meta-" + key[len(prefix + "meta."):]
    return None


async def _members(stream: _TarStream) -> AsyncIterator[tuple[str, int, dict[str, str], bool]]:
    """(name, size, pax headers, is a regular file) of each member; the caller reads or skips
    the member's ``size`` bytes, this skips the padding."""
    global_pax: dict[str, str] = {}
    local: dict[str, str] = {}
    long_name: str | None = None
    while True:
        block = await stream.read(tarfile.BLOCKSIZE)
        if len(block) < tarfile.BLOCKSIZE or block == tarfile.NUL * tarfile.BLOCKSIZE:
            if block and len(block) < tarfile.BLOCKSIZE:
                raise tarfile.ReadError("unexpected end of data")
            return
        info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        padded = -info.size % tarfile.BLOCKSIZE
        if info.type in (tarfile.GNUTYPE_LONGNAME, tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE):
            raw = await stream.read(info.size + padded)
            if len(raw) < info.size + padded:
                raise tarfile.ReadError("unexpected end of data")
            payload = raw[:info.size]
            if info.type == tarfile.GNUTYPE_LONGNAME:
                long_name = payload.rstrip(b"\x00").decode("utf-8", "surrogateescape")
            elif info.type == tarfile.XGLTYPE:
                global_pax.update(_pax(payload))
            else:
                local = _pax(payload)
            continue
        headers = {**global_pax, **local}
        name = long_name or headers.get("path") or info.name
        size = int(headers["size"]) if headers.get("size", "").isdigit() else info.size
        if info.type not in tarfile.REGULAR_TYPES:
            size = info.size  # links and directories carry no data worth keeping
        padded = -size % tarfile.BLOCKSIZE
        local, long_name = {}, None
        yield name, size, headers, info.type in tarfile.REGULAR_TYPES
        await _skip(stream, padded)


async def _skip(stream: _TarStream, n: int) -> None:
    async for _chunk in stream.chunks(n):
        pass


async def extract_report(app: Handler, state: ObjectStoreState, req: SwiftRequest, kind: str,
                         fmt: str | None) -> AsyncIterator[bytes]:
    beat = _Heartbeat(fmt)
    data: dict[str, Any] = {"Response Status": status_line(201), "Response Body": "", "Number Files Created": 0}
    failed: list[list[str]] = []
    failed_status = 400
    max_path = state.config.max_object_name_length + state.config.max_container_name_length + 2
    seen: set[str] = set()
    created = 0
    try:
        if fmt is None:
            raise _Failure(406)
        if req.content_length is None and req.headers.get("transfer-encoding", "").lower() != "chunked":
            raise _Failure(411, "Length Required")
        try:
            version, account, container, obj = req.parts
        except ValueError:
            raise _Failure(404) from None
        if account is None:
            raise _Failure(404)
        base = "/".join(p for p in (container, obj) if p).rstrip("/")
        stream = _TarStream(req.body.chunks(), kind)
        async for name, size, pax, regular in _members(stream):
            beat_bytes = beat.due()
            if beat_bytes:
                yield beat_bytes
            if not regular or len(failed) >= MAX_FAILED_EXTRACTIONS:
                await _skip(stream, size)
                if len(failed) >= MAX_FAILED_EXTRACTIONS:
                    break
                continue
            path = name.removeprefix("./")
            path = path.lstrip("/")
            if base:
                path = f"{base}/{path}"
            if "/" not in path:
                await _skip(stream, size)  # a file at the archive's top level has no container
                continue
            quoted = quote_name(path[:max_path])
            if not _valid_utf8(path):
                failed.append([quoted, status_line(412)])
                await _skip(stream, size)
                continue
            if size > state.config.max_file_size:
                failed.append([quoted, status_line(413)])
                await _skip(stream, size)
                continue
            cont = path.split("/", 1)[0]
            cont_path = f"/{version}/{account}/{cont}"
            container_failure: list[str] | None = None
            if cont not in seen:
                status = await _ensure_container(app, req, cont_path)
                if status == 201:
                    created += 1
                    if created > MAX_CONTAINERS_PER_EXTRACTION:
                        raise _Failure(400, f"More than {MAX_CONTAINERS_PER_EXTRACTION} containers to create "
                                            "from tar.")
                elif status not in (200, 204):
                    # The object's PUT may still succeed (a write ACL without container rights).
                    container_failure = [quote_name(cont_path[:max_path]), status_line(status)]
                    if status == 401:
                        raise _Failure(401, "")
            headers = Headers(_token_headers(req))
            headers["content-length"] = str(size)
            for key, value in req.headers.items():
                if key in ("x-delete-at", "x-delete-after") or key.startswith("x-object-meta-"):
                    headers[key] = value
            for key, value in pax.items():
                header = pax_header(key)
                if header:
                    headers[header] = value.encode("utf-8", "surrogateescape").decode("latin-1")
            body = _FileBody(stream, size)
            resp = await call(app, req.sub("PUT", f"/{version}/{account}/{path}", headers=headers,
                                           body=body.__aiter__(), source="EA"))
            await resp.close()
            await body.drain()
            seen.add(cont)
            if resp.ok:
                data["Number Files Created"] += 1
                continue
            if container_failure:
                failed.append(container_failure)
            if resp.status == 401:
                failed.append([quoted, status_line(401)])
                raise _Failure(401)
            if resp.status // 100 == 5:
                failed_status = 502
            failed.append([quoted, status_line(resp.status)])
        if failed:
            data["Response Status"] = status_line(failed_status)
        elif not data["Number Files Created"]:
            _outcome(data, 400, "Invalid Tar File: No Valid Files")
    except (_Failure, SwiftError) as err:
        _outcome(data, err.status, err.body)
    except (tarfile.TarError, zlib.error, OSError, EOFError, ValueError) as err:
        _outcome(data, 400, f"Invalid Tar File: {err}")
    yield beat.separator + report_body(fmt, data, failed, "extract")


async def _ensure_container(app: Handler, req: SwiftRequest, path: str) -> int:
    """200 when the container is there, 201 when made now, else the failing status."""
    head = await call(app, req.sub("HEAD", path, headers=_token_headers(req), source="EA"))
    await head.close()
    if head.ok:
        return 200
    if head.status != 404:
        return head.status
    put = await call(app, req.sub("PUT", path, headers=_token_headers(req), source="EA"))
    await put.close()
    return 201 if put.ok else put.status


def _report_response(fmt: str | None, body: AsyncIterator[bytes]) -> SwiftResponse:
    return SwiftResponse(200, Headers({"content-type": fmt or "text/plain"}), body)


def factory(state: ObjectStoreState) -> Middleware | None:
    state.info.register("bulk_upload", max_containers_per_extraction=MAX_CONTAINERS_PER_EXTRACTION,
                        max_failed_extractions=MAX_FAILED_EXTRACTIONS)
    state.info.register("bulk_delete", max_deletes_per_request=MAX_DELETES_PER_REQUEST,
                        max_failed_deletes=MAX_FAILED_DELETES)
    max_path = state.config.max_object_name_length + state.config.max_container_name_length + 2

    def middleware(app: Handler) -> Handler:
        async def handler(req: SwiftRequest) -> SwiftResponse:
            extract = req.query.get("extract-archive")
            if extract is not None and req.method == "PUT":
                kind = ARCHIVE_TYPES.get(extract.lower().strip("."))
                if kind is None:
                    raise SwiftError(400, "Unsupported archive format")
                fmt = best_match(req.headers.get("accept"))
                return _report_response(fmt, extract_report(app, state, req, kind, fmt))
            if "bulk-delete" in req.query and req.method in ("POST", "DELETE"):
                fmt = best_match(req.headers.get("accept"))
                return _report_response(fmt, delete_report(app, req, fmt, "BD", max_path=max_path))
            return await app(req)

        return handler

    return middleware
