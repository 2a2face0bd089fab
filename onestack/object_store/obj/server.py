"""The object server of one host's devices (Swift's object server), called in-process by the
proxy and the replicators or through its HTTP face (``http.py``). The protocol is in
``obj/client.py``'s docstring; the answers follow Swift's object server and swob.

Differences a caller may notice: ETags are answered without quotes, and a streamed GET body
that hits a corrupt block raises ``ConnectionError`` (the file is quarantined by then).

Container updates: a write that changes the listing first records an async pending on the
device (before its file is renamed in), then sends the update to the ``ContainerUpdater`` and
removes the pending once it succeeded; ``X-Backend-Replication: true`` writes send none. The
update's ``etag``/``content_type`` are the listing's (``X-Backend-Container-Update-Override-*``
or ``X-Object-Sysmeta-Container-Update-Override-*`` applied); their ``; key=value`` parameters
(``slo_etag``, ``symlink_target``, ..., and ``swift_bytes`` from the content type) go to ``extra``.
A POST's update carries the POST's timestamp (the listing's newest state).
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from onestack.object_store import conditions, ranges
from onestack.object_store.container_updates import ContainerUpdater
from onestack.object_store.errors import SwiftError, html_body
from onestack.object_store.obj import updater as pendings
from onestack.object_store.obj.client import ObjectServerResponse
from onestack.object_store.obj.diskfile import (
    DEFAULT_RECLAIM_AGE,
    Deleted,
    DeviceUnavailable,
    Expired,
    FileBackend,
    HashedBody,
    NotFound,
    ObjectFiles,
    ObjectReader,
    ObjectWriter,
    Quarantined,
)
from onestack.object_store.ring.ring import hash_path
from onestack.object_store.rpcapi import ContainerUpdate
from onestack.object_store.timestamp import Timestamp

log = logging.getLogger("onestack.object_store.obj.server")

# Swift's default allowed_headers: kept with the data and answered on GET/HEAD.
ALLOWED_HEADERS = frozenset({
    "content-disposition", "content-encoding", "x-delete-at", "x-object-manifest", "x-static-large-object",
    "cache-control", "content-language", "expires", "x-robots-tag"})
OVERRIDE_PREFIXES = ("x-backend-container-update-override-", "x-object-sysmeta-container-update-override-")
ZERO = Timestamp(0.0)


def is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on", "t", "y")


def is_stored_header(key: str) -> bool:
    """User metadata, system metadata, transient sysmeta and the allowed headers."""
    return (key.startswith(("x-object-meta-", "x-object-sysmeta-", "x-object-transient-sysmeta-"))
            or key in ALLOWED_HEADERS)


def _error(status: int, detail: str | None = None, headers: dict[str, str] | None = None) -> ObjectServerResponse:
    body = b"" if status in (204, 304) else html_body(status, detail)
    out = dict(headers or {})
    out["content-length"] = str(len(body))
    if body:
        out.setdefault("content-type", "text/plain; charset=UTF-8" if detail else "text/html; charset=UTF-8")
    return ObjectServerResponse(status, out, body)


def request_timestamp(headers: Mapping[str, str]) -> Timestamp:
    value = headers.get("x-timestamp")
    if value is None:
        raise SwiftError(400, "Missing X-Timestamp header")
    try:
        return Timestamp.parse(value)
    except ValueError:
        raise SwiftError(400, "Invalid X-Timestamp header") from None


def check_delete_at(headers: Mapping[str, str], now: Timestamp) -> int | None:
    value = headers.get("x-delete-at")
    if not value:
        return None
    try:
        delete_at = int(value)
    except ValueError:
        raise SwiftError(400, "Non-integer X-Delete-At") from None
    if delete_at < now.seconds and not is_true(headers.get("x-backend-replication")):
        raise SwiftError(400, "X-Delete-At in past")
    return delete_at


def split_params(value: str) -> tuple[str, dict[str, str]]:
    """``"abc; slo_etag=def"`` → ("abc", {"slo_etag": "def"})."""
    head, *rest = value.split(";")
    params = {}
    for item in rest:
        key, eq, val = item.strip().partition("=")
        if eq and key:
            params[key.strip()] = val.strip()
    return head.strip(), params


def listing_update(op: str, account: str, container: str, obj: str, timestamp: Timestamp,
                   metadata: Mapping[str, str], overrides: list[Mapping[str, str]]) -> ContainerUpdate:
    """The container update of an object's state, with Swift's overrides applied in order."""
    fields = {"etag": metadata.get("etag", ""), "size": metadata.get("content-length", "0"),
              "content-type": metadata.get("content-type", "")}
    for source in overrides:
        for prefix in OVERRIDE_PREFIXES:
            for key, value in source.items():
                if key.startswith(prefix) and key[len(prefix):] in fields:
                    fields[key[len(prefix):]] = value
    etag, params = split_params(fields["etag"])
    extra: dict[str, Any] = dict(params)
    content_type = fields["content-type"]
    base, ctype_params = split_params(content_type)
    if "swift_bytes" in ctype_params:
        value = ctype_params.pop("swift_bytes")
        extra["swift_bytes"] = int(value) if value.isdigit() else 0
        content_type = ";".join([base] + [f"{k}={v}" for k, v in ctype_params.items()])
    try:
        size = int(fields["size"])
    except ValueError:
        size = 0
    delete_at = metadata.get("x-delete-at")
    return ContainerUpdate(account=account, container=container, obj=obj, op=op, timestamp=timestamp.internal,
                           size=size, etag=etag, content_type=content_type,
                           delete_at=float(delete_at) if delete_at and delete_at.isdigit() else None, extra=extra)


async def _chunks(body: bytes | AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if isinstance(body, bytes | bytearray | memoryview):
        if body:
            yield bytes(body)
        return
    async for chunk in body:
        if chunk:
            yield chunk


class ObjectServer:
    """Serves the devices under ``devices_root`` (``<devices_root>/<device>``)."""

    def __init__(self, devices_root: Path, updater: ContainerUpdater | None, hash_path_suffix: str, *,
                 update_timeout: float = 10.0, reclaim_age: float = DEFAULT_RECLAIM_AGE, fsync: bool = True) -> None:
        self.devices_root = devices_root
        self.updater = updater
        self.hash_path_suffix = hash_path_suffix
        self.update_timeout = update_timeout
        self.reclaim_age = reclaim_age
        self.fsync = fsync
        self._backends: dict[str, FileBackend] = {}

    def backend(self, device: str) -> FileBackend:
        found = self._backends.get(device)
        if found is None:
            if not device or "/" in device or device in (".", ".."):
                raise DeviceUnavailable(device)
            found = self._backends[device] = FileBackend(self.devices_root / device, self.reclaim_age, self.fsync)
        return found

    async def handle(self, device: str, part: int, method: str, path: str, headers: Mapping[str, str],
                     body: bytes | AsyncIterator[bytes] = b"") -> ObjectServerResponse:
        """One request for ``path`` = ``/<account>/<container>/<object>`` on ``device``."""
        h = {k.lower(): v for k, v in headers.items()}
        try:
            parts = path.split("/", 3)
            if len(parts) != 4 or parts[0] or not all(parts[1:]):
                raise SwiftError(400, "Invalid path")
            _, account, container, obj = parts
            backend = self.backend(device)
            if not backend.exists():
                raise DeviceUnavailable(device)
            hsh = hash_path(self.hash_path_suffix, account, container, obj)
            if method == "PUT":
                return await self._put(backend, part, hsh, path, (account, container, obj), h, body)
            if method in ("GET", "HEAD"):
                return await self._get(backend, part, hsh, method, h)
            if method == "POST":
                return await self._post(backend, part, hsh, path, (account, container, obj), h)
            if method == "DELETE":
                return await self._delete(backend, part, hsh, path, (account, container, obj), h)
            return _error(405)
        except SwiftError as err:
            return _error(err.status, err.detail, err.headers)
        except DeviceUnavailable:
            return _error(507)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                return _error(507)
            raise

    async def replicate(self, device: str, part: int, suffixes: list[str]) -> dict[str, str]:
        """The partition's suffix hashes (``DeviceUnavailable`` when the device is missing)."""
        return await self.backend(device).get_hashes(part, suffixes)

    # -- container updates -------------------------------------------------------------------
    def _pending_hook(self, backend: FileBackend, part: int, hsh: str, update: ContainerUpdate | None,
                      record: list[Path]) -> Any:
        if update is None or self.updater is None:
            return None  # nothing owed (a replication write, or a server without a listing)

        def hook(file_name: str) -> None:
            record.append(pendings.write_pending(backend.root, hsh, part, file_name, update))
        return hook

    async def _send_update(self, update: ContainerUpdate | None, record: list[Path]) -> None:
        if update is None or self.updater is None:
            return
        try:
            await asyncio.wait_for(self.updater.update_container(update), self.update_timeout)
        except Exception as exc:  # noqa: BLE001 - the pending stays for the updater daemon
            log.warning("container update of %s/%s/%s deferred: %s", update["account"], update["container"],
                        update["obj"], exc)
            return
        for path in record:
            pendings.remove_pending(path)

    # -- PUT ---------------------------------------------------------------------------------
    @staticmethod
    async def _check_put(backend: FileBackend, part: int, hsh: str, ts: Timestamp, h: dict[str, str]) -> None:
        """412 when If-None-Match matches the object there; 409 when it is as new as this write."""
        orig: ObjectFiles | None = None
        orig_ts = ZERO
        try:
            found = await backend.read_metadata(part, hsh, now=ts.seconds)
            orig, orig_ts = found, found.data_timestamp
        except Deleted as exc:
            orig_ts = exc.timestamp or ZERO
        except NotFound:
            pass
        if "if-none-match" in h and orig is not None and conditions.matches(h["if-none-match"], orig.etag):
            raise SwiftError(412)
        if orig_ts >= ts:
            raise SwiftError(409, headers={"x-backend-timestamp": orig_ts.internal})

    @staticmethod
    def _newer_check(backend: FileBackend, part: int, hsh: str, ts: Timestamp) -> Callable[[], None]:
        """``_check_put``'s 409, blocking, for ``ObjectWriter.commit`` to run before it writes."""
        def check() -> None:
            orig_ts = backend.current_timestamp(part, hsh, ts.seconds)
            if orig_ts >= ts:
                raise SwiftError(409, headers={"x-backend-timestamp": orig_ts.internal})
        return check

    async def _put(self, backend: FileBackend, part: int, hsh: str, path: str, names: tuple[str, str, str],
                   h: dict[str, str], body: bytes | AsyncIterator[bytes]) -> ObjectServerResponse:
        ts = request_timestamp(h)
        replication = is_true(h.get("x-backend-replication"))
        length: int | None = None
        if "content-length" in h:
            if not h["content-length"].strip().isdigit():
                raise SwiftError(400, "Invalid Content-Length header value")
            length = int(h["content-length"])
        if "content-type" not in h:
            raise SwiftError(400, "No content type")
        check_delete_at(h, ts)
        # A small body (all of it arrives before anything is written) is checked against the
        # object's current state in the thread call that writes it: one thread hop, not two.
        small = length is not None and length <= ObjectWriter.SMALL_TAIL and "if-none-match" not in h
        check = self._newer_check(backend, part, hsh, ts) if small else None
        if not small:
            await self._check_put(backend, part, hsh, ts, h)
        # A body from this process's proxy may come with its MD5 computed once for all replicas.
        writer = await backend.create(part, hsh, body.md5 if isinstance(body, HashedBody) else None)
        committed = False
        try:
            chunks = _chunks(body).__aiter__()
            while True:
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise SwiftError(408) from None
                except (ConnectionError, asyncio.IncompleteReadError, OSError) as exc:
                    log.info("PUT %s: body ended early: %s", path, exc)
                    raise SwiftError(499) from None
                await writer.write(chunk)
                if length is not None and writer.received > length:
                    raise SwiftError(400, "Content-Length mismatch: more data than declared")
            etag = await writer.flush()
            if length is not None and writer.size != length:
                raise SwiftError(499)
            sent_etag = conditions.normalize_etag(h.get("etag"))
            if sent_etag and sent_etag.lower() != etag:
                raise SwiftError(422)
            metadata = {"name": path, "x-timestamp": ts.internal, "content-type": h["content-type"],
                        "content-length": str(writer.size), "etag": etag}
            replication_headers = {k.strip().lower() for k in h.get("x-backend-replication-headers", "").split()}
            for key, value in h.items():
                if is_stored_header(key) or key in replication_headers:
                    metadata[key] = value
            update = None if replication else listing_update("PUT", *names, ts, metadata, [metadata, h])
            record: list[Path] = []
            await writer.commit(ts, metadata, self._pending_hook(backend, part, hsh, update, record), check)
            committed = True
        finally:
            if not committed:
                await writer.abort()
        await self._send_update(update, record)
        return ObjectServerResponse(201, {"etag": etag, "content-length": "0",
                                          "x-backend-timestamp": ts.internal}, b"")

    # -- GET / HEAD --------------------------------------------------------------------------
    async def _get(self, backend: FileBackend, part: int, hsh: str, method: str,
                   h: dict[str, str]) -> ObjectServerResponse:
        now: float | None = None
        if "x-timestamp" in h:
            now = request_timestamp(h).seconds
        open_expired = is_true(h.get("x-backend-open-expired")) or is_true(h.get("x-backend-replication"))
        try:
            reader = await backend.open(part, hsh, now=now, open_expired=open_expired)
        except NotFound as exc:
            extra = {"x-backend-timestamp": exc.timestamp.internal} if exc.timestamp else {}
            if conditions.evaluate(h, status=404, etag=None, last_modified=None) == 412:
                return _error(412, headers=extra)
            return _error(404, headers=extra)
        try:
            return await self._answer(reader, method, h)
        except BaseException:
            await reader.close()
            raise

    async def _answer(self, reader: ObjectReader, method: str, h: dict[str, str]) -> ObjectServerResponse:
        files = reader.files
        meta = files.metadata
        headers = {k: v for k, v in meta.items() if is_stored_header(k)}
        headers["content-type"] = meta.get("content-type", "application/octet-stream")
        headers["etag"] = files.etag
        headers["last-modified"] = files.timestamp.http_date
        headers["x-timestamp"] = files.timestamp.normal
        headers["x-backend-timestamp"] = files.timestamp.internal
        headers["x-backend-data-timestamp"] = files.data_timestamp.internal
        if files.meta_timestamp is not None:
            headers["x-backend-meta-timestamp"] = files.meta_timestamp.internal
        length = files.data_len
        headers["content-length"] = str(length)
        etag_key = next((k.strip().lower() for k in h.get("x-backend-etag-is-at", "").split(",")
                         if k.strip().lower() in meta), None)
        cond_etag = meta[etag_key] if etag_key else files.etag
        status = conditions.evaluate(h, status=200, etag=cond_etag, last_modified=headers["last-modified"])
        if status is not None or method == "HEAD":
            await reader.close()
            if status is not None:
                headers["content-length"] = "0"
            return ObjectServerResponse(status or 200, headers, b"")
        ignore = {k.strip().lower() for k in h.get("x-backend-ignore-range-if-metadata-present", "").split(",")}
        specs = None if ignore & set(meta) else ranges.parse_range(h.get("range"))
        wanted = ranges.ranges_for_length(specs, length)
        if wanted == []:
            await reader.close()
            body = html_body(416)
            headers.update(ranges.unsatisfiable_headers(length))
            headers["content-length"] = str(len(body))
            return ObjectServerResponse(416, headers, body)
        if not wanted or length == 0:
            return ObjectServerResponse(200, headers, _stream(reader, [(0, length)]))
        if len(wanted) == 1:
            start, end = wanted[0]
            headers["content-range"] = ranges.content_range(start, end, length)
            headers["content-length"] = str(end - start)
            return ObjectServerResponse(206, headers, _stream(reader, wanted))
        boundary = ranges.new_boundary()
        ctype = headers["content-type"]
        headers["content-type"] = ranges.multipart_content_type(boundary)
        headers["content-length"] = str(ranges.multipart_length(wanted, ctype, boundary, length))
        return ObjectServerResponse(206, headers, _multipart(reader, wanted, ctype, boundary, length))

    # -- POST --------------------------------------------------------------------------------
    async def _post(self, backend: FileBackend, part: int, hsh: str, path: str, names: tuple[str, str, str],
                    h: dict[str, str]) -> ObjectServerResponse:
        ts = request_timestamp(h)
        check_delete_at(h, ts)
        replication = is_true(h.get("x-backend-replication"))
        open_expired = replication or is_true(h.get("x-backend-open-expired"))
        try:
            orig = await backend.read_metadata(part, hsh, now=ts.seconds, open_expired=open_expired)
        except NotFound:
            raise SwiftError(404) from None
        if orig.timestamp >= ts:
            raise SwiftError(409, headers={"x-backend-timestamp": orig.timestamp.internal})
        metadata = {"name": path, "x-timestamp": ts.internal}
        replication_headers = {k.strip().lower() for k in h.get("x-backend-replication-headers", "").split()}
        for key, value in h.items():
            if (key.startswith(("x-object-meta-", "x-object-transient-sysmeta-")) or key in ALLOWED_HEADERS
                    or key in replication_headers) and key != "x-static-large-object":
                metadata[key] = value
        if h.get("content-type"):
            metadata["content-type"] = h["content-type"]
        elif orig.meta_metadata and "content-type" in orig.meta_metadata:
            # An earlier POST's content type stays (Swift keeps it by its own timestamp).
            metadata["content-type"] = orig.meta_metadata["content-type"]
        update = None if replication else self._post_update(names, ts, orig, metadata)
        record: list[Path] = []
        await backend.write_meta(part, hsh, ts, metadata, self._pending_hook(backend, part, hsh, update, record))
        await self._send_update(update, record)
        content_type = metadata.get("content-type", orig.data_metadata.get("content-type", ""))
        out = {"x-backend-content-type": content_type, "content-length": "0"}
        out.update({k: v for k, v in orig.metadata.items() if k.startswith("x-object-sysmeta-")})
        return ObjectServerResponse(202, out, b"")

    @staticmethod
    def _post_update(names: tuple[str, str, str], ts: Timestamp, orig: ObjectFiles,
                     metadata: dict[str, str]) -> ContainerUpdate:
        """A POST's listing update: the data's size and ETag (and its persisted overrides), the
        content type now in force, the POST's X-Delete-At (none when absent), at the POST's time."""
        state = dict(orig.data_metadata)
        state["x-delete-at"] = metadata.get("x-delete-at", "")
        if "content-type" in metadata:
            state["content-type"] = metadata["content-type"]
        update = listing_update("PUT", *names, ts, state, [orig.data_metadata])
        # SLO's swift_bytes rides on the data's content type; a POSTed one must not lose it.
        _, data_params = split_params(orig.data_metadata.get("content-type", ""))
        if "swift_bytes" in data_params and "swift_bytes" not in update["extra"]:
            update["extra"]["swift_bytes"] = int(data_params["swift_bytes"]) if data_params["swift_bytes"].isdigit() else 0
        return update

    # -- DELETE ------------------------------------------------------------------------------
    async def _delete(self, backend: FileBackend, part: int, hsh: str, path: str, names: tuple[str, str, str],
                      h: dict[str, str]) -> ObjectServerResponse:
        ts = request_timestamp(h)
        orig_meta: dict[str, str] = {}
        try:
            files = await backend.read_metadata(part, hsh, now=ts.seconds)
        except Expired as exc:
            orig_ts, orig_meta, status = exc.timestamp or ZERO, exc.metadata, 404
        except Deleted as exc:
            orig_ts, status = exc.timestamp or ZERO, 404
        except (NotFound, Quarantined):
            orig_ts, status = ZERO, 404
        else:
            orig_ts, orig_meta = files.data_timestamp, files.metadata
            status = 204 if orig_ts < ts else 409
        response_ts = max(orig_ts, ts)
        if "x-if-delete-at" in h:
            try:
                wanted = Timestamp.parse(h["x-if-delete-at"])
            except ValueError:
                raise SwiftError(400, "Bad X-If-Delete-At header value") from None
            if orig_ts == ZERO:
                raise SwiftError(404)
            if orig_ts >= ts:
                raise SwiftError(409)
            try:
                current = Timestamp.parse(orig_meta.get("x-delete-at") or "0")
            except ValueError:
                current = ZERO
            if current != wanted:
                raise SwiftError(412, "X-If-Delete-At and X-Delete-At do not match")
            status = 204
        if orig_ts < ts:
            replication = is_true(h.get("x-backend-replication"))
            update = None if replication else ContainerUpdate(
                account=names[0], container=names[1], obj=names[2], op="DELETE", timestamp=ts.internal, size=0,
                etag="", content_type="", delete_at=None, extra={})
            record: list[Path] = []
            await backend.delete(part, hsh, ts, {"name": path, "x-timestamp": ts.internal},
                                 self._pending_hook(backend, part, hsh, update, record))
            await self._send_update(update, record)
        headers = {"x-backend-timestamp": response_ts.internal,
                   "x-backend-content-type": orig_meta.get("content-type", "")}
        if status == 409:
            return _error(409, headers=headers)
        return _error(status, headers=headers) if status == 404 else ObjectServerResponse(
            status, {**headers, "content-length": "0"}, b"")


async def _stream(reader: ObjectReader, spans: list[tuple[int, int]]) -> AsyncIterator[bytes]:
    """The spans' bytes; closes the file at the end or when the consumer stops early."""
    try:
        for start, end in spans:
            async for chunk in _checked(reader, start, end):
                yield chunk
    finally:
        await reader.close()


async def _checked(reader: ObjectReader, start: int, end: int) -> AsyncIterator[bytes]:
    try:
        async for chunk in reader.iter_range(start, end):
            yield chunk
    except Quarantined as exc:
        raise ConnectionError(f"object quarantined while reading: {exc}") from None


async def _multipart(reader: ObjectReader, spans: list[tuple[int, int]], content_type: str, boundary: str,
                     length: int) -> AsyncIterator[bytes]:
    try:
        async for chunk in ranges.multipart_body(spans, content_type, boundary, length,
                                                 lambda s, e: _checked(reader, s, e)):
            yield chunk
    finally:
        await reader.close()

