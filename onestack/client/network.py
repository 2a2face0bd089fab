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
Rows = list[dict[str, Any]]  # (``list`` is a method name below)
Names = list[str]


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
        return list(body[collection.replace("-", "_")])  # /security-groups answers "security_groups"

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

    # --- what compute asks (Nova's neutron API calls) ---

    async def get_network(self, network_id: str, *, user_token: str | None = None) -> dict[str, Any]:
        return await self.show("networks", "network", network_id, user_token=user_token)

    async def get_port(self, port_id: str, *, user_token: str | None = None) -> dict[str, Any]:
        return await self.show("ports", "port", port_id, user_token=user_token)

    async def ports_of(self, server_uuid: str, *, user_token: str | None = None) -> Rows:
        """The ports whose device is the server (as Nova lists them: ``device_id``)."""
        return await self.list("ports", user_token=user_token, device_id=server_uuid)

    async def create_port(self, attrs: dict[str, Any], *, user_token: str | None = None) -> dict[str, Any]:
        return await self.create("ports", "port", attrs, user_token=user_token)

    async def update_port(self, port_id: str, attrs: dict[str, Any], *,
                          user_token: str | None = None) -> dict[str, Any]:
        return await self.update("ports", "port", port_id, attrs, user_token=user_token)

    async def delete_port(self, port_id: str, *, user_token: str | None = None) -> None:
        await self.delete("ports", port_id, user_token=user_token)

    async def networks_by_id(self, ids: Names, *, user_token: str | None = None) -> dict[str, dict[str, Any]]:
        """The named networks (one call), by id; ids not visible are left out."""
        if not ids:
            return {}
        found = await self.list("networks", user_token=user_token, id=sorted(set(ids)))
        return {str(n["id"]): n for n in found}

    async def floating_ips_of(self, port_ids: Names, *,
                              user_token: str | None = None) -> Rows:
        if not port_ids:
            return []
        try:
            return await self.list("floatingips", user_token=user_token, port_id=sorted(set(port_ids)))
        except NetworkError as exc:
            if exc.status == 404:  # a network service without the L3 extension has no floating IPs
                return []
            raise

    async def security_group_ids(self, project_id: str, names: Names, *,
                                 user_token: str | None = None) -> dict[str, Names]:
        """Each requested name (or id) -> the ids of the project's groups it matches."""
        groups = await self.list("security-groups", user_token=user_token, project_id=project_id)
        return {name: sorted(str(g["id"]) for g in groups if name in (g.get("name"), g.get("id")))
                for name in names}

    async def auto_allocated_topology(self, project_id: str, *, user_token: str | None = None) -> str:
        """Get-me-a-network: the id of the project's auto-allocated network (created on first use)."""
        body = await self.call("GET", f"/v2.0/auto-allocated-topology/{project_id}", user_token=user_token)
        return str(body["auto_allocated_topology"]["id"])
