"""Swift's container_quotas: ``X-Container-Meta-Quota-Bytes`` and ``-Quota-Count`` cap what a
container holds. An object PUT whose declared length (or one more object) would pass either is
413 "Upload exceeds quota." — after the caller's authorization, so a stranger learns nothing
(401/403 first). Non-numeric quotas are 400 when set on the container."""

from __future__ import annotations

from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.container import fresh_infos, get_infos
from onestack.object_store.proxy.request import Handler, Middleware, SwiftRequest, SwiftResponse
from onestack.object_store.service.info import ContainerInfo
from onestack.object_store.state import ObjectStoreState

BYTES = "x-container-meta-quota-bytes"
COUNT = "x-container-meta-quota-count"


def has_quota(info: ContainerInfo) -> bool:
    return bool(info.meta.get(BYTES) or info.meta.get(COUNT))


def over_quota(info: ContainerInfo, length: int) -> bool:
    quota = info.meta.get(BYTES, "")
    if quota.isdigit() and int(quota) < info.bytes_used + length:
        return True
    quota = info.meta.get(COUNT, "")
    return quota.isdigit() and int(quota) < info.object_count + 1


def factory(state: ObjectStoreState) -> Middleware | None:
    state.info.register("container_quotas")

    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            try:
                _version, account, container, obj = req.parts
            except ValueError:
                return await app(req)
            if account is None or container is None:
                return await app(req)
            if obj is None and req.method in ("PUT", "POST"):
                value = req.headers.get(BYTES)
                if value and not value.isdigit():
                    raise SwiftError(400, "Invalid bytes quota.")
                value = req.headers.get(COUNT)
                if value and not value.isdigit():
                    raise SwiftError(400, "Invalid count quota.")
            elif obj is not None and req.method == "PUT":
                # Through the request's info cache (the object controller reads it next), with
                # the account's (account_quotas reads it next): one database read for both, or
                # none (the process's info cache); with a quota set, the counts are read anew.
                _, info = await get_infos(state, req, account, container)
                if info is not None and has_quota(info):  # its counts now, not as cached
                    _, info = await fresh_infos(state, req, account, container)
                if info is not None and over_quota(info, req.content_length or 0):
                    req.acl = info.write_acl
                    await req.authorize()  # 401/403 before telling anything about the container
                    raise SwiftError(413, "Upload exceeds quota.")
            return await app(req)

        return handle

    return middleware
