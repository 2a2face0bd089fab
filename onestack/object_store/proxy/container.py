"""The container controller (Swift's proxy ContainerController with its container server's answers).

GET/HEAD are authorized against the container's read ACL once its info is known (Swift's
delay_denial), so a caller with no rights gets 401/403 before learning whether the container
exists. PUT/POST/DELETE of a container are the account owner's only (Swift sets no ACL for them:
a container's write ACL is about its objects). Listings are produced as JSON; the
``listing_formats`` middleware turns them into plain text or XML, as in Swift.

``get_container_info`` / ``get_account_info`` are Swift's per-request info lookups for the
controllers and middleware (cached in ``ctx.cache``, which sub-requests share).
"""

from __future__ import annotations

import json
from typing import Any

from onestack.object_store.errors import SwiftError, bad_request, conflict, not_found
from onestack.object_store.proxy import cors
from onestack.object_store.proxy.constraints import check_container_name, check_metadata
from onestack.object_store.proxy.request import Headers, SwiftRequest, SwiftResponse
from onestack.object_store.service.accounts import POLICY
from onestack.object_store.service.info import AccountInfo, ContainerInfo
from onestack.object_store.service.listing import parse_params
from onestack.object_store.state import ObjectStoreState
from onestack.object_store.timestamp import Timestamp

ALLOWED = "DELETE, GET, HEAD, OPTIONS, POST, PUT"
# Headers a container keeps besides X-Container-Meta-* (Swift's pass_through_headers).
PASS_THROUGH = ("x-container-read", "x-container-write", "x-container-sync-key", "x-container-sync-to",
                "x-versions-location", "x-history-location")
JSON_TYPE = "application/json; charset=utf-8"
ACCEPTED_BODY = b"<html><h1>Accepted</h1><p>The request is accepted for processing.</p></html>"


def _key(kind: str, account: str, container: str = "") -> str:
    return f"{kind}/{account}/{container}"


async def get_container_info(state: ObjectStoreState, req: SwiftRequest, account: str,
                             container: str) -> ContainerInfo | None:
    """The container's info, read once per request (and its sub-requests)."""
    key = _key("container", account, container)
    if key not in req.ctx.cache:
        req.ctx.cache[key] = await state.containers.container_info(account, container)
    info: ContainerInfo | None = req.ctx.cache[key]
    return info


async def get_account_info(state: ObjectStoreState, req: SwiftRequest, account: str) -> AccountInfo | None:
    key = _key("account", account)
    if key not in req.ctx.cache:
        req.ctx.cache[key] = await state.containers.account_info(account)
    info: AccountInfo | None = req.ctx.cache[key]
    return info


async def get_infos(state: ObjectStoreState, req: SwiftRequest, account: str,
                    container: str) -> tuple[AccountInfo | None, ContainerInfo | None]:
    """An object request's infos: what the request does not know yet comes from the process's
    short-lived cache (``service/info_cache.py``) or else one database read for both (each read is
    a trip to a database thread) — so their counts may be that old: use ``fresh_infos`` for those.
    Every middleware on an object request's path reads its infos here, not with
    ``get_container_info``: the first to ask decides whether the request pays a database read."""
    akey, ckey = _key("account", account), _key("container", account, container)
    cache = req.ctx.cache
    if akey not in cache or ckey not in cache:  # what the request already read (or wrote) stays
        found = await state.containers.object_infos(account, container)
        cache.setdefault(akey, found[0])
        cache.setdefault(ckey, found[1])
    account_info: AccountInfo | None = cache[akey]
    container_info: ContainerInfo | None = cache[ckey]
    return account_info, container_info


async def fresh_infos(state: ObjectStoreState, req: SwiftRequest, account: str,
                      container: str) -> tuple[AccountInfo | None, ContainerInfo | None]:
    """Both infos read from the database now (exact counts: a quota check)."""
    akey, ckey = _key("account", account), _key("container", account, container)
    req.ctx.cache[akey], req.ctx.cache[ckey] = await state.containers.infos(account, container)
    return req.ctx.cache[akey], req.ctx.cache[ckey]


def forget_info(req: SwiftRequest, account: str, container: str | None = None) -> None:
    """Drop cached info after a write changed it (the account's stats change with its containers)."""
    req.ctx.cache.pop(_key("account", account), None)
    if container is not None:
        req.ctx.cache.pop(_key("container", account, container), None)


def meta_updates(headers: Headers, kind: str, pass_through: tuple[str, ...] = ()) -> dict[str, str]:
    """``{header: value}`` to merge into stored metadata: X-<kind>-Meta-* and X-<kind>-Sysmeta-*,
    the pass-through headers, and ``X-Remove-...`` (or an empty value) as removals ("")."""
    meta_prefix, sys_prefix = f"x-{kind}-meta-", f"x-{kind}-sysmeta-"
    removable = {"x-remove-" + h[2:]: h for h in pass_through}
    out: dict[str, str] = {}
    for key in headers:  # removals first: a value given for the same header wins (Swift's order)
        if key.startswith(f"x-remove-{kind}-meta-"):
            out[key.replace("-remove", "", 1)] = ""
        elif key in removable:
            out[removable[key]] = ""
    for key, value in headers.items():
        if key.startswith((meta_prefix, sys_prefix)) or key in pass_through:
            out[key] = value.strip()
    return out


def info_headers(info: ContainerInfo) -> Headers:
    headers = Headers({
        "x-container-object-count": str(info.object_count), "x-container-bytes-used": str(info.bytes_used),
        "x-timestamp": Timestamp.parse(info.created_at).normal,
        "x-put-timestamp": Timestamp.parse(info.put_timestamp).normal,
        "x-storage-policy": info.storage_policy,
        "last-modified": Timestamp.parse(info.put_timestamp).http_date,
        "accept-ranges": "bytes",  # as Swift's proxy answers every stored account and container
    })
    for key, value in info.meta.items():
        headers[key] = value
    return headers


def _check_versions(req: SwiftRequest) -> None:
    if "x-versions-location" in req.headers and "x-history-location" in req.headers:
        raise bad_request("Only one of X-Versions-Location or X-History-Location may be specified")


def container_updates(headers: Headers) -> dict[str, str]:
    """A container write's metadata changes; a container versions in one mode, so setting one
    location removes the other (as Swift's versioned_writes keeps one location and its mode)."""
    updates = meta_updates(headers, "container", PASS_THROUGH)
    for kept, dropped in (("x-versions-location", "x-history-location"),
                          ("x-history-location", "x-versions-location")):
        if updates.get(kept):
            updates[dropped] = ""
    return updates


def _check_put(state: ObjectStoreState, req: SwiftRequest, name: str) -> str:
    """Swift's container PUT checks; the storage policy to use."""
    account = req.account or ""
    if len(account.encode()) > state.config.max_account_name_length:  # it would be auto-created
        raise bad_request(f"Account name length of {len(account.encode())} longer than "
                          f"{state.config.max_account_name_length}")
    check_container_name(state.config, name)
    check_metadata(state.config, req.headers, "container")
    _check_versions(req)
    policy = (req.headers.get("x-storage-policy") or "").strip()
    if policy and policy.lower() != POLICY.lower():  # names match case-insensitively; empty: the default
        raise bad_request(f"Invalid X-Storage-Policy '{policy}'")
    return POLICY


async def handle(state: ObjectStoreState, req: SwiftRequest) -> SwiftResponse:
    account, container = req.account or "", req.container or ""
    if req.method == "OPTIONS":  # CORS preflight: no token, the container's CORS metadata decides
        return cors.preflight(req, await get_container_info(state, req, account, container), ALLOWED)
    resp = await _handle(state, req, account, container)
    if "origin" in req.headers:
        resp = cors.decorate(req, await get_container_info(state, req, account, container), resp)
    return resp


async def _handle(state: ObjectStoreState, req: SwiftRequest, account: str, container: str) -> SwiftResponse:
    method = req.method
    if method in ("GET", "HEAD"):
        return await _get_or_head(state, req, account, container)
    if method not in ("PUT", "POST", "DELETE"):
        raise SwiftError(405, headers={"allow": ALLOWED})
    req.acl = None  # the account owner's only
    await req.authorize()
    if method == "PUT":
        policy = _check_put(state, req, container)
        info = await get_container_info(state, req, account, container)
        if info is not None and req.headers.get("x-storage-policy") and info.storage_policy != policy:
            raise conflict("Storage Policy mismatch")
        created = await state.containers.put_container(account, container, container_updates(req.headers), policy)
        forget_info(req, account, container)
        if created:
            return SwiftResponse(201, Headers({"content-type": "text/html; charset=UTF-8"}))
        return SwiftResponse(202, Headers({"content-type": "text/html; charset=UTF-8"}), ACCEPTED_BODY)
    if method == "POST":
        check_metadata(state.config, req.headers, "container")
        _check_versions(req)
        found = await state.containers.post_container(account, container, container_updates(req.headers))
        forget_info(req, account, container)
        if not found:
            raise not_found()
        return SwiftResponse(204, Headers({"content-type": "text/html; charset=UTF-8"}))
    outcome = await state.containers.delete_container(account, container)
    forget_info(req, account, container)
    if outcome == "missing":
        raise not_found()
    if outcome == "not-empty":
        raise conflict()
    return SwiftResponse(204, Headers({"content-type": "text/html; charset=UTF-8"}))


async def _get_or_head(state: ObjectStoreState, req: SwiftRequest, account: str, container: str) -> SwiftResponse:
    info = await get_container_info(state, req, account, container)
    req.acl = info.read_acl if info is not None else None
    await req.authorize()
    if info is None:
        raise not_found()
    if req.method == "HEAD":
        headers = info_headers(info)
        headers["content-type"] = JSON_TYPE
        headers["content-length"] = "0"
        return SwiftResponse(204, headers)
    params = parse_params(req.query, state.config.container_listing_limit)
    fresh, rows = await state.containers.list_objects(account, container, params)
    if fresh is None:  # deleted between the two reads
        raise not_found()
    req.ctx.cache[_key("container", account, container)] = fresh
    return json_listing(info_headers(fresh), rows)


def json_listing(headers: Headers, rows: list[dict[str, Any]]) -> SwiftResponse:
    body = json.dumps(rows).encode("ascii")  # Swift escapes non-ASCII
    headers["content-type"] = JSON_TYPE
    headers["content-length"] = str(len(body))
    return SwiftResponse(200, headers, body)
