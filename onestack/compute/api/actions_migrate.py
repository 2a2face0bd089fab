"""Server actions that move a server between hosts: resize (+ confirm/revert), migrate,
os-migrateLive and evacuate.

Each handler checks policy, lock and state, then in one transaction sets the server's task
state, records the instance action and creates the migration row; the conductor does the rest.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.compute import states
from onestack.compute.api import migrations as migration_rows
from onestack.compute.api.common import (
    allowed,
    as_bool,
    at_least,
    check_keys,
    compute_of,
    enforce,
    invalid,
)
from onestack.compute.api.server_actions import action
from onestack.compute.models import ComputeNode, Instance, Service
from onestack.compute.rpcapi import ConductorAPI
from onestack.compute.scheduler.snapshot import COMPUTE_BINARY, service_is_up
from onestack.compute.service import flavors as flavor_svc
from onestack.compute.service import instances, quotas
from onestack.core.api.faults import BadRequest, Conflict, Forbidden, NotFound
from onestack.core.api.http import RouteTable, json_response
from onestack.core.auth import AuthContext
from onestack.core.ids import utcnow

routes = RouteTable()  # everything here is an action of POST /servers/{id}/action

_FQDN = re.compile(r"^[a-zA-Z0-9-._]*$")
NOT_RESIZED = "Instance has not been resized."
UNAVAILABLE = "Service is unavailable at this time."


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

@dataclass
class Move:
    """What one move action does to the server row when it starts."""

    name: str  # as in Nova's 409 "Cannot '<name>' instance ..." message
    action: str  # the os-instance-actions name
    vm_states: tuple[str, ...]
    task_state: str
    migration_type: str
    status: str
    check_lock: bool = True
    host_up: bool = False  # 409 unless the server's host is up (resize, migrate)


def _service_up(s: Session, host: str, down_after: float) -> bool:
    svc = s.scalar(select(Service).where(Service.host == host, Service.binary == COMPUTE_BINARY))
    return svc is not None and service_is_up(svc, down_after)


def _node_exists(s: Session, host: str) -> bool:
    return s.scalar(select(ComputeNode.id).where(ComputeNode.host == host).limit(1)) is not None


Prepare = Callable[[Session, Instance], dict[str, Any]]


async def _begin(request: Request, ctx: AuthContext, row: dict[str, Any], move: Move,
                 prepare: Prepare | None = None) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Check and start ``move``: (server, migration, what ``prepare`` returned)."""
    compute = compute_of(request)
    admin = allowed(request, ctx, "context_is_admin")
    down_after = compute.config.compute.service_down_time

    def write(s: Session) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        inst = instances.get(s, row["uuid"])
        if move.check_lock:
            instances.check_not_locked(inst, admin)
        instances.check_state(inst, move.name, move.vm_states, (None,))
        if not inst.host:
            raise Conflict(f"Instance {inst.uuid} is not ready")
        if move.host_up and not _service_up(s, inst.host, down_after):
            raise Conflict(UNAVAILABLE)
        extra = prepare(s, inst) if prepare is not None else {}
        meta = dict(inst.system_metadata or {})
        meta["old_vm_state"] = inst.vm_state
        try:
            inst = instances.apply_update(s, inst.uuid, {"task_state": move.task_state, "progress": 0,
                                                         "system_metadata": meta},
                                          expected_task_state=[None], expected_vm_state=list(move.vm_states))
        except instances.UnexpectedTaskState:
            raise Conflict(f"Cannot '{move.name}' instance {inst.uuid} while it is in task_state "
                           f"{inst.task_state}") from None
        instances.start_action(s, inst.uuid, move.action, request.state.request_id, ctx.project_id or "",
                               ctx.user_id or "")
        mig = migration_rows.create(s, inst, ctx, move.migration_type, move.status,
                                    new_flavorid=(extra.get("flavor") or {}).get("flavorid"),
                                    dest_compute=extra.get("dest"))
        return instances.to_dict(inst), {"uuid": mig.uuid, "id": mig.id}, extra

    return await compute.db.write(write)


def _conductor(request: Request) -> ConductorAPI:
    conductor = compute_of(request).conductor
    if conductor is None:
        raise Conflict(UNAVAILABLE)
    return conductor


# --- resize ----------------------------------------------------------------------------------

def _flavor_snapshot(flavor: Any) -> dict[str, Any]:
    return {"flavorid": flavor.flavorid, "name": flavor.name, "vcpus": flavor.vcpus, "memory_mb": flavor.memory_mb,
            "root_gb": flavor.root_gb, "ephemeral_gb": flavor.ephemeral_gb, "swap": flavor.swap,
            "rxtx_factor": flavor.rxtx_factor, "extra_specs": flavor_svc.specs_of(flavor),
            "description": flavor.description}


def check_upsize_quota(s: Session, inst: Instance, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Growing cores or RAM must fit the project's quota (Nova's 403)."""
    deltas = {"cores": int(new["vcpus"]) - int(old["vcpus"]), "ram": int(new["memory_mb"]) - int(old["memory_mb"])}
    deltas = {k: v for k, v in deltas.items() if v > 0}
    if not deltas:
        return
    limits = quotas.limits_for(s, inst.project_id, inst.user_id)
    used = instances.usage(s, inst.project_id)
    over = [r for r, d in deltas.items() if limits[r] >= 0 and used[r] + d > limits[r]]
    if over:
        names = ", ".join(over)
        raise Forbidden(f"Quota exceeded for {names}: Requested {', '.join(str(deltas[r]) for r in over)}, "
                        f"but already used {', '.join(str(used[r]) for r in over)} of "
                        f"{', '.join(str(limits[r]) for r in over)} {names}")


@action("resize")
async def resize(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    body = _object(arg, "resize")
    check_keys(body, {"flavorRef", "OS-DCF:diskConfig"}, "resize")
    _required(body, ["flavorRef"], "resize")
    ref = body["flavorRef"]
    if isinstance(ref, bool) or not isinstance(ref, (str, int)) or str(ref) == "":
        raise invalid("flavorRef", ref, f"{ref!r} is not of type 'string', 'integer'")
    if "OS-DCF:diskConfig" in body and body["OS-DCF:diskConfig"] not in ("AUTO", "MANUAL"):
        raise invalid("OS-DCF:diskConfig", body["OS-DCF:diskConfig"], "is not one of ['AUTO', 'MANUAL']")
    flavor_id = str(ref).rstrip("/").rsplit("/", 1)[-1]
    enforce(request, ctx, "os_compute_api:servers:resize", {"project_id": row["project_id"], "user_id": row["user_id"]})
    viewer = flavor_svc.Viewer(project_id=ctx.project_id, is_admin=allowed(request, ctx, "context_is_admin"))

    def prepare(s: Session, inst: Instance) -> dict[str, Any]:
        try:
            flavor = flavor_svc.get_flavor(s, flavor_id, viewer)
        except NotFound:
            raise BadRequest(f"Flavor {flavor_id} could not be found.") from None
        current = inst.flavor
        if flavor.flavorid == current.get("flavorid"):
            raise BadRequest("When resizing, instances must change flavor!")
        if flavor.disabled:
            raise BadRequest(f"Flavor {flavor_id} could not be found.")
        if flavor.root_gb == 0 and int(current.get("root_gb") or 0) != 0:
            raise BadRequest("Server disk was unable to be resized because: "
                             "Resize to zero disk flavor is not allowed.")
        image = (inst.system_metadata or {}).get("image_properties") or {}
        if int(image.get("min_ram") or 0) > flavor.memory_mb:
            raise BadRequest("Flavor's memory is too small for requested image.")
        if flavor.root_gb and int(image.get("min_disk") or 0) > flavor.root_gb:
            raise BadRequest(f"Flavor's disk is too small for requested image. Flavor disk is "
                             f"{flavor.root_gb * 1024 ** 3} bytes, minimum size is "
                             f"{int(image['min_disk']) * 1024 ** 3} bytes.")
        new = _flavor_snapshot(flavor)
        check_upsize_quota(s, inst, current, new)
        return {"flavor": new}

    move = Move("resize", "resize", (states.ACTIVE, states.STOPPED), states.RESIZE_PREP, "resize",
                "pre-migrating", host_up=True)
    inst, mig, extra = await _begin(request, ctx, row, move, prepare)
    await _conductor(request).migrate_server(inst["uuid"], mig["uuid"], extra["flavor"], requested_host=None,
                                             request_id=request.state.request_id)
    return Response(status_code=202)


@action("migrate")
async def migrate(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    host = None
    if at_least(request, 2, 56) and arg is not None:  # before 2.56 Nova ignores the body
        body = _object(arg, "migrate")
        check_keys(body, {"host"}, "migrate")
        host = _host_field(body.get("host"))
    target = {"project_id": row["project_id"]}
    enforce(request, ctx, "os_compute_api:os-migrate-server:migrate:host" if host
            else "os_compute_api:os-migrate-server:migrate", target)

    def prepare(s: Session, inst: Instance) -> dict[str, Any]:
        if host is not None:
            if host == inst.host:
                raise BadRequest("Cannot migrate to the host where the server exists.")
            if not _node_exists(s, host):
                raise BadRequest(f"Compute host {host} could not be found.")
        return {"flavor": dict(inst.flavor)}

    move = Move("migrate", "migrate", (states.ACTIVE, states.STOPPED), states.RESIZE_PREP, "migration",
                "pre-migrating", host_up=True)
    inst, mig, extra = await _begin(request, ctx, row, move, prepare)
    await _conductor(request).migrate_server(inst["uuid"], mig["uuid"], extra["flavor"], requested_host=host,
                                             request_id=request.state.request_id)
    return Response(status_code=202)


# --- confirm / revert ------------------------------------------------------------------------

async def _settle(request: Request, ctx: AuthContext, row: dict[str, Any], name: str,
                  revert: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    compute = compute_of(request)
    admin = allowed(request, ctx, "context_is_admin")
    down_after = compute.config.compute.service_down_time

    def write(s: Session) -> tuple[dict[str, Any], dict[str, Any]]:
        inst = instances.get(s, row["uuid"])
        instances.check_not_locked(inst, admin)
        instances.check_state(inst, name, (states.RESIZED,), (None,))
        mig = migration_rows.latest(s, inst.uuid, "finished")
        if mig is None:
            raise BadRequest(NOT_RESIZED)
        if revert:
            check_upsize_quota(s, inst, inst.flavor, inst.old_flavor or inst.flavor)
            try:
                inst = instances.apply_update(s, inst.uuid, {"task_state": states.RESIZE_REVERTING},
                                              expected_task_state=[None], expected_vm_state=[states.RESIZED])
            except instances.UnexpectedTaskState:
                raise Conflict(f"Cannot '{name}' instance {inst.uuid} while it is in task_state "
                               f"{inst.task_state}") from None
            mig.status = "reverting"
        else:
            if not mig.source_compute or not _service_up(s, mig.source_compute, down_after):
                raise Conflict(UNAVAILABLE)
            mig.status = "confirming"
        mig.updated_at = utcnow()
        instances.start_action(s, inst.uuid, name, request.state.request_id, ctx.project_id or "", ctx.user_id or "")
        s.flush()
        return instances.to_dict(inst), migration_rows.migration_dict(mig)

    return await compute.db.write(write)


# Nova validates no body for confirmResize / revertResize: null, {} or anything else is accepted.
@action("confirmResize")
async def confirm_resize(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    enforce(request, ctx, "os_compute_api:servers:confirm_resize", {"project_id": row["project_id"]})
    inst, mig = await _settle(request, ctx, row, "confirmResize", revert=False)
    agents = compute_of(request).agents
    assert agents is not None
    await agents.confirm_resize(mig["source_compute"], inst, mig, request_id=request.state.request_id)
    return Response(status_code=204)


@action("revertResize")
async def revert_resize(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    enforce(request, ctx, "os_compute_api:servers:revert_resize", {"project_id": row["project_id"]})
    inst, mig = await _settle(request, ctx, row, "revertResize", revert=True)
    agents = compute_of(request).agents
    assert agents is not None
    await agents.revert_resize(mig["dest_compute"], inst, mig, request_id=request.state.request_id)
    return Response(status_code=202)


async def confirm_before_delete(request: Request, row: dict[str, Any]) -> None:
    """Deleting a server that waits in VERIFY_RESIZE confirms the resize first (Nova does so), so
    the source host drops the set-aside disks and placement the migration's allocation. For
    ``servers.delete_instance`` to await before it deletes."""
    if row.get("vm_state") != states.RESIZED:
        return
    compute = compute_of(request)

    def write(s: Session) -> dict[str, Any] | None:
        mig = migration_rows.latest(s, row["uuid"], "finished")
        if mig is None:
            return None
        mig.status, mig.updated_at = "confirming", utcnow()
        s.flush()
        return migration_rows.migration_dict(mig)

    mig = await compute.db.write(write)
    if mig is not None and compute.agents is not None:
        await compute.agents.confirm_resize_and_wait(mig["source_compute"], row, mig,
                                                     request_id=request.state.request_id)


# --- live migration --------------------------------------------------------------------------

def _live_args(request: Request, arg: Any) -> tuple[str | None, bool | None, bool]:
    """(host, block_migration (None: auto), forced) as each microversion's schema reads them."""
    body = _object(arg, "os-migrateLive")
    keys = {"block_migration", "host"}
    required = ["block_migration", "host"]
    if not at_least(request, 2, 25):
        keys.add("disk_over_commit")
        required.append("disk_over_commit")
    if at_least(request, 2, 30) and not at_least(request, 2, 68):
        keys.add("force")
    check_keys(body, keys, "os-migrateLive")
    _required(body, required, "os-migrateLive")
    host = _host_field(body["host"])
    block = _bool_or_auto(body["block_migration"], "block_migration", at_least(request, 2, 25))
    if "disk_over_commit" in body:
        as_bool(body["disk_over_commit"], "disk_over_commit")
    if not at_least(request, 2, 30):
        return host, block, bool(host)  # a host named before 2.30 bypasses the scheduler
    force = as_bool(body.get("force", False), "force") if "force" in body else False
    if force and not host:
        raise BadRequest("Can't force to a non-provided destination")
    return host, block, force


@action("os-migrateLive")
async def live_migrate(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    host, block, force = _live_args(request, arg)
    target = {"project_id": row["project_id"]}
    enforce(request, ctx, "os_compute_api:os-migrate-server:migrate_live:host" if host
            else "os_compute_api:os-migrate-server:migrate_live", target)

    def prepare(s: Session, inst: Instance) -> dict[str, Any]:
        if host is not None and not _node_exists(s, host):
            raise BadRequest(f"Compute host {host} could not be found.")
        return {"dest": host}

    move = Move("os-migrateLive", "live-migration", (states.ACTIVE, states.PAUSED), states.MIGRATING,
                "live-migration", "accepted")
    inst, mig, _extra = await _begin(request, ctx, row, move, prepare)
    conductor = _conductor(request)
    if at_least(request, 2, 34):  # checks run after the 202; failures show on the migration
        await conductor.start_live_migration(inst["uuid"], mig["uuid"], host=host, force=force,
                                             block_migration=block, request_id=request.state.request_id)
    else:
        error = await conductor.live_migrate_instance(inst["uuid"], mig["uuid"], host=host, force=force,
                                                      block_migration=block, request_id=request.state.request_id)
        if error:
            raise BadRequest(error)
    return Response(status_code=202)


# --- evacuate --------------------------------------------------------------------------------

def _new_password(length: int = 12) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


@action("evacuate")
async def evacuate(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    body = _object(arg, "evacuate")
    keys = {"host", "adminPass"}
    if not at_least(request, 2, 14):
        keys.add("onSharedStorage")
    if at_least(request, 2, 29) and not at_least(request, 2, 68):
        keys.add("force")
    check_keys(body, keys, "evacuate")
    if not at_least(request, 2, 14):
        _required(body, ["onSharedStorage"], "evacuate")
    host = _host_field(body["host"], nullable=False) if "host" in body else None
    if "adminPass" in body and not isinstance(body["adminPass"], str):
        raise invalid("adminPass", body["adminPass"], f"{body['adminPass']!r} is not of type 'string'")
    enforce(request, ctx, "os_compute_api:os-evacuate", {"project_id": row["project_id"], "user_id": row["user_id"]})
    force = bool(host) and not at_least(request, 2, 29)  # a host named before 2.29 bypasses the scheduler
    if at_least(request, 2, 29) and "force" in body:
        force = as_bool(body["force"], "force")
        if force and not host:
            raise BadRequest("Can't force to a non-provided destination")
    password: str | None
    if at_least(request, 2, 14):
        password = body.get("adminPass") or _new_password()
    else:
        shared = as_bool(body["onSharedStorage"], "onSharedStorage")
        if "adminPass" in body and shared:
            raise BadRequest("admin password can't be changed on existing disk")
        password = body.get("adminPass") or (None if shared else _new_password())
    down_after = compute_of(request).config.compute.service_down_time

    def prepare(s: Session, inst: Instance) -> dict[str, Any]:
        if _service_up(s, inst.host or "", down_after):
            raise BadRequest(f"Compute service of {inst.host} is still in use.")
        return {"dest": host}

    def precheck(s: Session) -> None:
        if host is not None and s.scalar(select(Service.id).where(
                Service.host == host, Service.binary == COMPUTE_BINARY)) is None:
            raise NotFound(f"Compute host {host} not found.")
        if host is not None and host == row["host"]:
            raise BadRequest("The target host can't be the same one.")

    await compute_of(request).db.read(precheck)
    move = Move("evacuate", "evacuate", (states.ACTIVE, states.STOPPED, states.ERROR), states.REBUILDING,
                "evacuation", "accepted", check_lock=False)
    inst, mig, _extra = await _begin(request, ctx, row, move, prepare)
    await _conductor(request).evacuate_instance(inst["uuid"], mig["uuid"], host=host, force=force,
                                                target_state=states.STOPPED if at_least(request, 2, 95) else None,
                                                request_id=request.state.request_id)
    if not at_least(request, 2, 14):
        return json_response({"adminPass": password})
    return Response(status_code=200)
