"""The object controller (Swift's proxy ``ObjectController``): one object's PUT, GET, HEAD, POST and
DELETE, spread over the ring's nodes.

Every request first learns the container (its ACLs decide, through ``req.authorize()``), then talks
to the object servers of ``ring.get_nodes``: writes go to every primary at once and need a quorum
(``n // 2 + 1``) of successes; reads take the first replica that answers, primaries in ring order,
then handoffs. Bodies are streamed both ways, chunk by chunk, so memory stays flat whatever the
object's size.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import time
from collections.abc import AsyncIterator, Iterator
from itertools import islice

from onestack.object_store.errors import SwiftError
from onestack.object_store.obj.client import ObjectServerResponse
from onestack.object_store.obj.diskio import ObjectWriter, SharedMD5
from onestack.object_store.proxy import constraints
from onestack.object_store.proxy.container import forget_info, get_infos
from onestack.object_store.proxy.error_limit import ErrorLimited, ask
from onestack.object_store.proxy.fanout import (
    SENTINEL_END,
    Abort,
    coalesce,
    is_node_error,
    open_writers,
)
from onestack.object_store.proxy.quorum import (
    best_status,
    delete_status,
    post_status,
    quorum_size,
    read_status,
)
from onestack.object_store.proxy.request import Headers, SwiftRequest, SwiftResponse
from onestack.object_store.ring.ring import Device
from onestack.object_store.state import ObjectStoreState
from onestack.object_store.timestamp import Timestamp

log = logging.getLogger("onestack.object_store.proxy.obj")

ALLOWED = "DELETE, GET, HEAD, POST, PUT"
# Request headers an object server never needs (credentials stay in the proxy; framing is ours).
_NOT_FORWARDED = frozenset({
    "x-auth-token", "x-storage-token", "authorization", "cookie", "host", "connection", "keep-alive",
    "transfer-encoding", "expect", "content-length", "x-detect-content-type", "x-delete-after",
    "x-newest", "te", "upgrade", "proxy-authorization",
})
# Headers of an object server's answer that are about the backend, not the object.
_BACKEND_PREFIXES = ("x-backend-",)
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "date", "server", "x-trans-id"})
SMALL_BODY = ObjectWriter.SMALL_TAIL  # a PUT body up to this is hashed by each object server itself


async def handle(state: ObjectStoreState, req: SwiftRequest) -> SwiftResponse:
    _, account, container, obj = req.parts
    assert account and container and obj  # the router sends only object paths here
    method = req.method
    if method not in ("GET", "HEAD", "PUT", "POST", "DELETE"):
        raise SwiftError(405, headers={"allow": ALLOWED})
    _, info = await get_infos(state, req, account, container)
    req.acl = None if info is None else (info.read_acl if method in ("GET", "HEAD") else info.write_acl)
    # Authorize before saying whether the container exists, so its existence does not leak.
    await req.authorize()
    if info is None:
        raise SwiftError(404)
    if method in ("GET", "HEAD"):
        return await get_or_head(state, req, account, container, obj)
    if method == "POST":
        return await post(state, req, account, container, obj)
    try:
        if method == "PUT":
            return await put(state, req, account, container, obj)
        return await delete(state, req, account, container, obj)
    finally:
        # The container's counts changed: a later sub-request (bulk, quotas) must read them anew.
        forget_info(req, account, container)


# -- helpers shared by the verbs ------------------------------------------------------------------

def request_timestamp(req: SwiftRequest) -> Timestamp:
    """The write's X-Timestamp: the client's when it sent a valid one (as Swift allows), else now."""
    given = req.headers.get("x-timestamp")
    if given is None:
        return Timestamp.now()
    try:
        return Timestamp.parse(given)
    except ValueError:
        raise SwiftError(400, f"X-Timestamp should be a UNIX timestamp float value; was {given!r}") from None


def check_delete_headers(req: SwiftRequest, now: Timestamp) -> None:
    """Swift's check_delete_headers: X-Delete-After becomes X-Delete-At; both must be integers in the
    future (400 with Swift's words otherwise)."""
    headers = req.headers
    if "x-delete-after" in headers:
        try:
            after = int(headers["x-delete-after"])
        except ValueError:
            raise SwiftError(400, "Non-integer X-Delete-After") from None
        at = int(now.seconds + after)
        if at <= now.seconds:
            raise SwiftError(400, "X-Delete-After in past")
        headers["x-delete-at"] = f"{min(max(at, 0), 9999999999):010d}"
        del headers["x-delete-after"]
    if "x-delete-at" in headers:
        try:
            at = min(max(int(headers["x-delete-at"]), 0), 9999999999)
        except ValueError:
            raise SwiftError(400, "Non-integer X-Delete-At") from None
        if at <= now.seconds:
            raise SwiftError(400, "X-Delete-At in past")
        headers["x-delete-at"] = f"{at:010d}"


def backend_headers(req: SwiftRequest, timestamp: Timestamp | None = None) -> dict[str, str]:
    out = {k: v for k, v in req.headers.items() if k not in _NOT_FORWARDED}
    if timestamp is not None:
        out["x-timestamp"] = timestamp.internal
    if req.ctx.request_id:
        out["x-trans-id"] = req.ctx.request_id
    return out


def client_headers(backend: dict[str, str]) -> Headers:
    """An object server's answer's headers as the client sees them."""
    out = Headers()
    for key, value in backend.items():
        k = key.lower()
        if k.startswith(_BACKEND_PREFIXES) or k in _HOP_BY_HOP:
            continue
        out[k] = value
    return out


def node_iter(state: ObjectStoreState, part: int, primaries: list[Device]) -> Iterator[Device]:
    """Primaries, then as many handoffs as there are replicas (Swift's request_node_count = 2 * replicas)."""
    yield from primaries
    yield from islice(state.ring.get_more_nodes(part), len(primaries))


def _expired(headers: dict[str, str]) -> bool:
    value = headers.get("x-delete-at")
    if not value:
        return False
    try:
        return int(value) <= time.time()
    except ValueError:
        return False


# -- GET / HEAD ------------------------------------------------------------------------------------

async def _first_chunk(resp: ObjectServerResponse) -> tuple[bytes | None, AsyncIterator[bytes] | None]:
    """Pull the first chunk of a streamed body, so a replica that fails at once can be skipped."""
    if isinstance(resp.body, bytes):
        return resp.body, None
    it = resp.body.__aiter__()
    try:
        return await it.__anext__(), it
    except StopAsyncIteration:
        return None, None


async def _fetch(state: ObjectStoreState, node: Device, part: int, method: str, path: str,
                 headers: dict[str, str]) -> ObjectServerResponse | None:
    try:
        return await ask(state.limiter, state.objects, node, part, method, path, dict(headers))
    except ErrorLimited:
        return None
    except (TimeoutError, ConnectionError, OSError) as exc:
        log.warning("object server %s/%s unreachable for %s %s: %s", node.host, node.device, method, path, exc)
        return None


async def get_or_head(state: ObjectStoreState, req: SwiftRequest, account: str, container: str,
                      obj: str) -> SwiftResponse:
    part, primaries = state.ring.get_nodes(account, container, obj)
    path = f"/{account}/{container}/{obj}"
    headers = backend_headers(req)
    nodes = list(node_iter(state, part, primaries))
    if req.headers.get("x-newest", "").lower() in ("1", "true", "yes", "on"):
        nodes = await _newest_first(state, part, path, headers, nodes)
    # What the nodes said when none could answer (Swift's GetOrHeadHandler): a primary's every
    # answer, a handoff's 404 only when it holds a tombstone (otherwise it simply never had it).
    statuses: list[int] = []
    latest_404 = ""  # the newest tombstone seen: an older copy found after it is not answered
    replicas = len(primaries)
    for index, node in enumerate(nodes):
        resp = await _fetch(state, node, part, req.method, path, headers)
        if resp is None:
            continue
        handoff = index >= replicas
        if is_node_error(resp.status):
            await resp.close()
            if not handoff:
                statuses.append(resp.status)
            continue
        if resp.status == 404 or (resp.status < 300 and _expired(resp.headers)):
            await resp.close()
            tombstone = resp.headers.get("x-backend-timestamp", "") if resp.status == 404 else ""
            if not handoff or tombstone:
                statuses.append(404)
            latest_404 = max(latest_404, tombstone, key=_stamp_key)
            continue
        if resp.status < 300 and latest_404 and _stamp_key(_data_stamp(resp.headers)) < _stamp_key(latest_404):
            # A replica that missed a later DELETE: the object is gone.
            await resp.close()
            statuses.append(404)
            continue
        if req.method == "HEAD" or resp.status >= 300:
            body = b"" if req.method == "HEAD" else await resp.read()
            await resp.close()
            return _answer(resp, body)
        try:
            first, rest = await _first_chunk(resp)
        except SwiftError as exc:
            # The replica failed before we sent a byte (a bad block, quarantined): try the next.
            log.warning("replica %s/%s failed before its first byte: %s", node.host, node.device, exc)
            await resp.close()
            continue
        except (TimeoutError, ConnectionError, OSError) as exc:
            log.warning("replica %s/%s failed before its first byte: %s", node.host, node.device, exc)
            await resp.close()
            continue
        if rest is None:
            await resp.close()
            return _answer(resp, first or b"")
        resumable = resp.status == 200 and "range" not in req.headers
        stream = _stream(state, part, path, headers, first or b"", rest, resp, nodes[index + 1:], resumable)
        return _answer(resp, stream)
    raise SwiftError(read_status(statuses))


def _data_stamp(headers: dict[str, str]) -> str:
    return headers.get("x-backend-data-timestamp") or headers.get("x-backend-timestamp") or ""


def _stamp_key(value: str) -> Timestamp:
    """A backend timestamp for comparing (an absent or bad one is the oldest)."""
    try:
        return Timestamp.parse(value) if value else Timestamp(0)
    except ValueError:
        return Timestamp(0)


def _answer(resp: ObjectServerResponse, body: bytes | AsyncIterator[bytes]) -> SwiftResponse:
    headers = client_headers(resp.headers)
    if resp.status in (200, 206):
        headers.setdefault("accept-ranges", "bytes")
    return SwiftResponse(resp.status, headers, body)


async def _stream(state: ObjectStoreState, part: int, path: str, headers: dict[str, str], first: bytes,
                  rest: AsyncIterator[bytes], resp: ObjectServerResponse, spares: list[Device],
                  resumable: bool) -> AsyncIterator[bytes]:
    """The body, chunk by chunk. A whole-object read whose replica breaks mid-way resumes from
    another replica of the same version (``Range`` from the bytes already sent, ``If-Match`` its
    ETag), as Swift's proxy does; otherwise the stream ends short (the adapter drops the connection)."""
    sent = len(first)
    yield first
    etag = resp.headers.get("etag", "")
    timestamp = resp.headers.get("x-timestamp", "")
    current: ObjectServerResponse = resp
    try:
        while True:
            try:
                async for chunk in rest:
                    sent += len(chunk)
                    yield chunk
                return
            except (TimeoutError, SwiftError, ConnectionError, OSError) as exc:
                await current.close()
                if not resumable or not etag:
                    raise
                log.warning("replica broke after %d bytes of %s: %s; resuming elsewhere", sent, path, exc)
                resumed = await _resume(state, part, path, headers, sent, etag, timestamp, spares)
                if resumed is None:
                    raise
                current, rest, spares = resumed
    finally:
        await current.close()


async def _resume(state: ObjectStoreState, part: int, path: str, headers: dict[str, str], offset: int,
                  etag: str, timestamp: str, spares: list[Device]
                  ) -> tuple[ObjectServerResponse, AsyncIterator[bytes], list[Device]] | None:
    ranged = dict(headers)
    ranged["range"] = f"bytes={offset}-"
    ranged["if-match"] = etag
    for i, node in enumerate(spares):
        resp = await _fetch(state, node, part, "GET", path, ranged)
        if resp is None:
            continue
        if resp.status != 206 or resp.headers.get("x-timestamp", timestamp) != timestamp \
                or isinstance(resp.body, bytes):
            await resp.close()
            continue
        return resp, resp.body.__aiter__(), spares[i + 1:]
    return None


async def _newest_first(state: ObjectStoreState, part: int, path: str, headers: dict[str, str],
                        nodes: list[Device]) -> list[Device]:
    """X-Newest: ask every primary's HEAD and read from the one with the newest timestamp first."""
    primaries = nodes[:state.ring.replicas]
    answers = await asyncio.gather(*(_fetch(state, n, part, "HEAD", path, headers) for n in primaries))
    ranked: list[tuple[str, int]] = []
    for i, resp in enumerate(answers):
        if resp is None:
            continue
        await resp.close()
        stamp = resp.headers.get("x-timestamp") or resp.headers.get("x-backend-timestamp") or ""
        ranked.append((stamp, i))
    order = [primaries[i] for _, i in sorted(ranked, key=lambda r: r[0], reverse=True)]
    return order + [n for n in nodes if n not in order]


# -- PUT -------------------------------------------------------------------------------------------

def _check_put(state: ObjectStoreState, req: SwiftRequest, obj: str) -> int | None:
    config = state.config
    length = req.content_length
    chunked = "chunked" in req.headers.get("transfer-encoding", "").lower()
    if "transfer-encoding" in req.headers and not chunked:
        raise SwiftError(501)
    if chunked:
        length = None
    elif length is None:
        raise SwiftError(411, "Missing Content-Length header.")
    constraints.check_object_size(config, length)
    constraints.check_object_name(config, obj)
    constraints.check_metadata(config, req.headers, "object")
    detect = req.headers.get("x-detect-content-type", "").lower() in ("1", "true", "yes", "on")
    if detect or not req.headers.get("content-type"):
        guessed, _ = mimetypes.guess_type(obj, strict=False)
        req.headers["content-type"] = guessed or "application/octet-stream"
    if "etag" in req.headers:
        req.headers["etag"] = req.headers["etag"].strip('"').lower()
    return length


async def object_exists(state: ObjectStoreState, account: str, container: str, obj: str) -> bool:
    part, primaries = state.ring.get_nodes(account, container, obj)
    path = f"/{account}/{container}/{obj}"
    for node in node_iter(state, part, primaries):
        resp = await _fetch(state, node, part, "HEAD", path, {})
        if resp is None:
            continue
        await resp.close()
        if resp.status < 300 and not _expired(resp.headers):
            return True
        if resp.status == 404 or resp.status < 300:
            continue
    return False


async def put(state: ObjectStoreState, req: SwiftRequest, account: str, container: str,
              obj: str) -> SwiftResponse:
    length = _check_put(state, req, obj)
    timestamp = request_timestamp(req)
    check_delete_headers(req, timestamp)
    if_none_match = req.headers.get("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise SwiftError(400, "If-None-Match only supports *")
        if await object_exists(state, account, container, obj):
            raise SwiftError(412)
    part, primaries = state.ring.get_nodes(account, container, obj)
    path = f"/{account}/{container}/{obj}"
    headers = backend_headers(req, timestamp)
    if length is not None:
        headers["content-length"] = str(length)
    max_size = state.config.max_file_size
    source = req.body.chunks().__aiter__()
    # The object servers' ETags must agree (Swift's proxy checks them). Object servers of another
    # process hash what they receive; those in this one share one MD5 of the body, computed here
    # in an object-I/O thread as it streams (not on the event loop), so 3 replicas hash it once,
    # not three times. A small body is hashed by each server on its event loop (cheaper than a
    # thread hop).
    md5 = None
    if (length is None or length > SMALL_BODY) and any(state.objects.is_local(n) for n in primaries):
        md5 = SharedMD5()
    received = 0
    # The first chunk goes to the writers up front, so a replacement handoff gets it too.
    head: list[bytes] = []
    try:
        head_chunk = await source.__anext__()
        head.append(head_chunk)
        received += len(head_chunk)
    except StopAsyncIteration:
        pass
    if received > max_size or (length is not None and received > length):
        raise SwiftError(413, "Your request is too large.")
    if md5 is not None and head:
        await md5.update(head[0])
    writers = await open_writers(state, part, primaries, path, headers, head, md5)
    try:
        async for chunk in coalesce(source):
            received += len(chunk)
            if received > max_size or (length is not None and received > length):
                raise SwiftError(413, "Your request is too large.")
            if md5 is not None:
                await md5.update(chunk)
            for writer in writers:
                await writer.feed.put(chunk)
        if length is not None and received < length:
            raise SwiftError(499)
        if received > max_size:
            raise SwiftError(413, "Your request is too large.")
        if md5 is not None:
            await md5.finish()
    except BaseException as exc:
        for writer in writers:
            writer.feed.abort(Abort(repr(exc)))
        if md5 is not None:
            await md5.abandon(Abort(repr(exc)))
        await asyncio.gather(*(w.task for w in writers), return_exceptions=True)
        raise
    for writer in writers:
        await writer.feed.put(SENTINEL_END)
    answers = await asyncio.gather(*(w.task for w in writers))
    return _put_response(req, state, answers, timestamp)


def _put_response(req: SwiftRequest, state: ObjectStoreState, answers: list[ObjectServerResponse | None],
                  timestamp: Timestamp) -> SwiftResponse:
    statuses = [503 if a is None else a.status for a in answers]
    quorum = quorum_size(state.ring.replicas)
    if statuses.count(412) and "if-none-match" in req.headers:
        raise SwiftError(412)
    if statuses.count(409) >= quorum:
        # A newer version is already there (Swift's answer to a PUT that lost the race).
        return SwiftResponse(202, Headers({"content-type": "text/html; charset=UTF-8"}))
    status = best_status(statuses, quorum)
    if status is None:
        log.warning("PUT %s: no quorum (%s)", req.path, statuses)
        raise SwiftError(503)
    if status >= 300:
        detail = None
        for a in answers:
            if a is not None and a.status == status and isinstance(a.body, bytes) and a.body:
                detail = a.body.decode("utf-8", "replace") if status != 422 else None
                break
        raise SwiftError(status, detail)
    etags = {a.headers.get("etag", "").strip('"') for a in answers if a is not None and a.status < 300}
    etags.discard("")
    if len(etags) != 1:
        log.error("PUT %s: object servers returned mismatched etags %s", req.path, etags)
        raise SwiftError(500)
    etag = etags.pop()
    return SwiftResponse(201, Headers({
        "etag": etag, "last-modified": timestamp.http_date, "content-type": "text/html; charset=UTF-8",
        "content-length": "0"}))


# -- POST and DELETE -------------------------------------------------------------------------------

async def _to_nodes(state: ObjectStoreState, method: str, part: int, path: str, nodes: list[Device],
                    headers: dict[str, str], handoffs: Iterator[Device]) -> list[ObjectServerResponse | None]:
    """The same bodiless request to each node at once (the next handoff in place of one that is
    down or answers 5xx, as Swift's make_requests does)."""

    async def one(node: Device) -> ObjectServerResponse | None:
        while True:
            resp = await _fetch(state, node, part, method, path, headers)
            if resp is not None:
                await resp.read()
                if not is_node_error(resp.status):
                    return resp
            replacement = next(handoffs, None)
            if replacement is None:
                return resp
            node = replacement

    return list(await asyncio.gather(*(one(n) for n in nodes)))


def _statuses(answers: list[ObjectServerResponse | None]) -> list[int]:
    return [503 if a is None else a.status for a in answers]


async def post(state: ObjectStoreState, req: SwiftRequest, account: str, container: str,
               obj: str) -> SwiftResponse:
    constraints.check_metadata(state.config, req.headers, "object")
    timestamp = request_timestamp(req)
    check_delete_headers(req, timestamp)
    if req.headers.get("x-detect-content-type", "").lower() in ("1", "true", "yes", "on"):
        guessed, _ = mimetypes.guess_type(obj, strict=False)
        req.headers["content-type"] = guessed or "application/octet-stream"
    part, primaries = state.ring.get_nodes(account, container, obj)
    path = f"/{account}/{container}/{obj}"
    headers = backend_headers(req, timestamp)
    handoffs = islice(state.ring.get_more_nodes(part), len(primaries) * 2)
    statuses = _statuses(await _to_nodes(state, "POST", part, path, primaries, headers, handoffs))
    quorum = quorum_size(state.ring.replicas)
    found = statuses.count(202)
    if 0 < found < quorum:
        # Mixed answers (Swift's _post_extra_handoffs): the replicas that said 404 may be on
        # handoffs (written while a primary was down); ask as many handoffs as there were 404s.
        extra = list(islice(handoffs, statuses.count(404)))
        statuses += _statuses(await _to_nodes(state, "POST", part, path, extra, headers, iter(())))
    status = post_status(statuses, quorum)
    if status is None:
        log.warning("POST %s: no quorum (%s)", req.path, statuses)
        raise SwiftError(503)
    if status >= 300:
        raise SwiftError(status)
    body = b"<html><h1>Accepted</h1><p>The request is accepted for processing.</p></html>"
    return SwiftResponse(202, Headers({"content-type": "text/html; charset=UTF-8"}), body)


async def delete(state: ObjectStoreState, req: SwiftRequest, account: str, container: str,
                 obj: str) -> SwiftResponse:
    timestamp = request_timestamp(req)
    part, primaries = state.ring.get_nodes(account, container, obj)
    path = f"/{account}/{container}/{obj}"
    handoffs = islice(state.ring.get_more_nodes(part), len(primaries) * 2)
    answers = await _to_nodes(state, "DELETE", part, path, primaries, backend_headers(req, timestamp), handoffs)
    # Every primary got a tombstone either way; the answer is Swift's (404 when a quorum of
    # replicas never had the object, even if one did).
    status = delete_status(_statuses(answers), quorum_size(state.ring.replicas))
    if status is None:
        log.warning("DELETE %s: no quorum (%s)", req.path, _statuses(answers))
        raise SwiftError(503)
    if status >= 300:
        raise SwiftError(status)
    return SwiftResponse(204, Headers({"content-type": "text/html; charset=UTF-8"}))
