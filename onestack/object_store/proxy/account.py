"""The account controller (Swift's proxy AccountController with its account server's answers).

Accounts are authorized before anything is read (Swift's account methods do not delay denial).
An account is auto-created by its owner's first write (a container PUT or a metadata POST);
reading an account never written answers as Swift with ``account_autocreate`` does: empty, with
zero counts. Account PUT/DELETE are Swift's reseller-only account management, which is off
(``allow_account_management = false`` in /info): 405.
"""

from __future__ import annotations

from onestack.object_store.errors import SwiftError, bad_request
from onestack.object_store.proxy.constraints import check_metadata
from onestack.object_store.proxy.container import (
    forget_info,
    get_account_info,
    json_listing,
    meta_updates,
)
from onestack.object_store.proxy.request import Headers, SwiftRequest, SwiftResponse
from onestack.object_store.service.accounts import POLICY
from onestack.object_store.service.info import AccountInfo
from onestack.object_store.service.listing import parse_params
from onestack.object_store.state import ObjectStoreState
from onestack.object_store.timestamp import Timestamp

ALLOWED = "GET, HEAD, OPTIONS, POST"
PASS_THROUGH = ("x-account-access-control",)


def info_headers(info: AccountInfo, stored: bool = True) -> Headers:
    headers = Headers({
        "x-account-container-count": str(info.container_count),
        "x-account-object-count": str(info.object_count),
        "x-account-bytes-used": str(info.bytes_used),
        "x-timestamp": Timestamp.parse(info.created_at).normal,
        "x-put-timestamp": Timestamp.parse(info.put_timestamp).normal,
    })
    if info.container_count:
        # Swift's per-policy statistics (one policy here).
        prefix = f"x-account-storage-policy-{POLICY.lower()}-"
        headers[prefix + "container-count"] = str(info.container_count)
        headers[prefix + "object-count"] = str(info.object_count)
        headers[prefix + "bytes-used"] = str(info.bytes_used)
    for key, value in info.meta.items():
        headers[key] = value
    if stored:  # Swift's answer for an account never written lacks it (Tempest knows)
        headers["accept-ranges"] = "bytes"
    return headers


def _never_written(account: str) -> AccountInfo:
    now = Timestamp.now().internal
    return AccountInfo(name=account, created_at=now, put_timestamp=now, container_count=0,
                       object_count=0, bytes_used=0)


async def handle(state: ObjectStoreState, req: SwiftRequest) -> SwiftResponse:
    account = req.account or ""
    if req.method == "OPTIONS":  # no CORS on accounts (as Swift): the methods only
        return SwiftResponse(200, Headers({"allow": ALLOWED, "content-length": "0",
                                           "content-type": "text/html; charset=UTF-8"}))
    if req.method not in ("GET", "HEAD", "POST", "PUT", "DELETE"):
        raise SwiftError(405, headers={"allow": ALLOWED})
    req.acl = None
    await req.authorize()
    if len(account.encode()) > state.config.max_account_name_length:
        raise bad_request(f"Account name length of {len(account.encode())} longer than "
                          f"{state.config.max_account_name_length}")
    if req.method in ("PUT", "DELETE"):
        raise SwiftError(405, headers={"allow": ALLOWED})
    if req.method == "POST":
        check_metadata(state.config, req.headers, "account")
        await state.containers.update_account_meta(account, meta_updates(req.headers, "account", PASS_THROUGH))
        forget_info(req, account)
        return SwiftResponse(204, Headers({"content-type": "text/html; charset=UTF-8"}))
    if req.method == "HEAD":
        found = await get_account_info(state, req, account)
        headers = info_headers(found or _never_written(account), found is not None)
        headers["content-type"] = "application/json; charset=utf-8"
        headers["content-length"] = "0"
        return SwiftResponse(204, headers)
    params = parse_params(req.query, state.config.account_listing_limit)
    found, rows = await state.containers.list_containers(account, params)
    return json_listing(info_headers(found or _never_written(account), found is not None), rows)
