"""Swift's account_quotas: ``X-Account-Quota-Bytes`` / ``-Quota-Count`` (or the older
``X-Account-Meta-Quota-Bytes``) cap what an account holds. Only a reseller admin sets them (403
for anyone else, 400 when not a number); they are kept as system metadata and shown back as
``X-Account-Quota-Bytes``/``-Count``. An object PUT that would pass a quota is 413 "Upload exceeds
quota." once the caller is authorized (so a stranger still gets 401/403); resellers are not capped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from onestack.object_store.errors import SwiftError
from onestack.object_store.proxy.container import fresh_infos, get_infos
from onestack.object_store.proxy.request import Handler, Middleware, SwiftRequest, SwiftResponse
from onestack.object_store.service.info import AccountInfo
from onestack.object_store.state import ObjectStoreState

QUOTAS = ("quota-bytes", "quota-count")


def _quota(info: AccountInfo, name: str) -> int:
    value = info.meta.get(f"x-account-sysmeta-{name}")
    if value is None and name == "quota-bytes":
        value = info.meta.get("x-account-meta-quota-bytes")
    return int(value) if value and value.isdigit() else -1


def has_quota(info: AccountInfo) -> bool:
    return any(_quota(info, name) >= 0 for name in QUOTAS)


def over_quota(info: AccountInfo, length: int) -> bool:
    quota = _quota(info, "quota-bytes")
    if quota >= 0 and quota < info.bytes_used + length:
        return True
    quota = _quota(info, "quota-count")
    return quota >= 0 and quota < info.object_count + 1


def factory(state: ObjectStoreState) -> Middleware | None:
    state.info.register("account_quotas")
    reseller_roles = {r.strip().lower() for r in state.config.reseller_admin_role.split(",") if r.strip()}

    def is_reseller(req: SwiftRequest) -> bool:
        auth = req.ctx.auth
        return auth is not None and bool({r.lower() for r in auth.roles} & reseller_roles)

    def translate(req: SwiftRequest) -> None:
        """A quota header on an account PUT/POST: the reseller's goes to sysmeta, anyone else's is 403."""
        legacy = req.headers.get("x-account-meta-quota-bytes")
        if legacy is not None and not req.headers.get("x-account-quota-bytes"):
            req.headers["x-account-quota-bytes"] = legacy
        if req.headers.get("x-remove-account-meta-quota-bytes") and not req.headers.get(
                "x-remove-account-quota-bytes"):
            req.headers["x-remove-account-quota-bytes"] = req.headers["x-remove-account-meta-quota-bytes"]
        for name in QUOTAS:
            value = req.headers.pop(f"x-account-{name}", None)
            if req.headers.pop(f"x-remove-account-{name}", None):
                value = ""  # removing wins when both are sent
            if value is None:
                continue
            if not is_reseller(req):
                raise SwiftError(403)
            if value and not value.isdigit():
                raise SwiftError(400)
            req.headers[f"x-account-sysmeta-{name}"] = value

    def reject_after(req: SwiftRequest) -> None:
        """413 once the caller passes authorization (Swift delays it for container ACLs)."""
        original = req.ctx.authorize
        if original is None or req.ctx.pre_authed:
            raise SwiftError(413, "Upload exceeds quota.")
        checked: Callable[[SwiftRequest], Awaitable[None]] = original

        async def authorize(sub: SwiftRequest) -> None:
            await checked(sub)
            raise SwiftError(413, "Upload exceeds quota.")

        req.ctx.authorize = authorize

    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            try:
                _version, account, container, obj = req.parts
            except ValueError:
                return await app(req)
            if account is None:
                return await app(req)
            if container is None:
                if req.method in ("PUT", "POST"):
                    translate(req)
                resp = await app(req)
                for name in QUOTAS:
                    value = resp.headers.get(f"x-account-sysmeta-{name}")
                    if value:
                        resp.headers[f"x-account-{name}"] = value
                return resp
            if req.method == "PUT" and obj is not None and not is_reseller(req):
                # The request's info cache, the container's info read with it (needed next).
                info, _ = await get_infos(state, req, account, container)
                if info is not None and has_quota(info):  # its counts now, not as cached
                    info, _ = await fresh_infos(state, req, account, container)
                if info is not None and over_quota(info, req.content_length or 0):
                    reject_after(req)
            return await app(req)

        return handle

    return middleware
