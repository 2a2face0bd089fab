"""``/os-assisted-volume-snapshots``: snapshots of an attached file-backed volume taken by the
compute host (Nova's API, called by Cinder's remotefs drivers; admin or service only).

Nova checks the volume is attached to exactly one live server that is on a host with no task
under way, then casts the snapshot to that host, whose libvirt driver swaps in a new qcow2
overlay and reports back to Cinder. This cloud's compute drivers keep no qcow2 chains (as
Nova's fake driver, which accepts and does nothing), so once the same checks pass the request
is answered as Nova answers it: ``{snapshot: {id: create_info.id, volumeId}}``, and 204 for
the delete.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req, check_keys, invalid
from onestack.compute.service import block_devices
from onestack.core.api.faults import BadRequest, Conflict
from onestack.core.api.http import json_response, no_content

routes = ComputeRoutes()
_RULE = "os_compute_api:os-assisted-volume-snapshots:"


def _string(obj: dict[str, Any], key: str, where: str, *, required: bool = True) -> None:
    if key not in obj:
        if required:
            raise BadRequest(f"Invalid input for field/attribute {where}. Value: {obj}. "
                             f"'{key}' is a required property")
        return
    value = obj[key]
    if not isinstance(value, str):
        raise invalid(f"{where}/{key}", value, f"{value!r} is not of type 'string'")
    if not value:
        raise invalid(f"{where}/{key}", value, f"{value!r} should be non-empty")


def _create_body(body: Any) -> tuple[str, dict[str, Any]]:
    """Nova's snapshots_create schema."""
    if not isinstance(body, dict):
        raise invalid("snapshot", body, f"{body!r} is not of type 'object'")
    check_keys(body, {"snapshot"}, "")
    snap = body.get("snapshot")
    if not isinstance(snap, dict):
        raise BadRequest("Invalid input for field/attribute snapshot. Value: None. 'snapshot' is a required property"
                         if snap is None else f"Invalid input for field/attribute snapshot. Value: {snap}. "
                         f"{snap!r} is not of type 'object'")
    check_keys(snap, {"volume_id", "create_info"}, "snapshot")
    _string(snap, "volume_id", "snapshot")
    info = snap.get("create_info")
    if not isinstance(info, dict):
        raise BadRequest(f"Invalid input for field/attribute snapshot. Value: {snap}. "
                         "'create_info' is a required property" if info is None else
                         f"Invalid input for field/attribute snapshot/create_info. Value: {info}. "
                         f"{info!r} is not of type 'object'")
    check_keys(info, {"snapshot_id", "type", "new_file", "id"}, "snapshot/create_info")
    for key in ("snapshot_id", "type", "new_file"):
        _string(info, key, "snapshot/create_info")
    _string(info, "id", "snapshot/create_info", required=False)
    if info["type"] != "qcow2":
        raise invalid("snapshot/create_info/type", info["type"], f"{info['type']!r} is not one of ['qcow2']")
    return str(snap["volume_id"]), info


async def _check_target(req: Req, volume_id: str, action: str) -> dict[str, Any]:
    """Nova's _get_bdm_by_volume_id, check_instance_host and check_instance_state(vm_state=None)."""
    bdms = await req.read(block_devices.of_volume, volume_id)
    if not bdms:
        raise BadRequest(f"No volume Block Device Mapping with id {volume_id}.")
    if len(bdms) > 1:
        raise BadRequest(f"Block Device Mapping {volume_id} is a multi-attach volume and is not valid for "
                         "this operation.")
    bdm = bdms[0]
    if not bdm.get("host"):
        raise Conflict(f"Instance {bdm['instance_uuid']} is not ready")
    if bdm.get("task_state") is not None:
        raise Conflict(f"Cannot '{action}' instance {bdm['instance_uuid']} while it is in task_state "
                       f"{bdm['task_state']}")
    return bdm


@routes.post("/v2.1/os-assisted-volume-snapshots")
async def create_snapshot(req: Req) -> Response:
    await req.caller()
    await req.enforce(_RULE + "create", {})
    volume_id, info = _create_body(await req.json())
    await _check_target(req, volume_id, "volume_snapshot_create")
    return json_response({"snapshot": {"id": info.get("id"), "volumeId": volume_id}})


@routes.delete("/v2.1/os-assisted-volume-snapshots/{snapshot_id}")
async def delete_snapshot(req: Req) -> Response:
    await req.caller()
    await req.enforce(_RULE + "delete", {})
    raw = req.params.get("delete_info")
    if raw is None:
        raise BadRequest("'delete_info'")  # Nova answers the KeyError's text
    try:
        info = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    if not isinstance(info, dict) or "volume_id" not in info:
        raise BadRequest("'volume_id'")
    await _check_target(req, str(info["volume_id"]), "volume_snapshot_delete")
    return no_content()
