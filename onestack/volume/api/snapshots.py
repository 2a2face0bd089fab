"""Snapshots (``/v3/snapshots``), their metadata and actions, as Cinder v3 serves them.

Create checks the volume's state and the quota in the transaction that inserts the row
(``creating``), then casts ``create_snapshot`` to the volume's agent; the agent's report makes
it ``available`` (server_rpc). Delete likewise: ``deleting``, then the cast.
"""

from __future__ import annotations

import ast
import json
from typing import Any

from starlette.responses import Response

from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response
from onestack.volume.api.common import (
    Req,
    VolumeRoutes,
    as_bool,
    caller,
    invalid,
    links,
    list_query,
    metadata_items,
    text,
)
from onestack.volume.errors import InvalidInput, SnapshotMetadataNotFound
from onestack.volume.service import manageable
from onestack.volume.service import snapshots as svc
from onestack.volume.service.common import iso

routes = VolumeRoutes()

SORT_KEYS = ("created_at", "updated_at", "name", "status", "size", "volume_id", "project_id", "description",
             "progress")
FILTERS = ("name", "status", "volume_id", "project_id", "group_snapshot_id")
ALIASES = {"display_name": "name", "display_description": "description"}


# --- the view ---------------------------------------------------------------------------------------


def summary(b: svc.SnapshotBundle) -> dict[str, Any]:
    r = b.row
    return {"id": r.id, "created_at": iso(r.created_at), "updated_at": iso(r.updated_at), "name": r.name,
            "description": r.description, "volume_id": r.volume_id, "status": r.status, "size": r.volume_size,
            "metadata": dict(b.metadata)}


def detail(req: Req, b: svc.SnapshotBundle, extended: bool = False) -> dict[str, Any]:
    view = summary(b)
    r = b.row
    if req.at_least(3, 14):
        view["group_snapshot_id"] = r.group_snapshot_id
    if req.at_least(3, 41):
        view["user_id"] = r.user_id
    if req.at_least(3, 65):
        view["consumes_quota"] = r.use_quota
    if extended:
        view["os-extended-snapshot-attributes:progress"] = r.progress
        view["os-extended-snapshot-attributes:project_id"] = r.project_id
    return view


async def _extended(req: Req) -> bool:
    return await req.allowed("volume_extension:extended_snapshot_attributes")


# --- request values -----------------------------------------------------------------------------------


def metadata_filter(raw: str | None) -> dict[str, str] | None:
    """``?metadata={'k': 'v'}`` (Cinder evaluates a Python/JSON literal)."""
    if raw is None:
        return None
    try:
        found = json.loads(raw)
    except ValueError:
        try:
            found = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            raise InvalidInput(f"Invalid metadata filter: {raw}") from None
    if not isinstance(found, dict):
        raise InvalidInput(f"Invalid metadata filter: {raw}")
    return {str(k): str(v) for k, v in found.items()}


def _is_progress(value: Any) -> bool:
    """Cinder's ``progress`` format: a percentage, ``0%`` to ``100%``."""
    return (isinstance(value, str) and value.endswith("%") and value[:-1].isdigit()
            and 0 <= int(value[:-1]) <= 100)


async def _wrapped(req: Req, wrapper: str) -> dict[str, Any]:
    body = await req.json()
    if not isinstance(body, dict) or not isinstance(body.get(wrapper), dict):
        raise InvalidInput(f"Missing required element '{wrapper}' in request body.")
    found: dict[str, Any] = body[wrapper]
    return found


# --- snapshots ----------------------------------------------------------------------------------------


async def _list(req: Req, is_detail: bool) -> Response:
    await req.enforce("volume:get_all_snapshots")
    who = await caller(req)
    lq = list_query(req, sort_keys=SORT_KEYS, filters=FILTERS, like=("name", "description"), aliases=ALIASES,
                    ignore=("metadata",))
    meta = metadata_filter(req.params.get("metadata"))
    bundles, count = await req.read(svc.list_snapshots, who, lq, meta)
    extended = is_detail and await _extended(req)
    items = [detail(req, b, extended) if is_detail else summary(b) for b in bundles]
    body: dict[str, Any] = {"snapshots": items, **links(req, "snapshots", items, lq)}
    if count is not None:
        body["count"] = count
    return json_response(body)


@routes.get("/v3/snapshots")
async def list_snapshots(req: Req) -> Response:
    return await _list(req, False)


@routes.get("/v3/snapshots/detail")
async def list_snapshots_detail(req: Req) -> Response:
    return await _list(req, True)


@routes.post("/v3/snapshots")
async def create_snapshot(req: Req) -> Response:
    await req.enforce("volume:create_snapshot")
    body = await _wrapped(req, "snapshot")
    who = await caller(req)
    force_raw = body.get("force")
    force = False if force_raw is None else as_bool(force_raw, "force")
    in_use_ok = req.at_least(3, 66)
    if in_use_ok and force_raw is not None and not force:
        raise InvalidInput("Since microversion 3.66 the 'force' flag is invalid for this request. For backward "
                           "compatibility, however, when the 'force' flag is passed with a value evaluating to "
                           "True, it is silently ignored.")
    name = text(body.get("name", body.get("display_name")), "name")
    description = text(body.get("description", body.get("display_description")), "description")
    metadata = metadata_items(body.get("metadata"))
    bundle, cast = await req.write(svc.create, who, body.get("volume_id"), force, in_use_ok, name, description,
                                   metadata)
    if cast is not None and req.state.agents is not None:
        await req.state.agents.create_snapshot(host=cast.host, snapshot=cast.snapshot, volume=cast.volume)
    return json_response({"snapshot": detail(req, bundle)}, 202)


@routes.get("/v3/snapshots/{snapshot_id}")
async def show_snapshot(req: Req) -> Response:
    await req.enforce("volume:get_snapshot")
    bundle = await req.read(svc.load, req.path("snapshot_id"), await caller(req))
    return json_response({"snapshot": detail(req, bundle, await _extended(req))})


@routes.put("/v3/snapshots/{snapshot_id}")
async def update_snapshot(req: Req) -> Response:
    await req.enforce("volume:update_snapshot")
    body = await _wrapped(req, "snapshot")
    changes: dict[str, Any] = {}
    for key, value in body.items():
        attr = ALIASES.get(key, key)
        if attr not in ("name", "description"):
            raise invalid("snapshot", body, f"Additional properties are not allowed ({key!r} was unexpected)")
        changes[attr] = text(value, key)
    if not changes:
        raise InvalidInput("Missing required element 'snapshot' in request body.")
    bundle = await req.write(svc.update, await caller(req), req.path("snapshot_id"), changes)
    return json_response({"snapshot": detail(req, bundle)})


async def _send_delete(req: Req, cast: svc.Cast | None) -> None:
    if cast is not None and req.state.agents is not None:
        await req.state.agents.delete_snapshot(host=cast.host, snapshot=cast.snapshot, volume=cast.volume)


@routes.delete("/v3/snapshots/{snapshot_id}")
async def delete_snapshot(req: Req) -> Response:
    await req.enforce("volume:delete_snapshot")
    cast = await req.write(svc.delete_snapshot, await caller(req), req.path("snapshot_id"), False)
    await _send_delete(req, cast)
    return Response(status_code=202)


# --- actions ------------------------------------------------------------------------------------------


@routes.post("/v3/snapshots/{snapshot_id}/action")
async def snapshot_action(req: Req) -> Response:
    await req.caller()  # 401 before anything about the body
    body = await req.json()
    if not isinstance(body, dict) or not body:
        raise BadRequest("Malformed request body")
    action, args = next(iter(body.items()))
    if len(body) != 1:
        raise BadRequest(f"Invalid input for field/attribute {action}. Value: {body}. Additional properties are "
                         "not allowed")
    snapshot_id = req.path("snapshot_id")
    if action not in ("os-reset_status", "os-force_delete", "os-update_snapshot_status", "os-unmanage"):
        raise BadRequest(f"There is no such action: {action}")
    # Cinder finds the snapshot with the caller's context before any policy: another project's is 404
    await req.read(svc.load, snapshot_id, await caller(req))
    if action == "os-reset_status":
        await req.enforce("volume_extension:snapshot_admin_actions:reset_status")
        if not isinstance(args, dict) or not isinstance(args.get("status"), str):
            raise InvalidInput("Must specify 'status'")
        await req.write(svc.reset_status, await caller(req), snapshot_id, args["status"].lower())
    elif action == "os-force_delete":
        await req.enforce("volume_extension:snapshot_admin_actions:force_delete")
        cast = await req.write(svc.delete_snapshot, await caller(req), snapshot_id, True)
        await _send_delete(req, cast)
    elif action == "os-update_snapshot_status":
        await req.enforce("snapshot_extension:snapshot_actions:update_snapshot_status")
        if not isinstance(args, dict) or not isinstance(args.get("status"), str):
            raise InvalidInput("'status' must be specified.")
        progress = args.get("progress")
        if progress is not None and not _is_progress(progress):
            raise invalid("progress", progress, f"{progress!r} is not a 'progress'")
        await req.write(svc.update_status, await caller(req), snapshot_id, args["status"], progress)
    elif action == "os-unmanage":
        await req.enforce("snapshot_extension:snapshot_unmanage")
        await req.write(manageable.unmanage_snapshot, await caller(req), snapshot_id)
    else:
        raise BadRequest(f"There is no such action: {action}")
    return Response(status_code=202)


# --- metadata -----------------------------------------------------------------------------------------


@routes.get("/v3/snapshots/{snapshot_id}/metadata")
async def show_metadata(req: Req) -> Response:
    await req.enforce("volume:get_snapshot_metadata")
    meta = await req.read(svc.get_metadata, await caller(req), req.path("snapshot_id"))
    return json_response({"metadata": meta})


async def _set(req: Req, replace: bool) -> Response:
    await req.enforce("volume:update_snapshot_metadata")
    body = await req.json()
    if not isinstance(body, dict) or "metadata" not in body:
        raise InvalidInput("Malformed request body")
    items = metadata_items(body["metadata"])
    meta = await req.write(svc.set_metadata, await caller(req), req.path("snapshot_id"), items, replace)
    return json_response({"metadata": meta})


@routes.post("/v3/snapshots/{snapshot_id}/metadata")
async def create_metadata(req: Req) -> Response:
    return await _set(req, False)


@routes.put("/v3/snapshots/{snapshot_id}/metadata")
async def replace_metadata(req: Req) -> Response:
    return await _set(req, True)


@routes.get("/v3/snapshots/{snapshot_id}/metadata/{key}")
async def show_metadata_item(req: Req) -> Response:
    await req.enforce("volume:get_snapshot_metadata")
    snapshot_id, key = req.path("snapshot_id"), req.path("key")
    meta = await req.read(svc.get_metadata, await caller(req), snapshot_id)
    if key not in meta:
        raise SnapshotMetadataNotFound(snapshot_id, key)
    return json_response({"meta": {key: meta[key]}})


@routes.put("/v3/snapshots/{snapshot_id}/metadata/{key}")
async def update_metadata_item(req: Req) -> Response:
    await req.enforce("volume:update_snapshot_metadata")
    key = req.path("key")
    body = await req.json()
    if not isinstance(body, dict) or "meta" not in body:
        raise InvalidInput("Malformed request body")
    items = metadata_items(body["meta"], "meta")
    if key not in items:
        raise InvalidInput("Request body and URI mismatch")
    if len(items) > 1:
        raise InvalidInput("Request body contains too many items")
    await req.write(svc.set_metadata, await caller(req), req.path("snapshot_id"), items, False)
    return json_response({"meta": items})


@routes.delete("/v3/snapshots/{snapshot_id}/metadata/{key}")
async def delete_metadata_item(req: Req) -> Response:
    await req.enforce("volume:delete_snapshot_metadata")
    await req.write(svc.delete_metadata_key, await caller(req), req.path("snapshot_id"), req.path("key"))
    return Response(status_code=200)
