"""Swift's server-side copy (the ``copy`` middleware): ``COPY`` with ``Destination`` (and
``Destination-Account``), and ``PUT`` with ``X-Copy-From`` (and ``X-Copy-From-Account``).

A copy is a GET of the source (a sub-request, so the caller needs read access to it; ``X-Newest``;
the request's ``Range`` and conditionals apply to it) whose body streams into a PUT of the
destination (the caller's own request turned into a PUT, so write access is checked there).
Metadata as Swift merges it: the source's user metadata, sysmeta and X-Delete-At, overridden by the
request's; with ``X-Fresh-Metadata: true`` only the request's user metadata (sysmeta still copied).
The answer carries ``X-Copied-From``, ``X-Copied-From-Account``, ``X-Copied-From-Last-Modified``.
``?version-id=`` names the source's version (object versioning): the source read keeps it, the
destination's PUT drops it, as Swift's copy middleware does.
"""

from __future__ import annotations

from urllib.parse import quote

from onestack.object_store import conditions
from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.constraints import check_account_format
from onestack.object_store.proxy.request import (
    Body,
    Handler,
    Headers,
    Middleware,
    SwiftRequest,
    SwiftResponse,
    decode_text,
    split_path,
)
from onestack.object_store.state import ObjectStoreState

USER_META = "x-object-meta-"
SYSMETA = "x-object-sysmeta-"
TRANSIENT_SYSMETA = "x-object-transient-sysmeta-"
# Headers of the caller's request that are about the source read, not the new object.
_SOURCE_ONLY = ("range", *conditions.HEADERS, "x-newest")


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on", "t", "y")


def _is_meta(name: str) -> bool:
    return name.startswith((USER_META, SYSMETA, TRANSIENT_SYSMETA))


def _is_sysmeta(name: str) -> bool:
    return name.startswith((SYSMETA, TRANSIENT_SYSMETA))


def _copy_meta(source: Headers, dest: Headers) -> None:
    """Swift's _copy_headers: user metadata, sysmeta and X-Delete-At travel with a copy."""
    for key, value in source.items():
        if _is_meta(key) or key == "x-delete-at":
            dest[key] = value


def _container_and_object(value: str, header: str) -> tuple[str, str]:
    """``<container>/<object>`` (percent-encoded, optional leading slash); 412 otherwise."""
    text = decode_text(value)
    if not text.startswith("/"):
        text = "/" + text
    parts = text[1:].split("/", 1)
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise SwiftError(412, f"{header} header must be of the form <container name>/<object name>")
    return parts[0], parts[1]


def factory(state: ObjectStoreState) -> Middleware | None:
    max_size = state.config.max_file_size

    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            try:
                version, account, container, obj = split_path(req.path)
            except ValueError:
                return await app(req)
            if not (account and container and obj):
                return await app(req)
            if req.method == "PUT" and req.headers.get("x-copy-from"):
                return await copy_put(app, req, version, account)
            if req.method == "COPY":
                return await copy_verb(app, req, version, account, container, obj)
            return await app(req)

        return handle

    async def copy_verb(app: Handler, req: SwiftRequest, version: str, account: str, container: str,
                        obj: str) -> SwiftResponse:
        """COPY becomes a PUT of the destination with X-Copy-From naming the source (as Swift rewrites it)."""
        if not req.headers.get("destination"):
            raise SwiftError(412, "Destination header required")
        dest_account = account
        if "destination-account" in req.headers:
            dest_account = check_account_format(req.headers["destination-account"])
            req.headers["x-copy-from-account"] = quote(account)
            del req.headers["destination-account"]
        dest_container, dest_obj = _container_and_object(req.headers["destination"], "Destination")
        del req.headers["destination"]
        req.method = "PUT"
        req.path = f"/{version}/{dest_account}/{dest_container}/{dest_obj}"
        req.headers["content-length"] = "0"
        req.headers.pop("transfer-encoding", None)
        req.headers["x-copy-from"] = quote(f"/{container}/{obj}")
        return await copy_put(app, req, version, dest_account)

    async def copy_put(app: Handler, req: SwiftRequest, version: str, dest_account: str) -> SwiftResponse:
        if req.content_length:
            raise SwiftError(400, "Copy requests require a zero byte body")
        src_account = dest_account
        if req.headers.get("x-copy-from-account"):
            src_account = check_account_format(req.headers["x-copy-from-account"])
        src_container, src_obj = _container_and_object(req.headers["x-copy-from"], "X-Copy-From")
        source_path = f"/{version}/{src_account}/{src_container}/{src_obj}"

        # The source read: the caller's headers (Range, conditionals) as Swift's copy_get keeps them.
        get_headers = req.headers.copy()
        for name in ("x-copy-from", "x-copy-from-account", "content-length", "content-type", "etag",
                     "transfer-encoding", "x-fresh-metadata"):
            get_headers.pop(name, None)
        get_headers["x-newest"] = "true"
        get_query = dict(req.query)
        manifest_get = req.query.get("multipart-manifest") == "get"
        if manifest_get:
            get_query["format"] = "raw"
        source = await app(req.sub("GET", source_path, headers=get_headers, query=get_query, source="SSC"))
        if source.status >= 300:
            return source
        length_text = source.headers.get("content-length")
        if length_text is None or not length_text.isdigit() or int(length_text) > max_size:
            await source.close()
            raise SwiftError(413)
        try:
            return await _sink(app, req, source, int(length_text), src_account, src_container, src_obj,
                               manifest_get)
        finally:
            await source.close()

    async def _sink(app: Handler, req: SwiftRequest, source: SwiftResponse, length: int, src_account: str,
                    src_container: str, src_obj: str, manifest_get: bool) -> SwiftResponse:
        original = req.headers
        sink = original.copy()
        for name in ("x-copy-from", "x-copy-from-account", *_SOURCE_ONLY):
            sink.pop(name, None)
        query = dict(req.query)
        if manifest_get:
            if "x-static-large-object" in source.headers:
                query["multipart-manifest"] = "put"
            if "x-object-manifest" in source.headers:
                query.pop("multipart-manifest", None)
                sink["x-object-manifest"] = source.headers["x-object-manifest"]
        # ?version-id chose the source's version (the GET above); the copy itself is a new object
        # (Swift's copy middleware drops it from the PUT, which the versioning would refuse).
        query.pop("version-id", None)
        sink["content-length"] = str(length)
        sink.pop("transfer-encoding", None)
        # The source's ETag verifies the copied bytes, unless they are not the object's own bytes
        # (a range, or a large object whose ETag is not the hash of its content).
        sink.pop("etag", None)
        if source.status == 200 and "x-static-large-object" not in source.headers and (
                "x-object-manifest" not in source.headers or manifest_get):
            etag = source.headers.get("etag", "").strip('"')
            if etag:
                sink["etag"] = etag
        if not original.get("content-type") and "content-type" in source.headers:
            sink["content-type"] = source.headers["content-type"]
        if _truthy(sink.get("x-fresh-metadata")):
            # Fresh metadata: the request's user metadata only; the source's sysmeta still travels.
            for key in [k for k in sink if _is_sysmeta(k)]:
                del sink[key]
            for key, value in source.headers.items():
                if _is_sysmeta(key):
                    sink[key] = value
        else:
            _copy_meta(source.headers, sink)
            _copy_meta(original, sink)
        sink.pop("x-fresh-metadata", None)

        extra = Headers({"x-copied-from-account": quote(src_account),
                         "x-copied-from": quote(f"{src_container}/{src_obj}")})
        if "last-modified" in source.headers:
            extra["x-copied-from-last-modified"] = source.headers["last-modified"]
        for key, value in sink.items():
            if _is_meta(key) or key == "x-delete-at":
                extra[key] = value

        req.headers = sink
        req.query = query
        req.body = Body(source.body)
        resp = await app(req)
        if resp.ok:
            for key, value in extra.items():
                resp.headers[key] = value
        return resp

    return middleware
