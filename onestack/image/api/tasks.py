"""Image API: tasks (/v2/tasks, /v2/images/{id}/tasks) and the task schemas.

Glance's old task-based import fetches an image from a URL. Nothing outside this host is
reachable, so an ``import`` task is accepted (as Glance does) and then fails with a clear
message instead of hanging on the network.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.faults import ApiError, BadRequest
from onestack.core.api.http import RouteTable, json_body, json_response
from onestack.core.auth import AuthContext, authenticate
from onestack.image.api.metadefs import MAX_LIMIT, enforce, is_admin
from onestack.image.service import tasks as svc

routes = RouteTable()

_TASK_PROPS: dict[str, Any] = {
    "id": {"type": "string", "description": "The task's identifier (a UUID).",
           "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"},
    "type": {"type": "string", "enum": list(svc.TYPES), "description": "What kind of work the task does."},
    "status": {"type": "string", "enum": list(svc.STATUSES), "description": "Where the task is in its life."},
    "input": {"type": ["null", "object"], "description": "The parameters the task was started with."},
    "result": {"type": ["null", "object"], "description": "What the task produced, once finished."},
    "owner": {"type": "string", "description": "The project that owns the task."},
    "message": {"type": "string", "description": "A human-readable note, usually why the task failed."},
    "image_id": {"type": "string", "description": "The image the task works on."},
    "request_id": {"type": "string", "description": "The request that started the task."},
    "user_id": {"type": "string", "description": "The user who started the task."},
    "expires_at": {"type": ["null", "string"], "description": "When the finished task's record may be removed."},
    "created_at": {"type": "string", "description": "When the task was created."},
    "updated_at": {"type": "string", "description": "When the task last changed."},
    "self": {"type": "string", "readOnly": True},
    "schema": {"type": "string", "readOnly": True},
}
TASK_SCHEMA: dict[str, Any] = {"name": "task", "properties": _TASK_PROPS}
TASKS_SCHEMA: dict[str, Any] = {
    "name": "tasks",
    "properties": {"tasks": {"type": "array", "items": {"name": "task", "properties": _TASK_PROPS}},
                   "first": {"type": "string"}, "next": {"type": "string"}, "schema": {"type": "string"}},
    "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
              {"rel": "describedby", "href": "{schema}"}],
}
_IMPORT_KEYS = ("import_from", "import_from_format", "image_properties")


def _caller(request: Request, ctx: AuthContext) -> svc.Caller:
    return svc.Caller(project_id=ctx.project_id, is_admin=is_admin(request, ctx))


async def _task_ctx(request: Request, rule: str) -> svc.Caller:
    ctx = await enforce(request, rule)
    await enforce(request, "tasks_api_access")
    return _caller(request, ctx)


@routes.get("/v2/schemas/task")
async def task_schema(request: Request) -> Response:
    await authenticate(request)
    return json_response(TASK_SCHEMA)


@routes.get("/v2/schemas/tasks")
async def tasks_schema(request: Request) -> Response:
    await authenticate(request)
    return json_response(TASKS_SCHEMA)


def _list_params(request: Request) -> dict[str, Any]:
    q = request.query_params
    limit: int | None = None
    if "limit" in q:
        try:
            limit = int(q["limit"])
        except ValueError:
            raise BadRequest(f"limit param must be an integer, got {q['limit']!r}.") from None
        if limit < 0:
            raise BadRequest("limit param must be positive.")
        limit = min(limit, MAX_LIMIT)
    sort_key, sort_dir = q.get("sort_key", "created_at"), q.get("sort_dir", "desc")
    if sort_key not in svc.SORT_KEYS:
        raise BadRequest(f"Invalid sort key: {sort_key}.")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {sort_dir}.")
    status, type_ = q.get("status"), q.get("type")
    if status is not None and status not in svc.STATUSES:
        raise BadRequest(f"Invalid status value: {status}.")
    if type_ is not None and type_ not in svc.TYPES:
        raise BadRequest(f"Invalid type value: {type_}.")
    return {"status": status, "type": type_, "limit": limit, "marker": q.get("marker") or None,
            "sort_key": sort_key, "sort_dir": sort_dir}


@routes.get("/v2/tasks")
async def list_tasks(request: Request) -> Response:
    caller = await _task_ctx(request, "get_tasks")
    params = _list_params(request)
    items = await request.app.state.image.db.read(lambda s: svc.list_tasks(s, caller, **params))
    body: dict[str, Any] = {"tasks": items, "first": "/v2/tasks", "schema": "/v2/schemas/tasks"}
    if params["limit"] and len(items) == params["limit"]:
        rest = [(k, v) for k, v in request.query_params.multi_items() if k not in ("marker", "limit")]
        rest += [("marker", items[-1]["id"]), ("limit", str(params["limit"]))]
        body["next"] = f"/v2/tasks?{urlencode(rest)}"
    return json_response(body)


def _check_create(body: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    unknown = set(body) - {"type", "input"}
    if unknown:
        raise BadRequest(f"Attribute(s) {', '.join(sorted(unknown))} cannot be set when creating a task.")
    task_type, task_input = body.get("type"), body.get("input")
    if task_type != "import":
        raise BadRequest(f"Invalid type value: {task_type}. Only 'import' tasks can be created through this API.")
    if not isinstance(task_input, dict):
        raise BadRequest("Invalid input: 'input' must be an object.")
    missing = [k for k in _IMPORT_KEYS if k not in task_input]
    if missing:
        raise BadRequest(f"Input does not contain '{missing[0]}' field.")
    if not isinstance(task_input["image_properties"], dict):
        raise BadRequest("Invalid input: 'image_properties' must be an object.")
    uri = task_input["import_from"]
    if not isinstance(uri, str) or urlsplit(uri).scheme not in ("http", "https") or not urlsplit(uri).netloc:
        raise BadRequest(f"Invalid import_from URI: {uri!r}; an http or https URL is required.")
    return task_type, task_input


@routes.post("/v2/tasks")
async def create_task(request: Request) -> Response:
    caller = await _task_ctx(request, "add_task")
    ctx = await authenticate(request)
    task_type, task_input = _check_create(await json_body(request))
    db = request.app.state.image.db
    request_id = request.scope.get("state", {}).get("request_id")
    task = await db.write(lambda s: svc.task_dict(svc.record_task(
        s, None, task_type, task_input, caller.project_id or "", user_id=ctx.user_id, request_id=request_id)))
    host = urlsplit(task_input["import_from"]).netloc

    async def run() -> None:
        # The import would download from the URL; this cloud has no route out, so fail cleanly.
        await db.write(svc.set_task_status, task["id"], "processing")
        await db.write(lambda s: svc.finish_task(
            s, task["id"], ok=False,
            message=f"Import from {host} failed: this cloud cannot reach remote hosts; "
                    "upload the image data or use the glance-direct import method instead."))

    response = json_response(task, status=201)
    response.background = BackgroundTask(run)
    return response


@routes.get("/v2/tasks/{task_id}")
async def show_task(request: Request) -> Response:
    caller = await _task_ctx(request, "get_task")
    task = await request.app.state.image.db.read(svc.get_task, caller, request.path_params["task_id"])
    return json_response(task)


@routes.delete("/v2/tasks/{task_id}")
async def delete_task(request: Request) -> Response:
    await _task_ctx(request, "modify_task")
    raise ApiError("Tasks cannot be deleted; they are removed automatically after their expires_at time.",
                   status=405, headers={"Allow": "GET, HEAD"})


@routes.get("/v2/images/{image_id}/tasks")
async def list_image_tasks(request: Request) -> Response:
    ctx = await authenticate(request)
    target, items = await request.app.state.image.db.read(
        svc.image_tasks, _caller(request, ctx), request.path_params["image_id"])
    await enforce(request, "get_image", target)
    return json_response({"tasks": items})
