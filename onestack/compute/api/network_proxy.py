"""What Nova's network proxies share: the network service as the calling user, and its errors.

Nova's proxy APIs (os-networks, os-security-groups, os-floating-ips, …) call Neutron with the
user's own token, so the network service decides what the user may see and do. Its answers come
back as ``NetworkError`` (status + Neutron's error type); each proxy words the cases Nova words
and lets the rest through with Neutron's status and message via ``translate``.
"""

from __future__ import annotations

from typing import Any

import httpx

from onestack.client.network import NetworkClient, NetworkError
from onestack.client.session import EndpointNotFound
from onestack.compute.api.common import Req
from onestack.core.api.faults import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
)
from onestack.core.api.microversion import Version
from onestack.core.auth import AuthContext

MAX_PROXY = Version(2, 35)  # Nova's MAX_PROXY_API_SUPPORT_VERSION: the proxies are 404 from 2.36


def translate(err: NetworkError) -> ApiError:
    """A network service error Nova does not word itself, with Neutron's status and message."""
    if err.status == 400:
        return BadRequest(err.message)
    if err.status in (401, 403):
        return Forbidden(err.message)
    if err.status == 404:
        return NotFound(err.message)
    if err.status == 409:
        return Conflict(err.message)
    return ApiError(f"The network service answered {err.status}: {err.message}", status=502)


class UserNetwork:
    """The network service's REST API as the calling user (their token)."""

    def __init__(self, client: NetworkClient, token: str | None) -> None:
        self.client = client
        self.token = token

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await getattr(self.client, method)(*args, user_token=self.token, **kwargs)
        except (EndpointNotFound, httpx.TransportError):
            raise ServiceUnavailable("The network service is not reachable from compute.") from None

    async def list(self, collection: str, **params: Any) -> list[dict[str, Any]]:
        """``collection`` as in the URL (``security-groups``); the body names it with underscores."""
        body = await self._call("call", "GET", f"/v2.0/{collection}", params=params)
        return list(body[collection.replace("-", "_")])

    async def show(self, collection: str, member: str, item_id: str) -> dict[str, Any]:
        found: dict[str, Any] = await self._call("show", collection, member, item_id)
        return found

    async def create(self, collection: str, member: str, attrs: dict[str, Any]) -> dict[str, Any]:
        made: dict[str, Any] = await self._call("create", collection, member, attrs)
        return made

    async def update(self, collection: str, member: str, item_id: str, attrs: dict[str, Any]) -> dict[str, Any]:
        changed: dict[str, Any] = await self._call("update", collection, member, item_id, attrs)
        return changed

    async def delete(self, collection: str, item_id: str) -> None:
        await self._call("delete", collection, item_id)


def network(req: Req, ctx: AuthContext) -> UserNetwork:
    client = req.state.network
    if client is None:
        raise ServiceUnavailable("The network service is not reachable from compute.")
    return UserNetwork(client, ctx.token)


def chunks(ids: list[str], size: int = 150) -> list[list[str]]:
    """Id filters in URL-sized pieces (Nova's MAX_SEARCH_IDS)."""
    return [ids[i:i + size] for i in range(0, len(ids), size)]
