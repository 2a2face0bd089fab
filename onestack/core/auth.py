"""Token validation for every service: who is calling, in what scope, with which roles.

In ``onestack up`` the identity service validates tokens in-process; a service running
apart uses ``HttpTokenValidator``, which asks identity over HTTP with its own service
token. Both sit behind ``TokenValidator`` and a short TTL cache.
"""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import Request

from onestack.core.api.faults import Unauthorized


@dataclass
class AuthContext:
    """The validated caller, as the token body describes it."""

    token: str
    user_id: str
    user_name: str = ""
    user_domain_id: str = ""
    project_id: str | None = None
    project_name: str | None = None
    project_domain_id: str | None = None
    domain_id: str | None = None  # set for domain-scoped tokens
    domain_name: str | None = None
    system_scope: str | None = None  # "all" for system-scoped tokens
    roles: list[str] = field(default_factory=list)
    role_ids: list[str] = field(default_factory=list)
    is_admin_project: bool = False
    expires_at: str = ""
    audit_ids: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    trust_id: str | None = None
    application_credential_id: str | None = None
    service_roles: list[str] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)  # the full token document

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def credentials(self) -> dict[str, Any]:
        """The credentials a policy rule checks against (oslo.policy's names)."""
        return {
            "user_id": self.user_id,
            "user_domain_id": self.user_domain_id,
            "project_id": self.project_id,
            "project_domain_id": self.project_domain_id,
            "domain_id": self.domain_id,
            "system_scope": self.system_scope,
            "roles": self.roles,
            "is_admin_project": self.is_admin_project,
            "service_roles": self.service_roles,
            "trust_id": self.trust_id,
            "token": {"user_id": self.user_id, "audit_ids": self.audit_ids},
        }


def context_from_token_body(token: str, body: dict[str, Any]) -> AuthContext:
    doc = body["token"]
    user = doc["user"]
    ctx = AuthContext(
        token=token,
        user_id=user["id"],
        user_name=user.get("name", ""),
        user_domain_id=user.get("domain", {}).get("id", ""),
        roles=[r["name"] for r in doc.get("roles", [])],
        role_ids=[r["id"] for r in doc.get("roles", [])],
        expires_at=doc.get("expires_at", ""),
        audit_ids=list(doc.get("audit_ids", [])),
        methods=list(doc.get("methods", [])),
        is_admin_project=bool(doc.get("is_admin_project", False)),
        body=body,
    )
    if "project" in doc:
        ctx.project_id = doc["project"]["id"]
        ctx.project_name = doc["project"].get("name")
        ctx.project_domain_id = doc["project"].get("domain", {}).get("id")
    elif "domain" in doc:
        ctx.domain_id = doc["domain"]["id"]
        ctx.domain_name = doc["domain"].get("name")
    elif "system" in doc:
        ctx.system_scope = "all"
    if "OS-TRUST:trust" in doc:
        ctx.trust_id = doc["OS-TRUST:trust"]["id"]
    if "application_credential" in doc:
        ctx.application_credential_id = doc["application_credential"]["id"]
    return ctx


class TokenValidator(Protocol):
    async def validate(self, token: str, *, allow_expired: bool = False) -> AuthContext:
        """The caller behind ``token``; raises Unauthorized if it is invalid, expired or revoked."""
        ...


class TTLCache:
    """A small LRU with per-entry expiry; enough for validated tokens."""

    def __init__(self, ttl: float, size: int = 10000) -> None:
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def get(self, key: str) -> Any:
        hit = self._items.get(key)
        if hit is None:
            return None
        if hit[0] < time.monotonic():
            self._items.pop(key, None)
            return None
        self._items.move_to_end(key)
        return hit[1]

    def put(self, key: str, value: Any) -> None:
        self._items[key] = (time.monotonic() + self.ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


class HttpTokenValidator:
    """Validates tokens by asking the identity service, authenticating as a service user."""

    def __init__(self, identity_url: str, username: str, password: str, project: str, cache_ttl: float) -> None:
        self.identity_url = identity_url.rstrip("/")
        self._creds = (username, password, project)
        self._cache = TTLCache(cache_ttl)
        self._service_token: str | None = None
        import httpx  # only services running apart need it; keeps `onestack up` start-up lean

        self._client = httpx.AsyncClient(timeout=10.0)

    async def _own_token(self) -> str:
        if self._service_token is None:
            username, password, project = self._creds
            body = {"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": username, "domain": {"id": "default"}, "password": password}}},
                "scope": {"project": {"name": project, "domain": {"id": "default"}}},
            }}
            resp = await self._client.post(f"{self.identity_url}/v3/auth/tokens?nocatalog", json=body)
            if resp.status_code != 201:
                raise Unauthorized("The service could not authenticate to the identity service.")
            self._service_token = resp.headers["X-Subject-Token"]
        return self._service_token

    async def validate(self, token: str, *, allow_expired: bool = False) -> AuthContext:
        cached = self._cache.get(token)
        if cached is not None and not allow_expired:
            return cached  # type: ignore[no-any-return]
        for _attempt in range(2):
            headers = {"X-Auth-Token": await self._own_token(), "X-Subject-Token": token}
            url = f"{self.identity_url}/v3/auth/tokens?nocatalog" + ("&allow_expired=1" if allow_expired else "")
            resp = await self._client.get(url, headers=headers)
            if resp.status_code == 200:
                ctx = context_from_token_body(token, resp.json())
                self._cache.put(token, ctx)
                return ctx
            if resp.status_code == 401:
                self._service_token = None  # our own token may have expired; retry once
                continue
            break
        raise Unauthorized()


async def authenticate(request: Request) -> AuthContext:
    """The validated caller of this request (cached on the request); 401 without a valid token."""
    state = request.scope.setdefault("state", {})
    ctx = state.get("auth")
    if ctx is not None:
        return ctx  # type: ignore[no-any-return]
    token = request.headers.get("x-auth-token")
    if not token:
        raise Unauthorized()
    validator: TokenValidator = request.app.state.token_validator
    ctx = await validator.validate(token)
    service_token = request.headers.get("x-service-token")
    if service_token:
        service_ctx = await validator.validate(service_token)
        ctx = dataclasses.replace(ctx, service_roles=list(service_ctx.roles))
    state["auth"] = ctx
    return ctx
