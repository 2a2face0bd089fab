"""Image tasks: the records behind /v2/tasks and an image's import history (/v2/images/{id}/tasks).

The data path calls ``record_task`` when an import starts and ``finish_task`` when it ends.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.pagination import Page
from onestack.core.ids import isotime, utcnow
from onestack.image.models import Task
from onestack.image.service.images import Viewer, get_image, image_target

STATUSES = ("pending", "processing", "success", "failure")
TYPES = ("import", "api_image_import", "location_import")
SORT_KEYS = ("created_at", "updated_at", "id", "type", "status")
# How long a finished task's record is kept (Glance's task_time_to_live, 48 hours).
TIME_TO_LIVE = timedelta(hours=48)


def record_task(s: Session, image_id: str | None, type: str, input: dict[str, Any], owner: str, *,
                user_id: str | None = None, request_id: str | None = None, status: str = "pending") -> Task:
    """Create a task row (e.g. when ``POST /v2/images/{id}/import`` starts) and return it.

    ``type`` is ``api_image_import`` for interoperable import; ``input`` is what the caller
    asked for (e.g. ``{"import_req": {...}, "backend": [...]}``).
    """
    if type not in TYPES or status not in STATUSES:
        raise ValueError(f"bad task type/status {type!r}/{status!r}")
    now = utcnow()
    task = Task(id=str(uuid.uuid4()), type=type, status=status, owner=owner, image_id=image_id, input=input,
                result={}, message="", request_id=request_id, user_id=user_id, created_at=now, updated_at=now,
                expires_at=None)
    s.add(task)
    s.flush()
    return task


def set_task_status(s: Session, task_id: str, status: str, *, message: str | None = None,
                    result: dict[str, Any] | None = None) -> None:
    """Move a task on (pending → processing → success|failure); finished tasks get an expiry."""
    if status not in STATUSES:
        raise ValueError(f"bad task status {status!r}")
    task = s.get(Task, task_id)
    if task is None:
        return
    task.status = status
    if message is not None:
        task.message = message
    if result is not None:
        task.result = result
    task.updated_at = utcnow()
    if status in ("success", "failure"):
        task.expires_at = task.updated_at + TIME_TO_LIVE


def finish_task(s: Session, task_id: str, *, ok: bool, message: str = "", result: dict[str, Any] | None = None) -> None:
    set_task_status(s, task_id, "success" if ok else "failure", message=message, result=result)


def fail_task(s: Session, task_id: str, message: str) -> None:
    finish_task(s, task_id, ok=False, message=message)


def record_import_task(s: Session, type: str, input: dict[str, Any], owner: str, user_id: str | None,
                       request_id: str | None) -> dict[str, Any]:
    """POST /v2/tasks: the new task (of no image yet) as the API shows it."""
    return task_dict(record_task(s, None, type, input, owner, user_id=user_id, request_id=request_id))


def task_dict(task: Task, *, full: bool = True) -> dict[str, Any]:
    """A task as Glance shows it; lists leave out input, result and message."""
    out: dict[str, Any] = {
        "id": task.id,
        "type": task.type,
        "status": task.status,
        "owner": task.owner,
        "created_at": isotime(task.created_at, micro=False),
        "updated_at": isotime(task.updated_at, micro=False),
        "self": f"/v2/tasks/{task.id}",
        "schema": "/v2/schemas/task",
    }
    if task.expires_at is not None:
        out["expires_at"] = isotime(task.expires_at, micro=False)
    if full:
        out.update({"input": task.input, "result": task.result or None, "message": task.message})
    if task.image_id is not None:
        out["image_id"] = task.image_id
    if task.request_id is not None:
        out["request_id"] = task.request_id
    if task.user_id is not None:
        out["user_id"] = task.user_id
    return out


def _visible(task: Task, caller: Viewer) -> bool:
    return caller.is_admin or (caller.project_id is not None and task.owner == caller.project_id)


def get_task(s: Session, caller: Viewer, task_id: str) -> dict[str, Any]:
    task = s.get(Task, task_id)
    if task is None or not _visible(task, caller):
        raise NotFound(f"Task with the given id {task_id} was not found.")
    return task_dict(task)


def list_tasks(s: Session, caller: Viewer, page: Page, status: str | None = None,
               type: str | None = None) -> list[dict[str, Any]]:
    """One page of the caller's tasks (every project's for an admin), in ``page``'s order."""
    q = select(Task)
    if not caller.is_admin:
        q = q.where(Task.owner == (caller.project_id or ""))
    if status is not None:
        q = q.where(Task.status == status)
    if type is not None:
        q = q.where(Task.type == type)
    col, tie = getattr(Task, page.sort_key or "created_at"), Task.id
    q = q.order_by(col.asc(), tie.asc()) if page.sort_dir == "asc" else q.order_by(col.desc(), tie.desc())
    rows = list(s.scalars(q))
    if page.marker is not None:
        ids = [t.id for t in rows]
        if page.marker not in ids:
            raise BadRequest(f"Invalid marker. Task {page.marker} could not be found.")
        rows = rows[ids.index(page.marker) + 1:]
    if page.limit is not None:
        rows = rows[:page.limit]
    return [task_dict(t, full=False) for t in rows]


def image_tasks(s: Session, caller: Viewer, image_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An image's task history, newest first, with the image's policy target.

    404 when the image is not visible to the caller (the images service decides visibility).
    """
    image = get_image(s, image_id, caller)
    target = image_target(image)
    rows = s.scalars(select(Task).where(Task.image_id == image_id).order_by(Task.created_at.desc(), Task.id.desc()))
    return target, [task_dict(t) for t in rows]
