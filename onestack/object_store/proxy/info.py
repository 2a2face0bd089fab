"""``GET /info`` (Swift's discoverability): the sections every enabled feature registered."""

from __future__ import annotations

import json

from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.request import Headers, SwiftRequest, SwiftResponse
from onestack.object_store.state import ObjectStoreState


def register_core(state: ObjectStoreState) -> None:
    c = state.config
    state.info.register(
        "swift", version="2.34.0", strict_cors_mode=True, policies=[{"name": "Policy-0", "default": True}],
        max_file_size=c.max_file_size, max_meta_name_length=c.max_meta_name_length,
        max_meta_value_length=c.max_meta_value_length, max_meta_count=c.max_meta_count,
        max_meta_overall_size=c.max_meta_overall_size, max_header_size=c.max_header_size,
        max_object_name_length=c.max_object_name_length, container_listing_limit=c.container_listing_limit,
        account_listing_limit=c.account_listing_limit, max_account_name_length=c.max_account_name_length,
        max_container_name_length=c.max_container_name_length, extra_header_count=0,
        valid_api_versions=["v1", "v1.0"], allow_account_management=False, account_autocreate=True)


async def handle_info(state: ObjectStoreState, req: SwiftRequest) -> SwiftResponse:
    if req.method not in ("GET", "HEAD"):
        raise SwiftError(405, headers={"allow": "GET, HEAD"})
    body = json.dumps(state.info.sections, sort_keys=True).encode()
    return SwiftResponse(200, Headers({"content-type": "application/json; charset=UTF-8"}), body)
