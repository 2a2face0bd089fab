"""/v2.0/auto-allocated-topology/{project_id}: GET provisions (or, with ``fields=dry-run``,
only checks), DELETE tears down."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.network.api import attributes as a
from onestack.network.api.common import Extension, NetworkRoutes, Req, enforce, fields_of
from onestack.network.api.floating_ips import write_retrying
from onestack.network.errors import BadRequest, HTTPBadRequest, NotAuthorized
from onestack.network.service import auto_topology

routes = NetworkRoutes()

EXTENSIONS = [
    Extension("auto-allocated-topology", "Auto Allocated Topology Services", "Auto Allocated Topology Services."),
]


async def _project(req: Req) -> str:
    """The project asked about; "None" means the caller's own, as python-neutronclient sends it."""
    ctx = await req.caller()
    project = req.path("project_id")
    if project == "None":
        project = str(ctx.project_id)
    if project != ctx.project_id and not await req.is_admin():
        raise NotAuthorized()
    # An admin's topology for an id no project can have (over the 255 characters Neutron stores)
    # would be built and fail to store: refused as Neutron refuses such a project_id in a body.
    try:
        return a.project_id(project)
    except ValueError as exc:
        raise HTTPBadRequest(f"Invalid input for project_id. Reason: {exc}.") from None


@routes.get("/v2.0/auto-allocated-topology/{project_id}")
async def get_topology(req: Req) -> Response:
    project = await _project(req)
    await enforce(req, "get_auto_allocated_topology", {"project_id": project})
    fields = fields_of(req)
    if "dry-run" in fields:
        return json_response({"auto_allocated_topology": await req.read(auto_topology.dry_run, project)})
    if fields:
        raise BadRequest("auto_allocate", "Unrecognized field")
    # Another request building the project's topology at the same moment: the retry answers with that one.
    item = await write_retrying(req, auto_topology.get_or_create, project, req.state.config.network)
    return json_response({"auto_allocated_topology": item})


@routes.delete("/v2.0/auto-allocated-topology/{project_id}")
async def delete_topology(req: Req) -> Response:
    project = await _project(req)
    await enforce(req, "delete_auto_allocated_topology", {"project_id": project})
    await req.write(auto_topology.delete, project, req.state.config.network)
    return no_content()
