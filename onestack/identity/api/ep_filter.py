"""Identity API: OS-EP-FILTER (project endpoint associations and endpoint groups)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.identity.api.catalog import endpoint_doc
from onestack.identity.api.policy import enforce, identity_of
from onestack.identity.api.render import collection, self_link
from onestack.identity.api.validation import DESCRIPTION, validate
from onestack.identity.service import ep_filter
from onestack.identity.service.projects import project_to_dict

routes = RouteTable()

EXT = "OS-EP-FILTER"
_GROUP_PROPS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": DESCRIPTION,
    "filters": {"type": "object"},
}
GROUP_CREATE = {"type": "object", "properties": _GROUP_PROPS, "required": ["name", "filters"],
                "additionalProperties": False}
GROUP_UPDATE = {"type": "object", "properties": _GROUP_PROPS, "additionalProperties": False, "minProperties": 1}


def _group_doc(request: Request, row: Any) -> dict[str, Any]:
    doc = ep_filter.group_to_dict(row)
    doc["links"] = self_link(request, f"{EXT}/endpoint_groups/{row.id}")
    return doc


def _projects_doc(request: Request, rows: list[Any]) -> list[dict[str, Any]]:
    return [{**project_to_dict(p), "links": self_link(request, f"projects/{p.id}")} for p in rows]


async def _read(request: Request, fn: Any, *args: Any) -> Any:
    return await identity_of(request).db.read(fn, *args)


async def _write(request: Request, fn: Any, *args: Any) -> Any:
    # Committing also drops identity's caches (the after-write hook): catalogs may have changed.
    return await identity_of(request).db.write(fn, *args)


# --- projects <-> endpoints ------------------------------------------------------------------


@routes.get(f"/v3/{EXT}/projects/{{project_id}}/endpoints")
async def list_endpoints_for_project(request: Request) -> Response:
    await enforce(request, "identity:list_endpoints_for_project")
    rows = await _read(request, ep_filter.endpoints_for_project, request.path_params["project_id"])
    return json_response(collection(request, "endpoints", [endpoint_doc(request, r) for r in rows]))


@routes.get(f"/v3/{EXT}/projects/{{project_id}}/endpoint_groups")
async def list_groups_for_project(request: Request) -> Response:
    await enforce(request, "identity:list_endpoint_groups_for_project")
    rows = await _read(request, ep_filter.groups_for_project, request.path_params["project_id"])
    return json_response(collection(request, "endpoint_groups", [_group_doc(request, r) for r in rows]))


@routes.put(f"/v3/{EXT}/projects/{{project_id}}/endpoints/{{endpoint_id}}")
async def add_endpoint_to_project(request: Request) -> Response:
    await enforce(request, "identity:add_endpoint_to_project")
    p = request.path_params
    await _write(request, ep_filter.add_endpoint_to_project, p["project_id"], p["endpoint_id"])
    return no_content()


@routes.get(f"/v3/{EXT}/projects/{{project_id}}/endpoints/{{endpoint_id}}")
async def check_endpoint_in_project(request: Request) -> Response:
    await enforce(request, "identity:check_endpoint_in_project")
    p = request.path_params
    await _read(request, ep_filter.check_endpoint_in_project, p["project_id"], p["endpoint_id"])
    return no_content()


@routes.delete(f"/v3/{EXT}/projects/{{project_id}}/endpoints/{{endpoint_id}}")
async def remove_endpoint_from_project(request: Request) -> Response:
    await enforce(request, "identity:remove_endpoint_from_project")
    p = request.path_params
    await _write(request, ep_filter.remove_endpoint_from_project, p["project_id"], p["endpoint_id"])
    return no_content()


@routes.get(f"/v3/{EXT}/endpoints/{{endpoint_id}}/projects")
async def list_projects_for_endpoint(request: Request) -> Response:
    await enforce(request, "identity:list_projects_for_endpoint")
    rows = await _read(request, ep_filter.projects_for_endpoint, request.path_params["endpoint_id"])
    return json_response(collection(request, "projects", _projects_doc(request, rows)))


# --- endpoint groups -------------------------------------------------------------------------


@routes.get(f"/v3/{EXT}/endpoint_groups")
async def list_groups(request: Request) -> Response:
    await enforce(request, "identity:list_endpoint_groups")
    rows = await _read(request, ep_filter.list_groups, request.query_params.get("name"))
    return json_response(collection(request, "endpoint_groups", [_group_doc(request, r) for r in rows]))


@routes.post(f"/v3/{EXT}/endpoint_groups")
async def create_group(request: Request) -> Response:
    await enforce(request, "identity:create_endpoint_group")
    data = validate(await json_body(request), GROUP_CREATE, wrapper="endpoint_group")
    row = await _write(request, ep_filter.create_group, data)
    return json_response({"endpoint_group": _group_doc(request, row)}, status=201)


@routes.get(f"/v3/{EXT}/endpoint_groups/{{group_id}}")
async def get_group(request: Request) -> Response:
    await enforce(request, "identity:get_endpoint_group")
    row = await _read(request, ep_filter.get_group, request.path_params["group_id"])
    return json_response({"endpoint_group": _group_doc(request, row)})


@routes.patch(f"/v3/{EXT}/endpoint_groups/{{group_id}}")
async def update_group(request: Request) -> Response:
    await enforce(request, "identity:update_endpoint_group")
    data = validate(await json_body(request), GROUP_UPDATE, wrapper="endpoint_group")
    row = await _write(request, ep_filter.update_group, request.path_params["group_id"], data)
    return json_response({"endpoint_group": _group_doc(request, row)})


@routes.delete(f"/v3/{EXT}/endpoint_groups/{{group_id}}")
async def delete_group(request: Request) -> Response:
    await enforce(request, "identity:delete_endpoint_group")
    await _write(request, ep_filter.delete_group, request.path_params["group_id"])
    return no_content()


@routes.get(f"/v3/{EXT}/endpoint_groups/{{group_id}}/endpoints")
async def list_endpoints_in_group(request: Request) -> Response:
    await enforce(request, "identity:list_endpoints_associated_with_endpoint_group")
    rows = await _read(request, ep_filter.endpoints_in_group, request.path_params["group_id"])
    return json_response(collection(request, "endpoints", [endpoint_doc(request, r) for r in rows]))


@routes.get(f"/v3/{EXT}/endpoint_groups/{{group_id}}/projects")
async def list_projects_in_group(request: Request) -> Response:
    await enforce(request, "identity:list_projects_associated_with_endpoint_group")
    rows = await _read(request, ep_filter.projects_in_group, request.path_params["group_id"])
    return json_response(collection(request, "projects", _projects_doc(request, rows)))


@routes.put(f"/v3/{EXT}/endpoint_groups/{{group_id}}/projects/{{project_id}}")
async def add_group_to_project(request: Request) -> Response:
    await enforce(request, "identity:add_endpoint_group_to_project")
    p = request.path_params
    await _write(request, ep_filter.add_group_to_project, p["group_id"], p["project_id"])
    return no_content()


@routes.get(f"/v3/{EXT}/endpoint_groups/{{group_id}}/projects/{{project_id}}")
async def get_group_in_project(request: Request) -> Response:
    await enforce(request, "identity:get_endpoint_group_in_project")
    p = request.path_params
    await _read(request, ep_filter.get_group_in_project, p["group_id"], p["project_id"])
    doc = {
        "endpoint_group_id": p["group_id"],
        "project_id": p["project_id"],
        "links": self_link(request, f"{EXT}/endpoint_groups/{p['group_id']}/projects/{p['project_id']}"),
    }
    return json_response({"project_endpoint_group": doc})


@routes.delete(f"/v3/{EXT}/endpoint_groups/{{group_id}}/projects/{{project_id}}")
async def remove_group_from_project(request: Request) -> Response:
    await enforce(request, "identity:remove_endpoint_group_from_project")
    p = request.path_params
    await _write(request, ep_filter.remove_group_from_project, p["group_id"], p["project_id"])
    return no_content()

