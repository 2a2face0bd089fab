"""Backups (``/v3/backups``): create, list, show, update (3.9), delete, restore, export and
import of the record, and the admin actions, as Cinder v3 serves them.

Create moves the volume to ``backing-up`` (or its snapshot) with the backup row ``creating`` in
one transaction, then casts ``create_backup`` to the volume's agent. Restore without a volume
first makes one of the backup's size (the volumes' own create flow: type, quota, scheduler) and
waits for it, as Cinder's API does, then restores into it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.responses import Response

from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version
from onestack.volume.api.common import (
    Req,
    VolumeRoutes,
    as_bool,
    caller,
    invalid,
    links,
    list_query,
    metadata_items,
    self_links,
    text,
)
from onestack.volume.errors import InvalidInput, InvalidVolume
from onestack.volume.service import backups as svc
from onestack.volume.service import create_flow
from onestack.volume.service.common import iso
from onestack.volume.service.create_flow import CreateRequest

routes = VolumeRoutes()

SORT_KEYS = ("created_at", "updated_at", "name", "status", "size", "volume_id", "project_id", "description",
             "availability_zone", "container", "data_timestamp")
FILTERS = ("name", "status", "volume_id", "project_id", "availability_zone", "container", "parent_id",
           "snapshot_id")
ALIASES = {"display_name": "name", "display_description": "description"}
V39 = Version(3, 9)
# Seconds between looks at a volume made for a restore: short at first (a blank volume is ready
# in tens of milliseconds, and a fixed 0.25 s step was most of a small restore), doubling to a cap.
_POLL_FIRST, _POLL_MAX = 0.01, 0.2


# --- the view ---------------------------------------------------------------------------------------


def summary(req: Req, b: svc.BackupBundle) -> dict[str, Any]:
    return {"id": b.row.id, "name": b.row.name, "links": self_links(req, "backups", b.row.id)}


def detail(req: Req, b: svc.BackupBundle, project_attr: bool = False) -> dict[str, Any]:
    r = b.row
    view: dict[str, Any] = {
        "id": r.id, "status": r.status, "size": r.size, "object_count": r.object_count,
        "availability_zone": r.availability_zone, "container": r.container, "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at), "name": r.name, "description": r.description,
        "fail_reason": r.fail_reason, "volume_id": r.volume_id, "links": self_links(req, "backups", r.id),
        "is_incremental": r.is_incremental, "has_dependent_backups": b.has_dependents,
        "snapshot_id": r.snapshot_id, "data_timestamp": iso(r.data_timestamp),
    }
    if project_attr and req.at_least(3, 18):
        view["os-backup-project-attr:project_id"] = r.project_id
    if req.at_least(3, 43):
        view["metadata"] = dict(b.metadata)
    if req.at_least(3, 56):
        view["user_id"] = r.user_id
    if req.at_least(3, 64):
        view["encryption_key_id"] = r.encryption_key_id
    return view


async def _project_attr(req: Req) -> bool:
    return await req.allowed("backup:backup_project_attribute")


async def _wrapped(req: Req, wrapper: str) -> dict[str, Any]:
    body = await req.json()
    if not isinstance(body, dict) or not isinstance(body.get(wrapper), dict):
        raise InvalidInput(f"Missing required element '{wrapper}' in request body.")
    found: dict[str, Any] = body[wrapper]
    return found


# --- list, create, show, update, delete ----------------------------------------------------------------


async def _list(req: Req, is_detail: bool) -> Response:
    await req.enforce("backup:get_all")
    lq = list_query(req, sort_keys=SORT_KEYS, filters=FILTERS, like=("name", "description"), aliases=ALIASES)
    bundles, count = await req.read(svc.list_backups, await caller(req), lq)
    project_attr = is_detail and await _project_attr(req)
    items = [detail(req, b, project_attr) if is_detail else summary(req, b) for b in bundles]
    body: dict[str, Any] = {"backups": items, **links(req, "backups", items, lq)}
    if count is not None:
        body["count"] = count
    return json_response(body)


@routes.get("/v3/backups")
async def list_backups(req: Req) -> Response:
    return await _list(req, False)


@routes.get("/v3/backups/detail")
async def list_backups_detail(req: Req) -> Response:
    return await _list(req, True)


def _optional_bool(body: dict[str, Any], key: str) -> bool:
    return False if body.get(key) is None else as_bool(body[key], key)


@routes.post("/v3/backups")
async def create_backup(req: Req) -> Response:
    await req.enforce("backup:create")
    body = await _wrapped(req, "backup")
    volume_id = body.get("volume_id")
    if not isinstance(volume_id, str) or not volume_id:
        raise invalid("volume_id", volume_id, "'volume_id' is a required property")
    snapshot_id = body.get("snapshot_id")
    if snapshot_id is not None and not isinstance(snapshot_id, str):
        raise invalid("snapshot_id", snapshot_id, f"{snapshot_id!r} is not of type 'string', 'null'")
    metadata = metadata_items(body.get("metadata")) if req.at_least(3, 43) else {}
    zone = text(body.get("availability_zone"), "availability_zone") if req.at_least(3, 51) else None
    new = svc.NewBackup(volume_id=volume_id, name=text(body.get("name"), "name"),
                        description=text(body.get("description"), "description"),
                        container=text(body.get("container"), "container"),
                        incremental=_optional_bool(body, "incremental"), force=_optional_bool(body, "force"),
                        snapshot_id=snapshot_id or None, metadata=metadata, availability_zone=zone)
    bundle, cast = await req.write(svc.create, await caller(req), new)
    if cast is not None and cast.volume is not None and req.state.agents is not None:
        await req.state.agents.create_backup(host=cast.host, backup=cast.backup, volume=cast.volume)
    return json_response({"backup": summary(req, bundle)}, 202)


@routes.get("/v3/backups/{backup_id}")
async def show_backup(req: Req) -> Response:
    await req.enforce("backup:get")
    bundle = await req.read(svc.load, req.path("backup_id"), await caller(req))
    return json_response({"backup": detail(req, bundle, await _project_attr(req))})


@routes.put("/v3/backups/{backup_id}", since=V39)
async def update_backup(req: Req) -> Response:
    await req.enforce("backup:update")
    body = await _wrapped(req, "backup")
    allowed = {"name", "description"} | ({"metadata"} if req.at_least(3, 43) else set())
    extra = sorted(set(body) - allowed)
    if extra:
        raise invalid("backup", body, f"Additional properties are not allowed ({', '.join(map(repr, extra))} "
                                      f"{'was' if len(extra) == 1 else 'were'} unexpected)")
    changes = {k: text(body[k], k) for k in ("name", "description") if k in body}
    metadata = metadata_items(body["metadata"]) if "metadata" in body else None
    bundle = await req.write(svc.update, await caller(req), req.path("backup_id"), changes, metadata)
    return json_response({"backup": summary(req, bundle)})  # Cinder's answer: the summary view


async def _send_delete(req: Req, cast: svc.BackupCast | None) -> None:
    if cast is not None and req.state.agents is not None:
        await req.state.agents.delete_backup(host=cast.host, backup=cast.backup)


@routes.delete("/v3/backups/{backup_id}")
async def delete_backup(req: Req) -> Response:
    await req.enforce("backup:delete")
    cast = await req.write(svc.delete_backup, await caller(req), req.path("backup_id"), False)
    await _send_delete(req, cast)
    return Response(status_code=202)


# --- restore ------------------------------------------------------------------------------------------


async def _wait_available(req: Req, volume_id: str) -> None:
    """Cinder's restore waits in the API for the volume it made; we poll with a deadline."""
    who = await caller(req)
    deadline = time.monotonic() + req.state.config.volume.rpc_timeout
    step = _POLL_FIRST
    while True:
        status = await req.read(svc.volume_status, who, volume_id)
        if status != "creating":
            break
        if time.monotonic() > deadline:
            raise InvalidVolume("Volume to be restored to must be available")
        await asyncio.sleep(step)  # a poll step with a deadline, not synchronisation
        step = min(step * 2, _POLL_MAX)
    if status != "available":
        raise InvalidVolume("Volume to be restored to must be available")


@routes.post("/v3/backups/{backup_id}/restore")
async def restore_backup(req: Req) -> Response:
    await req.enforce("backup:restore")
    body = await _wrapped(req, "restore")
    backup_id = req.path("backup_id")
    who = await caller(req)
    volume_id = body.get("volume_id")
    if volume_id is not None and not isinstance(volume_id, str):
        raise invalid("volume_id", volume_id, f"{volume_id!r} is not of type 'string', 'null'")
    name = text(body.get("name"), "name")
    if not volume_id:
        backup = (await req.read(svc.check_restorable, who, backup_id)).row
        volume_id = await create_flow.create(req.state, req.state.db, who, CreateRequest(
            size=backup.size, name=name or f"restore_backup_{backup_id}",
            description="auto-created_from_restore_from_backup"))
        await _wait_available(req, volume_id)
    result, cast = await req.write(svc.restore, who, backup_id, volume_id)
    if cast is not None and cast.volume is not None and req.state.agents is not None:
        await req.state.agents.restore_backup(host=cast.host, backup=cast.backup, volume=cast.volume)
    return json_response({"restore": result}, 202)


# --- export / import ----------------------------------------------------------------------------------


@routes.get("/v3/backups/{backup_id}/export_record")
async def export_record(req: Req) -> Response:
    await req.enforce("backup:backup-export")
    record = await req.read(svc.export_record, await caller(req), req.path("backup_id"))
    return json_response({"backup-record": record})


@routes.post("/v3/backups/import_record")
async def import_record(req: Req) -> Response:
    await req.enforce("backup:backup-import")
    body = await _wrapped(req, "backup-record")
    service, url = body.get("backup_service"), body.get("backup_url")
    if not isinstance(service, str) or not service or not isinstance(url, str) or not url:
        raise InvalidInput("Incorrect request body format.")
    bundle = await req.write(svc.import_record, await caller(req), service, url)
    return json_response({"backup": summary(req, bundle)}, 201)


# --- actions ------------------------------------------------------------------------------------------


@routes.post("/v3/backups/{backup_id}/action")
async def backup_action(req: Req) -> Response:
    await req.caller()  # 401 before anything about the body
    body = await req.json()
    if not isinstance(body, dict) or not body:
        raise BadRequest("Malformed request body")
    action, args = next(iter(body.items()))
    if len(body) != 1:
        raise BadRequest(f"Invalid input for field/attribute {action}. Value: {body}. Additional properties are "
                         "not allowed")
    backup_id = req.path("backup_id")
    if action not in ("os-reset_status", "os-force_delete"):
        raise BadRequest(f"There is no such action: {action}")
    # Cinder finds the backup with the caller's context before any policy: another project's is 404
    await req.read(svc.load, backup_id, await caller(req))
    if action == "os-reset_status":
        await req.enforce("volume_extension:backup_admin_actions:reset_status")
        if not isinstance(args, dict) or not isinstance(args.get("status"), str):
            raise InvalidInput("Must specify 'status'")
        await req.write(svc.reset_status, await caller(req), backup_id, args["status"].lower())
    elif action == "os-force_delete":
        await req.enforce("volume_extension:backup_admin_actions:force_delete")
        cast = await req.write(svc.delete_backup, await caller(req), backup_id, True)
        await _send_delete(req, cast)
    else:
        raise BadRequest(f"There is no such action: {action}")
    return Response(status_code=202)
