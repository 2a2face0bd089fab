"""Manage and unmanage: the volumes and snapshots a backend holds that the service does not know.

The file driver reports nothing it could hand over (its directory holds only the service's own
disks), so the manageable lists are empty for a backend that exists; an unknown backend is
Cinder's 404. os-unmanage (a volume action) drops the row and keeps the disk.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version
from onestack.volume.api.common import Req, VolumeRoutes
from onestack.volume.errors import InvalidInput, InvalidParameterValue, ServiceNotFound
from onestack.volume.service.manageable import backend_exists

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
    if not await req.read(backend_exists, name):
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
