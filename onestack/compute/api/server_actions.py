"""POST /servers/{id}/action: one handler per action name, registered by the action modules.

A handler gets the request, the caller, the server row (already visible to the caller) and the
action's argument (the value under the action's key), and returns a Response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req
from onestack.compute.service import servers
from onestack.core.api.faults import BadRequest
from onestack.core.auth import AuthContext

routes = ComputeRoutes()

ActionHandler = Callable[[Req, AuthContext, dict[str, Any], Any], Awaitable[Response]]
ACTIONS: dict[str, ActionHandler] = {}


def action(name: str) -> Callable[[ActionHandler], ActionHandler]:
    def register(fn: ActionHandler) -> ActionHandler:
        ACTIONS[name] = fn
        return fn

    return register


@routes.post("/v2.1/servers/{server_id}/action")
async def server_action(req: Req) -> Response:
    ctx = await req.caller()
    body = await req.json()
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("There is no such action: None" if not body else
                         f"Invalid request body: expected exactly one action, got {sorted(body) if isinstance(body, dict) else body}")
    name, arg = next(iter(body.items()))
    handler = ACTIONS.get(name)
    if handler is None:
        raise BadRequest(f"There is no such action: {name}")
    uuid = req.path("server_id")
    project = None if await req.is_admin() else ctx.project_id
    row = await req.read(servers.visible, uuid, project)
    return await handler(req, ctx, row, arg)
