"""What compute asks the network service, over Neutron's REST API as Nova does: networks, ports
(create, bind to a host, unbind, delete), security groups, floating IPs.

Calls act as the user when given the user's token (so the network service decides what the user
may see and do, as Neutron does for Nova's proxies) and as the ``onestack`` service user (admin)
otherwise — binding a port to a host is an admin's act. Errors come back as ``NetworkError``
carrying the HTTP status and Neutron's error type, so callers branch on types, not on text.
"""

from __future__ import annotations

from typing import Any

from onestack.client.session import ServiceSession

SERVICE = "network"


class NetworkError(RuntimeError):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(f"{status} {kind}: {message}")
        self.status = status
        self.kind = kind  # NeutronError type: PortNotFound, OverQuota, IpAddressGenerationFailure…
        self.message = message


class NetworkClient:
    def __init__(self, session: ServiceSession) -> None:
        self.session = session

    async def call(self, method: str, path: str, *, user_token: str | None = None, **kwargs: Any) -> Any:
        """``path`` below the network endpoint (``/v2.0/ports``); the decoded body, or None for 204."""
        resp = await self.session.request(method, path, service=SERVICE, user_token=user_token, **kwargs)
        if resp.status_code >= 400:
            try:
                err = resp.json().get("NeutronError", {})
            except ValueError:
                err = {}
            raise NetworkError(resp.status_code, str(err.get("type", "")), str(err.get("message", resp.text)))
        return None if resp.status_code == 204 or not resp.content else resp.json()

    # --- generic resource calls ---

    async def list(self, collection: str, *, user_token: str | None = None, **params: Any) -> list[dict[str, Any]]:
        body = await self.call("GET", f"/v2.0/{collection}", user_token=user_token, params=params)
        return list(body[collection])

    async def show(self, collection: str, member: str, item_id: str, *,
                   user_token: str | None = None) -> dict[str, Any]:
        body = await self.call("GET", f"/v2.0/{collection}/{item_id}", user_token=user_token)
        return dict(body[member])

    async def create(self, collection: str, member: str, attrs: dict[str, Any], *,
                     user_token: str | None = None) -> dict[str, Any]:
        body = await self.call("POST", f"/v2.0/{collection}", user_token=user_token, json={member: attrs})
        return dict(body[member])

    async def update(self, collection: str, member: str, item_id: str, attrs: dict[str, Any], *,
                     user_token: str | None = None) -> dict[str, Any]:
        body = await self.call("PUT", f"/v2.0/{collection}/{item_id}", user_token=user_token,
                               json={member: attrs})
        return dict(body[member])

    async def delete(self, collection: str, item_id: str, *, user_token: str | None = None) -> None:
        await self.call("DELETE", f"/v2.0/{collection}/{item_id}", user_token=user_token)
