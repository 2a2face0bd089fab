"""Server shares (microversion 2.97+): ``/servers/{id}/shares`` (Nova's Manila share attachments).

onestack runs no shared file system service and its hosts offer no virtiofs
(``COMPUTE_STORAGE_VIRTIO_FS``), so no share can ever be attached: the list is empty, a share
is never found, and an attach that passes Nova's checks (body, server, policy, a stopped
server) ends where Nova's ``check_shares_supported`` does on such hosts: 409.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.compute import states
from onestack.compute.api.common import ComputeRoutes, Req, invalid, is_uuid_like
from onestack.compute.api.operator import strict_query
from onestack.compute.api.servers import load
from onestack.core.api.faults import Conflict, NotFound
from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version

routes = ComputeRoutes()

_V297 = Version(2, 97)
_RULE = "os_compute_api:os-server-shares:"
_CREATE: dict[str, Any] = {
    "type": "object", "required": ["share_id"], "additionalProperties": False,
    "properties": {"share_id": {"type": "string"},
                   "tag": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[a-zA-Z0-9-]*$"}},
}
_UNSUPPORTED = "Feature not supported because either compute or instance are not configured correctly."


async def _server(req: Req, action: str) -> dict[str, Any]:
    req.require_version(_V297)
    return await load(req, await req.caller(), req.path("server_id"), _RULE + action)


async def _no_query(req: Req) -> None:
    """These GETs' query schemas take no parameters (400), checked after authentication."""
    req.require_version(_V297)
    await req.caller()
    strict_query(req, set())


def _check_state(row: dict[str, Any], action: str, allowed: tuple[str, ...]) -> None:
    """Nova's InstanceInvalidState 409: shares change only while the server is stopped."""
    if row["vm_state"] not in allowed:
        raise Conflict(f"Cannot '{action}' instance {row['uuid']} while it is in vm_state {row['vm_state']}")


def _not_found(share_id: str) -> NotFound:
    return NotFound(f"Share {share_id} could not be found.")


@routes.get("/v2.1/servers/{server_id}/shares")
async def list_shares(req: Req) -> Response:
    await _no_query(req)
    await _server(req, "index")
    return json_response({"shares": []})


@routes.post("/v2.1/servers/{server_id}/shares")
async def attach_share(req: Req) -> Response:
    req.require_version(_V297)
    share = await req.body(_CREATE, wrapper="share")
    if not is_uuid_like(share["share_id"]):
        raise invalid("share_id", share["share_id"], f"{share['share_id']!r} is not a 'uuid'")
    row = await _server(req, "create")
    _check_state(row, "create share", (states.STOPPED,))
    raise Conflict(_UNSUPPORTED)


@routes.get("/v2.1/servers/{server_id}/shares/{share_id}")
async def show_share(req: Req) -> Response:
    await _no_query(req)
    await _server(req, "show")
    raise _not_found(req.path("share_id"))


@routes.delete("/v2.1/servers/{server_id}/shares/{share_id}")
async def detach_share(req: Req) -> Response:
    row = await _server(req, "delete")
    _check_state(row, "delete share", (states.STOPPED, states.ERROR))
    raise _not_found(req.path("share_id"))
