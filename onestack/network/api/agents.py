"""/v2.0/agents: the network agents of the hosts (admin only; others see none)."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import no_content
from onestack.network.api import attributes as a
from onestack.network.api.common import (
    BOOL,
    Extension,
    NetworkRoutes,
    Req,
    list_query,
    list_response,
    member_response,
)
from onestack.network.errors import AgentNotFound
from onestack.network.service import agents_api

routes = NetworkRoutes()

EXTENSIONS = [
    Extension("agent", "agent", "The agent management extension."),
    Extension("agent-resources-synced", "Agent's Resource View Synced to Placement", "Stores success/failure of "
              "last sync to Placement"),
]

ATTRS = [
    a.Attr("admin_state_up", a.boolean),
    a.Attr("description", a.string(255, nullable=True)),
    *(a.Attr(k, a.any_, allow_post=False, allow_put=False)
      for k in ("id", "agent_type", "binary", "topic", "host", "availability_zone", "configurations", "alive",
                "created_at", "started_at", "heartbeat_timestamp", "resources_synced")),
]
PARSERS = {"admin_state_up": BOOL, "alive": BOOL}


def _down_time(req: Req) -> int:
    return int(req.state.config.network.agent_down_time)


async def _admin_or_404(req: Req, action: str) -> None:
    # Neutron hides what get_agent does not allow: not there, rather than forbidden.
    if not await req.allowed(action, {}):
        raise AgentNotFound(req.path("agent_id"))


@routes.get("/v2.0/agents")
async def list_agents(req: Req) -> Response:
    q = list_query(req, agents_api.listing(_down_time(req)), PARSERS)
    if not await req.allowed("get_agent", {}):
        return list_response(req, "agents", [], q)
    return list_response(req, "agents", await req.read(agents_api.list_agents, q, _down_time(req)), q)


@routes.get("/v2.0/agents/{agent_id}")
async def show_agent(req: Req) -> Response:
    await _admin_or_404(req, "get_agent")
    return member_response(req, "agent", await req.read(agents_api.show, req.path("agent_id"), _down_time(req)))


@routes.put("/v2.0/agents/{agent_id}")
async def update_agent(req: Req) -> Response:
    attrs = a.parse_body(await req.json(), "agent", ATTRS, creating=False)
    await _admin_or_404(req, "get_agent")
    await _admin_or_404(req, "update_agent")
    item = await req.write(agents_api.update, req.path("agent_id"), attrs, _down_time(req))
    return member_response(req, "agent", item)


@routes.delete("/v2.0/agents/{agent_id}")
async def delete_agent(req: Req) -> Response:
    await _admin_or_404(req, "get_agent")
    await _admin_or_404(req, "delete_agent")
    await req.write(agents_api.delete, req.path("agent_id"))
    return no_content()
