"""Server actions that change a server on its host: power, reboot, pause, suspend, lock, rescue,
reset state, password, console output and remote consoles (snapshots, shelve and rebuild are in
actions_images.py).

Each handler does what Nova's API does before the cast: the policy rule, the lock check, the
vm/task state check (409 "Cannot '<action>' instance ... while it is in vm_state ..."), a
conditional update that sets the task state, and the instance-action record; then it casts
to the server's host (agent/actions.py), or to the conductor for unshelve (conductor/shelve.py).
"""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from onestack.compute import states
from onestack.compute.api.common import ComputeRoutes, Req, check_keys, invalid
from onestack.compute.api.server_actions import action
from onestack.compute.api.servers import actor, delete_instance, load
from onestack.compute.novncproxy import NOVNC_PAGE
from onestack.compute.rpcapi import AgentAPI, InstanceDict
from onestack.compute.service import consoles
from onestack.compute.service import server_actions as actions
from onestack.compute.service.server_actions import Transition, not_ready
from onestack.compute.virt.driver import (
    ConsoleUnavailable,
    InstanceNotFound,
    InvalidPowerState,
    NotSupported,
    PasswordSetFailed,
)
from onestack.core.api.faults import BadRequest, Conflict, NotFound, NotImplementedFault
from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version
from onestack.core.auth import AuthContext

routes = ComputeRoutes()

IMAGE_SNAPSHOT_PENDING = "image_snapshot_pending"
ALLOW_HARD_REBOOT = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED, states.ERROR)
ALLOW_REBOOT_TASKS: tuple[str | None, ...] = (
    None, states.REBOOTING, states.REBOOT_PENDING, states.REBOOT_STARTED, states.RESUMING,
    states.REBOOTING_HARD, states.UNPAUSING, states.PAUSING, states.SUSPENDING)
ALLOW_CRASH_DUMP = (states.ACTIVE, states.PAUSED, states.RESCUED, states.RESIZED, states.ERROR)
SNAPSHOT_FROM = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED)
# Image attributes a snapshot does not inherit from the image the server booted from.
NOT_INHERITED = {"name", "disk_format", "container_format", "min_disk", "min_ram", "protected", "os_hidden",
                 "cache_in_nova", "bittorrent", "img_signature", "img_signature_hash_method",
                 "img_signature_key_type", "img_signature_certificate_uuid", "onestack_builtin"}
CONSOLE_TOKEN_TTL = 600  # seconds (Nova's [consoleauth] token_ttl)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")

# Nova's request schemas of these actions (the value under the action's key).
REBOOT: dict[str, Any] = {"type": "object", "required": ["type"], "additionalProperties": False, "properties": {
    "type": {"enum": ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}}}
RESET_STATE: dict[str, Any] = {"type": "object", "required": ["state"], "additionalProperties": False,
                               "properties": {"state": {"enum": ["active", "error"]}}}
CHANGE_PASSWORD: dict[str, Any] = {"type": "object", "required": ["adminPass"], "additionalProperties": False,
                                   "properties": {"adminPass": {"type": "string"}}}


def _target(row: dict[str, Any]) -> dict[str, Any]:
    return {"project_id": row["project_id"], "user_id": row["user_id"]}


def _obj(arg: Any, name: str, nullable: bool = False) -> dict[str, Any]:
    if arg is None and nullable:
        return {}
    if not isinstance(arg, dict):
        raise invalid(name, arg, f"{arg!r} is not of type 'object'")
    return arg


async def begin(req: Req, ctx: AuthContext, uuid: str, t: Transition,
                values: dict[str, Any] | None = None, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check the row and move it into the action's task state; the updated row."""
    return await req.write(actions.begin, uuid, t, await req.is_admin(), await actor(req), values, meta)


def agents(req: Req) -> AgentAPI:
    """The agents' client: each method names the server's host first."""
    api = req.state.agents
    assert api is not None
    return api


# An agent method that takes only the server (and the request id): start_instance, pause_instance, ...
Cast = Callable[[AgentAPI, str, InstanceDict, str | None], Awaitable[None]]


def accepted() -> Response:
    return Response(status_code=202)


# --- start, stop, pause, unpause, suspend, resume, unrescue, shelveOffload --------------------

SIMPLE: dict[str, tuple[str, Transition, Cast]] = {
    "os-start": ("os_compute_api:servers:start",
                 Transition("start", "start", (states.STOPPED,), states.POWERING_ON), AgentAPI.start_instance),
    "os-stop": ("os_compute_api:servers:stop",
                Transition("stop", "stop", (states.ACTIVE, states.ERROR), states.POWERING_OFF),
                AgentAPI.stop_instance),
    "pause": ("os_compute_api:os-pause-server:pause",
              Transition("pause", "pause", (states.ACTIVE,), states.PAUSING), AgentAPI.pause_instance),
    "unpause": ("os_compute_api:os-pause-server:unpause",
                Transition("unpause", "unpause", (states.PAUSED,), states.UNPAUSING), AgentAPI.unpause_instance),
    "suspend": ("os_compute_api:os-suspend-server:suspend",
                Transition("suspend", "suspend", (states.ACTIVE,), states.SUSPENDING), AgentAPI.suspend_instance),
    "resume": ("os_compute_api:os-suspend-server:resume",
               Transition("resume", "resume", (states.SUSPENDED,), states.RESUMING), AgentAPI.resume_instance),
    "unrescue": ("os_compute_api:os-unrescue",
                 Transition("unrescue", "unrescue", (states.RESCUED,), states.UNRESCUING),
                 AgentAPI.unrescue_instance),
    "shelveOffload": ("os_compute_api:os-shelve:shelve_offload",
                      Transition("shelveOffload", "shelveOffload", (states.SHELVED,), states.SHELVING_OFFLOADING),
                      AgentAPI.shelve_offload_instance),
}


def _simple(name: str, rule: str, t: Transition, method: Cast) -> None:
    @action(name)
    async def handler(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
        await req.enforce(rule, _target(row))
        updated = await begin(req, ctx, row["uuid"], t)
        await method(agents(req), updated["host"], updated, req.request_id)
        return accepted()


for _name, (_rule, _t, _method) in SIMPLE.items():
    _simple(_name, _rule, _t, _method)


@action("reboot")
async def reboot(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    req.validate(arg, REBOOT, wrapper="reboot")
    kind = arg["type"]
    await req.enforce("os_compute_api:servers:reboot", _target(row))
    hard = kind.upper() == "HARD"
    t = (Transition("reboot", "reboot", ALLOW_HARD_REBOOT, states.REBOOTING_HARD, ALLOW_REBOOT_TASKS)
         if hard else Transition("reboot", "reboot", (states.ACTIVE,), states.REBOOTING))
    updated = await begin(req, ctx, row["uuid"], t)
    await agents(req).reboot_instance(updated["host"], updated, reboot_type="HARD" if hard else "SOFT",
                                          request_id=req.request_id)
    return accepted()


@action("trigger_crash_dump")
async def trigger_crash_dump(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    req.require_version(Version(2, 17))
    if arg is not None:
        raise invalid("trigger_crash_dump", arg, f"{arg!r} is not of type 'null'")
    await req.enforce("os_compute_api:servers:trigger_crash_dump", _target(row))
    t = Transition("trigger_crash_dump", "trigger_crash_dump", ALLOW_CRASH_DUMP, None)
    updated = await begin(req, ctx, row["uuid"], t)
    await agents(req).trigger_crash_dump(updated["host"], updated, request_id=req.request_id)
    return accepted()


# --- lock / unlock / resetState: API-only changes ---------------------------------------------

async def _api_action(req: Req, uuid: str, name: str, values: dict[str, Any], event: str | None = None) -> None:
    """An action done entirely here: record it (and its api_* event) and write the row."""
    await req.write(actions.api_action, uuid, name, values, await actor(req), event)


@action("lock")
async def lock(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    reason = None
    if req.at_least(2, 73) and arg is not None:
        body = _obj(arg, "lock")
        check_keys(body, {"locked_reason"}, "lock")
        if "locked_reason" in body:
            reason = body["locked_reason"]
            if not isinstance(reason, str) or not 1 <= len(reason) <= 255:
                raise invalid("locked_reason", reason, "must be a string of 1 to 255 characters")
    await req.enforce("os_compute_api:os-lock-server:lock", _target(row))
    owner = row["project_id"] == ctx.project_id
    if row["locked"] and owner:
        return accepted()  # the owner locking again changes nothing (Nova)
    values: dict[str, Any] = {"locked": True, "locked_by": "owner" if owner else "admin"}
    if reason:
        values["locked_reason"] = reason
    await _api_action(req, row["uuid"], "lock", values, "api_lock")
    return accepted()


@action("unlock")
async def unlock(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    await req.enforce("os_compute_api:os-lock-server:unlock", {"project_id": row["project_id"]})
    expected = "owner" if row["project_id"] == ctx.project_id else "admin"
    if row.get("locked_by") and row["locked_by"] != expected:
        await req.enforce("os_compute_api:os-lock-server:unlock:unlock_override",
                {"project_id": row["project_id"]})
    await _api_action(req, row["uuid"], "unlock",
                      {"locked": False, "locked_by": None, "locked_reason": None}, "api_unlock")
    return accepted()


@action("os-resetState")
async def reset_state(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    req.validate(arg, RESET_STATE, wrapper="os-resetState")
    body = arg
    await req.enforce("os_compute_api:os-admin-actions:reset_state", {"project_id": row["project_id"]})
    vm_state = states.ACTIVE if body["state"] == "active" else states.ERROR
    await _api_action(req, row["uuid"], "resetState", {"vm_state": vm_state, "task_state": None})
    return accepted()


@action("injectNetworkInfo")
async def inject_network_info(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    """Nova's admin action: the host reads the server's ports again (its info cache refreshed)."""
    await req.enforce("os_compute_api:os-admin-actions:inject_network_info", {"project_id": row["project_id"]})
    if row.get("locked") and not await req.is_admin():
        raise Conflict(f"Instance {row['uuid']} is locked")
    if not row.get("host"):
        raise not_ready(row["uuid"])
    await agents(req).inject_network_info(row["host"], row, req.request_id)
    return accepted()


# --- rescue / password / deferred delete -----------------------------------------------------

def _uuid_field(value: Any, field: str) -> str:
    try:
        return str(uuidlib.UUID(value)) if isinstance(value, str) else str(uuidlib.UUID(int=-1))
    except ValueError:
        raise invalid(field, value, f"{value!r} is not a 'uuid'") from None


@action("rescue")
async def rescue(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    body = _obj(arg, "rescue", nullable=True)
    check_keys(body, {"adminPass", "rescue_image_ref"}, "rescue")
    password = body.get("adminPass")
    if password is not None and not isinstance(password, str):
        raise invalid("adminPass", password, f"{password!r} is not of type 'string'")
    image_ref = _uuid_field(body["rescue_image_ref"], "rescue_image_ref") if "rescue_image_ref" in body else None
    password = password or uuidlib.uuid4().hex[:12]
    await req.enforce("os_compute_api:os-rescue", _target(row))
    t = Transition("rescue", "rescue", (states.ACTIVE, states.STOPPED, states.ERROR), states.RESCUING)
    await _precheck(req, ctx, row["uuid"], t)
    if image_ref is not None:
        images = req.state.images
        if images is None or await images.get(image_ref, ctx.token) is None:
            raise BadRequest(f"Requested rescue image '{image_ref}' is not supported")
    updated = await begin(req, ctx, row["uuid"], t)
    await agents(req).rescue_instance(updated["host"], updated, request_id=req.request_id,
                                          rescue_password=password, rescue_image_ref=image_ref)
    return json_response({"adminPass": password})


@action("changePassword")
async def change_password(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    req.validate(arg, CHANGE_PASSWORD, wrapper="changePassword")
    body = arg
    await req.enforce("os_compute_api:os-admin-password", _target(row))
    t = Transition("changePassword", "changePassword", (states.ACTIVE,), states.UPDATING_PASSWORD)
    updated = await begin(req, ctx, row["uuid"], t)
    try:
        await agents(req).set_admin_password(updated["host"], updated, body["adminPass"],
                                                 request_id=req.request_id)
    except NotSupported:
        raise NotImplementedFault("Unable to set password on instance") from None
    except (PasswordSetFailed, InstanceNotFound, InvalidPowerState) as exc:
        raise Conflict(str(exc)) from None
    return accepted()


@action("forceDelete")
async def force_delete(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    # No deferred delete is configured, so this is a plain delete whatever the state (Nova).
    await req.enforce("os_compute_api:os-deferred-delete:force", _target(row))
    await delete_instance(req, ctx, row)
    return accepted()


@action("restore")
async def restore(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    await req.enforce("os_compute_api:os-deferred-delete:restore", {"project_id": row["project_id"]})
    # Only a soft-deleted server can come back; with no deferred delete none ever is.
    t = Transition("restore", "restore", (states.SOFT_DELETED,), None, need_host=False)
    await begin(req, ctx, row["uuid"], t, {"vm_state": states.ACTIVE, "deleted_at": None})
    return accepted()


# --- console output and remote consoles -----------------------------------------------------

@action("os-getConsoleOutput")
async def console_output(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    body = _obj(arg, "os-getConsoleOutput")
    check_keys(body, {"length"}, "os-getConsoleOutput")
    length = body.get("length")
    if length is not None:
        if isinstance(length, bool) or not isinstance(length, (int, str)) or (
                isinstance(length, str) and not re.fullmatch(r"-?[0-9]+", length)):
            raise invalid("length", length, f"{length!r} is not of type 'integer', 'string', 'null'")
        length = int(length)
        if length < -1:
            raise invalid("length", length, f"{length} is less than the minimum of -1")
    await req.enforce("os_compute_api:os-console-output", {"project_id": row["project_id"]})
    if not row.get("host"):
        raise not_ready(row["uuid"])
    try:
        output = await agents(req).get_console_output(row["host"], row, length=length)
    except InstanceNotFound:
        raise NotFound(f"Instance {row['uuid']} could not be found.") from None
    except NotSupported:
        raise NotImplementedFault("The requested functionality is not supported.") from None
    return json_response({"output": _CONTROL.sub("", output)})


def _proxy_base(req: Req) -> str:
    """noVNC's page on this cloud's own address (compute/novncproxy.py), unless configured."""
    configured = req.state.config.compute.novncproxy_base_url
    return configured or f"{str(req.request.base_url).rstrip('/')}{NOVNC_PAGE}"


async def _console_url(req: Req, row: dict[str, Any], protocol: str, kind: str | None) -> str:
    """A noVNC URL with a fresh token for the guest's VNC console, as Nova's get_vnc_console."""
    if protocol != "vnc":  # spice, serial, mks and rdp consoles are not enabled
        raise BadRequest(f"Unavailable console type {kind if protocol != 'rdp' else protocol}.")
    if kind != "novnc":
        raise BadRequest(f"Invalid console type {kind}")
    uuid = row["uuid"]
    if not row.get("host"):
        raise not_ready(uuid)
    if row.get("task_state") in (states.DELETING, states.MIGRATING):
        raise Conflict(f"Cannot 'get_vnc_console' instance {uuid} while it is in task_state {row['task_state']}")
    try:
        info = await agents(req).get_vnc_console(row["host"], row)
    except NotSupported:
        raise NotImplementedFault("The requested functionality is not supported.") from None
    except (InstanceNotFound, ConsoleUnavailable):
        raise not_ready(uuid) from None
    token = str(uuidlib.uuid4())
    await req.write(consoles.remember, uuid, token, kind, info["host"], info["port"],
                    info.get("internal_access_path"), CONSOLE_TOKEN_TTL)
    # noVNC opens its websocket on ``path`` below the host's root, as with nova-novncproxy.
    return f"{_proxy_base(req)}?path=%3Ftoken%3D{token}"


def _legacy_console(name: str, protocol: str, allowed_types: tuple[str, ...]) -> None:
    @action(name)
    async def handler(req: Req, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
        req.require_version(maximum=Version(2, 5))
        body = _obj(arg, name)
        check_keys(body, {"type"}, name)
        kind = body.get("type")
        if kind not in allowed_types:
            raise invalid("type", kind, f"{kind!r} is not one of {list(allowed_types)}")
        await req.enforce("os_compute_api:os-remote-consoles", {"project_id": row["project_id"]})
        url = await _console_url(req, row, protocol, kind)
        return json_response({"console": {"type": kind, "url": url}})


_legacy_console("os-getVNCConsole", "vnc", ("novnc", "xvpvnc"))
_legacy_console("os-getSPICEConsole", "spice", ("spice-html5",))
_legacy_console("os-getSerialConsole", "serial", ("serial",))
_legacy_console("os-getRDPConsole", "rdp", ("rdp-html5",))


@routes.post("/v2.1/servers/{server_id}/remote-consoles")
async def remote_consoles(req: Req) -> Response:
    ctx = await req.caller()
    req.require_version(Version(2, 6))
    body = await req.body(wrapper="remote_console")
    row = await load(req, ctx, req.path("server_id"), "os_compute_api:os-remote-consoles")
    check_keys(body, {"protocol", "type"}, "remote_console")
    protocols = ["vnc", "spice", "serial", "rdp"] + (["mks"] if req.at_least(2, 8) else [])
    types = ["novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5"] + (["webmks"] if req.at_least(2, 8) else [])
    if req.at_least(2, 99):
        types.append("spice-direct")
    for field, choices in (("protocol", protocols), ("type", types)):
        if field not in body:
            raise invalid("remote_console", body, f"'{field}' is a required property")
        if body[field] not in choices:
            raise invalid(field, body[field], f"{body[field]!r} is not one of {choices}")
    url = await _console_url(req, row, body["protocol"], body["type"])
    return json_response({"remote_console": {"protocol": body["protocol"], "type": body["type"], "url": url}})


async def _precheck(req: Req, ctx: AuthContext, uuid: str, t: Transition) -> None:
    """The state checks, before anything is created in the image service."""
    await req.read(actions.precheck, uuid, t, await req.is_admin())
