"""An HTTP session to the cloud's APIs as the ``onestack`` service user (async).

Services reach each other through their REST APIs, never each other's tables. The session
authenticates against identity and takes every other service's URL from the catalog that
comes with its token, so a service running in another process, on another port or host,
is found the way any OpenStack client finds it. In one process (``onestack up``) the session
uses an in-process ASGI transport — the same requests, no socket. The token is scoped to the
``service`` project (admin and service roles there), fetched on first use and again after a 401.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

CATALOG_RECHECK = 5.0  # seconds between catalog re-reads for a service it did not list


class EndpointNotFound(LookupError):
    """The catalog lists no public endpoint of that service type."""


class ServiceSession:
    def __init__(self, identity_url: str, username: str, password: str, *,
                 mounts: dict[str, httpx.AsyncBaseTransport] | None = None, region: str | None = None,
                 project: str = "service", timeout: float = 60.0) -> None:
        self.identity_url = identity_url.rstrip("/")
        self._creds = (username, password, project)
        self.region = region
        self._token: str | None = None
        self._endpoints: dict[str, str] = {}
        self._catalog_at = -CATALOG_RECHECK  # when the catalog was last read (monotonic)
        self._lock = asyncio.Lock()
        # ``mounts`` maps a base URL to a transport: the in-process ASGI app for this process's own URL.
        self.http = httpx.AsyncClient(mounts=mounts, timeout=timeout)

    async def token(self) -> str:
        if self._token is not None:  # the common case, twice per request: no lock round
            return self._token
        async with self._lock:
            if self._token is None:
                username, password, project = self._creds
                body = {"auth": {
                    "identity": {"methods": ["password"], "password": {"user": {
                        "name": username, "domain": {"id": "default"}, "password": password}}},
                    "scope": {"project": {"name": project, "domain": {"id": "default"}}},
                }}
                resp = await self.http.post(f"{self.identity_url}/v3/auth/tokens", json=body)
                resp.raise_for_status()
                self._token = resp.headers["X-Subject-Token"]
                self._endpoints = self._public_endpoints(resp.json()["token"].get("catalog", []))
                self._catalog_at = time.monotonic()
            return self._token

    def _public_endpoints(self, catalog: list[dict[str, Any]]) -> dict[str, str]:
        found: dict[str, str] = {}
        for entry in catalog:
            for ep in entry.get("endpoints", []):
                if ep.get("interface") == "public" and (self.region is None or ep.get("region_id") == self.region):
                    found.setdefault(entry["type"], str(ep["url"]).rstrip("/"))
        return found

    async def endpoint(self, service_type: str) -> str:
        """The public URL of a service, from the catalog of the session's token."""
        await self.token()
        url = self._endpoints.get(service_type)
        if url is None and time.monotonic() - self._catalog_at >= CATALOG_RECHECK:
            # The catalog may have changed since: look again, but at most every CATALOG_RECHECK
            # seconds — a cloud without the service (no network service, say) would otherwise
            # authenticate anew, a password check and a token, on every call that asks for it.
            self._token = None
            await self.token()
            url = self._endpoints.get(service_type)
        if url is None:
            raise EndpointNotFound(f"the catalog has no public {service_type} endpoint")
        return url

    async def request(self, method: str, path: str, *, service: str, headers: dict[str, str] | None = None,
                      user_token: str | None = None, **kwargs: Any) -> httpx.Response:
        """``path`` is below the service's endpoint. With ``user_token`` the call acts as that user."""
        full = f"{await self.endpoint(service)}{path}"
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

    async def url(self, service: str, path: str) -> str:
        return f"{await self.endpoint(service)}{path}"

    def stream(self, method: str, url: str, token: str, **kwargs: Any) -> Any:
        """``url`` is absolute (from ``url()``)."""
        return self.http.stream(method, url, headers={"X-Auth-Token": token}, **kwargs)

    async def close(self) -> None:
        await self.http.aclose()
