"""Server actions that change a server on its host: power, reboot, pause, suspend, lock, rescue,
reset state, password, console output and remote consoles (snapshots, shelve and rebuild are in
actions_images.py).

Each handler does what Nova's API does before the cast: the policy rule, the lock check, the
vm/task state check (409 "Cannot '<action>' instance ... while it is in vm_state ..."), a
conditional update that sets the task state, and the instance-action record; then it casts
to the server's host (agent/actions.py), or to the conductor for unshelve (conductor/shelve.py).
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.compute import states
from onestack.compute.api.common import (
    at_least,
    caller,
    check_keys,
    compute_of,
    enforce,
    invalid,
    is_admin,
    require_version,
    wrapped_body,
)
from onestack.compute.api.server_actions import action
from onestack.compute.api.servers import delete_instance, load
from onestack.compute.models import InstanceAction
from onestack.compute.rpcapi import AgentAPI, InstanceDict
from onestack.compute.service import instances
from onestack.compute.virt.driver import (
    ConsoleUnavailable,
    InstanceNotFound,
    InvalidPowerState,
    NotSupported,
    PasswordSetFailed,
)
from onestack.core.api.faults import BadRequest, Conflict, NotFound, NotImplementedFault
from onestack.core.api.http import RouteTable, json_response
from onestack.core.api.microversion import Version
from onestack.core.auth import AuthContext
from onestack.core.ids import utcnow

routes = RouteTable()

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


def _target(row: dict[str, Any]) -> dict[str, Any]:
    return {"project_id": row["project_id"], "user_id": row["user_id"]}


def _obj(arg: Any, name: str, nullable: bool = False) -> dict[str, Any]:
    if arg is None and nullable:
        return {}
    if not isinstance(arg, dict):
        raise invalid(name, arg, f"{arg!r} is not of type 'object'")
    return arg


def _not_ready(uuid: str) -> Conflict:
    return Conflict(f"Instance {uuid} is not ready")


def _merge_meta(inst: Any, changes: dict[str, Any]) -> None:
    """Set some system_metadata keys (None removes one) without clobbering the rest."""
    meta = dict(inst.system_metadata or {})
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    inst.system_metadata = meta


# --- the common shape: check, set the task state, record the action -------------------------

@dataclass(frozen=True)
class Transition:
    name: str  # as Nova names it in the 409 message
    action: str  # the os-instance-actions name
    vm_states: tuple[str, ...] | None
    task: str | None  # the task state set now (None: the action sets none)
    task_states: tuple[str | None, ...] = (None,)
    lock: bool = True
    need_host: bool = True


async def begin(request: Request, ctx: AuthContext, uuid: str, t: Transition,
                values: dict[str, Any] | None = None, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check the row and move it into the action's task state; the updated row."""
    admin = is_admin(request, ctx)

    def write(s: Session) -> dict[str, Any]:
        inst = instances.get(s, uuid)
        if t.lock:
            instances.check_not_locked(inst, admin)
        if t.need_host and not inst.host:
            raise _not_ready(uuid)
        instances.check_state(inst, t.name, t.vm_states, t.task_states)
        if inst.launched_at is None:  # Nova's must_have_launched
            raise Conflict(f"Cannot '{t.name}' instance {uuid} while it is in launched_at None")
        update = dict(values or {})
        if t.task is not None:
            update["task_state"] = t.task
        try:
            inst = instances.apply_update(s, uuid, update, expected_task_state=list(t.task_states))
        except instances.UnexpectedTaskState as exc:
            raise Conflict(str(exc)) from None
        if meta:
            _merge_meta(inst, meta)
        instances.start_action(s, uuid, t.action, request.state.request_id, ctx.project_id or "", ctx.user_id)
        s.flush()
        return instances.to_dict(inst)

    return await compute_of(request).db.write(write)


def agents(request: Request) -> AgentAPI:
    """The agents' client: each method names the server's host first."""
    api = compute_of(request).agents
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
    async def handler(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
        enforce(request, ctx, rule, _target(row))
        updated = await begin(request, ctx, row["uuid"], t)
        await method(agents(request), updated["host"], updated, request.state.request_id)
        return accepted()


for _name, (_rule, _t, _method) in SIMPLE.items():
    _simple(_name, _rule, _t, _method)


@action("reboot")
async def reboot(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    body = _obj(arg, "reboot")
    check_keys(body, {"type"}, "reboot")
    kind = body.get("type")
    if kind not in ("HARD", "Hard", "hard", "SOFT", "Soft", "soft"):
        raise invalid("type", kind, f"{kind!r} is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']")
    enforce(request, ctx, "os_compute_api:servers:reboot", _target(row))
    hard = kind.upper() == "HARD"
    t = (Transition("reboot", "reboot", ALLOW_HARD_REBOOT, states.REBOOTING_HARD, ALLOW_REBOOT_TASKS)
         if hard else Transition("reboot", "reboot", (states.ACTIVE,), states.REBOOTING))
    updated = await begin(request, ctx, row["uuid"], t)
    await agents(request).reboot_instance(updated["host"], updated, reboot_type="HARD" if hard else "SOFT",
                                          request_id=request.state.request_id)
    return accepted()


@action("trigger_crash_dump")
async def trigger_crash_dump(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    require_version(request, Version(2, 17))
    if arg is not None:
        raise invalid("trigger_crash_dump", arg, f"{arg!r} is not of type 'null'")
    enforce(request, ctx, "os_compute_api:servers:trigger_crash_dump", _target(row))
    t = Transition("trigger_crash_dump", "trigger_crash_dump", ALLOW_CRASH_DUMP, None)
    updated = await begin(request, ctx, row["uuid"], t)
    await agents(request).trigger_crash_dump(updated["host"], updated, request_id=request.state.request_id)
    return accepted()


# --- lock / unlock / resetState: API-only changes ---------------------------------------------

async def _api_action(request: Request, ctx: AuthContext, uuid: str, name: str, values: dict[str, Any],
                      event: str | None = None) -> None:
    """An action done entirely here: record it (and its api_* event) and write the row."""
    def write(s: Session) -> None:
        action_id = instances.start_action(s, uuid, name, request.state.request_id, ctx.project_id or "",
                                           ctx.user_id)
        instances.apply_update(s, uuid, values)
        if event:
            instances.event_start(s, uuid, request.state.request_id, event, None)
            instances.event_finish(s, uuid, request.state.request_id, event, "Success")
        done = s.get(InstanceAction, action_id)
        if done is not None:
            done.finish_time = utcnow()

    await compute_of(request).db.write(write)


@action("lock")
async def lock(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    reason = None
    if at_least(request, 2, 73) and arg is not None:
        body = _obj(arg, "lock")
        check_keys(body, {"locked_reason"}, "lock")
        if "locked_reason" in body:
            reason = body["locked_reason"]
            if not isinstance(reason, str) or not 1 <= len(reason) <= 255:
                raise invalid("locked_reason", reason, "must be a string of 1 to 255 characters")
    enforce(request, ctx, "os_compute_api:os-lock-server:lock", _target(row))
    owner = row["project_id"] == ctx.project_id
    if row["locked"] and owner:
        return accepted()  # the owner locking again changes nothing (Nova)
    values: dict[str, Any] = {"locked": True, "locked_by": "owner" if owner else "admin"}
    if reason:
        values["locked_reason"] = reason
    await _api_action(request, ctx, row["uuid"], "lock", values, "api_lock")
    return accepted()


@action("unlock")
async def unlock(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    enforce(request, ctx, "os_compute_api:os-lock-server:unlock", {"project_id": row["project_id"]})
    expected = "owner" if row["project_id"] == ctx.project_id else "admin"
    if row.get("locked_by") and row["locked_by"] != expected:
        enforce(request, ctx, "os_compute_api:os-lock-server:unlock:unlock_override",
                {"project_id": row["project_id"]})
    await _api_action(request, ctx, row["uuid"], "unlock",
                      {"locked": False, "locked_by": None, "locked_reason": None}, "api_unlock")
    return accepted()


@action("os-resetState")
async def reset_state(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    body = _obj(arg, "os-resetState")
    check_keys(body, {"state"}, "os-resetState")
    if "state" not in body:
        raise invalid("os-resetState", body, "'state' is a required property")
    if body["state"] not in ("active", "error"):
        raise invalid("state", body["state"], f"{body['state']!r} is not one of ['active', 'error']")
    enforce(request, ctx, "os_compute_api:os-admin-actions:reset_state", {"project_id": row["project_id"]})
    vm_state = states.ACTIVE if body["state"] == "active" else states.ERROR
    await _api_action(request, ctx, row["uuid"], "resetState", {"vm_state": vm_state, "task_state": None})
    return accepted()


# --- rescue / password / deferred delete -----------------------------------------------------

def _uuid_field(value: Any, field: str) -> str:
    try:
        return str(uuidlib.UUID(value)) if isinstance(value, str) else str(uuidlib.UUID(int=-1))
    except ValueError:
        raise invalid(field, value, f"{value!r} is not a 'uuid'") from None


@action("rescue")
async def rescue(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    body = _obj(arg, "rescue", nullable=True)
    check_keys(body, {"adminPass", "rescue_image_ref"}, "rescue")
    password = body.get("adminPass")
    if password is not None and not isinstance(password, str):
        raise invalid("adminPass", password, f"{password!r} is not of type 'string'")
    image_ref = _uuid_field(body["rescue_image_ref"], "rescue_image_ref") if "rescue_image_ref" in body else None
    password = password or uuidlib.uuid4().hex[:12]
    enforce(request, ctx, "os_compute_api:os-rescue", _target(row))
    t = Transition("rescue", "rescue", (states.ACTIVE, states.STOPPED, states.ERROR), states.RESCUING)
    await _precheck(request, ctx, row["uuid"], t)
    if image_ref is not None:
        images = compute_of(request).images
        if images is None or await images.get(image_ref, ctx.token) is None:
            raise BadRequest(f"Requested rescue image '{image_ref}' is not supported")
    updated = await begin(request, ctx, row["uuid"], t)
    await agents(request).rescue_instance(updated["host"], updated, request_id=request.state.request_id,
                                          rescue_password=password, rescue_image_ref=image_ref)
    return json_response({"adminPass": password})


@action("changePassword")
async def change_password(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    body = _obj(arg, "changePassword")
    check_keys(body, {"adminPass"}, "changePassword")
    if "adminPass" not in body:
        raise invalid("changePassword", body, "'adminPass' is a required property")
    if not isinstance(body["adminPass"], str):
        raise invalid("adminPass", body["adminPass"], f"{body['adminPass']!r} is not of type 'string'")
    enforce(request, ctx, "os_compute_api:os-admin-password", _target(row))
    t = Transition("changePassword", "changePassword", (states.ACTIVE,), states.UPDATING_PASSWORD)
    updated = await begin(request, ctx, row["uuid"], t)
    try:
        await agents(request).set_admin_password(updated["host"], updated, body["adminPass"],
                                                 request_id=request.state.request_id)
    except NotSupported:
        raise NotImplementedFault("Unable to set password on instance") from None
    except (PasswordSetFailed, InstanceNotFound, InvalidPowerState) as exc:
        raise Conflict(str(exc)) from None
    return accepted()


@action("forceDelete")
async def force_delete(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    # No deferred delete is configured, so this is a plain delete whatever the state (Nova).
    enforce(request, ctx, "os_compute_api:os-deferred-delete:force", _target(row))
    await delete_instance(request, ctx, row)
    return accepted()


@action("restore")
async def restore(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
    enforce(request, ctx, "os_compute_api:os-deferred-delete:restore", {"project_id": row["project_id"]})
    # Only a soft-deleted server can come back; with no deferred delete none ever is.
    t = Transition("restore", "restore", (states.SOFT_DELETED,), None, need_host=False)
    await begin(request, ctx, row["uuid"], t, {"vm_state": states.ACTIVE, "deleted_at": None})
    return accepted()


# --- console output and remote consoles -----------------------------------------------------

@action("os-getConsoleOutput")
async def console_output(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
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
    enforce(request, ctx, "os_compute_api:os-console-output", {"project_id": row["project_id"]})
    if not row.get("host"):
        raise _not_ready(row["uuid"])
    try:
        output = await agents(request).get_console_output(row["host"], row, length=length)
    except InstanceNotFound:
        raise NotFound(f"Instance {row['uuid']} could not be found.") from None
    except NotSupported:
        raise NotImplementedFault("The requested functionality is not supported.") from None
    return json_response({"output": _CONTROL.sub("", output)})


def _proxy_base(request: Request) -> str:
    configured = compute_of(request).config.compute.novncproxy_base_url
    return configured or f"http://{request.url.hostname or '127.0.0.1'}:6080/vnc_lite.html"


async def _console_url(request: Request, row: dict[str, Any], protocol: str, kind: str | None) -> str:
    """A noVNC URL with a fresh token for the guest's VNC console, as Nova's get_vnc_console."""
    if protocol != "vnc":  # spice, serial, mks and rdp consoles are not enabled
        raise BadRequest(f"Unavailable console type {kind if protocol != 'rdp' else protocol}.")
    if kind != "novnc":
        raise BadRequest(f"Invalid console type {kind}")
    uuid = row["uuid"]
    if not row.get("host"):
        raise _not_ready(uuid)
    if row.get("task_state") in (states.DELETING, states.MIGRATING):
        raise Conflict(f"Cannot 'get_vnc_console' instance {uuid} while it is in task_state {row['task_state']}")
    try:
        info = await agents(request).get_vnc_console(row["host"], row)
    except NotSupported:
        raise NotImplementedFault("The requested functionality is not supported.") from None
    except (InstanceNotFound, ConsoleUnavailable):
        raise _not_ready(uuid) from None
    token = str(uuidlib.uuid4())
    record = {"token_hash": hashlib.sha256(token.encode()).hexdigest(), "console_type": kind,
              "host": info["host"], "port": info["port"], "internal_access_path": info.get("internal_access_path"),
              "expires": int(time.time()) + CONSOLE_TOKEN_TTL}

    def remember(s: Session) -> None:  # kept with the server until it expires, for the console proxy
        inst = instances.get(s, uuid)
        now = int(time.time())
        live = [t for t in (inst.system_metadata or {}).get("console_tokens", []) if t.get("expires", 0) > now]
        _merge_meta(inst, {"console_tokens": [*live[-9:], record]})

    await compute_of(request).db.write(remember)
    return f"{_proxy_base(request)}?path=%3Ftoken%3D{token}"


def _legacy_console(name: str, protocol: str, allowed_types: tuple[str, ...]) -> None:
    @action(name)
    async def handler(request: Request, ctx: AuthContext, row: dict[str, Any], arg: Any) -> Response:
        require_version(request, maximum=Version(2, 5))
        body = _obj(arg, name)
        check_keys(body, {"type"}, name)
        kind = body.get("type")
        if kind not in allowed_types:
            raise invalid("type", kind, f"{kind!r} is not one of {list(allowed_types)}")
        enforce(request, ctx, "os_compute_api:os-remote-consoles", {"project_id": row["project_id"]})
        url = await _console_url(request, row, protocol, kind)
        return json_response({"console": {"type": kind, "url": url}})


_legacy_console("os-getVNCConsole", "vnc", ("novnc", "xvpvnc"))
_legacy_console("os-getSPICEConsole", "spice", ("spice-html5",))
_legacy_console("os-getSerialConsole", "serial", ("serial",))
_legacy_console("os-getRDPConsole", "rdp", ("rdp-html5",))


@routes.post("/v2.1/servers/{server_id}/remote-consoles")
async def remote_consoles(request: Request) -> Response:
    ctx = await caller(request)
    require_version(request, Version(2, 6))
    body = await wrapped_body(request, "remote_console")
    row = await load(request, ctx, request.path_params["server_id"], "os_compute_api:os-remote-consoles")
    check_keys(body, {"protocol", "type"}, "remote_console")
    protocols = ["vnc", "spice", "serial", "rdp"] + (["mks"] if at_least(request, 2, 8) else [])
    types = ["novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5"] + (["webmks"] if at_least(request, 2, 8) else [])
    if at_least(request, 2, 99):
        types.append("spice-direct")
    for field, choices in (("protocol", protocols), ("type", types)):
        if field not in body:
            raise invalid("remote_console", body, f"'{field}' is a required property")
        if body[field] not in choices:
            raise invalid(field, body[field], f"{body[field]!r} is not one of {choices}")
    url = await _console_url(request, row, body["protocol"], body["type"])
    return json_response({"remote_console": {"protocol": body["protocol"], "type": body["type"], "url": url}})


async def _precheck(request: Request, ctx: AuthContext, uuid: str, t: Transition) -> None:
    """The state checks, before anything is created in the image service."""
    admin = is_admin(request, ctx)

    def read(s: Session) -> None:
        inst = instances.get(s, uuid)
        if t.lock:
            instances.check_not_locked(inst, admin)
        instances.check_state(inst, t.name, t.vm_states, t.task_states)
        if t.need_host and not inst.host:
            raise _not_ready(uuid)

    await compute_of(request).db.read(read)
