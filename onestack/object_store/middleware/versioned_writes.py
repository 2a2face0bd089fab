"""Swift's legacy versioned_writes: ``X-Versions-Location`` (stack mode) and ``X-History-Location``
(history mode) on a container name an archive container for its objects' older versions.

Container PUT/POST: the flag is validated (a container name, not both at once) and kept as
container sysmeta (``versions-location``, ``versions-mode``); GET/HEAD show it again under the
client's header. Object PUT in a versioned container first copies the current object (if any) to
``<archive>/<len(name) as 3 hex><name>/<its timestamp>``; a DELETE in history mode copies it too
and writes a delete marker (``application/x-deleted;swift_versions_deleted=1``) before deleting;
in stack mode a DELETE restores the newest archived version over the object and removes it from
the archive (so N versions need N deletes).

The caller needs write access to the versioned container (checked before anything is copied);
the archive is read and written with pre-authorized sub-requests, as Swift does, so a caller who
may write the container may version into its archive.
"""

from __future__ import annotations

import email.utils
from collections.abc import AsyncIterator
from urllib.parse import unquote

from onestack.object_store.errors import SwiftError
from onestack.object_store.middleware import symlink
from onestack.object_store.middleware.symlink import call, json_rows
from onestack.object_store.proxy import constraints
from onestack.object_store.proxy.constraints import check_account_format
from onestack.object_store.proxy.container import get_infos
from onestack.object_store.proxy.obj import check_delete_headers
from onestack.object_store.proxy.request import (
    Handler,
    Headers,
    Middleware,
    SwiftRequest,
    SwiftResponse,
    split_path,
)
from onestack.object_store.service.info import ContainerInfo
from onestack.object_store.state import ObjectStoreState
from onestack.object_store.timestamp import Timestamp

DELETE_MARKER_CONTENT_TYPE = "application/x-deleted;swift_versions_deleted=1"
CLIENT_VERSIONS_LOC = "x-versions-location"
CLIENT_HISTORY_LOC = "x-history-location"
SYSMETA_VERSIONS_LOC = "x-container-sysmeta-versions-location"
SYSMETA_VERSIONS_MODE = "x-container-sysmeta-versions-mode"
_REMOVE = ("x-remove-versions-location", "x-remove-history-location")
# Headers of the current object's answer that are about the answer, not the object.
_NOT_COPIED = frozenset({"x-timestamp", "last-modified", "accept-ranges", "content-location", "date",
                         "x-trans-id", "x-openstack-request-id", "content-range", "transfer-encoding",
                         "x-symlink-target", "x-symlink-target-account", "x-symlink-target-etag",
                         "x-symlink-target-bytes"})


def precheck_put(state: ObjectStoreState, req: SwiftRequest, obj: str) -> None:
    """The object controller's refusals of a PUT, checked before anything is archived, so that a
    refused write changes nothing (archiving first would leave a stray version behind)."""
    probe = req.sub("PUT", req.path, headers=req.headers.copy())
    chunked = "chunked" in probe.headers.get("transfer-encoding", "").lower()
    if "transfer-encoding" in probe.headers and not chunked:
        raise SwiftError(501)
    length = probe.content_length
    if length is None and not chunked:
        raise SwiftError(411, "Missing Content-Length header.")
    constraints.check_object_size(state.config, None if chunked else length)
    constraints.check_object_name(state.config, obj)
    constraints.check_metadata(state.config, probe.headers, "object")
    check_delete_headers(probe, Timestamp.now())
    if symlink.TARGET in probe.headers:  # a link's own refusals (its static ETag is checked later)
        if length:
            raise SwiftError(400, "Symlink requests require a zero byte body", headers={"content-type": "text/plain"})
        symlink.check_target(probe.headers[symlink.TARGET])
        if symlink.TARGET_ACCOUNT in probe.headers:
            check_account_format(probe.headers[symlink.TARGET_ACCOUNT])
    if_none_match = probe.headers.get("if-none-match")
    if if_none_match is not None and if_none_match.strip() != "*":
        raise SwiftError(400, "If-None-Match only supports *")


def archive_headers(source: Headers, excluded: frozenset[str]) -> Headers:
    """A stored object's answer headers for its copy; a manifest keeps its total size for the
    listing (``swift_bytes``), as Swift's copies do."""
    headers = Headers({k: v for k, v in source.items() if k not in excluded})
    slo_size = headers.get("x-object-sysmeta-slo-size")
    if slo_size and "swift_bytes=" not in headers.get("content-type", ""):
        headers["content-type"] = headers.get("content-type", "") + "; swift_bytes=" + slo_size
    return headers


def check_container_format(name: str) -> str:
    if not name:
        raise SwiftError(412, "Container name cannot be empty")
    if "/" in name:
        raise SwiftError(412, "Container name cannot contain slashes")
    return name


def versions_prefix(obj: str) -> str:
    """``<length as 3 hex><name>/``: the length is of the UTF-8 name (Swift counts its WSGI bytes)."""
    return f"{len(obj.encode('utf-8')):03x}{obj}/"


def versions_name(obj: str, timestamp: Timestamp) -> str:
    return versions_prefix(obj) + timestamp.internal


def container_headers(headers: Headers) -> None:
    """A container PUT/POST's flags as sysmeta (400/412 as Swift answers bad ones). The container
    then keeps the flag only as sysmeta: what it kept under the client's names is removed."""
    if CLIENT_VERSIONS_LOC in headers and CLIENT_HISTORY_LOC in headers:
        if not headers[CLIENT_HISTORY_LOC]:
            del headers[CLIENT_HISTORY_LOC]  # defer to the versions location
        elif headers[CLIENT_VERSIONS_LOC]:
            raise SwiftError(400, f"Only one of {CLIENT_VERSIONS_LOC} or {CLIENT_HISTORY_LOC} may be specified",
                             headers={"content-type": "text/plain"})
        else:
            del headers[CLIENT_VERSIONS_LOC]
    changed = False
    if CLIENT_VERSIONS_LOC in headers or CLIENT_HISTORY_LOC in headers:
        if CLIENT_VERSIONS_LOC in headers:
            value, mode = headers.pop(CLIENT_VERSIONS_LOC), "stack"
        else:
            value, mode = headers.pop(CLIENT_HISTORY_LOC), "history"
        if not value:
            headers["x-remove-versions-location"] = "x"  # an empty value removes the flag
        else:
            headers[SYSMETA_VERSIONS_LOC] = check_container_format(value)
            headers[SYSMETA_VERSIONS_MODE] = mode
            changed = True
            for name in _REMOVE:  # setting wins over removing in one request
                headers.pop(name, None)
    if any(headers.get(name) for name in _REMOVE):
        headers[SYSMETA_VERSIONS_LOC] = headers[SYSMETA_VERSIONS_MODE] = ""  # "" removes stored metadata
        changed = True
    for name in _REMOVE:
        headers.pop(name, None)
    if changed:
        for name in (CLIENT_VERSIONS_LOC, CLIENT_HISTORY_LOC):
            headers.pop(name, None)
            headers["x-remove-" + name[2:]] = "x"


def show_flag(headers: Headers) -> None:
    """A container's answer: the sysmeta flag under the client's header for its mode."""
    location = headers.get(SYSMETA_VERSIONS_LOC)
    if location:
        mode = headers.get(SYSMETA_VERSIONS_MODE, "stack")
        headers[CLIENT_HISTORY_LOC if mode == "history" else CLIENT_VERSIONS_LOC] = location


def versioning_of(info: ContainerInfo) -> tuple[str, str] | None:
    """(archive container, mode) of a versioned container; older rows kept the client's header."""
    location = info.meta.get(SYSMETA_VERSIONS_LOC) or info.meta.get(CLIENT_VERSIONS_LOC)
    if not location:
        return None
    mode = info.meta.get(SYSMETA_VERSIONS_MODE) or "stack"
    return unquote(location).split("/")[0], mode


def _check(resp: SwiftResponse) -> None:
    """A sub-request that failed: 412 for a client error (no archive, no rights), else 503."""
    if resp.ok:
        return
    raise SwiftError(412 if 400 <= resp.status < 500 else 503)


class _Versioner:
    def __init__(self, state: ObjectStoreState, app: Handler, req: SwiftRequest, version: str, account: str,
                 container: str, obj: str, archive: str) -> None:
        self.state, self.app, self.req = state, app, req
        self.version, self.account, self.container, self.obj = version, account, container, obj
        self.archive = archive

    def path(self, container: str, obj: str) -> str:
        return f"/{self.version}/{self.account}/{container}/{obj}"

    async def authorize(self, info: ContainerInfo) -> None:
        self.req.acl = info.write_acl
        await self.req.authorize()

    async def _source(self, path: str) -> SwiftResponse:
        resp = await call(self.app, self.req.pre_authed("GET", path, headers={"x-newest": "true"},
                                                  query={"symlink": "get"}, source="VW"))
        length = resp.headers.get("content-length")
        if resp.ok and (length is None or not length.isdigit() or int(length) > self.state.config.max_file_size):
            await resp.close()
            raise SwiftError(413)
        return resp

    async def _put_copy(self, path: str, source: SwiftResponse) -> SwiftResponse:
        headers = archive_headers(source.headers, _NOT_COPIED)
        body: bytes | AsyncIterator[bytes] = source.body
        try:
            resp = await call(self.app, self.req.pre_authed("PUT", path, headers=headers, body=body, source="VW"))
            await resp.read()
            return resp
        finally:
            await source.close()

    async def copy_current(self) -> None:
        """The current object (if any) into the archive under its own timestamp."""
        source = await self._source(self.req.path)
        if source.status == 404:
            await source.close()
            return
        if source.ok and self.req.method == "PUT" and "if-none-match" in self.req.headers:
            # The PUT would be refused (If-None-Match: * on an existing object): archive nothing.
            await source.close()
            raise SwiftError(412)
        if not source.ok:
            await source.close()
            _check(source)
        stamp = source.headers.get("x-timestamp")
        if stamp:
            ts = Timestamp.parse(stamp)
        else:
            ts = Timestamp.parse(email.utils.parsedate_to_datetime(source.headers["last-modified"]).timestamp())
        _check(await self._put_copy(self.path(self.archive, versions_name(self.obj, ts)), source))

    async def delete_marker(self) -> None:
        path = self.path(self.archive, versions_name(self.obj, Timestamp.now()))
        resp = await call(self.app, self.req.pre_authed(
            "PUT", path, headers={"content-type": DELETE_MARKER_CONTENT_TYPE, "content-length": "0"}, source="VW"))
        await resp.read()
        _check(resp)

    async def restore(self, version_name: str) -> str | None:
        """The archived version over the object; its archive path, or None when it has gone."""
        get_path = self.path(self.archive, version_name)
        source = await self._source(get_path)
        if source.status == 404:
            await source.close()
            return None
        if not source.ok:
            await source.close()
            _check(source)
        _check(await self._put_copy(self.req.path, source))
        return get_path

    async def listing(self) -> AsyncIterator[dict[str, str]]:
        """The archive's versions of the object, newest first."""
        prefix, marker = versions_prefix(self.obj), ""
        while True:
            query = {"prefix": prefix, "reverse": "on", "format": "json"}
            if marker:
                query["marker"] = marker
            resp = await call(self.app, self.req.pre_authed("GET", f"/{self.version}/{self.account}/{self.archive}",
                                                      query=query, source="VW"))
            body = await resp.read()
            if resp.status == 404:
                return
            if not resp.ok:
                raise SwiftError(412 if 400 <= resp.status < 500 else 500)
            page = json_rows(body) or []
            if not page:
                return
            for item in page:
                yield item
            marker = page[-1]["name"]

    async def pop(self, info: ContainerInfo) -> SwiftResponse:
        """Stack mode's DELETE: the newest archived version comes back in the object's place."""
        req = self.req
        authed = False
        items = self.listing().__aiter__()
        async for previous in items:
            if not authed:
                await self.authorize(info)
                authed = True
            if previous.get("content_type") == DELETE_MARKER_CONTENT_TYPE:
                head = await call(self.app, self.req.pre_authed("HEAD", self.req.path, headers={"x-newest": "true"},
                                                          source="VW"))
                await head.close()
                if head.status != 404:
                    _check(head)
                    break  # there is data: the delete goes through, back to the marker's state
                async for older in items:
                    if older.get("content_type") == DELETE_MARKER_CONTENT_TYPE:
                        break
                    restored = await self.restore(older["name"])
                    if not restored:
                        continue
                    gone = await call(self.app, self.req.pre_authed("DELETE", restored, source="VW"))
                    await gone.read()
                    if gone.status != 404:
                        _check(gone)
                    break
                req = self.req.pre_authed("DELETE", self.path(self.archive, previous["name"]), source="VW")
            else:
                restored = await self.restore(previous["name"])
                if not restored:
                    continue
                # The delete now removes the archived copy that was just restored.
                req = self.req.pre_authed("DELETE", restored, source="VW")
            req.headers.pop("x-if-delete-at", None)
            break
        return await self.app(req)


def factory(state: ObjectStoreState) -> Middleware | None:
    state.info.register("versioned_writes", allowed_flags=[CLIENT_VERSIONS_LOC, CLIENT_HISTORY_LOC])

    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            try:
                version, account, container, obj = split_path(req.path)
            except ValueError:
                return await app(req)
            if not account or not container:
                return await app(req)
            if obj is None:
                if req.method in ("PUT", "POST"):
                    container_headers(req.headers)
                resp = await app(req)
                show_flag(resp.headers)
                return resp
            if req.method not in ("PUT", "DELETE"):
                return await app(req)
            _, info = await get_infos(state, req, account, container)  # the object controller's, too
            found = versioning_of(info) if info is not None else None
            if info is None or found is None:
                return await app(req)
            archive, mode = found
            versioner = _Versioner(state, app, req, version, account, container, obj, archive)
            if req.method == "PUT":
                precheck_put(state, req, obj)
                await versioner.authorize(info)
                await versioner.copy_current()
                return await app(req)
            if mode == "history":
                await versioner.authorize(info)
                await versioner.copy_current()
                await versioner.delete_marker()
                return await app(req)
            return await versioner.pop(info)

        return handle

    return middleware
