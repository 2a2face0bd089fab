"""Compute services (``/os-services``): list, enable/disable, force down, delete.

Before 2.53 a service is named by host and binary in the body of ``PUT /os-services/<action>``
and has an integer id; from 2.53 it is named by its uuid in the path and updated in one PUT.
Only nova-compute services can be updated.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from onestack.compute.api.common import as_bool, at_least, caller, check_keys, compute_of, enforce
from onestack.compute.api.operator import body_dict, nova_time, strict_query
from onestack.compute.service import services as svc
from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.http import RouteTable, json_body, json_response, no_content

routes = RouteTable()

_FQDN = re.compile(r"^[a-zA-Z0-9-._]*$")


def render(request: Request, view: svc.ServiceView, forced_down: bool | None = None) -> dict[str, Any]:
    row = view.row
    body: dict[str, Any] = {
        "id": row.uuid if at_least(request, 2, 53) else row.id, "binary": row.binary, "host": row.host,
        "zone": view.zone, "status": "disabled" if row.disabled else "enabled", "state": "up" if view.up else "down",
        "updated_at": nova_time(row.updated_at), "disabled_reason": row.disabled_reason,
    }
    show_forced = at_least(request, 2, 11) if forced_down is None else forced_down
    if show_forced:
        body["forced_down"] = bool(row.forced_down)
    return body


def valid_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(value)
    except ValueError:
        return False
    return True


@routes.get("/v2.1/os-services")
async def list_services(request: Request) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-services:list", {})
    if at_least(request, 2, 75):
        strict_query(request, {"host", "binary"})
    compute = compute_of(request)
    await svc.refresh_control(compute)
    host, binary = request.query_params.get("host"), request.query_params.get("binary")
    views = await compute.db.read(svc.list_services, compute.config.compute.service_down_time, host, binary)
    return json_response({"services": [render(request, v) for v in views]})


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


def _legacy_body(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    allowed = {"host", "binary", "disabled_reason"} | ({"forced_down"} if at_least(request, 2, 11) else set())
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


async def _legacy_update(request: Request, action: str) -> Response:
    """``PUT /os-services/{enable,disable,disable-log-reason,force-down}`` (before 2.53)."""
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-services:update", {})
    body = _legacy_body(request, body_dict(await json_body(request)))
    actions = {"enable", "disable", "disable-log-reason"} | ({"force-down"} if at_least(request, 2, 11) else set())
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

    def write(s: Any) -> None:
        svc.only_compute(binary)
        row = svc.by_host_binary(s, host, binary)
        if values.get("forced_down") is False:
            svc.check_no_done_evacuations(s, host)
        svc.apply(row, values)

    await compute_of(request).db.write(write)
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
async def update_service(request: Request) -> Response:
    ident = request.path_params["service_id"]
    if not at_least(request, 2, 53):
        return await _legacy_update(request, ident)
    if not valid_uuid(ident):
        raise BadRequest(f"Invalid uuid {ident}")
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-services:update", {})
    values = _v253_values(body_dict(await json_body(request)))
    compute = compute_of(request)

    def write(s: Any) -> dict[str, Any]:
        row = svc.get_by_id(s, ident, by_uuid=True)
        svc.only_compute(row)
        if not values:
            raise BadRequest("No updates were requested. Fields 'status' or 'forced_down' should be specified.")
        if values.get("forced_down") is False:
            svc.check_no_done_evacuations(s, row.host)
        svc.apply(row, values)
        s.flush()
        return render(request, svc.view_of(s, row, compute.config.compute.service_down_time), forced_down=True)

    return json_response({"service": await compute.db.write(write)})


@routes.delete("/v2.1/os-services/{service_id}")
async def delete_service(request: Request) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-services:delete", {})
    ident = request.path_params["service_id"]
    by_uuid = at_least(request, 2, 53)
    if by_uuid and not valid_uuid(ident):
        raise BadRequest(f"Invalid uuid {ident}")
    if not by_uuid and not re.match(r"^-?[0-9]+$", ident.strip()):
        raise BadRequest("Invalid input received: id must be an integer")
    compute = compute_of(request)

    def write(s: Any) -> list[str]:
        try:
            row = svc.get_by_id(s, ident.strip(), by_uuid)
        except NotFound:
            raise NotFound(f"Service {ident} not found.") from None
        return svc.delete_service(s, row)

    for rp_uuid in await compute.db.write(write):
        if compute.placement is not None:
            await compute.placement.delete_provider(rp_uuid)
    return no_content()
