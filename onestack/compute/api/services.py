"""Compute services (``/os-services``): list, enable/disable, force down, delete.

Before 2.53 a service is named by host and binary in the body of ``PUT /os-services/<action>``
and has an integer id; from 2.53 it is named by its uuid in the path and updated in one PUT.
Only nova-compute services can be updated.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import (
    ComputeRoutes,
    Req,
    as_bool,
    check_keys,
    is_uuid_like,
)
from onestack.compute.api.operator import body_dict, nova_time, strict_query
from onestack.compute.service import services as svc
from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.http import json_response, no_content

routes = ComputeRoutes()

_FQDN = re.compile(r"^[a-zA-Z0-9-._]*$")


def render(req: Req, view: svc.ServiceView, forced_down: bool | None = None) -> dict[str, Any]:
    row = view.row
    body: dict[str, Any] = {
        "id": row.uuid if req.at_least(2, 53) else row.id, "binary": row.binary, "host": row.host,
        "zone": view.zone, "status": "disabled" if row.disabled else "enabled", "state": "up" if view.up else "down",
        "updated_at": nova_time(row.updated_at), "disabled_reason": row.disabled_reason,
    }
    show_forced = req.at_least(2, 11) if forced_down is None else forced_down
    if show_forced:
        body["forced_down"] = bool(row.forced_down)
    return body


@routes.get("/v2.1/os-services")
async def list_services(req: Req) -> Response:
    await req.enforce("os_compute_api:os-services:list", {})
    if req.at_least(2, 75):
        strict_query(req, {"host", "binary"})
    compute = req.state
    host, binary = req.params.get("host"), req.params.get("binary")
    views = await compute.db.read(svc.list_services, compute.config.compute.service_down_time, host, binary)
    return json_response({"services": [render(req, v) for v in views]})


def _string(body: dict[str, Any], key: str, pattern: re.Pattern[str] | None = None) -> str:
    value = body[key]
    if not isinstance(value, str):
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value}. {value!r} is not of type 'string'")
    if not value or len(value) > 255:
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value}. "
                         f"{value!r} should be non-empty and at most 255 characters long")
    if pattern is not None and not pattern.match(value):
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value}. "
                         f"{value!r} does not match '{pattern.pattern}'")
    return value


def _legacy_body(req: Req, body: dict[str, Any]) -> dict[str, Any]:
    allowed = {"host", "binary", "disabled_reason"} | ({"forced_down"} if req.at_least(2, 11) else set())
    check_keys(body, allowed, "body")
    for key in ("host", "binary"):
        if key not in body:
            raise BadRequest(f"Invalid input for field/attribute body. Value: {body}. '{key}' is a required property")
    _string(body, "host", _FQDN)
    _string(body, "binary")
    if "disabled_reason" in body:
        _string(body, "disabled_reason")
    if "forced_down" in body:
        body["forced_down"] = as_bool(body["forced_down"], "forced_down")
    return body


async def _legacy_update(req: Req, action: str) -> Response:
    """``PUT /os-services/{enable,disable,disable-log-reason,force-down}`` (before 2.53)."""
    await req.enforce("os_compute_api:os-services:update", {})
    body = _legacy_body(req, body_dict(await req.json()))
    actions = {"enable", "disable", "disable-log-reason"} | ({"force-down"} if req.at_least(2, 11) else set())
    if action not in actions:
        raise NotFound("Unknown action")
    host, binary = body["host"], body["binary"]
    out: dict[str, Any] = {"host": host, "binary": binary}
    if action == "force-down":
        if "forced_down" not in body:
            raise BadRequest("Missing forced_down field")
        values: dict[str, Any] = {"forced_down": body["forced_down"]}
        out["forced_down"] = body["forced_down"]
    elif action == "enable":
        values, out["status"] = {"disabled": False, "disabled_reason": None}, "enabled"
    else:
        if action == "disable-log-reason" and "disabled_reason" not in body:
            raise BadRequest("Missing disabled reason field")
        reason = body.get("disabled_reason") if action == "disable-log-reason" else None
        values, out["status"] = {"disabled": True, "disabled_reason": reason}, "disabled"
        if reason:
            out["disabled_reason"] = reason

    await req.write(svc.update_by_host, host, binary, values)
    return json_response({"service": out})


def _v253_values(body: dict[str, Any]) -> dict[str, Any]:
    check_keys(body, {"status", "disabled_reason", "forced_down"}, "body")
    values: dict[str, Any] = {}
    if "disabled_reason" in body:
        _string(body, "disabled_reason")
    if "status" in body:
        status = body["status"]
        if status not in ("enabled", "disabled"):
            raise BadRequest(f"Invalid input for field/attribute status. Value: {status}. "
                             f"{status!r} is not one of ['enabled', 'disabled']")
        if status == "enabled":
            if body.get("disabled_reason"):
                raise BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
            values.update(disabled=False, disabled_reason=None)
        else:
            values.update(disabled=True, disabled_reason=body.get("disabled_reason"))
    if "forced_down" in body:
        values["forced_down"] = as_bool(body["forced_down"], "forced_down")
    return values


@routes.put("/v2.1/os-services/{service_id}")
async def update_service(req: Req) -> Response:
    ident = req.path("service_id")
    if not req.at_least(2, 53):
        return await _legacy_update(req, ident)
    if not is_uuid_like(ident):
        raise BadRequest(f"Invalid uuid {ident}")
    await req.enforce("os_compute_api:os-services:update", {})
    values = _v253_values(body_dict(await req.json()))
    view = await req.write(svc.update_by_uuid, ident, values, req.state.config.compute.service_down_time)
    return json_response({"service": render(req, view, forced_down=True)})


@routes.delete("/v2.1/os-services/{service_id}")
async def delete_service(req: Req) -> Response:
    await req.enforce("os_compute_api:os-services:delete", {})
    ident = req.path("service_id")
    by_uuid = req.at_least(2, 53)
    if by_uuid and not is_uuid_like(ident):
        raise BadRequest(f"Invalid uuid {ident}")
    if not by_uuid and not re.match(r"^-?[0-9]+$", ident.strip()):
        raise BadRequest("Invalid input received: id must be an integer")
    compute = req.state
    for rp_uuid in await req.write(svc.delete_by_id, ident.strip(), by_uuid):
        if compute.placement is not None:
            await compute.placement.delete_provider(rp_uuid)
    return no_content()
