"""The live migrations of one server: list and show (in progress only), force-complete, abort."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.compute import states
from onestack.compute.api.common import (
    allowed,
    at_least,
    caller,
    compute_of,
    require_version,
)
from onestack.compute.api.migrations import LIVE_IN_PROGRESS, stamp
from onestack.compute.api.servers import load
from onestack.compute.models import Migration
from onestack.compute.service import instances
from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.http import RouteTable, json_body, json_response
from onestack.core.api.microversion import Version
from onestack.core.auth import AuthContext

routes = RouteTable()
_RULE = "os_compute_api:servers:migrations:"


def _view(request: Request, row: Migration, show_host: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "created_at": stamp(row.created_at), "updated_at": stamp(row.updated_at), "id": row.id,
        "server_uuid": row.instance_uuid, "status": row.status,
        "source_compute": None, "source_node": None, "dest_compute": None, "dest_node": None, "dest_host": None,
        # The fake and our drivers report no transfer progress; Nova's fields stay null then.
        "memory_total_bytes": None, "memory_processed_bytes": None, "memory_remaining_bytes": None,
        "disk_total_bytes": None, "disk_processed_bytes": None, "disk_remaining_bytes": None,
    }
    if show_host:
        body.update(source_compute=row.source_compute, source_node=row.source_node, dest_compute=row.dest_compute,
                    dest_node=row.dest_node, dest_host=row.dest_host)
    if at_least(request, 2, 59):
        body["uuid"] = row.uuid
    if at_least(request, 2, 80):
        body["user_id"], body["project_id"] = row.user_id, row.project_id
    return body


def _migration_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None


def _find(s: Session, server_id: str, migration_id: int | None) -> Migration | None:
    if migration_id is None:
        return None
    return s.scalar(select(Migration).where(Migration.id == migration_id, Migration.instance_uuid == server_id))


async def _server(request: Request, rule: str) -> tuple[AuthContext, dict[str, Any]]:
    ctx = await caller(request)
    row = await load(request, ctx, request.path_params["server_id"], _RULE + rule)
    return ctx, row


@routes.get("/v2.1/servers/{server_id}/migrations")
async def list_server_migrations(request: Request) -> Response:
    require_version(request, Version(2, 23))
    ctx, row = await _server(request, "index")
    show_host = allowed(request, ctx, _RULE + "index:host", {"project_id": row["project_id"]})

    def read(s: Session) -> list[dict[str, Any]]:
        rows = s.scalars(select(Migration).where(
            Migration.instance_uuid == row["uuid"], Migration.migration_type == "live-migration",
            Migration.status.in_(LIVE_IN_PROGRESS)).order_by(Migration.id))
        return [_view(request, r, show_host) for r in rows]

    return json_response({"migrations": await compute_of(request).db.read(read)})


@routes.get("/v2.1/servers/{server_id}/migrations/{migration_id}")
async def show_server_migration(request: Request) -> Response:
    require_version(request, Version(2, 23))
    _ctx, row = await _server(request, "show")
    raw = request.path_params["migration_id"]
    uuid = row["uuid"]

    def read(s: Session) -> dict[str, Any]:
        mig = _find(s, uuid, _migration_id(raw))
        if mig is None:
            raise NotFound(f"In-progress live migration {raw} is not found for server {uuid}.")
        if mig.migration_type != "live-migration":
            raise NotFound(f"Migration {raw} for server {uuid} is not live-migration.")
        if mig.status not in LIVE_IN_PROGRESS:
            raise NotFound(f"Live migration {raw} for server {uuid} is not in progress.")
        return _view(request, mig)

    return json_response({"migration": await compute_of(request).db.read(read)})


async def _act(request: Request, ctx: AuthContext, row: dict[str, Any], *, name: str, action: str,
               vm_states: tuple[str, ...] | None, allowed_statuses: tuple[str, ...], method: str,
               missing: type[Exception]) -> dict[str, Any]:
    """Lock, state and migration checks, then the instance action; returns the migration."""
    raw = request.path_params["migration_id"]
    admin = allowed(request, ctx, "context_is_admin")

    def write(s: Session) -> dict[str, Any]:
        inst = instances.get(s, row["uuid"])
        instances.check_not_locked(inst, admin)
        instances.check_state(inst, name, vm_states, (states.MIGRATING,))
        mig = _find(s, inst.uuid, _migration_id(raw))
        if mig is None:
            raise missing(f"Migration {raw} not found for instance {inst.uuid}")
        if mig.status not in allowed_statuses:
            raise BadRequest(f"Migration {raw} state of instance {inst.uuid} is {mig.status}. "
                             f"Cannot {method} while the migration is in this state.")
        instances.start_action(s, inst.uuid, action, request.state.request_id, ctx.project_id or "",
                               ctx.user_id or "")
        return {"id": mig.id, "source_compute": mig.source_compute or inst.host}

    return await compute_of(request).db.write(write)


@routes.post("/v2.1/servers/{server_id}/migrations/{migration_id}/action")
async def server_migration_action(request: Request) -> Response:
    require_version(request, Version(2, 22))
    body = await json_body(request)
    if not isinstance(body, dict) or set(body) != {"force_complete"} or body["force_complete"] is not None:
        raise BadRequest(f"Invalid input for field/attribute force_complete. Value: {body}. "
                         "'force_complete' must be the only property and must be null")
    ctx, row = await _server(request, "force_complete")
    mig = await _act(request, ctx, row, name="force_complete", action="live_migration_force_complete",
                     vm_states=(states.ACTIVE,), allowed_statuses=("running",), method="force complete",
                     missing=BadRequest)
    agents = compute_of(request).agents
    assert agents is not None
    await agents.live_migration_force_complete(mig["source_compute"], uuid=row["uuid"], migration_id=mig["id"])
    return Response(status_code=202)


@routes.delete("/v2.1/servers/{server_id}/migrations/{migration_id}")
async def abort_server_migration(request: Request) -> Response:
    require_version(request, Version(2, 24))
    ctx, row = await _server(request, "delete")
    # From 2.65 a live migration can also be stopped before its transfer starts.
    statuses = ("running", "queued", "preparing") if at_least(request, 2, 65) else ("running",)
    mig = await _act(request, ctx, row, name="abort live migration", action="live_migration_cancel",
                     vm_states=None, allowed_statuses=statuses, method="abort live migration", missing=NotFound)
    agents = compute_of(request).agents
    assert agents is not None
    await agents.live_migration_abort(mig["source_compute"], uuid=row["uuid"], migration_id=mig["id"])
    return Response(status_code=202)
