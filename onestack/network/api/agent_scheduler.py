"""Neutron's agent scheduler extensions: which DHCP agent serves a network and which L3 agent
hosts a router, read and set by admins (``dhcp_agent_scheduler``, ``l3_agent_scheduler``;
placements in service/agent_scheduler.py). Policy is enforced first, as Neutron's controllers
do: a non-admin gets 403 whatever the ids."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.network.api import attributes as a
from onestack.network.api.common import Extension, NetworkRoutes, Req, enforce
from onestack.network.errors import HTTPBadRequest, invalid_input
from onestack.network.service import agent_scheduler as sched

routes = NetworkRoutes()

EXTENSIONS = [
    Extension("dhcp_agent_scheduler", "DHCP Agent Scheduler", "Schedule networks among dhcp agents"),
    Extension("l3_agent_scheduler", "L3 Agent Scheduler", "Schedule routers among l3 agents"),
]


def _down(req: Req) -> int:
    return int(req.state.config.network.agent_down_time)


async def _id_in_body(req: Req, key: str) -> str:
    body: Any = await req.json()
    if not isinstance(body, dict) or key not in body:
        raise HTTPBadRequest(f"Failed to parse request. Required attribute '{key}' not specified")
    try:
        return str(a.uuid_(body[key]))
    except ValueError as exc:  # ids are UUIDs: anything else names nothing, and never reaches the database
        raise invalid_input(key, str(exc)) from exc


@routes.get("/v2.0/agents/{agent_id}/dhcp-networks")
async def list_dhcp_networks(req: Req) -> Response:
    await enforce(req, "get_dhcp-networks", {})
    return json_response({"networks": await req.read(sched.networks_on_agent, req.path("agent_id"), _down(req))})


@routes.post("/v2.0/agents/{agent_id}/dhcp-networks")
async def add_dhcp_network(req: Req) -> Response:
    await enforce(req, "create_dhcp-network", {})
    network_id = await _id_in_body(req, "network_id")
    await req.write(sched.add_network, req.path("agent_id"), network_id, req.state.config.network)
    return json_response(None, status=201)


@routes.delete("/v2.0/agents/{agent_id}/dhcp-networks/{network_id}")
async def remove_dhcp_network(req: Req) -> Response:
    await enforce(req, "delete_dhcp-network", {})
    await req.write(sched.remove_network, req.path("agent_id"), req.path("network_id"), req.state.config.network)
    return no_content()


@routes.get("/v2.0/networks/{network_id}/dhcp-agents")
async def list_dhcp_agents(req: Req) -> Response:
    await enforce(req, "get_dhcp-agents", {})
    return json_response({"agents": await req.read(sched.agents_of_network, req.path("network_id"), _down(req))})


@routes.get("/v2.0/agents/{agent_id}/l3-routers")
async def list_l3_routers(req: Req) -> Response:
    await enforce(req, "get_l3-routers", {})
    return json_response({"routers": await req.read(sched.routers_on_agent, req.path("agent_id"), _down(req))})


@routes.post("/v2.0/agents/{agent_id}/l3-routers")
async def add_l3_router(req: Req) -> Response:
    await enforce(req, "create_l3-router", {})
    router_id = await _id_in_body(req, "router_id")
    await req.write(sched.add_router, req.path("agent_id"), router_id, _down(req))
    return json_response(None, status=201)


@routes.delete("/v2.0/agents/{agent_id}/l3-routers/{router_id}")
async def remove_l3_router(req: Req) -> Response:
    await enforce(req, "delete_l3-router", {})
    await req.write(sched.remove_router, req.path("agent_id"), req.path("router_id"), _down(req))
    return no_content()


@routes.get("/v2.0/routers/{router_id}/l3-agents")
async def list_l3_agents(req: Req) -> Response:
    await enforce(req, "get_l3-agents", {})
    return json_response({"agents": await req.read(sched.agents_of_router, req.path("router_id"), _down(req))})
