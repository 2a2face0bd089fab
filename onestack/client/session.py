"""An HTTP session to the cloud's APIs as the ``onestack`` service user (async).

Services reach each other through their REST APIs, never each other's tables. In one process
(``onestack up``) the session uses an in-process ASGI transport — the same requests, no socket;
when services run apart it talks to real URLs. The token is scoped to the ``service`` project
(admin and service roles there), fetched on first use and again after a 401.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


class ServiceSession:
    def __init__(self, base_url: str, username: str, password: str, *,
                 transport: httpx.AsyncBaseTransport | None = None, identity_prefix: str = "/identity",
                 timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._creds = (username, password)
        self._identity = f"{self.base_url}{identity_prefix}"
        self._token: str | None = None
        self._lock = asyncio.Lock()
        self.http = httpx.AsyncClient(transport=transport, timeout=timeout)

    async def token(self) -> str:
        async with self._lock:
            if self._token is None:
                username, password = self._creds
                body = {"auth": {
                    "identity": {"methods": ["password"], "password": {"user": {
                        "name": username, "domain": {"id": "default"}, "password": password}}},
                    "scope": {"project": {"name": "service", "domain": {"id": "default"}}},
                }}
                resp = await self.http.post(f"{self._identity}/v3/auth/tokens?nocatalog", json=body)
                resp.raise_for_status()
                self._token = resp.headers["X-Subject-Token"]
            return self._token

    async def request(self, method: str, url: str, *, headers: dict[str, str] | None = None,
                      user_token: str | None = None, **kwargs: Any) -> httpx.Response:
        """``url`` is relative to the base URL. With ``user_token`` the call acts as that user."""
        full = f"{self.base_url}{url}"
        resp: httpx.Response | None = None
        for _attempt in range(2):
            token = user_token or await self.token()
            resp = await self.http.request(method, full, headers={"X-Auth-Token": token, **(headers or {})},
                                           **kwargs)
            if resp.status_code != 401 or user_token:
                return resp
            self._token = None  # ours expired or was revoked: authenticate again
        assert resp is not None
        return resp

    def stream(self, method: str, url: str, token: str, **kwargs: Any) -> Any:
        return self.http.stream(method, f"{self.base_url}{url}", headers={"X-Auth-Token": token}, **kwargs)

    async def close(self) -> None:
        await self.http.aclose()
