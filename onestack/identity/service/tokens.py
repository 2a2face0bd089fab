"""Issuing, validating and revoking tokens.

A token is a sealed ``TokenPayload``: who, how they authenticated, which scope, until when.
Validation opens it, checks expiry and revocation events, then renders the token document
(user, scope, effective roles, catalog) from the database — cached until the next identity
write (in this process at once, in another within about a second: ``Identity.fresh``), or
``identity.cache_ttl`` at the latest.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anyio.to_thread
from cryptography.fernet import InvalidToken
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Forbidden, NotFound, Unauthorized
from onestack.core.ids import isotime, utcnow
from onestack.identity.models import ApplicationCredential, Project, Trust, User
from onestack.identity.service import (
    assignments,
    catalog,
    federation,
    oauth1,
    projects,
    revocations,
    users,
)
from onestack.identity.state import Identity
from onestack.identity.token_format import TokenPayload, new_audit_id

REVOCATION_REFRESH_SECONDS = 1.0


class TokenNotFound(NotFound):
    def __init__(self, token: str = "") -> None:
        super().__init__(f"Could not find token: {token}.")


@dataclass
class Authenticated:
    """The outcome of the identity methods, before scoping."""

    user_id: str
    methods: list[str]
    expires_at: datetime | None = None  # inherited from a token being rescoped
    parent_audit_id: str | None = None
    app_cred: ApplicationCredential | None = None
    from_token: TokenPayload | None = None
    extras: dict[str, Any] = field(default_factory=dict)


# --- the identity methods ---------------------------------------------------------------


def _user_by_ref(s: Session, ref: dict[str, Any]) -> User:
    if not isinstance(ref, dict):
        raise BadRequest("Invalid input for field 'user': expected an object")
    try:
        if ref.get("id"):
            return users.get_user(s, str(ref["id"]))
        if not ref.get("name"):
            raise BadRequest("A user must be given by id, or by name and domain.")
        domain_ref = ref.get("domain")
        if not isinstance(domain_ref, dict):
            raise BadRequest("A user given by name needs its domain (id or name).")
        domain = projects.resolve_domain(s, domain_ref)
        return users.find_user_by_name(s, str(ref["name"]), domain.id)
    except NotFound:
        raise Unauthorized() from None


def _check_user_usable(s: Session, user: User) -> None:
    domain = s.get(Project, user.domain_id)
    if not user.enabled or domain is None or not domain.enabled:
        raise Unauthorized()


async def _password_method(ident: Identity, data: Any) -> Authenticated:
    if not isinstance(data, dict) or not isinstance(data.get("user"), dict):
        raise BadRequest("Invalid input for field 'identity.password.user': 'user' is a required property")
    password = data["user"].get("password")
    if not isinstance(password, str):
        raise BadRequest("Invalid input for field 'identity.password.user.password': not a string")
    sc = ident.config.identity.security_compliance

    def load(s: Session) -> tuple[User, str | None, datetime | None]:
        user = _user_by_ref(s, data["user"])
        current = users.current_password(s, user.id)
        s.expunge(user)
        return user, current.password_hash if current else None, current.expires_at if current else None

    user, hashed, expires_at = await ident.db.read(load)
    opts = user.options or {}
    now = utcnow()
    locked = (
        sc.lockout_failure_attempts
        and not opts.get("ignore_lockout_failure_attempts")
        and user.failed_auth_count >= sc.lockout_failure_attempts
        and user.failed_auth_at is not None
        and user.failed_auth_at + timedelta(seconds=sc.lockout_duration) > now
    )
    if locked:
        raise Unauthorized(f"The account is locked for user: {user.id}.")
    ok = hashed is not None and await anyio.to_thread.run_sync(users.check_password, password, hashed)
    if not ok:
        if sc.lockout_failure_attempts:
            await ident.db.write(_record_failure, user.id, sc.lockout_duration)
        raise Unauthorized()
    if user.failed_auth_count:
        await ident.db.write(_reset_failures, user.id)
    await _check_activity(ident, user, now)
    if expires_at is not None and expires_at <= now and not opts.get("ignore_password_expiry"):
        raise Unauthorized(f"The password is expired and needs to be changed for user: {user.id}.")
    await ident.db.read(lambda s: _check_user_usable(s, user))
    return Authenticated(user_id=user.id, methods=["password"])


async def _check_activity(ident: Identity, user: User, now: datetime) -> None:
    """``disable_user_account_days_inactive``: an account unused that long counts as disabled."""
    days = ident.config.identity.security_compliance.disable_user_account_days_inactive
    if not days:
        return
    if user.last_active_at is not None and user.last_active_at + timedelta(days=days) < now:
        raise Unauthorized(f"The account is disabled for user: {user.id}.")
    # Day resolution, as Keystone keeps it: at most one write per user per day.
    if user.last_active_at is None or user.last_active_at.date() != now.date():
        await ident.db.write(_touch_active, user.id, now)


def _touch_active(s: Session, user_id: str, now: datetime) -> None:
    user = s.get(User, user_id)
    if user is not None:
        user.last_active_at = now


def _record_failure(s: Session, user_id: str, window: int) -> None:
    # Locked: concurrent failures (a guessing burst) must each count, not overwrite one another.
    user = s.get(User, user_id, with_for_update=True)
    if user is None:
        return
    now = utcnow()
    if user.failed_auth_at is not None and user.failed_auth_at + timedelta(seconds=window) < now:
        user.failed_auth_count = 0  # the lockout window passed: count afresh
    user.failed_auth_count += 1
    user.failed_auth_at = now


def _reset_failures(s: Session, user_id: str) -> None:
    user = s.get(User, user_id)
    if user is not None:
        user.failed_auth_count = 0
        user.failed_auth_at = None


async def _token_method(ident: Identity, data: Any) -> Authenticated:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise BadRequest("Invalid input for field 'identity.token': 'id' is a required property")
    try:
        payload, _doc = await validate_payload(ident, data["id"], include_catalog=False)
    except TokenNotFound:
        raise  # Keystone answers 404 for a revoked or unknown token here (tempest checks it)
    except Unauthorized:
        raise Unauthorized() from None
    if payload.trust_id:
        raise Forbidden("Re-scoping a trust token is not allowed.")
    if payload.app_cred_id:
        raise Forbidden("Re-scoping an application credential token is not allowed.")
    if payload.access_token_id:
        raise Forbidden("You are not authorized to perform the requested action: Using OAuth-scoped token to "
                        "create another token. Create a new OAuth-scoped token instead.")
    methods = ["token", *[m for m in payload.methods if m != "token"]]
    return Authenticated(
        user_id=payload.user_id,
        methods=methods,
        expires_at=payload.expires_at,
        parent_audit_id=payload.audit_ids[-1] if payload.audit_ids else None,
        from_token=payload,
    )


async def _app_cred_method(ident: Identity, data: Any) -> Authenticated:
    if not isinstance(data, dict) or not isinstance(data.get("secret"), str):
        raise BadRequest("Invalid input for field 'identity.application_credential': 'secret' is a required property")

    def load(s: Session) -> ApplicationCredential:
        from sqlalchemy import select

        if data.get("id"):
            cred = s.get(ApplicationCredential, str(data["id"]))
        elif data.get("name") and isinstance(data.get("user"), dict):
            user = _user_by_ref(s, data["user"])
            cred = s.scalar(
                select(ApplicationCredential).where(
                    ApplicationCredential.user_id == user.id, ApplicationCredential.name == str(data["name"])
                )
            )
        else:
            raise BadRequest("An application credential is named by id, or by name and user.")
        owner = s.get(User, cred.user_id) if cred is not None else None
        if cred is None or owner is None:
            raise Unauthorized()
        _check_user_usable(s, owner)
        s.expunge(cred)
        return cred

    cred = await ident.db.read(load)
    if cred.expires_at is not None and cred.expires_at <= utcnow():
        raise Unauthorized()
    if not await anyio.to_thread.run_sync(users.check_password, data["secret"], cred.secret_hash):
        raise Unauthorized()
    return Authenticated(user_id=cred.user_id, methods=["application_credential"], app_cred=cred)


@dataclass
class SignedRequest:
    """What an OAuth1-signed ``POST /v3/auth/tokens`` was signed over: its URL and headers."""

    url: str
    headers: Mapping[str, str]


async def _oauth1_method(ident: Identity, signed: SignedRequest) -> Authenticated:
    user_id, project_id, access_token_id = await ident.db.read(oauth1.authenticate, signed.url, signed.headers)
    return Authenticated(user_id=user_id, methods=["oauth1"],
                         extras={"oauth1_project_id": project_id, "oauth1_access_token_id": access_token_id})


async def _mapped_method(ident: Identity, data: Any) -> Authenticated:
    """Federated authentication, which needs the IdP's assertion from the web server; onestack never has one.

    Keystone's checks run in its order (the body, the IdP, its protocol and mapping; or the
    token being rescoped, which is never federated here) and the attempt then fails as Keystone's
    does when no rule matches an empty assertion: 401.
    """
    if not isinstance(data, dict):
        raise federation.expecting("mapped", "identity")
    if "id" in data:
        await validate_payload(ident, str(data["id"]), include_catalog=False)
        raise federation.IdentityProviderNotFound(None)
    for key in ("identity_provider", "protocol"):
        if key not in data:
            raise federation.expecting(key, "mapped")
    await ident.db.read(federation.check_mapped, str(data["identity_provider"]), str(data["protocol"]))
    raise Unauthorized()


METHODS = {"password": _password_method, "token": _token_method, "application_credential": _app_cred_method,
           "mapped": _mapped_method}


# --- scoping and issuing --------------------------------------------------------------------


def _scope_payload(s: Session, ident: Identity, who: Authenticated, scope: Any) -> TokenPayload:
    now = utcnow()
    lifetime = timedelta(seconds=ident.config.identity.token_expiration)
    expires = who.expires_at or now + lifetime
    audit_ids = [new_audit_id()] + ([who.parent_audit_id] if who.parent_audit_id else [])
    payload = TokenPayload(user_id=who.user_id, methods=who.methods, expires_at=expires, issued_at=now,
                           audit_ids=audit_ids)
    if who.app_cred is not None:
        cred = who.app_cred
        if scope is not None:
            raise Unauthorized("Application credentials cannot request a scope.")
        if cred.expires_at is not None:
            payload.expires_at = min(payload.expires_at, cred.expires_at)
        payload.app_cred_id = cred.id
        if cred.system:
            payload.system = "all"
        else:
            payload.project_id = cred.project_id
        return payload
    if "oauth1_access_token_id" in who.extras:
        # The access token fixes the scope: its project (a requested scope is not looked at).
        payload.project_id = who.extras["oauth1_project_id"]
        payload.access_token_id = who.extras["oauth1_access_token_id"]
        return payload
    if scope is None:
        user = users.get_user(s, who.user_id)
        if who.from_token is not None:
            # Rescoping with no scope keeps the subject token's scope.
            payload.project_id = who.from_token.project_id
            payload.domain_id = who.from_token.domain_id
            payload.system = who.from_token.system
        elif user.default_project_id:
            project = s.get(Project, user.default_project_id)
            if project is not None and project.enabled and assignments.effective_roles(s, user.id, project_id=project.id):
                payload.project_id = project.id
        return payload
    if scope == "unscoped":
        return payload
    if not isinstance(scope, dict) or len(scope) != 1:
        raise BadRequest("Invalid input for field 'scope': give exactly one of project, domain, system, OS-TRUST:trust")
    kind, ref = next(iter(scope.items()))
    if kind == "project":
        if not isinstance(ref, dict):
            raise BadRequest("Invalid input for field 'scope.project': expected an object")
        try:
            if ref.get("id"):
                project = projects.get_project(s, str(ref["id"]))
            else:
                if not ref.get("name") or not isinstance(ref.get("domain"), dict):
                    raise BadRequest("A project scope needs an id, or a name and a domain.")
                domain = projects.resolve_domain(s, ref["domain"])
                project = projects.find_project_by_name(s, str(ref["name"]), domain.id)
        except NotFound:
            raise Unauthorized(f"Could not find project: {ref.get('id') or ref.get('name')}.") from None
        payload.project_id = project.id
    elif kind == "domain":
        if not isinstance(ref, dict):
            raise BadRequest("Invalid input for field 'scope.domain': expected an object")
        try:
            payload.domain_id = projects.resolve_domain(s, ref).id
        except NotFound:
            raise Unauthorized(f"Could not find domain: {ref.get('id') or ref.get('name')}.") from None
    elif kind == "system":
        if not isinstance(ref, dict) or ref.get("all") is not True:
            raise BadRequest("Invalid input for field 'scope.system': only {\"all\": true} is supported")
        payload.system = "all"
    elif kind == "OS-TRUST:trust":
        _scope_to_trust(s, payload, ref)
    else:
        raise BadRequest(f"Invalid input for field 'scope': unknown scope {kind!r}")
    return payload


def _scope_to_trust(s: Session, payload: TokenPayload, ref: Any) -> None:
    trust_id = ref.get("id") if isinstance(ref, dict) else None
    trust = s.get(Trust, str(trust_id)) if trust_id else None
    if trust is None or trust.deleted_at is not None:
        raise NotFound(f"Could not find trust: {trust_id}.")
    if trust.trustee_user_id != payload.user_id:
        raise Forbidden("User is not a trustee.")
    if trust.expires_at is not None and trust.expires_at <= utcnow():
        raise NotFound(f"Could not find trust: {trust_id}.")
    if trust.remaining_uses is not None:
        if trust.remaining_uses <= 0:
            raise NotFound(f"Could not find trust: {trust_id}.")
        trust.remaining_uses -= 1
    payload.trust_id = trust.id
    payload.project_id = trust.project_id
    if trust.impersonation:
        payload.user_id = trust.trustor_user_id
    if trust.expires_at is not None:
        payload.expires_at = min(payload.expires_at, trust.expires_at)


async def issue(ident: Identity, body: Any, *, include_catalog: bool = True,
                signed: SignedRequest | None = None) -> tuple[str, dict[str, Any]]:
    """Authenticate ``body`` (a POST /v3/auth/tokens document); returns (token, document).

    ``signed`` is the request itself, for the ``oauth1`` method (its proof is the signature).
    """
    auth = body.get("auth") if isinstance(body, dict) else None
    if not isinstance(auth, dict) or not isinstance(auth.get("identity"), dict):
        raise BadRequest("Invalid input for field 'identity': 'identity' is a required property")
    methods = auth["identity"].get("methods")
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        raise BadRequest("Invalid input for field 'identity.methods': a non-empty list of strings is required")
    outcome: Authenticated | None = None
    for method in dict.fromkeys(methods):
        handler = METHODS.get(method)
        if method == "oauth1" and signed is not None:
            result = await _oauth1_method(ident, signed)
        elif handler is None:
            raise Unauthorized(f"Attempted to authenticate with an unsupported method: {method}.")
        else:
            result = await handler(ident, auth["identity"].get(method))
        if outcome is not None and outcome.user_id != result.user_id:
            raise Unauthorized("The methods authenticate different users.")
        if outcome is None:
            outcome = result
        else:
            outcome.methods = list(dict.fromkeys([*outcome.methods, *result.methods]))
            outcome.expires_at = outcome.expires_at or result.expires_at
            outcome.parent_audit_id = outcome.parent_audit_id or result.parent_audit_id
            outcome.extras.update(result.extras)
    assert outcome is not None
    return await issue_for(ident, outcome, auth.get("scope"), include_catalog=include_catalog)


async def issue_for(ident: Identity, outcome: Authenticated, scope: Any, *,
                    include_catalog: bool = True) -> tuple[str, dict[str, Any]]:
    """A token for a caller some method authenticated (password, or an EC2 signature)."""
    await ident.fresh()  # service providers are cached; see another process's changes too
    trust_scoped = isinstance(scope, dict) and "OS-TRUST:trust" in scope
    write = ident.db.write if trust_scoped else ident.db.read
    payload = await write(_scope_payload, ident, outcome, scope)
    token = ident.token_keys.encrypt(payload.pack())
    doc = await ident.db.read(render, ident, payload, include_catalog, True)
    return token, doc


# --- validating --------------------------------------------------------------------------


def _invalid(for_issue: bool, message: str = "") -> Exception:
    return Unauthorized(message) if for_issue and message else (Unauthorized() if for_issue else TokenNotFound())


def render(s: Session, ident: Identity, payload: TokenPayload, include_catalog: bool, for_issue: bool = False) -> dict[str, Any]:
    """The token document for a payload; raises TokenNotFound (or 401 when issuing) if it no longer holds."""
    doc = _render(s, ident, payload, include_catalog, for_issue)
    # Keystone lists the enabled service providers in every token (scoped or not) when there are any.
    sps = _service_providers(s, ident)
    if sps:
        doc["service_providers"] = sps
    return doc


def _service_providers(s: Session, ident: Identity) -> list[dict[str, str]]:
    """The enabled service providers, cached per ``ident.revision`` (every token render needs them).

    Any identity write, here or (via the shared generation) in another process, moves the revision.
    """
    cached = ident.service_providers
    if cached is not None and cached[0] == ident.revision:
        return cached[1]
    revision = ident.revision  # read before the query: a write committed meanwhile is not cached as current
    sps = federation.enabled_service_providers(s)
    if revision == ident.revision:
        ident.service_providers = (revision, sps)
    return sps


def _render(s: Session, ident: Identity, payload: TokenPayload, include_catalog: bool, for_issue: bool) -> dict[str, Any]:
    user = s.get(User, payload.user_id)
    user_domain = s.get(Project, user.domain_id) if user else None
    if user is None or user_domain is None or not user.enabled or not user_domain.enabled:
        raise _invalid(for_issue)
    current = users.current_password(s, user.id)
    doc: dict[str, Any] = {
        "methods": payload.methods,
        "user": {
            "id": user.id,
            "name": user.name,
            "domain": {"id": user_domain.id, "name": user_domain.name},
            "password_expires_at": isotime(current.expires_at) if current and current.expires_at else None,
        },
        "audit_ids": payload.audit_ids,
        "expires_at": isotime(payload.expires_at),
        "issued_at": isotime(payload.issued_at),
    }
    role_ids: set[str] | None = None
    if payload.trust_id:
        role_ids = _trust_roles(s, payload, doc, for_issue)
    if payload.app_cred_id:
        role_ids = _app_cred_roles(s, payload, doc, for_issue)
    if payload.access_token_id:
        delegation = oauth1.token_delegation(s, payload.access_token_id)
        if delegation is None:  # the access token (or its consumer) was deleted
            raise _invalid(for_issue)
        doc["OS-OAUTH1"], role_ids = delegation
    roles = []
    if payload.project_id:
        project = s.get(Project, payload.project_id)
        domain = s.get(Project, project.domain_id) if project else None
        if project is None or project.is_domain or domain is None:
            raise _invalid(for_issue, f"Could not find project: {payload.project_id}.")
        if not project.enabled or not domain.enabled:
            raise _invalid(for_issue, f"Project {project.id} is disabled.")
        roles = assignments.effective_roles(s, _role_holder(s, payload), project_id=project.id)
        doc["project"] = {"id": project.id, "name": project.name, "domain": {"id": domain.id, "name": domain.name}}
        doc["is_domain"] = False
        missing = f"User {user.id} has no access to project {project.id}."
    elif payload.domain_id:
        domain = s.get(Project, payload.domain_id)
        if domain is None or not domain.is_domain or not domain.enabled:
            raise _invalid(for_issue, f"Could not find domain: {payload.domain_id}.")
        roles = assignments.effective_roles(s, user.id, domain_id=domain.id)
        doc["domain"] = {"id": domain.id, "name": domain.name}
        missing = f"User {user.id} has no access to domain {domain.id}."
    elif payload.system:
        roles = assignments.effective_roles(s, user.id, system=True)
        doc["system"] = {"all": True}
        missing = f"User {user.id} has no access to the system."
    else:
        return doc
    if role_ids is not None:
        allowed = assignments.implied_closure(s, role_ids)
        roles = [r for r in roles if r.id in allowed]
    if not roles:
        raise _invalid(for_issue, missing)
    doc["roles"] = [{"id": r.id, "name": r.name} for r in roles]
    if include_catalog:
        doc["catalog"] = catalog.build_catalog(s, payload.project_id, user.id)
    return doc


def _role_holder(s: Session, payload: TokenPayload) -> str:
    """Whose assignments limit the roles: the trustor's for trust tokens."""
    if payload.trust_id:
        trust = s.get(Trust, payload.trust_id)
        if trust is not None:
            return trust.trustor_user_id
    return payload.user_id


def _trust_roles(s: Session, payload: TokenPayload, doc: dict[str, Any], for_issue: bool) -> set[str]:
    trust = s.get(Trust, payload.trust_id)
    if trust is None or trust.deleted_at is not None:
        raise _invalid(for_issue)
    if trust.expires_at is not None and trust.expires_at <= utcnow():
        raise _invalid(for_issue)
    for uid in (trust.trustor_user_id, trust.trustee_user_id):
        holder = s.get(User, uid)
        if holder is None or not holder.enabled:
            raise _invalid(for_issue)
    doc["OS-TRUST:trust"] = {
        "id": trust.id,
        "impersonation": trust.impersonation,
        "trustee_user": {"id": trust.trustee_user_id},
        "trustor_user": {"id": trust.trustor_user_id},
    }
    return set(trust.roles or [])


def _app_cred_roles(s: Session, payload: TokenPayload, doc: dict[str, Any], for_issue: bool) -> set[str]:
    cred = s.get(ApplicationCredential, payload.app_cred_id)
    if cred is None:
        raise _invalid(for_issue)
    doc["application_credential"] = {"id": cred.id, "name": cred.name, "restricted": not cred.unrestricted}
    from onestack.identity.service import app_creds

    rules = app_creds.access_rules_of(s, cred.id)
    if rules:
        doc["application_credential"]["access_rules"] = rules
    return set(cred.roles or [])


async def _revocation_events(ident: Identity) -> list[Any]:
    now = time.monotonic()
    stale = now - ident.revocations_loaded_at > REVOCATION_REFRESH_SECONDS
    if stale or ident.revocations_revision != ident.revision:
        # Remember the revision the read started at: a revocation committed while this read
        # was in flight bumps the revision, so the next caller reads again.
        started_at = ident.revision
        events = await ident.db.read(revocations.active_events)
        if started_at == ident.revision:
            ident.revocations, ident.revocations_loaded_at = events, now
            ident.revocations_revision = started_at
        return events
    return ident.revocations


def open_token(ident: Identity, token: str) -> TokenPayload:
    try:
        return TokenPayload.unpack(ident.token_keys.decrypt(token))
    except (InvalidToken, ValueError, TypeError):
        raise TokenNotFound(token) from None


async def validate_payload(
    ident: Identity, token: str, *, include_catalog: bool = True, allow_expired: bool = False
) -> tuple[TokenPayload, dict[str, Any]]:
    """Open, check and render a token; raises TokenNotFound when it is not (or no longer) valid."""
    await ident.fresh()  # another identity process's writes drop our caches too
    ident.token_keys.fernet()  # notices rotated or pruned keys on disk
    if ident.token_keys.generation != ident.key_generation:
        ident.key_generation = ident.token_keys.generation
        ident.token_cache.clear()  # a pruned key must stop validating its tokens at once
    key = f"{int(include_catalog)}:{token}"
    cached = ident.token_cache.get(key)
    payload: TokenPayload = cached[0] if cached else open_token(ident, token)
    now = utcnow()
    if payload.expires_at <= now:
        window = timedelta(seconds=ident.config.identity.allow_expired_window)
        if not allow_expired or payload.expires_at + window <= now:
            raise TokenNotFound(token)
    if revocations.is_revoked(payload, await _revocation_events(ident)):
        raise TokenNotFound(token)
    if cached:
        return payload, cached[1]
    revision = ident.revision
    doc = await ident.db.read(render, ident, payload, include_catalog)
    if revision == ident.revision:
        ident.token_cache.put(key, (payload, doc))
    return payload, doc


async def revoke_token(ident: Identity, token: str) -> None:
    payload = open_token(ident, token)
    await validate_payload(ident, token, include_catalog=False)
    await ident.db.write(
        lambda s: revocations.revoke(s, token_lifetime=ident.config.identity.token_expiration, audit_id=payload.audit_ids[0])
    )
