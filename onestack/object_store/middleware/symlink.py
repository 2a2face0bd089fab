"""Swift's symlink middleware: objects that point at other objects.

A zero-byte ``PUT`` with ``X-Symlink-Target: <container>/<object>`` (and optionally
``X-Symlink-Target-Account``) stores a symlink: the target is kept as object sysmeta, and the
container update's ETag override carries ``symlink_target=...`` so the listing row knows (the
object server splits ``; key=value`` parameters of the override into the row's extras; this
middleware turns them into Swift's ``symlink_path`` / ``symlink_etag`` / ``symlink_bytes`` on JSON
listings). With ``X-Symlink-Target-Etag`` the link is static: the target must exist and match at
creation (409 otherwise) and again on every read.

``GET``/``HEAD`` follow the link with a sub-request as the caller (so the target's container ACLs
decide), at most ``SYMLOOP_MAX`` links deep (409 past that), and answer with ``Content-Location``
naming the target; ``?symlink=get`` answers the link itself with its ``X-Symlink-*`` headers.
``POST`` to a symlink is applied to the link and answered 307 with the target's ``Location``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, unquote

from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.constraints import check_account_format
from onestack.object_store.proxy.request import (
    Handler,
    Headers,
    Middleware,
    SwiftRequest,
    SwiftResponse,
    decode_text,
    error_response,
    split_path,
)
from onestack.object_store.state import ObjectStoreState

SYMLOOP_MAX = 2  # Swift's default symloop_max
MD5_OF_EMPTY = "d41d8cd98f00b204e9800998ecf8427e"

TARGET = "x-symlink-target"
TARGET_ACCOUNT = "x-symlink-target-account"
TARGET_ETAG = "x-symlink-target-etag"
TARGET_BYTES = "x-symlink-target-bytes"
SYS_TARGET = "x-object-sysmeta-symlink-target"
SYS_TARGET_ACCOUNT = "x-object-sysmeta-symlink-target-account"
SYS_TARGET_ETAG = "x-object-sysmeta-symlink-target-etag"
SYS_TARGET_BYTES = "x-object-sysmeta-symlink-target-bytes"
# Set by middleware whose links should not count against the loop limit (object versioning).
SYMLOOP_EXTEND = "x-object-sysmeta-symloop-extend"
# Set by object versioning on its links into the hidden versions container: the caller may not
# reach that container itself, so the link is followed without authorization (as Swift does).
ALLOW_RESERVED_NAMES = "x-object-sysmeta-allow-reserved-names"
BACKEND_ALLOW_RESERVED = "x-backend-allow-reserved-names"
OVERRIDE_ETAG = "x-object-sysmeta-container-update-override-etag"
IGNORE_RANGE = "x-backend-ignore-range-if-metadata-present"
_USER_TO_SYS = ((TARGET, SYS_TARGET), (TARGET_ACCOUNT, SYS_TARGET_ACCOUNT),
                (TARGET_ETAG, SYS_TARGET_ETAG), (TARGET_BYTES, SYS_TARGET_BYTES))
_FORM = "X-Symlink-Target header must be of the form <container name>/<object name>"


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on", "t", "y")


def normalize_etag(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip().strip('"') or None


def check_target(value: str) -> tuple[str, str]:
    """``<container>/<object>`` (percent-encoded allowed, no leading slash): 412 otherwise."""
    text = decode_text(value)
    if text.startswith("/"):
        raise SwiftError(412, _FORM)
    container, sep, obj = text.partition("/")
    if not sep or not container or not obj:
        raise SwiftError(412, _FORM)
    return container, obj


def sysmeta_to_user(headers: Headers) -> None:
    """A link's answer as the client sees it (``?symlink=get``): X-Symlink-* from the sysmeta. The
    sysmeta stays too, for a copy below the gatekeeper (which strips it from the client's answer)."""
    for user, sysmeta in _USER_TO_SYS:
        if sysmeta in headers:
            headers[user] = headers[sysmeta]


def listing_row(row: dict[str, object], version: str, account: str) -> dict[str, object]:
    """A JSON listing row with a link's extras in Swift's keys."""
    target = row.pop("symlink_target", None)
    target_account = row.pop("symlink_target_account", None) or account
    if "symlink_target_etag" in row:
        row["symlink_etag"] = row.pop("symlink_target_etag")
    if "symlink_target_bytes" in row:
        value = row.pop("symlink_target_bytes")
        row["symlink_bytes"] = int(str(value)) if str(value).isdigit() else value
    if target:
        row["symlink_path"] = f"/{version}/{target_account}/{target}"
    return row


async def call(app: Handler, req: SwiftRequest) -> SwiftResponse:
    """A sub-request's answer, errors included (the layers below raise them)."""
    try:
        return await app(req)
    except SwiftError as err:
        return error_response(err)


def json_rows(body: bytes) -> list[dict[str, Any]] | None:
    """A JSON listing's rows; None when the body is not one."""
    try:
        rows = json.loads(body)
    except ValueError:
        return None
    return rows if isinstance(rows, list) else None


def with_rows(resp: SwiftResponse, rows: list[dict[str, Any]]) -> SwiftResponse:
    """The answer with its listing replaced (as Swift, non-ASCII escaped)."""
    body = json.dumps(rows).encode("ascii")
    resp.body = body
    resp.headers["content-length"] = str(len(body))
    return resp


class _Follow:
    """One GET/HEAD's walk along a chain of links (Swift's SymlinkObjectContext)."""

    def __init__(self, app: Handler, orig: SwiftRequest) -> None:
        self.app = app
        self.orig = orig
        self.loops = 0
        self.last_target: str | None = None  # quoted, as Content-Location shows it

    async def walk(self, req: SwiftRequest, target_etag: str | None = None,
                   follow_dynamic: bool = True) -> SwiftResponse:
        while True:
            resp = await (call(self.app, req) if self.last_target else self.app(req))
            target = resp.headers.get(SYS_TARGET)
            link_etag = resp.headers.get(SYS_TARGET_ETAG)
            if target and (link_etag or follow_dynamic):
                await resp.close()  # a link is zero bytes
                found = link_etag or resp.headers.get("etag", "").strip('"')
                if target_etag and target_etag != found:
                    raise self._conflict("X-Symlink-Target-Etag headers do not match")
                if self.loops >= SYMLOOP_MAX:
                    raise SwiftError(409, f"Too many levels of symbolic links, maximum allowed is {SYMLOOP_MAX}",
                                     headers={"content-type": "text/plain"})
                version, account = req.parts[0], req.parts[1] or ""
                target_account = resp.headers.get(SYS_TARGET_ACCOUNT) or quote(account)
                self.last_target = f"/{version}/{target_account}/{target.lstrip('/')}"
                headers = req.headers.copy()
                if truthy(resp.headers.get(ALLOW_RESERVED_NAMES)):
                    headers[BACKEND_ALLOW_RESERVED] = "true"
                    req = self.orig.pre_authed(req.method, unquote(self.last_target), headers=headers, source="SYM")
                else:
                    req = self.orig.sub(req.method, unquote(self.last_target), headers=headers, source="SYM")
                if not truthy(resp.headers.get(SYMLOOP_EXTEND)):
                    self.loops += 1
                target_etag = link_etag
                follow_dynamic = True
                continue
            final = resp.headers.get("etag", "").strip('"')
            if final and target_etag and final != target_etag:
                await resp.close()
                raise self._conflict(f"Object Etag {final!r} does not match X-Symlink-Target-Etag header "
                                     f"{target_etag!r}")
            if self.last_target:
                resp.headers["content-location"] = self.last_target
            return resp

    def _conflict(self, detail: str) -> SwiftError:
        headers = {"content-type": "text/plain"}
        if self.last_target:
            headers["content-location"] = self.last_target
        return SwiftError(409, detail, headers=headers)


async def _put(app: Handler, req: SwiftRequest, version: str, account: str, container: str,
               obj: str) -> SwiftResponse:
    length = req.content_length
    if (await _peek(req)) if length is None else length != 0:
        raise SwiftError(400, "Symlink requests require a zero byte body", headers={"content-type": "text/plain"})
    headers = req.headers
    target_container, target_obj = check_target(headers[TARGET])
    headers[TARGET] = quote(f"{target_container}/{target_obj}")
    target_account = account
    if TARGET_ACCOUNT in headers:
        target_account = check_account_format(headers[TARGET_ACCOUNT])
        headers[TARGET_ACCOUNT] = quote(target_account)
    if (target_account, target_container, target_obj) == (account, container, obj):
        raise SwiftError(400, "Symlink cannot target itself", headers={"content-type": "text/plain"})
    etag = normalize_etag(headers.pop(TARGET_ETAG, None))
    if etag and any(c in etag for c in ';"\\'):
        raise SwiftError(400, "Bad X-Symlink-Target-Etag format", headers={"content-type": "text/plain"})
    if not etag and not headers.get("content-type"):
        headers["content-type"] = "application/symlink"
    target_path = f"/{version}/{target_account}/{target_container}/{target_obj}"
    if etag:
        await _check_static(app, req, target_path, etag)
    for user, sysmeta in ((TARGET, SYS_TARGET), (TARGET_ACCOUNT, SYS_TARGET_ACCOUNT)):
        if user in headers:
            headers[sysmeta] = headers.pop(user)
    headers.pop(TARGET_BYTES, None)  # only a verified target's size is kept
    # The listing learns the link through the ETag override's parameters (Swift's design: a link is
    # zero bytes, so its ETag is the empty string's and the parameters ride along).
    override = [headers.get(OVERRIDE_ETAG, MD5_OF_EMPTY), f"symlink_target={headers[SYS_TARGET]}"]
    if SYS_TARGET_ACCOUNT in headers:
        override.append(f"symlink_target_account={headers[SYS_TARGET_ACCOUNT]}")
    if SYS_TARGET_ETAG in headers:
        override += [f"symlink_target_etag={headers[SYS_TARGET_ETAG]}",
                     f"symlink_target_bytes={headers[SYS_TARGET_BYTES]}"]
    headers[OVERRIDE_ETAG] = "; ".join(override)
    return await app(req)


async def _peek(req: SwiftRequest) -> bytes:
    """A body without a length (chunked): read what there is (a link has none; a large body is
    refused as soon as its first bytes arrive)."""
    async for chunk in req.body.chunks():
        if chunk:
            return chunk
    return b""


async def _check_static(app: Handler, req: SwiftRequest, target_path: str, etag: str) -> None:
    """A static link's target must exist and carry ``etag``; its size (and SLO ETag) go to the link."""
    follow = _Follow(app, req)
    follow.last_target = quote(target_path)
    head = req.sub("HEAD", target_path, source="SYM")
    resp = await follow.walk(head, target_etag=etag, follow_dynamic=False)
    await resp.close()
    if resp.status == 404:
        raise SwiftError(409, "X-Symlink-Target does not exist",
                         headers={"content-type": "text/plain", "content-location": follow.last_target or ""})
    if not resp.ok:
        raise SwiftError(resp.status)
    headers = req.headers
    if OVERRIDE_ETAG in resp.headers and OVERRIDE_ETAG not in headers:
        _, sep, params = resp.headers[OVERRIDE_ETAG].partition(";")
        headers[OVERRIDE_ETAG] = MD5_OF_EMPTY + sep + params
    if "x-object-sysmeta-slo-etag" in resp.headers and OVERRIDE_ETAG not in headers:
        headers[OVERRIDE_ETAG] = f"{MD5_OF_EMPTY}; slo_etag={resp.headers['x-object-sysmeta-slo-etag']}"
    headers[SYS_TARGET_BYTES] = (resp.headers.get("x-object-sysmeta-slo-size")
                                 or resp.headers.get("content-length", "0"))
    headers[SYS_TARGET_ETAG] = etag
    if not headers.get("content-type"):
        headers["content-type"] = resp.headers.get("content-type", "application/octet-stream")


async def _get_head(app: Handler, req: SwiftRequest) -> SwiftResponse:
    if req.query.get("symlink") == "get":
        resp = await app(req)
        sysmeta_to_user(resp.headers)
        return resp
    # A Range is for the target: the link's own (empty) body must not answer 416.
    present = [v.strip() for v in req.headers.get(IGNORE_RANGE, "").split(",") if v.strip()]
    if SYS_TARGET not in present:
        req.headers[IGNORE_RANGE] = ", ".join([*present, SYS_TARGET])
    return await _Follow(app, req).walk(req)


async def _post(app: Handler, req: SwiftRequest, version: str, account: str) -> SwiftResponse:
    if TARGET in req.headers:
        raise SwiftError(400, "A PUT request is required to set a symlink target",
                         headers={"content-type": "text/plain"})
    resp = await app(req)
    if not resp.ok:
        return resp
    # The object controller's answer does not carry the object's sysmeta: ask the object itself
    # (the POST was applied either way, as in Swift, which cannot know it is a link beforehand).
    head = await app(req.pre_authed("HEAD", req.path, query={"symlink": "get"}, source="SYM"))
    await head.close()
    target = head.headers.get(SYS_TARGET) if head.ok else None
    if not target:
        return resp
    await resp.close()
    target_account = head.headers.get(SYS_TARGET_ACCOUNT) or quote(account)
    headers = {"location": f"/{version}/{target_account}/{target}", "content-type": "text/plain"}
    if head.headers.get(SYS_TARGET_ETAG):
        headers[TARGET_ETAG] = head.headers[SYS_TARGET_ETAG]
    # The link's sysmeta rides along for the middleware above (the gatekeeper strips it for clients).
    headers.update(head.headers.with_prefix("x-object-sysmeta-"))
    raise SwiftError(307, "The requested POST was applied to a symlink. POST directly to the target to "
                          "apply requested metadata.", headers=headers)


async def _container_get(app: Handler, req: SwiftRequest, version: str, account: str) -> SwiftResponse:
    resp = await app(req)
    if req.method != "GET" or resp.status != 200 or \
            resp.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return resp
    raw = await resp.read()
    if b'"symlink_target' not in raw:  # no links on this page: the listing stays as it is
        return resp
    rows = json_rows(raw)
    if rows is None:
        return resp
    return with_rows(resp, [listing_row(r, version, account) if isinstance(r, dict) and "name" in r else r
                            for r in rows])


def factory(state: ObjectStoreState) -> Middleware | None:
    state.info.register("symlink", symloop_max=SYMLOOP_MAX, static_links=True)

    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            try:
                version, account, container, obj = split_path(req.path)
            except ValueError:
                return await app(req)
            if not account or not container:
                return await app(req)
            if obj is None:
                return await _container_get(app, req, version, account)
            if req.method in ("GET", "HEAD"):
                return await _get_head(app, req)
            if req.method == "PUT" and not truthy(req.headers.get(BACKEND_ALLOW_RESERVED)):
                # Only object versioning's own links are followed unauthorized: a copy of one (its
                # sysmeta travels with it) must not become a pre-authorized link to anywhere.
                for name in (ALLOW_RESERVED_NAMES, SYMLOOP_EXTEND):
                    req.headers.pop(name, None)
            if req.method == "PUT" and TARGET in req.headers:
                return await _put(app, req, version, account, container, obj)
            if req.method == "POST":
                return await _post(app, req, version, account)
            return await app(req)

        return handle

    return middleware
