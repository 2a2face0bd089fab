"""Identity API: OS-EP-FILTER (project endpoint associations and endpoint groups)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.identity.api.catalog import endpoint_doc
from onestack.identity.api.conventions import IdentityRoutes, Req
from onestack.identity.api.render import collection, self_link
from onestack.identity.api.schemas import DESCRIPTION
from onestack.identity.service import ep_filter
from onestack.identity.service.projects import project_to_dict

routes = IdentityRoutes()

EXT = "OS-EP-FILTER"
_GROUP_PROPS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": DESCRIPTION,
    "filters": {"type": "object"},
}
GROUP_CREATE = {"type": "object", "properties": _GROUP_PROPS, "required": ["name", "filters"],
                "additionalProperties": False}
GROUP_UPDATE = {"type": "object", "properties": _GROUP_PROPS, "additionalProperties": False, "minProperties": 1}


def _group_doc(req: Req, row: Any) -> dict[str, Any]:
    doc = ep_filter.group_to_dict(row)
    doc["links"] = self_link(req, f"{EXT}/endpoint_groups/{row.id}")
    return doc


def _projects_doc(req: Req, rows: list[Any]) -> list[dict[str, Any]]:
    return [{**project_to_dict(p), "links": self_link(req, f"projects/{p.id}")} for p in rows]


# --- projects <-> endpoints ------------------------------------------------------------------


@routes.get(f"/v3/{EXT}/projects/{{project_id}}/endpoints")
async def list_endpoints_for_project(req: Req) -> Response:
    await req.enforce("identity:list_endpoints_for_project")
    rows = await req.read(ep_filter.endpoints_for_project, req.path("project_id"))
    return json_response(collection(req, "endpoints", [endpoint_doc(req, r) for r in rows]))


@routes.get(f"/v3/{EXT}/projects/{{project_id}}/endpoint_groups")
async def list_groups_for_project(req: Req) -> Response:
    await req.enforce("identity:list_endpoint_groups_for_project")
    rows = await req.read(ep_filter.groups_for_project, req.path("project_id"))
    return json_response(collection(req, "endpoint_groups", [_group_doc(req, r) for r in rows]))


@routes.put(f"/v3/{EXT}/projects/{{project_id}}/endpoints/{{endpoint_id}}")
async def add_endpoint_to_project(req: Req) -> Response:
    await req.enforce("identity:add_endpoint_to_project")
    await req.write(ep_filter.add_endpoint_to_project, req.path("project_id"), req.path("endpoint_id"))
    return no_content()


@routes.get(f"/v3/{EXT}/projects/{{project_id}}/endpoints/{{endpoint_id}}")
async def check_endpoint_in_project(req: Req) -> Response:
    await req.enforce("identity:check_endpoint_in_project")
    await req.read(ep_filter.check_endpoint_in_project, req.path("project_id"), req.path("endpoint_id"))
    return no_content()


@routes.delete(f"/v3/{EXT}/projects/{{project_id}}/endpoints/{{endpoint_id}}")
async def remove_endpoint_from_project(req: Req) -> Response:
    await req.enforce("identity:remove_endpoint_from_project")
    await req.write(ep_filter.remove_endpoint_from_project, req.path("project_id"), req.path("endpoint_id"))
    return no_content()


@routes.get(f"/v3/{EXT}/endpoints/{{endpoint_id}}/projects")
async def list_projects_for_endpoint(req: Req) -> Response:
    await req.enforce("identity:list_projects_for_endpoint")
    rows = await req.read(ep_filter.projects_for_endpoint, req.path("endpoint_id"))
    return json_response(collection(req, "projects", _projects_doc(req, rows)))


# --- endpoint groups -------------------------------------------------------------------------


@routes.get(f"/v3/{EXT}/endpoint_groups")
async def list_groups(req: Req) -> Response:
    await req.enforce("identity:list_endpoint_groups")
    rows = await req.read(ep_filter.list_groups, req.params.get("name"))
    return json_response(collection(req, "endpoint_groups", [_group_doc(req, r) for r in rows]))


@routes.post(f"/v3/{EXT}/endpoint_groups")
async def create_group(req: Req) -> Response:
    await req.enforce("identity:create_endpoint_group")
    data = await req.body(GROUP_CREATE, wrapper="endpoint_group")
    row = await req.write(ep_filter.create_group, data)
    return json_response({"endpoint_group": _group_doc(req, row)}, status=201)


@routes.get(f"/v3/{EXT}/endpoint_groups/{{group_id}}")
async def get_group(req: Req) -> Response:
    await req.enforce("identity:get_endpoint_group")
    row = await req.read(ep_filter.get_group, req.path("group_id"))
    return json_response({"endpoint_group": _group_doc(req, row)})


@routes.patch(f"/v3/{EXT}/endpoint_groups/{{group_id}}")
async def update_group(req: Req) -> Response:
    await req.enforce("identity:update_endpoint_group")
    data = await req.body(GROUP_UPDATE, wrapper="endpoint_group")
    row = await req.write(ep_filter.update_group, req.path("group_id"), data)
    return json_response({"endpoint_group": _group_doc(req, row)})


@routes.delete(f"/v3/{EXT}/endpoint_groups/{{group_id}}")
async def delete_group(req: Req) -> Response:
    await req.enforce("identity:delete_endpoint_group")
    await req.write(ep_filter.delete_group, req.path("group_id"))
    return no_content()


@routes.get(f"/v3/{EXT}/endpoint_groups/{{group_id}}/endpoints")
async def list_endpoints_in_group(req: Req) -> Response:
    await req.enforce("identity:list_endpoints_associated_with_endpoint_group")
    rows = await req.read(ep_filter.endpoints_in_group, req.path("group_id"))
    return json_response(collection(req, "endpoints", [endpoint_doc(req, r) for r in rows]))


@routes.get(f"/v3/{EXT}/endpoint_groups/{{group_id}}/projects")
async def list_projects_in_group(req: Req) -> Response:
    await req.enforce("identity:list_projects_associated_with_endpoint_group")
    rows = await req.read(ep_filter.projects_in_group, req.path("group_id"))
    return json_response(collection(req, "projects", _projects_doc(req, rows)))


@routes.put(f"/v3/{EXT}/endpoint_groups/{{group_id}}/projects/{{project_id}}")
async def add_group_to_project(req: Req) -> Response:
    await req.enforce("identity:add_endpoint_group_to_project")
    await req.write(ep_filter.add_group_to_project, req.path("group_id"), req.path("project_id"))
    return no_content()


@routes.get(f"/v3/{EXT}/endpoint_groups/{{group_id}}/projects/{{project_id}}")
async def get_group_in_project(req: Req) -> Response:
    await req.enforce("identity:get_endpoint_group_in_project")
    await req.read(ep_filter.get_group_in_project, req.path("group_id"), req.path("project_id"))
    doc = {
        "endpoint_group_id": req.path("group_id"),
        "project_id": req.path("project_id"),
        "links": self_link(req, f"{EXT}/endpoint_groups/{req.path('group_id')}/projects/{req.path('project_id')}"),
    }
    return json_response({"project_endpoint_group": doc})


@routes.delete(f"/v3/{EXT}/endpoint_groups/{{group_id}}/projects/{{project_id}}")
async def remove_group_from_project(req: Req) -> Response:
    await req.enforce("identity:remove_endpoint_group_from_project")
    await req.write(ep_filter.remove_group_from_project, req.path("group_id"), req.path("project_id"))
    return no_content()

