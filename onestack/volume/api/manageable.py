"""Manage and unmanage: the volumes and snapshots a backend holds that the service does not know.

The file driver reports nothing it could hand over (its directory holds only the service's own
disks), so the manageable lists are empty for a backend that exists (an unknown backend is
Cinder's 404), and a manage request ends as Cinder's does when the driver cannot adopt the
disk: 202 with the new volume (snapshot) in ``error_managing``. os-unmanage (a volume action)
drops the row and keeps the disk.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version
from onestack.volume.api import snapshots as snapshot_views
from onestack.volume.api.common import Req, VolumeRoutes, as_bool, caller
from onestack.volume.api.volume_views import volume_detail
from onestack.volume.errors import InvalidInput, InvalidParameterValue, ServiceNotFound
from onestack.volume.service import manageable as svc
from onestack.volume.service.snapshots import SnapshotBundle

routes = VolumeRoutes()
MANAGE_EXISTING_LIST = Version(3, 8)
MANAGE_EXISTING_CLUSTER = Version(3, 16)


def _cluster_host(req: Req, params: Any) -> tuple[str | None, str | None]:
    """Cinder's get_cluster_host: one and only one of them (host alone before 3.16)."""
    if req.at_least(3, 16):
        cluster, msg = params.get("cluster") or None, "One and only one of cluster and host must be set."
    else:
        cluster, msg = None, "Host field is missing."
    host = params.get("host") or None
    if bool(cluster) == bool(host):
        raise InvalidInput(msg)
    return cluster, host


async def _manageable(req: Req, kind: str, detail: bool) -> Response:
    await req.enforce("volume_extension:list_manageable" if kind == "volumes" else
                      "snapshot_extension:list_manageable")
    cluster, host = _cluster_host(req, req.params)
    keys: list[str] = []
    for item in (req.params.get("sort") or "").split(","):
        if item.strip():
            keys.append(item.split(":")[0].strip())
    keys += [k.strip() for k in (req.params.get("sort_key") or "").split(",") if k.strip()]
    invalid = [k for k in keys if k not in ("reference", "size")]
    if invalid:
        raise InvalidParameterValue(f"Invalid sort keys passed: {', '.join(invalid)}")
    dirs = [d.strip() for d in (req.params.get("sort_dir") or "").split(",") if d.strip()]
    dirs += [item.split(":")[1].strip() for item in (req.params.get("sort") or "").split(",") if ":" in item]
    bad_dirs = [d for d in dirs if d not in ("asc", "desc")]
    if bad_dirs:
        raise InvalidParameterValue(f"Invalid sort dirs passed: {', '.join(bad_dirs)}")
    name = host or cluster or ""
    if not await req.read(svc.backend_exists, name):
        raise ServiceNotFound(name)
    # The backends hold nothing the service could adopt.
    return json_response({f"manageable-{kind}": []})


@routes.get("/v3/manageable_volumes", since=MANAGE_EXISTING_LIST)
async def manageable_volumes(req: Req) -> Response:
    return await _manageable(req, "volumes", False)


@routes.get("/v3/manageable_volumes/detail", since=MANAGE_EXISTING_LIST)
async def manageable_volumes_detail(req: Req) -> Response:
    return await _manageable(req, "volumes", True)


@routes.get("/v3/manageable_snapshots", since=MANAGE_EXISTING_LIST)
async def manageable_snapshots(req: Req) -> Response:
    return await _manageable(req, "snapshots", False)


@routes.get("/v3/manageable_snapshots/detail", since=MANAGE_EXISTING_LIST)
async def manageable_snapshots_detail(req: Req) -> Response:
    return await _manageable(req, "snapshots", True)


_NAME: dict[str, Any] = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}
_METADATA: dict[str, Any] = {"type": ["object", "null"], "patternProperties": {
    "^[a-zA-Z0-9-_:. /]{1,255}$": {"type": "string", "maxLength": 255}}, "additionalProperties": False}


@routes.post("/v3/os-volume-manage")
async def manage_volume(req: Req) -> Response:
    props: dict[str, Any] = {
        "description": _NAME, "availability_zone": _NAME, "bootable": {"type": ["boolean", "string"]},
        "volume_type": _NAME, "name": _NAME, "host": {"type": ["string", "null"], "maxLength": 255},
        "ref": {"type": ["object", "string"]}, "metadata": _METADATA}
    if req.at_least(3, 16):
        props["cluster"] = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}
    await req.enforce("volume_extension:volume_manage")
    body = await req.body({"type": "object", "properties": props, "required": ["ref"],
                           "additionalProperties": False}, wrapper="volume")
    cluster, host = _cluster_host(req, body)
    ask = svc.ManageVolume(
        host=str(host or cluster), ref=body["ref"], name=(body.get("name") or "").strip() or None,
        description=(body.get("description") or "").strip() or None, volume_type=body.get("volume_type") or None,
        metadata=body.get("metadata") or {}, availability_zone=body.get("availability_zone"),
        bootable=as_bool(body.get("bootable", False), "bootable"))
    bundle = await req.write(svc.manage_volume, await caller(req), ask, req.state.config.volume.default_volume_type)
    return json_response({"volume": await volume_detail(req, bundle)}, 202)


@routes.post("/v3/os-snapshot-manage")
async def manage_snapshot(req: Req) -> Response:
    props: dict[str, Any] = {"description": _NAME, "metadata": _METADATA, "name": _NAME,
                             "volume_id": {"type": "string", "format": "uuid"},
                             "ref": {"type": ["object", "null", "string"]}}
    await req.enforce("snapshot_extension:snapshot_manage")
    body = await req.body({"type": "object", "properties": props, "required": ["ref", "volume_id"],
                           "additionalProperties": False}, wrapper="snapshot")
    ask = svc.ManageSnapshot(volume_id=body["volume_id"], ref=body["ref"], name=body.get("name"),
                             description=body.get("description"), metadata=body.get("metadata") or {})
    row = await req.write(svc.manage_snapshot, await caller(req), ask)
    bundle = SnapshotBundle(row=row, metadata=dict(ask.metadata))
    return json_response({"snapshot": snapshot_views.detail(req, bundle)}, 202)
