"""A thin raw-HTTP Keystone v3 client for the roles/grants/assignments tests: fast setup, exact status codes."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.functional.cloud import RunningCloud


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Keystone:
    def __init__(self, cloud: RunningCloud) -> None:
        self.cloud = cloud
        self.http = httpx.Client(base_url=cloud.identity_url, timeout=30)
        status, token, _ = self.password_token("admin", cloud.password("admin"), project={"name": "admin"})
        assert status == 201, status
        self.admin_token = token

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        headers["X-Auth-Token"] = token or self.admin_token
        return self.http.request(method, path, headers=headers, **kw)

    def ok(self, method: str, path: str, status: int, **kw: Any) -> Any:
        resp = self.call(method, path, **kw)
        assert resp.status_code == status, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.content else None

    # --- tokens --------------------------------------------------------------------------

    def password_token(
        self, user: str, password: str, *, project: dict[str, Any] | None = None,
        domain: dict[str, Any] | None = None, system: bool = False, by_id: bool = False,
    ) -> tuple[int, str, dict[str, Any]]:
        ident = {"id": user} if by_id else {"name": user, "domain": {"id": "default"}}
        auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": {**ident, "password": password}}}}
        if project is not None:
            auth["scope"] = {"project": project if "id" in project else {**project, "domain": {"id": "default"}}}
        elif domain is not None:
            auth["scope"] = {"domain": domain}
        elif system:
            auth["scope"] = {"system": {"all": True}}
        resp = self.http.post("/v3/auth/tokens", json={"auth": auth})
        body = resp.json() if resp.content else {}
        return resp.status_code, resp.headers.get("X-Subject-Token", ""), body

    def user_token(self, user: dict[str, Any], **scope: Any) -> tuple[int, str, dict[str, Any]]:
        return self.password_token(user["id"], user["password"], by_id=True, **scope)

    def validate(self, token: str) -> int:
        return self.call("GET", "/v3/auth/tokens", headers={"X-Subject-Token": token}).status_code

    def token_role_names(self, token: str) -> set[str]:
        body = self.ok("GET", "/v3/auth/tokens", 200, headers={"X-Subject-Token": token})
        return {r["name"] for r in body["token"]["roles"]}

    # --- resources ----------------------------------------------------------------------

    def domain(self) -> dict[str, Any]:
        return self.ok("POST", "/v3/domains", 201, json={"domain": {"name": unique("dom")}})["domain"]  # type: ignore[no-any-return]

    def project(self, domain_id: str = "default", parent_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": unique("proj"), "domain_id": domain_id}
        if parent_id:
            body["parent_id"] = parent_id
        return self.ok("POST", "/v3/projects", 201, json={"project": body})["project"]  # type: ignore[no-any-return]

    def user(self, domain_id: str = "default") -> dict[str, Any]:
        password = uuid.uuid4().hex
        body = {"name": unique("user"), "domain_id": domain_id, "password": password}
        user: dict[str, Any] = self.ok("POST", "/v3/users", 201, json={"user": body})["user"]
        user["password"] = password
        return user

    def group(self, domain_id: str = "default") -> dict[str, Any]:
        body = {"name": unique("group"), "domain_id": domain_id}
        return self.ok("POST", "/v3/groups", 201, json={"group": body})["group"]  # type: ignore[no-any-return]

    def add_member(self, group_id: str, user_id: str) -> None:
        self.ok("PUT", f"/v3/groups/{group_id}/users/{user_id}", 204)

    def role(self, domain_id: str | None = None, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"name": unique("role"), **extra}
        if domain_id:
            body["domain_id"] = domain_id
        return self.ok("POST", "/v3/roles", 201, json={"role": body})["role"]  # type: ignore[no-any-return]

    def role_id(self, name: str) -> str:
        roles = self.ok("GET", "/v3/roles", 200, params={"name": name})["roles"]
        assert len(roles) == 1
        return str(roles[0]["id"])

    def grant(self, path: str) -> None:
        self.ok("PUT", path, 204)

    def assignments(self, **params: Any) -> list[dict[str, Any]]:
        return self.ok("GET", "/v3/role_assignments", 200, params=params)["role_assignments"]  # type: ignore[no-any-return]

    def snapshot(self) -> dict[str, Any]:
        """Everything the role APIs write, to prove a refused request changed nothing."""
        roles = self.ok("GET", "/v3/roles", 200)["roles"]
        return {
            "roles": sorted(r["id"] for r in roles),
            "inferences": sorted(
                (i["prior_role"]["id"], r["id"]) for i in self.ok("GET", "/v3/role_inferences", 200)["role_inferences"]
                for r in i["implies"]
            ),
            "assignments": sorted(str(a) for a in self.assignments()),
        }
