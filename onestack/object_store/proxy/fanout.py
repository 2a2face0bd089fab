"""One request body streamed to several object servers at once (the object controller's PUT).

Each object server gets its own bounded queue of chunks, so a slow replica holds back the upload
instead of filling memory, and one that fails is dropped without stopping the others. A primary
that fails before taking the body (unreachable, 507) is replaced by the next handoff, which is
why the first chunk is kept until every writer has started: a replacement needs it too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from itertools import islice

from onestack.object_store.obj.client import ObjectServerResponse
from onestack.object_store.obj.diskio import HashedBody, SharedMD5
from onestack.object_store.proxy.error_limit import CallerAbort, ErrorLimited, ask
from onestack.object_store.ring.ring import Device
from onestack.object_store.state import ObjectStoreState

log = logging.getLogger("onestack.object_store.proxy.obj")

FEED_DEPTH = 2  # chunks queued per object server
SENTINEL_END = b""
WRITE_CHUNK = 64 * 1024  # at least this many bytes handed to the object servers at a time (uvicorn's reads mostly are: they pass uncopied)


def is_node_error(status: int) -> bool:
    return status >= 500


class Feed:
    """One object server's copy of the body, handed over a chunk at a time (bounded queue)."""

    def __init__(self, head: list[bytes]) -> None:
        self.head = list(head)
        self.queue: asyncio.Queue[bytes | BaseException] = asyncio.Queue(FEED_DEPTH)
        self.started = asyncio.Event()
        self.dead = False

    async def chunks(self) -> AsyncIterator[bytes]:
        self.started.set()
        for chunk in self.head:
            yield chunk
        while True:
            item = await self.queue.get()
            if isinstance(item, BaseException):
                raise item
            if item is SENTINEL_END:
                return
            yield item

    async def put(self, item: bytes | BaseException) -> None:
        if not self.dead:
            await self.queue.put(item)

    def abort(self, exc: BaseException) -> None:
        """End the body with an error instead of its end (only the uploading task calls this, so no
        put is blocked on the queue meanwhile)."""
        while not self.queue.empty():
            self.queue.get_nowait()
        if not self.dead:
            self.queue.put_nowait(exc)

    def finish(self) -> None:
        """The server answered (or failed): stop feeding it and free a put blocked on its queue."""
        self.dead = True
        while not self.queue.empty():
            self.queue.get_nowait()


class Writer:
    def __init__(self, state: ObjectStoreState, node: Device, part: int, path: str,
                 headers: dict[str, str], head: list[bytes], md5: SharedMD5 | None = None) -> None:
        self.node = node
        self.feed = Feed(head)
        self.task = asyncio.create_task(self._run(state, part, path, headers, md5))

    async def _run(self, state: ObjectStoreState, part: int, path: str, headers: dict[str, str],
                   md5: SharedMD5 | None) -> ObjectServerResponse | None:
        body: AsyncIterator[bytes] = self.feed.chunks()
        if md5 is not None and state.objects.is_local(self.node):
            body = HashedBody(body, md5)  # this process's object server takes the MD5 computed once
        try:
            resp = await ask(state.limiter, state.objects, self.node, part, "PUT", path, dict(headers), body)
            await resp.read()
            return resp
        except (Abort, ErrorLimited):
            return None
        except (TimeoutError, ConnectionError, OSError) as exc:
            log.warning("PUT %s to %s/%s failed: %s", path, self.node.host, self.node.device, exc)
            return None
        except Exception:  # a replica's failure counts against the quorum; it is not the client's 500
            log.exception("PUT %s to %s/%s failed", path, self.node.host, self.node.device)
            return None
        finally:
            self.feed.finish()

    async def connected(self) -> bool:
        """Whether the server took the body (pulled its first chunk) rather than failing at once."""
        started = asyncio.ensure_future(self.feed.started.wait())
        try:
            await asyncio.wait({started, self.task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            started.cancel()
        if self.feed.started.is_set():
            return True
        resp = self.task.result()
        return resp is not None and not is_node_error(resp.status)


class Abort(CallerAbort):
    """Ends an upload's body before its end: the object servers must not keep the partial object."""


async def open_writers(state: ObjectStoreState, part: int, primaries: list[Device], path: str,
                        headers: dict[str, str], head: list[bytes], md5: SharedMD5 | None = None) -> list[Writer]:
    """One writer per primary; a primary that fails before taking the body is replaced by the next
    handoff, as Swift's proxy does when a connection fails. With ``md5`` (fed every chunk by the
    caller), in-process object servers take the body's MD5 from it instead of hashing it each."""
    handoffs = islice(state.ring.get_more_nodes(part), len(primaries) * 2)
    writers = [Writer(state, node, part, path, headers, head, md5) for node in primaries]
    live: list[Writer] = []
    pending = writers
    while pending:
        results = await asyncio.gather(*(w.connected() for w in pending))
        retry: list[Writer] = []
        for writer, ok in zip(pending, results, strict=True):
            if ok:
                live.append(writer)
                continue
            replacement = next(handoffs, None)
            if replacement is not None:
                retry.append(Writer(state, replacement, part, path, headers, head, md5))
            else:
                live.append(writer)  # its failure counts against the quorum
        pending = retry
    return live


async def coalesce(source: AsyncIterator[bytes], size: int = WRITE_CHUNK) -> AsyncIterator[bytes]:
    """The client's small network reads joined into larger writes: fewer hand-overs per replica
    (each is a queue hop and a disk write in a thread), still a bounded amount of memory. Pieces
    are joined once (no growing buffer), and a large enough read passes through as it is."""
    parts: list[bytes] = []
    held = 0
    async for chunk in source:
        if not parts and len(chunk) >= size:
            yield chunk
            continue
        parts.append(chunk)
        held += len(chunk)
        if held >= size:
            yield b"".join(parts)
            parts, held = [], 0
    if parts:
        yield b"".join(parts)
