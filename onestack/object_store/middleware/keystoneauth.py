"""Swift's keystoneauth: who may do what to an account.

The account of a project is ``AUTH_<project id>``. A caller whose token is scoped to that project
with an operator role (``admin``, ``member``) owns it; ``ResellerAdmin`` owns every account; a
``reader`` role may only read (GET/HEAD). Others get in through ACLs (``proxy/acl.py``): a
container's read or write ACL naming ``<project>:<user>`` (ids, ``*``, or names in the default
domain), its referrer designations (``.r:*`` lets anyone read objects, ``.rlistings`` also the
listing — no token needed), or the account's ``X-Account-Access-Control`` (admin, read-write,
read-only). A refusal is 401 without a valid token and 403 with one, as Swift answers.

Authorization is deferred: this middleware sets ``ctx.authorize`` and the controllers call it once
they know the container's ACLs (``req.acl``). Only owners may set or see the ACL and temp URL key
headers (Swift's swift_owner_headers): they are dropped from a non-owner's request when it is
authorized and from the answer it gets. ACL headers are checked here, before any controller: a
bad container ACL or account ACL is 400 with Swift's text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from onestack.core.auth import AuthContext
from onestack.object_store.errors import SwiftError, forbidden, unauthorized
from onestack.object_store.proxy import acl as acls
from onestack.object_store.proxy.request import Handler, Middleware, SwiftRequest, SwiftResponse
from onestack.object_store.state import ObjectStoreState

log = logging.getLogger("onestack.object_store.auth")

RESELLER_PREFIX = "AUTH_"
READ_METHODS = ("GET", "HEAD")
DEFAULT_DOMAIN = "default"


def _roles(state: ObjectStoreState, value: str) -> set[str]:
    return {r.strip().lower() for r in value.split(",") if r.strip()}


@dataclass
class _Verdict:
    """What the last authorization of a client request decided (None: it was never asked)."""

    owner: bool | None = None


def grantees(auth: AuthContext) -> set[str]:
    """The ACL entries naming the caller: ``project:user`` by id or ``*`` (names too in the default
    domain, where they are unique), as keystoneauth's cross-tenant check matches them."""
    projects = [auth.project_id or "", "*"]
    users = [auth.user_id, "*"]
    if (auth.user_domain_id or DEFAULT_DOMAIN) == DEFAULT_DOMAIN and \
            (auth.project_domain_id or DEFAULT_DOMAIN) == DEFAULT_DOMAIN:
        projects.append(auth.project_name or "")
        users.append(auth.user_name)
    return {f"{p}:{u}" for p in projects if p for u in users if u}


def _deny(req: SwiftRequest) -> SwiftError:
    return forbidden() if req.ctx.auth is not None else unauthorized()


def check_acl_headers(req: SwiftRequest) -> None:
    """Swift's clean_acl on container PUT/POST and the account ACL's syntax on account PUT/POST: 400
    for a bad one (nothing is written); a good account ACL moves to system metadata."""
    if req.method not in ("PUT", "POST"):
        return
    try:
        _version, account, container, obj = req.parts
    except ValueError:
        return
    if account is None or obj is not None:
        return
    if container is not None:
        acls.clean_container_acl_headers(req.headers)
        return
    if acls.ACCOUNT_ACL_HEADER in req.headers:
        value = req.headers[acls.ACCOUNT_ACL_HEADER]
        error = acls.account_acl_error(value)
        if error:
            raise SwiftError(400, f"X-Account-Access-Control invalid: {error}\n\nInput: {value}\n",
                             headers={"content-type": "text/plain; charset=UTF-8"})
        del req.headers[acls.ACCOUNT_ACL_HEADER]
        req.headers[acls.ACCOUNT_ACL_SYSMETA] = value


def factory(state: ObjectStoreState) -> Middleware | None:
    operator_roles = _roles(state, state.config.operator_roles)
    reseller_roles = _roles(state, state.config.reseller_admin_role)
    reader_roles = _roles(state, state.config.reader_roles)

    async def account_acl(req: SwiftRequest, account: str) -> dict[str, list[str]] | None:
        key = f"keystoneauth.account_acl:{account}"
        if key not in req.ctx.cache:
            info = await state.containers.account_info(account)
            req.ctx.cache[key] = acls.account_acls(info.meta.get(acls.ACCOUNT_ACL_SYSMETA) if info else None)
        found: dict[str, list[str]] | None = req.ctx.cache[key]
        return found

    def by_referrer(req: SwiftRequest, referrers: list[str], groups: list[str]) -> bool:
        # Objects by referrer alone; the listing only with .rlistings.
        return acls.referrer_allowed(req.headers.get("referer"), referrers) and \
            (req.obj is not None or ".rlistings" in groups)

    async def decide(req: SwiftRequest) -> bool:
        """Raise 401/403 to refuse; return whether the caller owns the account (swift_owner)."""
        if req.method == "OPTIONS":
            return False
        try:
            _version, account, container, obj = req.parts
        except ValueError:
            raise SwiftError(404) from None
        if not account or not account.startswith(RESELLER_PREFIX):
            raise _deny(req)
        # A container's ACLs govern reads of it and everything on its objects; writing the
        # container itself (or the account) is the owner's.
        acl = req.acl if obj is not None or (container is not None and req.method in READ_METHODS) else None
        referrers, groups = acls.parse_acl(acl)
        auth = req.ctx.auth
        if auth is None:
            if by_referrer(req, referrers, groups):
                return False
            raise unauthorized()
        roles = {r.lower() for r in auth.roles}
        if roles & reseller_roles:
            return True
        if container is None and req.method == "DELETE":
            raise forbidden()  # nobody but a reseller admin deletes an account
        own_project = auth.project_id == account[len(RESELLER_PREFIX):]
        # The owner first (Swift checks ACLs first, which lets a public container's owner in
        # without swift_owner, so it could not see its own ACLs).
        if own_project and roles & operator_roles:
            return True
        if groups and grantees(auth) & set(groups):
            return False
        if by_referrer(req, referrers, groups):
            return False
        if own_project and roles & reader_roles and req.method in READ_METHODS:
            return False
        account_acl = await account_acl_of(req, account)
        if account_acl:
            me = grantees(auth) | {auth.user_id}
            if me & set(account_acl["admin"]):
                return True
            if me & set(account_acl["read-write"]) and (container is not None or req.method in READ_METHODS):
                return False
            if me & set(account_acl["read-only"]) and req.method in READ_METHODS:
                return False
        # A grantee may also be a role name the caller holds (keystoneauth's last rule).
        if roles & {g.lower() for g in groups}:
            return False
        raise forbidden()

    async def account_acl_of(req: SwiftRequest, account: str) -> dict[str, list[str]] | None:
        try:
            return await account_acl(req, account)
        except NotImplementedError:  # no account service yet: no account ACLs
            return None

    def middleware(app: Handler) -> Handler:
        async def handle(req: SwiftRequest) -> SwiftResponse:
            if req.ctx.authorize is not None or req.ctx.pre_authed:
                return await app(req)  # a temp URL, form POST or housekeeping: checked elsewhere
            check_acl_headers(req)
            verdict = _Verdict()

            async def authorize(sub: SwiftRequest) -> None:
                owner = await decide(sub)
                verdict.owner = owner
                if not owner:
                    for name in acls.OWNER_HEADERS + (acls.ACCOUNT_ACL_SYSMETA,):
                        sub.headers.pop(name, None)

            req.ctx.authorize = authorize
            resp = await app(req)
            if verdict.owner is False:
                for name in acls.OWNER_HEADERS:
                    resp.headers.pop(name, None)
            elif verdict.owner and req.method in READ_METHODS and resp.ok and _is_account(req):
                stored = resp.headers.get(acls.ACCOUNT_ACL_SYSMETA)
                if stored is None:
                    stored = await _stored_account_acl(req)
                if stored:
                    resp.headers[acls.ACCOUNT_ACL_HEADER] = stored
            return resp

        async def _stored_account_acl(req: SwiftRequest) -> str | None:
            try:
                info = await state.containers.account_info(req.account or "")
            except NotImplementedError:
                return None
            return info.meta.get(acls.ACCOUNT_ACL_SYSMETA) if info else None

        return handle

    return middleware


def _is_account(req: SwiftRequest) -> bool:
    try:
        _version, account, container, _obj = req.parts
    except ValueError:
        return False
    return account is not None and container is None


__all__ = ["SwiftError", "factory", "grantees"]
