"""POST /v3/volumes/{id}/action: Cinder's volume actions, admin actions and image-metadata actions.

One handler per action key. Each validates its argument as Cinder's schema does, finds the
volume (404 for another project's), enforces the action's policy on the volume's project, then
runs the service function; work for a host is cast to its agent after the row change committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from starlette.responses import Response

from onestack.core.api.faults import ApiError, BadRequest, Forbidden
from onestack.core.api.http import json_response
from onestack.core.bus import BusTimeout, RemoteError
from onestack.volume.api.common import Req, VolumeRoutes, as_bool, caller
from onestack.volume.api.volumes import cast_delete
from onestack.volume.errors import ImageNotFound, InvalidInput, InvalidParameterValue
from onestack.volume.rpcapi import VolumeSpec
from onestack.volume.service import attachments as attach_svc
from onestack.volume.service import migrate_attached, migration
from onestack.volume.service import reimage as reimage_svc
from onestack.volume.service import volume_actions as actions
from onestack.volume.service import volumes as volumes_svc
from onestack.volume.service.create_flow import may_use
from onestack.volume.service.specs import agent_host

routes = VolumeRoutes()

Handler = Callable[[Req, str, Any], Awaitable[Response]]
ACTIONS: dict[str, Handler] = {}
ADMIN = "volume_extension:volume_admin_actions:"
VOL_ACTIONS = "volume_extension:volume_actions:"
IMAGE_META = "volume_extension:volume_image_metadata:"
INT_MAX = 2147483647
_BOOLEAN: dict[str, Any] = {"type": ["boolean", "string"]}
_UUID: dict[str, Any] = {"type": "string", "format": "uuid"}


class BackendError(ApiError):
    """The volume's agent failed or did not answer (Cinder's VolumeBackendAPIException → 500)."""

    status = 500


def action(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        ACTIONS[name] = fn
        return fn

    return register


@routes.post("/v3/volumes/{volume_id}/action")
async def volume_action(req: Req) -> Response:
    body = await req.json()
    if not isinstance(body, dict) or not body:
        raise BadRequest("Malformed request body")
    name, arg = next(iter(body.items()))
    handler = ACTIONS.get(name)
    if handler is None:
        raise BadRequest(f"There is no such action: {name}")
    if len(body) != 1:
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {body}. Additional properties are "
                         "not allowed")
    return await handler(req, req.path("volume_id"), arg)


# --- shared steps -----------------------------------------------------------------------------


def _object(req: Req, name: str, arg: Any, props: dict[str, Any], required: tuple[str, ...] = (),
            nullable: bool = False, **extra: Any) -> dict[str, Any]:
    """``arg`` checked against the action's schema (an object of ``props``, no others)."""
    schema: dict[str, Any] = {"type": ["object", "null"] if nullable else "object", "properties": props,
                              "additionalProperties": False, **extra}
    if required:
        schema["required"] = list(required)
    req.validate(arg, schema, wrapper=name)
    return dict(arg or {})


async def _authorize(req: Req, volume_id: str, rule: str) -> str:
    """404 for a volume the caller may not see, then the rule on the volume's project (returned)."""
    who = await caller(req)
    project: str = await req.read(actions.project_of, who, volume_id)
    await req.enforce(rule, {"project_id": project})
    return project


def _agents(req: Req) -> Any:
    return req.state.agents


def _accepted() -> Response:
    return Response(status_code=202)


async def _schedule(req: Req, volume_id: str, undo: Callable[..., None],
                    cast: Callable[[Any], Awaitable[None]]) -> None:
    """``cast`` to the scheduler once the row change committed; with no scheduler or a failed cast,
    ``undo`` takes the row change back and the error stands (Cinder's 500)."""
    scheduler = req.state.scheduler
    try:
        if scheduler is None:
            raise RuntimeError("no scheduler")
        await cast(scheduler)
    except Exception:
        await req.write(undo, volume_id)
        raise


async def _delete_left(req: Req, spec: VolumeSpec | None) -> None:
    """The delete of the volume a migration's completion leaves behind (if any) cast to its agent."""
    if spec is not None:
        await cast_delete(req, volumes_svc.DeletePlan(agent_host(spec["host"]), spec, []))


# --- size, status, flags ----------------------------------------------------------------------


@action("os-extend")
async def extend(req: Req, volume_id: str, arg: Any) -> Response:
    size_schema = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": INT_MAX}
    body = _object(req, "os-extend", arg, {"new_size": size_schema}, ("new_size",))
    new_size = int(body["new_size"])
    who = await caller(req)
    vol = await req.read(attach_svc.volume, who, volume_id)
    attached = req.at_least(3, 42) and vol.status == "in-use"
    await req.enforce("volume:extend_attached_volume" if attached else "volume:extend", {"project_id": vol.project_id})
    spec = await req.write(actions.extend, who, volume_id, new_size, attached)
    if _agents(req) is not None:
        await _agents(req).extend_volume(host=agent_host(spec["host"]), volume=spec, new_size=new_size)
    return _accepted()


def _checked_status(value: Any, allowed: tuple[str, ...], what: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest(f"Invalid input for field/attribute {what}. Value: {value}. {value!r} is not of type "
                         "'string', 'null'")
    if value.lower() not in allowed:
        label = {"status": "Volume status", "attach_status": "Volume attach status",
                 "migration_status": "Volume migration status"}[what]
        raise InvalidParameterValue(f"{label}: {value} is invalid, valid statuses are: {list(allowed)}.")
    return value.lower()


@action("os-reset_status")
async def reset_status(req: Req, volume_id: str, arg: Any) -> Response:
    props = {k: {"type": ["string", "null"]} for k in ("status", "attach_status", "migration_status")}
    body = _object(req, "os-reset_status", arg, props)
    update: dict[str, Any] = {}
    status = _checked_status(body.get("status"), actions.VOLUME_STATUSES, "status")
    attach_status = _checked_status(body.get("attach_status"), actions.ATTACH_STATUSES, "attach_status")
    migration = _checked_status(body.get("migration_status"), actions.MIGRATION_STATUSES, "migration_status")
    if not (status or attach_status or migration):
        raise InvalidParameterValue("Must specify 'status', 'attach_status' or 'migration_status' for update.")
    if status:
        update["status"] = status
    if attach_status:
        update["attach_status"] = attach_status
    if migration:
        update["migration_status"] = None if migration == "none" else migration
    await _authorize(req, volume_id, ADMIN + "reset_status")
    await req.write(actions.reset_status, volume_id, update)
    return _accepted()


@action("os-force_delete")
async def force_delete(req: Req, volume_id: str, arg: Any) -> Response:
    await _authorize(req, volume_id, ADMIN + "force_delete")
    # Cinder's delete with force=True: any status, still not attached, migrating or in a group.
    plan = await req.write(volumes_svc.begin_delete, volume_id, await caller(req), False, True)
    await cast_delete(req, plan)
    return _accepted()


@action("os-set_bootable")
async def set_bootable(req: Req, volume_id: str, arg: Any) -> Response:
    body = _object(req, "os-set_bootable", arg, {"bootable": _BOOLEAN}, ("bootable",))
    bootable = as_bool(body["bootable"], "bootable")
    await _authorize(req, volume_id, "volume:update")
    await req.write(actions.set_bootable, await caller(req), volume_id, bootable)
    return Response(status_code=200)


@action("os-update_readonly_flag")
async def update_readonly(req: Req, volume_id: str, arg: Any) -> Response:
    body = _object(req, "os-update_readonly_flag", arg, {"readonly": _BOOLEAN}, ("readonly",))
    readonly = as_bool(body["readonly"], "readonly")
    await _authorize(req, volume_id, "volume:update_readonly_flag")
    await req.write(actions.update_readonly, await caller(req), volume_id, readonly)
    return _accepted()


@action("os-retype")
async def retype(req: Req, volume_id: str, arg: Any) -> Response:
    props = {"new_type": {"type": "string"},
             "migration_policy": {"type": ["string", "null"], "enum": ["on-demand", "never", None]}}
    body = _object(req, "os-retype", arg, props, ("new_type",))
    project = await _authorize(req, volume_id, "volume:retype")
    if await req.read(actions.type_is_multiattach, body["new_type"]):
        # Cinder's retype checks the multiattach policy when the new type makes the volume multiattach.
        await req.enforce("volume:multiattach", {"project_id": project})
    who = await caller(req)
    result = await req.write(actions.retype, who, volume_id, body["new_type"], body.get("migration_policy"))
    if result.spec is not None:
        policy = body.get("migration_policy") or "never"
        await _schedule(req, volume_id, actions.retype_failed, lambda scheduler: scheduler.retype(
            volume_id=volume_id, new_type_id=result.new_type_id, migration_policy=policy))
    return _accepted()


@action("os-migrate_volume")
async def migrate_volume(req: Req, volume_id: str, arg: Any) -> Response:
    clusters = req.at_least(3, 16)
    props: dict[str, Any] = {"host": {"type": ["string", "null"] if clusters else "string", "maxLength": 255},
                             "force_host_copy": _BOOLEAN, "lock_volume": _BOOLEAN}
    if clusters:
        props["cluster"] = {"type": ["string", "null"], "maxLength": 255}
    body = _object(req, "os-migrate_volume", arg, props, () if clusters else ("host",))
    host, cluster = body.get("host"), body.get("cluster")
    if bool(host) == bool(cluster):  # Cinder's get_cluster_host
        raise InvalidInput("One and only one of cluster and host must be set." if clusters
                           else "Host field is missing.")
    as_bool(body.get("force_host_copy", False), "force_host_copy")  # checked; every copy here is generic
    lock = as_bool(body.get("lock_volume", False), "lock_volume")
    await _authorize(req, volume_id, ADMIN + "migrate_volume")
    await req.write(migration.begin, await caller(req), volume_id, host, cluster, lock)
    await _schedule(req, volume_id, migration.not_started,
                    lambda scheduler: scheduler.migrate_volume(volume_id=volume_id, host=host or ""))
    return _accepted()


@action("os-migrate_volume_completion")
async def migrate_volume_completion(req: Req, volume_id: str, arg: Any) -> Response:
    """Compute's call once it swapped the servers onto the migration's target (or failed to)."""
    body = _object(req, "os-migrate_volume_completion", arg, {"new_volume": _UUID, "error": _BOOLEAN},
                   ("new_volume",))
    error = as_bool(body.get("error", False), "error")
    await _authorize(req, volume_id, ADMIN + "migrate_volume_completion")
    new_id = body["new_volume"]
    done = await req.write(migrate_attached.complete, await caller(req), volume_id, new_id, error)
    gone = done.delete
    if done.rename is not None:
        moved, target = done.rename
        try:
            update = await _agents(req).update_migrated_volume(host=agent_host(target["host"]) or "",
                                                               volume=moved, new_volume=target)
        except (BusTimeout, RemoteError) as exc:
            await _delete_left(req, await req.write(migrate_attached.failed, volume_id, new_id))
            raise BackendError(f"The migration of volume {volume_id} failed: {exc}") from None
        gone = await req.write(migrate_attached.finish, volume_id, new_id, update)
        await migrate_attached.refresh_connections(req, _agents(req), volume_id)
    await _delete_left(req, gone)
    return json_response({"save_volume_id": done.save_volume_id})


# --- images -----------------------------------------------------------------------------------


@action("os-volume_upload_image")
async def upload_image(req: Req, volume_id: str, arg: Any) -> Response:
    props: dict[str, Any] = {
        "image_name": {"type": "string", "minLength": 1, "maxLength": 255},
        "force": _BOOLEAN,
        "disk_format": {"type": "string", "enum": ["raw", "vmdk", "vdi", "qcow2", "vhd", "vhdx", "ploop"]},
        "container_format": {"type": ["string", "null"], "maxLength": 255},
    }
    if req.at_least(3, 1):
        props["visibility"] = {"type": "string", "enum": ["community", "public", "private", "shared"]}
        props["protected"] = _BOOLEAN
    body = _object(req, "os-volume_upload_image", arg, props, ("image_name",))
    as_bool(body.get("force", False), "force")  # checked; ignored as Cinder's enable_force_upload=False does
    who = await caller(req)
    project = await req.read(actions.project_of, who, volume_id)
    await req.enforce(VOL_ACTIONS + "upload_image", {"project_id": project})
    image: dict[str, Any] = {"container_format": body.get("container_format") or "bare",
                             "disk_format": body.get("disk_format", "raw"), "name": body["image_name"]}
    if req.at_least(3, 1):
        image["visibility"] = body.get("visibility", "private")
        image["protected"] = as_bool(body.get("protected", False), "protected")
        if image["visibility"] == "public":
            await req.enforce(VOL_ACTIONS + "upload_public", {"project_id": project})
    images = req.state.images
    if images is None:
        raise BadRequest("The image service is not reachable.")
    upload = await req.write(actions.begin_upload, who, volume_id, False)
    try:
        ctx = await req.caller()
        record = await images.create({**upload.properties, **image}, user_token=ctx.token)
    except httpx.HTTPStatusError as exc:
        await req.write(actions.upload_failed, volume_id)
        text = exc.response.text[:300]
        if exc.response.status_code == 403:
            raise Forbidden(text) from None
        raise BadRequest(f"HTTPBadRequest: {text}") from None
    except Exception:
        await req.write(actions.upload_failed, volume_id)
        raise
    if _agents(req) is not None:
        await _agents(req).copy_volume_to_image(host=agent_host(upload.volume["host"]), volume=upload.volume,
                                                image_id=record["id"], disk_format=record.get("disk_format") or "raw")
    answer: dict[str, Any] = {
        "id": volume_id, "updated_at": upload.updated_at, "status": "uploading",
        "display_description": upload.description, "size": upload.volume["size"],
        "volume_type": upload.volume_type, "image_id": record["id"],
        "container_format": record.get("container_format"), "disk_format": record.get("disk_format"),
        "image_name": record.get("name")}
    if "protected" in record:
        answer["protected"] = record["protected"]
    if "visibility" in record:
        answer["visibility"] = record["visibility"]
    return json_response({"os-volume_upload_image": answer}, 202)


@action("os-set_image_metadata")
async def set_image_metadata(req: Req, volume_id: str, arg: Any) -> Response:
    meta_schema = {"type": "object", "patternProperties": {"^[a-zA-Z0-9-_:. /]{1,255}$": {"type": "string",
                                                                                         "maxLength": 255}},
                   "additionalProperties": False}
    body = _object(req, "os-set_image_metadata", arg, {"metadata": meta_schema}, ("metadata",))
    await _authorize(req, volume_id, IMAGE_META + "set")
    meta = await req.write(actions.set_image_metadata, await caller(req), volume_id, body["metadata"])
    return json_response({"metadata": meta})


@action("os-unset_image_metadata")
async def unset_image_metadata(req: Req, volume_id: str, arg: Any) -> Response:
    body = _object(req, "os-unset_image_metadata", arg, {"key": {"type": "string", "minLength": 1,
                                                                  "maxLength": 255}}, ("key",))
    await _authorize(req, volume_id, IMAGE_META + "remove")
    await req.write(actions.unset_image_metadata, await caller(req), volume_id, body["key"])
    return Response(status_code=200)


@action("os-show_image_metadata")
async def show_image_metadata(req: Req, volume_id: str, arg: Any) -> Response:
    await _authorize(req, volume_id, IMAGE_META + "show")
    return json_response({"metadata": await req.read(actions.show_image_metadata, await caller(req), volume_id)})


@action("os-reimage")
async def reimage(req: Req, volume_id: str, arg: Any) -> Response:
    """3.68: the volume's data replaced by the image's (Nova's rebuild of a volume-backed server
    reimages a ``reserved`` one)."""
    if not req.at_least(3, 68):
        raise BadRequest("There is no such action: os-reimage")
    body = _object(req, "os-reimage", arg, {"image_id": _UUID, "reimage_reserved": _BOOLEAN}, ("image_id",))
    reserved = as_bool(body.get("reimage_reserved", False), "reimage_reserved")
    who = await caller(req)
    found = await req.read(reimage_svc.target, who, volume_id)
    # Cinder asks Glance first: an unknown image is a 404 whatever the volume's state.
    images = req.state.images
    image = await images.get(body["image_id"]) if images is not None else None
    if image is None or not await may_use(images, who, image):
        raise ImageNotFound(body["image_id"])
    rule = "volume:reimage_reserved" if found.status == "reserved" else "volume:reimage"
    await req.enforce(rule, {"project_id": found.project_id})
    spec = await req.write(reimage_svc.begin, who, volume_id, image, reserved)
    if _agents(req) is not None:
        await _agents(req).reimage(host=agent_host(spec["host"]), volume=spec, image_id=image["id"])
    return _accepted()


# --- revert (3.40) ----------------------------------------------------------------------------


@action("revert")
async def revert(req: Req, volume_id: str, arg: Any) -> Response:
    if not req.at_least(3, 40):
        raise BadRequest("There is no such action: revert")
    body = _object(req, "revert", arg, {"snapshot_id": _UUID})
    await _authorize(req, volume_id, "volume:revert_to_snapshot")
    done = await req.write(actions.revert, await caller(req), volume_id, body.get("snapshot_id"))
    if _agents(req) is not None:
        await _agents(req).revert_to_snapshot(host=agent_host(done.volume["host"]), volume=done.volume,
                                              snapshot=done.snapshot)
    return _accepted()


# --- the old attach flow ----------------------------------------------------------------------


def _empty(name: str) -> Handler:
    """os-reserve & co take no argument ({} or null)."""
    service = {"os-reserve": actions.reserve, "os-unreserve": actions.unreserve,
               "os-begin_detaching": actions.begin_detaching, "os-roll_detaching": actions.roll_detaching}[name]
    rule = VOL_ACTIONS + name.removeprefix("os-")

    async def run(req: Req, volume_id: str, arg: Any) -> Response:
        await _authorize(req, volume_id, rule)
        await req.write(service, await caller(req), volume_id)
        return _accepted()

    run.__name__ = name.replace("-", "_")
    return run


for _name in ("os-reserve", "os-unreserve", "os-begin_detaching", "os-roll_detaching"):
    ACTIONS[_name] = _empty(_name)


@action("os-attach")
async def attach(req: Req, volume_id: str, arg: Any) -> Response:
    props = {"instance_uuid": _UUID, "mountpoint": {"type": "string", "minLength": 1, "maxLength": 255},
             "host_name": {"type": "string", "maxLength": 255}, "mode": {"type": "string", "enum": ["rw", "ro"]}}
    body = _object(req, "os-attach", arg, props, ("mountpoint",),
                   anyOf=[{"required": ["instance_uuid"]}, {"required": ["host_name"]}])
    await _authorize(req, volume_id, VOL_ACTIONS + "attach")
    await req.write(actions.attach, await caller(req), volume_id, body.get("instance_uuid"), body.get("host_name"),
                    body["mountpoint"], body.get("mode", "rw"))
    return _accepted()


@action("os-detach")
async def detach(req: Req, volume_id: str, arg: Any) -> Response:
    body = _object(req, "os-detach", arg, {"attachment_id": {"type": ["string", "null"], "format": "uuid"}},
                   nullable=True)
    await _authorize(req, volume_id, VOL_ACTIONS + "detach")
    await req.write(actions.detach, await caller(req), volume_id, body.get("attachment_id"))
    return _accepted()


@action("os-initialize_connection")
async def initialize_connection(req: Req, volume_id: str, arg: Any) -> Response:
    body = _object(req, "os-initialize_connection", arg, {"connector": {"type": ["object", "string"]}},
                   ("connector",))
    connector = body["connector"] if isinstance(body["connector"], dict) else {}
    await _authorize(req, volume_id, VOL_ACTIONS + "initialize_connection")
    conn = await req.read(actions.for_connection, await caller(req), volume_id)
    info = dict(await connect(req, conn.volume, connector))
    data = dict(info.get("data") or {})
    data.update(access_mode=conn.access_mode, encrypted=conn.encrypted)
    info["data"] = data
    info["enforce_multipath"] = connector.get("enforce_multipath", False)
    return json_response({"connection_info": info})


async def connect(req: Req, spec: VolumeSpec, connector: dict[str, Any]) -> dict[str, Any]:
    """The agent's connection info for ``connector`` (Cinder's 500 when the backend cannot)."""
    agents = _agents(req)
    if agents is None:
        raise BackendError("Unable to fetch connection information from backend.")
    try:
        return dict(await agents.initialize_connection(host=agent_host(spec["host"]), volume=spec,
                                                       connector=connector))
    except (BusTimeout, RemoteError):
        raise BackendError("Unable to fetch connection information from backend.") from None


async def disconnect(req: Req, spec: VolumeSpec | None, connector: dict[str, Any] | None) -> None:
    agents = _agents(req)
    if spec is None or agents is None:
        return
    try:
        await agents.terminate_connection(host=agent_host(spec["host"]), volume=spec, connector=connector or {})
    except (BusTimeout, RemoteError):
        raise BackendError("Unable to terminate volume connection from backend.") from None


@action("os-terminate_connection")
async def terminate_connection(req: Req, volume_id: str, arg: Any) -> Response:
    body = _object(req, "os-terminate_connection", arg, {"connector": {"type": ["string", "object", "null"]}},
                   ("connector",))
    await _authorize(req, volume_id, VOL_ACTIONS + "terminate_connection")
    spec = await req.read(actions.for_terminate, await caller(req), volume_id)
    connector = body["connector"] if isinstance(body["connector"], dict) else None
    await disconnect(req, spec, connector)
    await req.write(actions.after_terminate, volume_id)
    return _accepted()


@action("os-force_detach")
async def force_detach(req: Req, volume_id: str, arg: Any) -> Response:
    props = {"connector": {"type": ["string", "object", "null"]}, "attachment_id": {"type": ["string", "null"]}}
    body = _object(req, "os-force_detach", arg, props)
    await _authorize(req, volume_id, ADMIN + "force_detach")
    who = await caller(req)
    spec = await req.read(actions.for_terminate, who, volume_id)
    connector = body.get("connector") if isinstance(body.get("connector"), dict) else None
    await disconnect(req, spec, connector)
    await req.write(actions.after_terminate, volume_id)
    await req.write(actions.detach, who, volume_id, body.get("attachment_id"), "force detaching")
    return _accepted()


# --- unmanage ---------------------------------------------------------------------------------


@action("os-unmanage")
async def unmanage(req: Req, volume_id: str, arg: Any) -> Response:
    await _authorize(req, volume_id, "volume_extension:volume_unmanage")
    await req.write(actions.unmanage, await caller(req), volume_id)
    return _accepted()
