"""Image API: tasks (/v2/tasks, /v2/images/{id}/tasks) and the task schemas.

Glance's old task-based import (deprecated) fetches an image from a URL. Its URL is checked
against the web-download filter when the task is created (400, as Glance); onestack does not
run these tasks: an accepted one fails at once, pointing at the web-download import method.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.background import BackgroundTask
from starlette.responses import Response

from onestack.core.api.faults import ApiError, BadRequest
from onestack.core.api.http import json_response
from onestack.image.api.common import ImageRoutes, Req, listing, viewer
from onestack.image.service import tasks as svc
from onestack.image.service import webdownload
from onestack.image.service.images import Viewer

routes = ImageRoutes()

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


async def _task_caller(req: Req, rule: str) -> Viewer:
    await req.enforce(rule)
    await req.enforce("tasks_api_access")
    return (await viewer(req))[1]


@routes.get("/v2/schemas/task")
async def task_schema(req: Req) -> Response:
    await req.caller()
    return json_response(TASK_SCHEMA)


@routes.get("/v2/schemas/tasks")
async def tasks_schema(req: Req) -> Response:
    await req.caller()
    return json_response(TASKS_SCHEMA)


def _filter(req: Req, name: str, allowed: tuple[str, ...]) -> str | None:
    value = req.params.get(name)
    if value is not None and value not in allowed:
        raise BadRequest(f"Invalid {name} value: {value}.")
    return value


@routes.get("/v2/tasks")
async def list_tasks(req: Req) -> Response:
    caller = await _task_caller(req, "get_tasks")
    page = req.page(sort_keys=svc.SORT_KEYS, sort_key="created_at")
    status, type_ = _filter(req, "status", svc.STATUSES), _filter(req, "type", svc.TYPES)
    items = await req.read(svc.list_tasks, caller, page, status, type_)
    return json_response(listing(req, "tasks", items, page, id_key="id", schema="/v2/schemas/tasks"))


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
async def create_task(req: Req) -> Response:
    caller = await _task_caller(req, "add_task")
    ctx = await req.caller()
    task_type, task_input = _check_create(await req.json())
    if not await webdownload.passes(req.state.config.image, task_input["import_from"]):
        raise BadRequest(f"URI for legacy import task does not pass filtering: {task_input['import_from']}")
    task = await req.write(svc.record_import_task, task_type, task_input, caller.project_id or "", ctx.user_id,
                           req.request_id or None)
    host = urlsplit(task_input["import_from"]).netloc

    async def run() -> None:
        await req.write(svc.set_task_status, task["id"], "processing")
        await req.write(svc.fail_task, task["id"],
                        f"Import from {host} failed: task-based import is not supported here; create "
                        "the image and use the web-download import method (POST /v2/images/{id}/import).")

    response = json_response(task, status=201)
    response.background = BackgroundTask(run)
    return response


@routes.get("/v2/tasks/{task_id}")
async def show_task(req: Req) -> Response:
    caller = await _task_caller(req, "get_task")
    return json_response(await req.read(svc.get_task, caller, req.path("task_id")))


@routes.delete("/v2/tasks/{task_id}")
async def delete_task(req: Req) -> Response:
    await _task_caller(req, "modify_task")
    raise ApiError("Tasks cannot be deleted; they are removed automatically after their expires_at time.",
                   status=405, headers={"Allow": "GET, HEAD"})


@routes.get("/v2/images/{image_id}/tasks")
async def list_image_tasks(req: Req) -> Response:
    _, who = await viewer(req)
    target, items = await req.read(svc.image_tasks, who, req.path("image_id"))
    await req.enforce("get_image", target)
    return json_response({"tasks": items})
