"""Nova's volume proxies: ``/os-volumes`` and ``/os-snapshots`` (up to microversion 2.35).

Nova forwards these to the block-storage service with the user's own token and translates the
answers to its own field names (``displayName``, ``availabilityZone``, ``volumeType``, …; an
unattached volume's ``attachments`` is ``[{}]``, as Nova answers). Errors are Nova's wording for
what it words (404 ``Volume X could not be found.``) and the block-storage service's otherwise.
"""

from __future__ import annotations

from typing import Any

import httpx
from starlette.responses import Response

from onestack.client.session import EndpointNotFound
from onestack.client.volume import VolumeClient, VolumeError
from onestack.compute.api.common import ComputeRoutes, Req, check_keys, invalid, is_uuid_like
from onestack.compute.api.network_proxy import MAX_PROXY
from onestack.core.api.faults import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
)
from onestack.core.api.http import json_response

routes = ComputeRoutes()
_RULE = "os_compute_api:os-volumes:"
_SNAP_RULE = "os_compute_api:os-volumes:snapshots:"


def _client(req: Req) -> VolumeClient:
    client: VolumeClient | None = req.state.volume
    if client is None:
        raise ServiceUnavailable("The block-storage service is not reachable from compute.")
    return client


def _translate(err: VolumeError, what: str, ref: str) -> ApiError:
    if err.status == 404:
        return NotFound(f"{what} {ref} could not be found.")
    if err.status == 400:
        return BadRequest(err.message)
    if err.status in (403, 413):  # Cinder's over-quota is 413; Nova answers 403
        return Forbidden(err.message)
    if err.status == 409:
        return Conflict(err.message)
    return ApiError(f"The block-storage service answered {err.status}: {err.message}", status=502)


async def _call(req: Req, what: str, ref: str, method: str, *args: Any, **kwargs: Any) -> Any:
    try:
        return await getattr(_client(req), method)(*args, user_token=req.headers.get("X-Auth-Token"), **kwargs)
    except VolumeError as exc:
        raise _translate(exc, what, ref) from None
    except (EndpointNotFound, httpx.TransportError):
        raise ServiceUnavailable("The block-storage service is not reachable from compute.") from None


def volume_view(vol: dict[str, Any]) -> dict[str, Any]:
    """Nova's _translate_volume_summary_view."""
    attachments = [{"id": vol["id"], "volumeId": vol["id"], "serverId": a.get("server_id"),
                    "device": a.get("device")} for a in vol.get("attachments") or []]
    attachments = [{k: v for k, v in a.items() if v is not None} for a in attachments]
    return {
        "id": vol["id"], "status": vol.get("status"), "size": vol.get("size"),
        "availabilityZone": vol.get("availability_zone") or "", "createdAt": vol.get("created_at"),
        "attachments": attachments or [{}], "displayName": vol.get("name"),
        "displayDescription": vol.get("description"), "volumeType": vol.get("volume_type"),
        "snapshotId": vol.get("snapshot_id"), "metadata": dict(vol.get("metadata") or {}),
    }


def snapshot_view(snap: dict[str, Any]) -> dict[str, Any]:
    return {"id": snap["id"], "volumeId": snap.get("volume_id"), "status": snap.get("status"),
            "size": snap.get("size"), "createdAt": snap.get("created_at"), "displayName": snap.get("name"),
            "displayDescription": snap.get("description")}


def _page(req: Req, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nova's common.limited: ``offset`` and ``limit`` over the whole list."""
    found: dict[str, int] = {}
    for name in ("offset", "limit"):
        raw = req.params.get(name)
        if raw is not None:
            if not raw.isdigit():
                raise BadRequest(f"{name} param must be an integer")
            found[name] = int(raw)
    offset = found.get("offset", 0)
    limit = found.get("limit", 1000) or 1000
    return rows[offset:offset + min(limit, 1000)]


async def _volumes(req: Req, rule: str) -> Response:
    req.require_version(maximum=MAX_PROXY)
    await req.enforce(_RULE + rule)
    vols = await _call(req, "Volume", "", "list_volumes")
    return json_response({"volumes": [volume_view(v) for v in _page(req, vols)]})


@routes.get("/v2.1/os-volumes")
async def list_volumes(req: Req) -> Response:
    return await _volumes(req, "list")


@routes.get("/v2.1/os-volumes/detail")
async def list_volumes_detail(req: Req) -> Response:
    return await _volumes(req, "detail")


@routes.get("/v2.1/os-volumes/{volume_id}")
async def show_volume(req: Req) -> Response:
    req.require_version(maximum=MAX_PROXY)
    await req.enforce(_RULE + "show")
    volume_id = req.path("volume_id")
    vol = await _call(req, "Volume", volume_id, "get_volume", volume_id)
    return json_response({"volume": volume_view(vol)})


def _size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or \
            (isinstance(value, str) and not value.strip().isdigit()):
        raise invalid("size", value, f"{value!r} is not valid under any of the given schemas")
    size = int(value)
    if size < 1:
        raise invalid("size", value, f"{value!r} is less than the minimum of 1")
    return size


@routes.post("/v2.1/os-volumes")
async def create_volume(req: Req) -> Response:
    req.require_version(maximum=MAX_PROXY)
    await req.enforce(_RULE + "create")
    body = await req.json()
    if not isinstance(body, dict) or not isinstance(body.get("volume"), dict):
        raise BadRequest("Invalid input for field/attribute volume. Value: None. 'volume' is a required property")
    check_keys(body, {"volume"}, "")
    vol = body["volume"]
    check_keys(vol, {"volume_type", "metadata", "snapshot_id", "size", "availability_zone", "display_name",
                     "display_description", "imageRef"}, "volume")
    if "size" not in vol:
        raise invalid("volume", vol, "'size' is a required property")
    attrs: dict[str, Any] = {"size": _size(vol["size"])}
    for ours, theirs in (("display_name", "name"), ("display_description", "description"),
                         ("volume_type", "volume_type"), ("availability_zone", "availability_zone"),
                         ("snapshot_id", "snapshot_id"), ("imageRef", "imageRef")):
        value = vol.get(ours)
        if value is not None:
            if not isinstance(value, str) or len(value) > 255:
                raise invalid(ours, value, f"{value!r} is not of type 'string', 'null'")
            attrs[theirs] = value
    if "metadata" in vol:
        if not isinstance(vol["metadata"], dict):
            raise invalid("metadata", vol["metadata"], f"{vol['metadata']!r} is not of type 'object'")
        attrs["metadata"] = vol["metadata"]
    if attrs.get("snapshot_id") and not is_uuid_like(attrs["snapshot_id"]):
        raise NotFound(f"Snapshot {attrs['snapshot_id']} could not be found.")
    made = await _call(req, "Snapshot" if "snapshot_id" in attrs else "Volume",
                       str(attrs.get("snapshot_id", "")), "create_volume", attrs)
    return json_response({"volume": volume_view(made)})


@routes.delete("/v2.1/os-volumes/{volume_id}")
async def delete_volume(req: Req) -> Response:
    req.require_version(maximum=MAX_PROXY)
    await req.enforce(_RULE + "delete")
    volume_id = req.path("volume_id")
    await _call(req, "Volume", volume_id, "delete_volume", volume_id)
    return Response(status_code=202)


# --- snapshots ---------------------------------------------------------------------------------

async def _snapshots(req: Req, rule: str) -> Response:
    req.require_version(maximum=MAX_PROXY)
    await req.enforce(_SNAP_RULE + rule)
    snaps = await _call(req, "Snapshot", "", "list_snapshots")
    return json_response({"snapshots": [snapshot_view(s) for s in _page(req, snaps)]})


@routes.get("/v2.1/os-snapshots")
async def list_snapshots(req: Req) -> Response:
    return await _snapshots(req, "list")


@routes.get("/v2.1/os-snapshots/detail")
async def list_snapshots_detail(req: Req) -> Response:
    return await _snapshots(req, "detail")


@routes.get("/v2.1/os-snapshots/{snapshot_id}")
async def show_snapshot(req: Req) -> Response:
    req.require_version(maximum=MAX_PROXY)
    await req.enforce(_SNAP_RULE + "show")
    snapshot_id = req.path("snapshot_id")
    snap = await _call(req, "Snapshot", snapshot_id, "get_snapshot", snapshot_id)
    return json_response({"snapshot": snapshot_view(snap)})


@routes.post("/v2.1/os-snapshots")
async def create_snapshot(req: Req) -> Response:
    req.require_version(maximum=MAX_PROXY)
    await req.enforce(_SNAP_RULE + "create")
    body = await req.json()
    if not isinstance(body, dict) or not isinstance(body.get("snapshot"), dict):
        raise BadRequest("Invalid input for field/attribute snapshot. Value: None. "
                         "'snapshot' is a required property")
    snap = body["snapshot"]
    check_keys(snap, {"volume_id", "description", "display_name", "display_description", "force"}, "snapshot")
    volume_id = snap.get("volume_id")
    if not isinstance(volume_id, str) or not is_uuid_like(volume_id):
        raise invalid("snapshot/volume_id", volume_id, f"{volume_id!r} is not a 'uuid'")
    attrs: dict[str, Any] = {"volume_id": volume_id}
    force = snap.get("force", False)
    if isinstance(force, str):
        force = force.strip().lower() in ("true", "1", "yes", "on", "y", "t")
    if not isinstance(force, bool):
        raise invalid("snapshot/force", force, f"{force!r} is not of type 'boolean', 'string'")
    if force:
        attrs["force"] = True
    for ours, theirs in (("display_name", "name"), ("display_description", "description")):
        if snap.get(ours) is not None:
            attrs[theirs] = snap[ours]
    made = await _call(req, "Volume", volume_id, "create_snapshot", attrs)
    return json_response({"snapshot": snapshot_view(made)})


@routes.delete("/v2.1/os-snapshots/{snapshot_id}")
async def delete_snapshot(req: Req) -> Response:
    req.require_version(maximum=MAX_PROXY)
    await req.enforce(_SNAP_RULE + "delete")
    snapshot_id = req.path("snapshot_id")
    await _call(req, "Snapshot", snapshot_id, "delete_snapshot", snapshot_id)
    return Response(status_code=202)


# A trailing slash and no id (Tempest's "without passing volume id"): Nova's router finds no
# resource there (404) instead of redirecting to the collection.
@routes.add(["GET", "DELETE"], "/v2.1/os-volumes/")
async def no_volume_id(req: Req) -> Response:
    await req.caller()  # 401 without a token, as every route
    req.require_version(maximum=MAX_PROXY)
    raise NotFound("Volume  could not be found.")


@routes.add(["GET", "DELETE"], "/v2.1/os-snapshots/")
async def no_snapshot_id(req: Req) -> Response:
    await req.caller()  # 401 without a token, as every route
    req.require_version(maximum=MAX_PROXY)
    raise NotFound("Snapshot  could not be found.")
