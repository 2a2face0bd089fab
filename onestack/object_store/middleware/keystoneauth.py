"""Swift's keystoneauth: who may do what to an account.

The account of a project is ``AUTH_<project id>``. A caller whose token is scoped to that project
with an operator role (``admin``, ``member``) owns it; ``ResellerAdmin`` owns every account; a
``reader`` role may only read (GET/HEAD). Everyone else gets 403 (401 without a valid token).
Authorization is deferred: this middleware sets ``ctx.authorize`` and the controllers call it
once they know the container's ACLs (``req.acl``).

(The access helper extends this with container ACLs, account ACLs and referrers.)
"""

from __future__ import annotations

from onestack.object_store.errors import SwiftError, forbidden, unauthorized
from onestack.object_store.proxy.request import Handler, Middleware, SwiftRequest, SwiftResponse
from onestack.object_store.state import ObjectStoreState

RESELLER_PREFIX = "AUTH_"
READ_METHODS = ("GET", "HEAD")


def _roles(state: ObjectStoreState, value: str) -> set[str]:
    return {r.strip().lower() for r in value.split(",") if r.strip()}


def factory(state: ObjectStoreState) -> Middleware | None:
    operator_roles = _roles(state, state.config.operator_roles)
    reseller_roles = _roles(state, state.config.reseller_admin_role)
    reader_roles = _roles(state, state.config.reader_roles)

    async def authorize(req: SwiftRequest) -> None:
        auth = req.ctx.auth
        if auth is None:
            raise unauthorized()
        account = req.account or ""
        if not account.startswith(RESELLER_PREFIX):
            raise forbidden()
        roles = {r.lower() for r in auth.roles}
        if roles & reseller_roles:
            return
        if auth.project_id != account[len(RESELLER_PREFIX):]:
            raise forbidden()
        if roles & operator_roles:
            return
        if roles & reader_roles and req.method in READ_METHODS:
            return
        raise forbidden()

    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            if req.ctx.authorize is None and not req.ctx.pre_authed:
                req.ctx.authorize = authorize
            return await app(req)

        return handle

    return middleware


__all__ = ["SwiftError", "factory"]
