"""IdentityDirectory over HTTP, authenticated as a service user (for services running apart).

The token is system-scoped, as oslo.limit's is: a project-scoped token only sees its own
project's limits. Bootstrap gives the ``onestack`` service user the reader role on the system.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx


class HttpDirectory:
    """Asks identity's REST API; answers are cached for ``cache_ttl`` seconds."""

    def __init__(self, identity_url: str, username: str, password: str, cache_ttl: float = 30.0) -> None:
        self.identity_url = identity_url.rstrip("/")
        self._creds = (username, password)
        self._token: str | None = None
        self._lock = threading.Lock()
        self._cache: dict[Any, tuple[float, Any]] = {}
        self.cache_ttl = cache_ttl
        self._http = httpx.Client(timeout=10.0)

    def _service_token(self) -> str:
        with self._lock:
            if self._token is None:
                username, password = self._creds
                body = {"auth": {
                    "identity": {"methods": ["password"], "password": {"user": {
                        "name": username, "domain": {"id": "default"}, "password": password}}},
                    "scope": {"system": {"all": True}},
                }}
                resp = self._http.post(f"{self.identity_url}/v3/auth/tokens?nocatalog", json=body)
                resp.raise_for_status()
                self._token = resp.headers["X-Subject-Token"]
            return self._token

    def _get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        for _attempt in range(2):
            resp = self._http.get(f"{self.identity_url}{path}", params=params,
                                  headers={"X-Auth-Token": self._service_token()})
            if resp.status_code != 401:
                return resp
            self._token = None  # our token expired or was revoked: authenticate again
        return resp

    def _cached(self, key: Any, produce: Any) -> Any:
        hit = self._cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        value = produce()
        self._cache[key] = (time.monotonic() + self.cache_ttl, value)
        return value

    def project_exists(self, project_id: str) -> bool:
        def ask() -> bool:
            resp = self._get(f"/v3/projects/{project_id}")
            if resp.status_code == 404:
                return False
            resp.raise_for_status()
            return not resp.json()["project"].get("is_domain", False)  # domains are projects too

        return bool(self._cached(("project", project_id), ask))

    def limit(self, service_type: str, resource_name: str, project_id: str) -> int | None:
        def ask() -> int | None:
            services = self._get("/v3/services", {"type": service_type}).json().get("services", [])
            if not services:
                return None
            service_id = services[0]["id"]
            own = self._get("/v3/limits", {"service_id": service_id, "project_id": project_id,
                                           "resource_name": resource_name}).json().get("limits", [])
            if own:
                return int(own[0]["resource_limit"])
            reg = self._get("/v3/registered_limits", {"service_id": service_id,
                                                      "resource_name": resource_name}).json()
            found = reg.get("registered_limits", [])
            return int(found[0]["default_limit"]) if found else None

        result = self._cached(("limit", service_type, resource_name, project_id), ask)
        return None if result is None else int(result)
