"""The live migrations of one server: list and show (in progress only), force-complete, abort."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.compute import states
from onestack.compute.api.common import ComputeRoutes, Req
from onestack.compute.api.operator import no_query_from_2_102
from onestack.compute.api.servers import actor, load
from onestack.compute.service import migrations, moves
from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version

routes = ComputeRoutes()
_RULE = "os_compute_api:servers:migrations:"


def _view(req: Req, row: dict[str, Any], show_host: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "created_at": row["created_at"], "updated_at": row["updated_at"], "id": row["id"],
        "server_uuid": row["instance_uuid"], "status": row["status"],
        "source_compute": None, "source_node": None, "dest_compute": None, "dest_node": None, "dest_host": None,
        # The fake and our drivers report no transfer progress; Nova's fields stay null then.
        "memory_total_bytes": None, "memory_processed_bytes": None, "memory_remaining_bytes": None,
        "disk_total_bytes": None, "disk_processed_bytes": None, "disk_remaining_bytes": None,
    }
    if show_host:
        body.update({k: row[k] for k in ("source_compute", "source_node", "dest_compute", "dest_node", "dest_host")})
    if req.at_least(2, 59):
        body["uuid"] = row["uuid"]
    if req.at_least(2, 80):
        body["user_id"], body["project_id"] = row["user_id"], row["project_id"]
    return body


async def _server(req: Req, rule: str) -> dict[str, Any]:
    return await load(req, await req.caller(), req.path("server_id"), _RULE + rule)


@routes.get("/v2.1/servers/{server_id}/migrations")
async def list_server_migrations(req: Req) -> Response:
    await no_query_from_2_102(req)
    req.require_version(Version(2, 23))
    row = await _server(req, "index")
    show_host = await req.allowed(_RULE + "index:host", {"project_id": row["project_id"]})
    found = await req.read(migrations.live_in_progress, row["uuid"])
    return json_response({"migrations": [_view(req, r, show_host) for r in found]})


@routes.get("/v2.1/servers/{server_id}/migrations/{migration_id}")
async def show_server_migration(req: Req) -> Response:
    await no_query_from_2_102(req)
    req.require_version(Version(2, 23))
    row = await _server(req, "show")
    mig = await req.read(migrations.live_one, row["uuid"], req.path("migration_id"))
    return json_response({"migration": _view(req, mig)})


async def _act(req: Req, row: dict[str, Any], *, name: str, action: str,
               vm_states: tuple[str, ...] | None, allowed_statuses: tuple[str, ...], method: str,
               missing: type[Exception]) -> dict[str, Any]:
    """Lock, state and migration checks, then the instance action; returns the migration."""
    return await req.write(moves.act_on_live_migration, row["uuid"], req.path("migration_id"), name, action,
                           vm_states, allowed_statuses, method, missing, await req.is_admin(), await actor(req))


@routes.post("/v2.1/servers/{server_id}/migrations/{migration_id}/action")
async def server_migration_action(req: Req) -> Response:
    req.require_version(Version(2, 22))
    body = await req.json()
    if not isinstance(body, dict) or set(body) != {"force_complete"} or body["force_complete"] is not None:
        raise BadRequest(f"Invalid input for field/attribute force_complete. Value: {body}. "
                         "'force_complete' must be the only property and must be null")
    row = await _server(req, "force_complete")
    mig = await _act(req, row, name="force_complete", action="live_migration_force_complete",
                     vm_states=(states.ACTIVE,), allowed_statuses=("running",), method="force complete",
                     missing=BadRequest)
    agents = req.state.agents
    assert agents is not None
    await agents.live_migration_force_complete(mig["source_compute"], uuid=row["uuid"], migration_id=mig["id"])
    return Response(status_code=202)


@routes.delete("/v2.1/servers/{server_id}/migrations/{migration_id}")
async def abort_server_migration(req: Req) -> Response:
    req.require_version(Version(2, 24))
    row = await _server(req, "delete")
    # From 2.65 a live migration can also be stopped before its transfer starts.
    statuses = ("running", "queued", "preparing") if req.at_least(2, 65) else ("running",)
    mig = await _act(req, row, name="abort live migration", action="live_migration_cancel",
                     vm_states=None, allowed_statuses=statuses, method="abort live migration", missing=NotFound)
    agents = req.state.agents
    assert agents is not None
    await agents.live_migration_abort(mig["source_compute"], uuid=row["uuid"], migration_id=mig["id"])
    return Response(status_code=202)
