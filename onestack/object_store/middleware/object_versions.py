"""The versions of one object under object_versioning (object_versioning.py has the whole
feature): where they are kept — ``<hidden>/<R><name><R><inverted timestamp>`` in the container's
hidden versions container, newest first — and the requests on one object of a versioned
container: PUT and DELETE writing versions and delete markers, POST reaching the version the link
names, GET/HEAD answering with ``X-Object-Version-Id``, and ``?version-id`` reads, deletes and
restores (PUT of zero bytes making a version the latest again).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, unquote

from onestack.object_store.errors import SwiftError
from onestack.object_store.middleware.symlink import (
    ALLOW_RESERVED_NAMES,
    BACKEND_ALLOW_RESERVED,
    SYMLOOP_EXTEND,
    SYS_TARGET_BYTES,
    SYS_TARGET_ETAG,
    TARGET,
    call,
    truthy,
)
from onestack.object_store.middleware.versioned_writes import archive_headers, precheck_put
from onestack.object_store.proxy.container import get_container_info
from onestack.object_store.proxy.request import (
    Handler,
    Headers,
    SwiftRequest,
    SwiftResponse,
    split_path,
)
from onestack.object_store.service.info import ContainerInfo
from onestack.object_store.state import ObjectStoreState
from onestack.object_store.timestamp import Timestamp

RESERVED = "\x01"
DELETE_MARKER_CONTENT_TYPE = "application/x-deleted;swift_versions_deleted=1"
SYSMETA_VERSIONS_ENABLED = "x-container-sysmeta-versions-enabled"
SYSMETA_VERSIONS_CONT = "x-container-sysmeta-versions-container"
SYSMETA_VERSIONS_SYMLINK = "x-object-sysmeta-versions-symlink"
NO_VERSIONS_CONT = "The versions container does not exist. You may want to re-enable object versioning."
_NOT_FOR_LINK = ("etag", "x-if-delete-at", "x-symlink-target-account", "x-object-manifest",
                 "x-static-large-object", "x-object-sysmeta-slo-etag", "x-object-sysmeta-slo-size",
                 "transfer-encoding")
_NOT_COPIED = frozenset({"x-timestamp", "last-modified", "accept-ranges", "content-location", "date",
                         "x-trans-id", "x-openstack-request-id", "content-range", "x-object-version-id",
                         "x-symlink-target", "x-symlink-target-account", "x-symlink-target-etag",
                         "x-symlink-target-bytes"})  # a link's own travel as its sysmeta


def reserved(*parts: str) -> str:
    return RESERVED + RESERVED.join(parts)


def versions_container(container: str) -> str:
    return reserved("versions", container)


def invert(version_id: str) -> str:
    """Swift's ~Timestamp: newer versions sort first in the hidden container."""
    raw = round(Timestamp.parse(version_id).seconds * 100000)
    inv = 999999999999999 - raw
    return f"{inv // 100000:010d}.{inv % 100000:05d}"


def version_object(obj: str, version_id: str) -> str:
    return reserved(obj, invert(version_id))


def parse_version_object(name: str) -> tuple[str, str | None]:
    if not name.startswith(RESERVED) or RESERVED not in name[1:]:
        return name, None
    obj, inv = name[1:].rsplit(RESERVED, 1)
    try:
        return obj, invert(inv)
    except ValueError:
        return name, None


def validate_version(version_id: str, allow_null: bool = True) -> None:
    if version_id == "null" and allow_null:
        return
    try:
        Timestamp.parse(version_id)
    except ValueError:
        raise SwiftError(400, "Invalid version parameter") from None


def check(resp: SwiftResponse, detail: bytes = b"") -> None:
    """A sub-request that failed: 412 for a missing container, the client error itself, else 503."""
    if resp.ok:
        return
    if resp.status == 404:
        raise SwiftError(412)
    if 400 <= resp.status < 500:
        raise SwiftError(resp.status, detail.decode("utf-8", "replace") if detail else None)
    raise SwiftError(503)


class VersionedObject:
    """One request on an object of a container with a versions container (or naming a version)."""

    def __init__(self, state: ObjectStoreState, app: Handler, req: SwiftRequest, version: str, account: str,
                 container: str, obj: str, info: ContainerInfo) -> None:
        self.state, self.app, self.req = state, app, req
        self.version, self.account, self.container, self.obj = version, account, container, obj
        self.info = info
        self.hidden = unquote(info.meta.get(SYSMETA_VERSIONS_CONT, "")).split("/")[0]
        self.enabled = truthy(info.meta.get(SYSMETA_VERSIONS_ENABLED))

    def hidden_path(self, version_id: str) -> str:
        return f"/{self.version}/{self.account}/{self.hidden}/{version_object(self.obj, version_id)}"

    def backend(self, method: str, path: str, headers: dict[str, str] | Headers | None = None,
                **kw: Any) -> SwiftRequest:
        sub = self.req.pre_authed(method, path, headers=headers, source="OV", **kw)
        sub.headers[BACKEND_ALLOW_RESERVED] = "true"
        return sub

    async def authorize(self) -> None:
        self.req.acl = self.info.write_acl
        await self.req.authorize()

    async def handle(self) -> SwiftResponse:
        req = self.req
        version_id = req.query.get("version-id")
        if version_id:
            return await self.with_version_id(version_id)
        if not self.hidden:
            return await self.app(req)
        if req.method == "PUT":
            return await self.put() if self.enabled else await self.app(req)
        if req.method == "DELETE":
            return await self.delete() if self.enabled else await self.app(req)
        if req.method == "POST":
            return await self.post()
        if req.method in ("GET", "HEAD"):
            return self.annotate(await self.app(req))
        return await self.app(req)

    # -- writes ----------------------------------------------------------------------------------
    async def copy_current(self) -> None:
        """An object written while versioning was off becomes a version before it is replaced."""
        source = await call(self.app, self.backend("GET", self.req.path, {"x-newest": "true"},
                                                   query={"symlink": "get"}))
        if source.ok and self.req.method == "PUT" and "if-none-match" in self.req.headers:
            # The PUT would be refused (If-None-Match: * on an existing object): write nothing.
            await source.close()
            raise SwiftError(412)
        if source.status == 404 or truthy(source.headers.get(SYSMETA_VERSIONS_SYMLINK)):
            await source.close()
            return
        if not source.ok:
            body = await source.read()
            check(source, body)
        stamp = source.headers.get("x-timestamp") or Timestamp.now().normal
        headers = archive_headers(source.headers, _NOT_COPIED)
        try:
            resp = await call(self.app, self.backend("PUT", self.hidden_path(Timestamp.parse(stamp).normal),
                                                     headers, body=source.body))
            body = await resp.read()
        finally:
            await source.close()
        if resp.status == 404:
            raise SwiftError(500, NO_VERSIONS_CONT)
        check(resp, body)

    async def put(self) -> SwiftResponse:
        req = self.req
        precheck_put(self.state, req, self.obj)
        await self.authorize()
        await self.copy_current()
        ts = Timestamp.now()
        version_id = ts.normal
        counted = 0

        async def counting() -> AsyncIterator[bytes]:
            nonlocal counted
            async for chunk in req.body.chunks():
                counted += len(chunk)
                yield chunk

        headers = Headers({k: v for k, v in req.headers.items() if k not in ("x-delete-at", "x-delete-after")})
        headers["x-timestamp"] = ts.internal
        data_req = self.backend("PUT", self.hidden_path(version_id), headers, body=counting())
        resp = await call(self.app, data_req)
        body = await resp.read()
        if resp.status == 404:
            raise SwiftError(500, NO_VERSIONS_CONT)
        check(resp, body)
        size = data_req.headers.get("x-object-sysmeta-slo-size") or str(counted)
        content_type = data_req.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
        return await self.put_link(version_id, resp.headers.get("etag", "").strip('"'), size, content_type,
                                   # just after the data (Swift uses an offset; the listing's
                                   # timestamp column holds no offset on PostgreSQL)
                                   Timestamp(round(ts.seconds + 0.00001, 5)))

    async def put_link(self, version_id: str, etag: str, size: str, content_type: str,
                       ts: Timestamp) -> SwiftResponse:
        """The object becomes a static link to the version (the caller's own PUT, so its ACLs apply)."""
        req = self.req
        link_headers = Headers({k: v for k, v in req.headers.items() if k not in _NOT_FOR_LINK})
        link_headers.update({
            "x-timestamp": ts.internal, SYS_TARGET_ETAG: etag, SYS_TARGET_BYTES: size, "content-type": content_type,
            TARGET: quote(f"{self.hidden}/{version_object(self.obj, version_id)}"),
            SYSMETA_VERSIONS_SYMLINK: "true", SYMLOOP_EXTEND: "true", ALLOW_RESERVED_NAMES: "true",
            BACKEND_ALLOW_RESERVED: "true", "content-length": "0"})
        link = req.sub("PUT", req.path, headers=link_headers, source="OV")
        resp = await self.app(link)
        resp.headers["etag"] = etag
        resp.headers["x-object-version-id"] = version_id
        return resp

    async def delete(self) -> SwiftResponse:
        await self.authorize()
        await self.copy_current()
        ts = Timestamp.now()
        marker = await call(self.app, self.backend("PUT", self.hidden_path(ts.normal), {
            "content-type": DELETE_MARKER_CONTENT_TYPE, "content-length": "0", "x-timestamp": ts.internal}))
        body = await marker.read()
        check(marker, body)
        self.req.headers["x-timestamp"] = ts.internal
        try:
            resp = await self.app(self.req)
        except SwiftError as err:
            if err.status != 404:
                raise
            err.headers.update({"x-object-version-id": ts.normal})
            raise
        resp.headers["x-object-version-id"] = ts.normal
        return resp

    async def post(self) -> SwiftResponse:
        """A POST reaches the link (307 from symlink) and is then applied to the version it names."""
        req = self.req
        headers = Headers({k: v for k, v in req.headers.items() if k not in ("x-delete-at", "x-delete-after")})
        try:
            return await self.app(req)
        except SwiftError as err:
            if err.status != 307 or not truthy(err.headers.get(SYSMETA_VERSIONS_SYMLINK)):
                raise
            location = unquote(err.headers.get("location", ""))
            try:
                _, account, container, _obj = split_path(location)
            except ValueError:
                raise err from None
            if (account, container) != (self.account, self.hidden):
                raise
        return await self.app(self.backend("POST", location, headers))

    # -- reads -----------------------------------------------------------------------------------
    def annotate(self, resp: SwiftResponse) -> SwiftResponse:
        resp.headers["x-object-version-id"] = "null"
        location = unquote(resp.headers.get("content-location", ""))
        if location:
            try:
                _, account, container, version_obj = split_path(location)
            except ValueError:
                return resp
            if (account, container) == (self.account, self.hidden) and version_obj:
                _, version_id = parse_version_object(version_obj)
                if version_id is not None:
                    resp.headers["x-object-version-id"] = version_id
                    resp.headers["content-location"] = (
                        quote(f"/{self.version}/{self.account}/{self.container}/{self.obj}")
                        + f"?version-id={version_id}")
        target = unquote(resp.headers.get(TARGET, ""))
        if target:
            container, _, version_obj = target.partition("/")
            if container == self.hidden:
                _, version_id = parse_version_object(version_obj)
                if version_id is not None:
                    resp.headers["x-object-version-id"] = version_id
                    resp.headers[TARGET] = quote(f"{self.container}/{self.obj}") + f"?version-id={version_id}"
        return resp

    async def with_version_id(self, version_id: str) -> SwiftResponse:
        req = self.req
        if req.method == "POST":
            raise SwiftError(400, "POST to a specific version is not allowed")
        if not self.hidden and version_id != "null":
            raise SwiftError(400, "version-aware operations require that the container is versioned")
        validate_version(version_id)
        if req.method == "DELETE":
            return await self.delete_version(version_id)
        if req.method == "PUT":
            return await self.put_version(version_id)
        if req.method not in ("GET", "HEAD"):
            return await self.app(req)
        if version_id == "null":
            resp = await self.app(req)
            if resp.ok and reserved("versions", "") in unquote(resp.headers.get("content-location", "")):
                await resp.close()
                raise SwiftError(404)  # the latest is a real version, not a null one
            resp.headers["x-object-version-id"] = "null"
            return resp
        # The version itself, read as the caller (the hidden container is the account owner's).
        req.path = self.hidden_path(version_id)
        req.headers[BACKEND_ALLOW_RESERVED] = "true"
        resp = await self.app(req)
        if resp.headers.get("content-type", "") == DELETE_MARKER_CONTENT_TYPE:
            await resp.close()
            raise SwiftError(404, headers={"x-object-version-id": version_id,
                                           "content-type": DELETE_MARKER_CONTENT_TYPE})
        if resp.ok:
            resp.headers["x-object-version-id"] = version_id
        return resp

    async def current_link(self) -> tuple[bool, str | None]:
        """(no current object, the version the current link names)."""
        head = await call(self.app, self.backend("HEAD", self.req.path, {"x-newest": "true"},
                                                 query={"symlink": "get"}))
        await head.close()
        if head.status == 404:
            return True, None
        check(head)
        if truthy(head.headers.get(SYSMETA_VERSIONS_SYMLINK)):
            return False, head.headers.get(TARGET)
        return False, None

    async def delete_version(self, version_id: str) -> SwiftResponse:
        req = self.req
        if version_id == "null":
            return await self.app(req)
        tombstone, target = await self.current_link()
        version_obj = version_object(self.obj, version_id)
        current = "null"
        if tombstone or not target or unquote(target) != f"{self.hidden}/{version_obj}":
            if target and not tombstone:
                current = parse_version_object(unquote(target).split("/", 1)[1])[1] or "null"
        else:
            # The latest version goes: the link first, then its data.
            link = await self.app(req.sub("DELETE", req.path, headers=req.headers.copy(), source="OV"))
            await link.read()
        req.path = self.hidden_path(version_id)
        req.headers[BACKEND_ALLOW_RESERVED] = "true"
        try:
            resp = await self.app(req)
        except SwiftError as err:
            err.headers.update({"x-object-version-id": version_id, "x-object-current-version-id": current})
            raise
        resp.headers["x-object-version-id"] = version_id
        resp.headers["x-object-current-version-id"] = current
        return resp

    async def put_version(self, version_id: str) -> SwiftResponse:
        """PUT ?version-id: that version becomes the latest (a new link to it)."""
        req = self.req
        validate_version(version_id, allow_null=False)
        length = req.content_length
        if length is None and "transfer-encoding" not in req.headers:
            raise SwiftError(411)
        if (length or 0) != 0 or (length is None and await req.body.read()):
            raise SwiftError(400, "PUT version-id requests require a zero byte body")
        await self.authorize()
        head = await call(self.app, self.backend("HEAD", self.hidden_path(version_id), query={"symlink": "get"}))
        await head.close()
        if head.status == 404:
            hidden = await get_container_info(self.state, req, self.account, self.hidden)
            if hidden is not None:
                raise SwiftError(404, "The specified version does not exist")
            raise SwiftError(500, NO_VERSIONS_CONT)
        check(head)
        return await self.put_link(version_id, head.headers.get("etag", "").strip('"'),
                                   head.headers.get("content-length", "0"),
                                   head.headers.get("content-type", "application/octet-stream"), Timestamp.now())
