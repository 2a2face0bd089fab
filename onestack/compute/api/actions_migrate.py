"""Server actions that move a server between hosts: resize (+ confirm/revert), migrate,
os-migrateLive and evacuate.

Each handler checks policy, lock and state, then in one transaction sets the server's task
state, records the instance action and creates the migration row; the conductor does the rest.
"""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from starlette.responses import Response

from onestack.compute import states
from onestack.compute.api.common import (
    ComputeRoutes,
    Req,
    as_bool,
    check_keys,
    invalid,
)
from onestack.compute.api.server_actions import action
from onestack.compute.api.servers import actor
from onestack.compute.rpcapi import ConductorAPI
from onestack.compute.service import flavors as flavor_svc
from onestack.compute.service import moves
from onestack.compute.service.moves import UNAVAILABLE, Move
from onestack.core.api.faults import BadRequest, Conflict
from onestack.core.api.http import json_response
from onestack.core.auth import AuthContext

routes = ComputeRoutes()  # everything here is an action of POST /servers/{id}/action

_FQDN = re.compile(r"^[a-zA-Z0-9-._]*$")


# --- body checks -----------------------------------------------------------------------------

def _host_field(value: Any, field: str = "host", nullable: bool = True) -> str | None:
    """Nova's fqdn parameter (1..255 of letters, digits, '-', '.', '_'), or null where allowed."""
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise invalid(field, value, f"{value!r} is not of type 'string'")
    if not value or len(value) > 255 or not _FQDN.match(value):
        raise invalid(field, value, f"{value!r} does not match '{_FQDN.pattern}'")
    return value


def _object(arg: Any, name: str) -> dict[str, Any]:
    if not isinstance(arg, dict):
        raise invalid(name, arg, f"{arg!r} is not of type 'object'")
    return arg


def _required(obj: dict[str, Any], keys: list[str], name: str) -> None:
    for key in keys:
        if key not in obj:
            raise invalid(name, obj, f"'{key}' is a required property")


def _bool_or_auto(value: Any, field: str, auto: bool) -> bool | None:
    if auto and value == "auto":
        return None
    return as_bool(value, field)


# --- the shared transaction ------------------------------------------------------------------

async def _begin(req: Req, row: dict[str, Any], move: Move,
                 prepare: moves.Prepare | None = None) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Check and start ``move``: (server, migration, what ``prepare`` returned)."""
    return await req.write(moves.begin, row["uuid"], move, await req.is_admin(), await actor(req),
                           req.state.config.compute.service_down_time, prepare)


def _conductor(req: Req) -> ConductorAPI:
    conductor = req.state.conductor
    if conductor is None:
        raise Conflict(UNAVAILABLE)
    return conductor


# --- resize ----------------------------------------------------------------------------------

@action("resize")
async def resize(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    body = _object(arg, "resize")
    check_keys(body, {"flavorRef", "OS-DCF:diskConfig"}, "resize")
    _required(body, ["flavorRef"], "resize")
    ref = body["flavorRef"]
    if isinstance(ref, bool) or not isinstance(ref, (str, int)) or str(ref) == "":
        raise invalid("flavorRef", ref, f"{ref!r} is not of type 'string', 'integer'")
    if "OS-DCF:diskConfig" in body and body["OS-DCF:diskConfig"] not in ("AUTO", "MANUAL"):
        raise invalid("OS-DCF:diskConfig", body["OS-DCF:diskConfig"], "is not one of ['AUTO', 'MANUAL']")
    flavor_id = str(ref).rstrip("/").rsplit("/", 1)[-1]
    await req.enforce("os_compute_api:servers:resize", {"project_id": row["project_id"], "user_id": row["user_id"]})
    viewer = flavor_svc.Viewer(project_id=ctx.project_id, is_admin=await req.is_admin())
    move = Move("resize", "resize", (states.ACTIVE, states.STOPPED), states.RESIZE_PREP, "resize",
                "pre-migrating", host_up=True, auto_disk_config=body.get("OS-DCF:diskConfig") == "AUTO")
    inst, mig, extra = await _begin(req, row, move, moves.resize_to(flavor_id, viewer))
    await _conductor(req).migrate_server(inst["uuid"], mig["uuid"], extra["flavor"], requested_host=None,
                                             request_id=req.request_id)
    return Response(status_code=202)


@action("migrate")
async def migrate(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    host = None
    if req.at_least(2, 56) and arg is not None:  # before 2.56 Nova ignores the body
        body = _object(arg, "migrate")
        check_keys(body, {"host"}, "migrate")
        host = _host_field(body.get("host"))
    target = {"project_id": row["project_id"]}
    await req.enforce("os_compute_api:os-migrate-server:migrate:host" if host
            else "os_compute_api:os-migrate-server:migrate", target)

    move = Move("migrate", "migrate", (states.ACTIVE, states.STOPPED), states.RESIZE_PREP, "migration",
                "pre-migrating", host_up=True, auto_disk_config=False)  # Nova's resize without a disk config
    inst, mig, extra = await _begin(req, row, move, moves.migrate_to(host))
    await _conductor(req).migrate_server(inst["uuid"], mig["uuid"], extra["flavor"], requested_host=host,
                                             request_id=req.request_id)
    return Response(status_code=202)


# --- confirm / revert ------------------------------------------------------------------------

async def _settle(req: Req, row: dict[str, Any], name: str, revert: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    return await req.write(moves.settle, row["uuid"], name, revert, await req.is_admin(), await actor(req),
                           req.state.config.compute.service_down_time)


# Nova validates no body for confirmResize / revertResize: null, {} or anything else is accepted.
@action("confirmResize")
async def confirm_resize(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    await req.enforce("os_compute_api:servers:confirm_resize", {"project_id": row["project_id"]})
    inst, mig = await _settle(req, row, "confirmResize", revert=False)
    agents = req.state.agents
    assert agents is not None
    await agents.confirm_resize(mig["source_compute"], inst, mig, request_id=req.request_id)
    return Response(status_code=204)


@action("revertResize")
async def revert_resize(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    await req.enforce("os_compute_api:servers:revert_resize", {"project_id": row["project_id"]})
    inst, mig = await _settle(req, row, "revertResize", revert=True)
    agents = req.state.agents
    assert agents is not None
    await agents.revert_resize(mig["dest_compute"], inst, mig, request_id=req.request_id)
    return Response(status_code=202)


async def confirm_before_delete(req: Req, row: dict[str, Any]) -> None:
    """Deleting a server that waits in VERIFY_RESIZE confirms the resize first (Nova does so), so
    the source host drops the set-aside disks and placement the migration's allocation. For
    ``servers.delete_instance`` to await before it deletes."""
    if row.get("vm_state") != states.RESIZED:
        return
    compute = req.state
    mig = await req.write(moves.confirm_before_delete, row["uuid"])
    if mig is not None and compute.agents is not None:
        await compute.agents.confirm_resize_and_wait(mig["source_compute"], row, mig,
                                                     request_id=req.request_id)


# --- live migration --------------------------------------------------------------------------

def _live_args(req: Req, arg: Any) -> tuple[str | None, bool | None, bool]:
    """(host, block_migration (None: auto), forced) as each microversion's schema reads them."""
    body = _object(arg, "os-migrateLive")
    keys = {"block_migration", "host"}
    required = ["block_migration", "host"]
    if not req.at_least(2, 25):
        keys.add("disk_over_commit")
        required.append("disk_over_commit")
    if req.at_least(2, 30) and not req.at_least(2, 68):
        keys.add("force")
    check_keys(body, keys, "os-migrateLive")
    _required(body, required, "os-migrateLive")
    host = _host_field(body["host"])
    block = _bool_or_auto(body["block_migration"], "block_migration", req.at_least(2, 25))
    if "disk_over_commit" in body:
        as_bool(body["disk_over_commit"], "disk_over_commit")
    if not req.at_least(2, 30):
        return host, block, bool(host)  # a host named before 2.30 bypasses the scheduler
    force = as_bool(body.get("force", False), "force") if "force" in body else False
    if force and not host:
        raise BadRequest("Can't force to a non-provided destination")
    return host, block, force


@action("os-migrateLive")
async def live_migrate(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    host, block, force = _live_args(req, arg)
    target = {"project_id": row["project_id"]}
    await req.enforce("os_compute_api:os-migrate-server:migrate_live:host" if host
            else "os_compute_api:os-migrate-server:migrate_live", target)

    move = Move("os-migrateLive", "live-migration", (states.ACTIVE, states.PAUSED), states.MIGRATING,
                "live-migration", "accepted")
    inst, mig, _extra = await _begin(req, row, move, moves.live_migrate_to(host))
    conductor = _conductor(req)
    if req.at_least(2, 34):  # checks run after the 202; failures show on the migration
        await conductor.start_live_migration(inst["uuid"], mig["uuid"], host=host, force=force,
                                             block_migration=block, request_id=req.request_id)
    else:
        error = await conductor.live_migrate_instance(inst["uuid"], mig["uuid"], host=host, force=force,
                                                      block_migration=block, request_id=req.request_id)
        if error:
            raise BadRequest(error)
    return Response(status_code=202)


# --- evacuate --------------------------------------------------------------------------------

def _new_password(length: int = 12) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


@action("evacuate")
async def evacuate(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    body = _object(arg, "evacuate")
    keys = {"host", "adminPass"}
    if not req.at_least(2, 14):
        keys.add("onSharedStorage")
    if req.at_least(2, 29) and not req.at_least(2, 68):
        keys.add("force")
    check_keys(body, keys, "evacuate")
    if not req.at_least(2, 14):
        _required(body, ["onSharedStorage"], "evacuate")
    host = _host_field(body["host"], nullable=False) if "host" in body else None
    if "adminPass" in body and not isinstance(body["adminPass"], str):
        raise invalid("adminPass", body["adminPass"], f"{body['adminPass']!r} is not of type 'string'")
    await req.enforce("os_compute_api:os-evacuate", {"project_id": row["project_id"], "user_id": row["user_id"]})
    force = bool(host) and not req.at_least(2, 29)  # a host named before 2.29 bypasses the scheduler
    if req.at_least(2, 29) and "force" in body:
        force = as_bool(body["force"], "force")
        if force and not host:
            raise BadRequest("Can't force to a non-provided destination")
    password: str | None
    if req.at_least(2, 14):
        password = body.get("adminPass") or _new_password()
    else:
        shared = as_bool(body["onSharedStorage"], "onSharedStorage")
        if "adminPass" in body and shared:
            raise BadRequest("admin password can't be changed on existing disk")
        password = body.get("adminPass") or (None if shared else _new_password())
    down_after = req.state.config.compute.service_down_time

    await req.read(moves.check_evacuate_host, host, row["host"])
    move = Move("evacuate", "evacuate", (states.ACTIVE, states.STOPPED, states.ERROR), states.REBUILDING,
                "evacuation", "accepted", check_lock=False)
    inst, mig, _extra = await _begin(req, row, move, moves.evacuate_to(host, down_after))
    await _conductor(req).evacuate_instance(inst["uuid"], mig["uuid"], host=host, force=force,
                                                target_state=states.STOPPED if req.at_least(2, 95) else None,
                                                request_id=req.request_id)
    if not req.at_least(2, 14):
        return json_response({"adminPass": password})
    return Response(status_code=200)
