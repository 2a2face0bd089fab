"""Hosts (``/os-hosts``): Nova's deprecated per-host view, removed at microversion 2.43.

The list shows every enabled service's host with its topic and zone; a host's detail sums its
compute node and the servers on it; ``PUT`` answers enable/disable the way Nova's compute
manager does for drivers other than XenAPI, and host power actions and maintenance mode are
501 as they are on libvirt hosts (onestack has no driver that powers its own host).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req
from onestack.compute.api.operator import body_dict
from onestack.compute.service import hosts as hosts_svc
from onestack.core.api.faults import BadRequest, NotImplementedFault
from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version

routes = ComputeRoutes()

LAST = Version(2, 42)
_SWITCH = ["enable", "disable", "Enable", "Disable", "ENABLE", "DISABLE"]
NOT_SUPPORTED = "The requested functionality is not supported."


@routes.get("/v2.1/os-hosts")
async def list_hosts(req: Req) -> Response:
    req.require_version(maximum=LAST)
    await req.enforce("os_compute_api:os-hosts:list", {})
    zone = req.params.get("zone") or None  # a blank zone lists every host
    hosts = await req.read(hosts_svc.enabled_hosts, zone)
    return json_response({"hosts": hosts})


@routes.get("/v2.1/os-hosts/{host_name}")
async def show_host(req: Req) -> Response:
    req.require_version(maximum=LAST)
    await req.enforce("os_compute_api:os-hosts:show", {})
    rows = await req.read(hosts_svc.host_detail, req.path("host_name"))
    return json_response({"host": rows})


def _switch(body: dict[str, Any], key: str) -> bool | None:
    if key not in body:
        return None
    value = body[key]
    if not isinstance(value, str):
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value}. {value!r} is not of type 'string'")
    if value not in _SWITCH:
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value}. {value!r} is not one of {_SWITCH}")
    return value.lower() == "enable"


def _update_body(body: Any) -> tuple[bool | None, bool | None]:
    body = body_dict(body)
    extra = sorted(set(body) - {"status", "maintenance_mode"})
    if extra:
        listed = ", ".join(f"'{k}'" for k in extra)
        raise BadRequest(f"Invalid input for field/attribute body. Value: {body}. Additional properties are not "
                         f"allowed ({listed} {'was' if len(extra) == 1 else 'were'} unexpected)")
    if "status" not in body and "maintenance_mode" not in body:
        raise BadRequest(f"Invalid input for field/attribute body. Value: {body}. "
                         f"{body!r} is not valid under any of the given schemas")
    return _switch(body, "status"), _switch(body, "maintenance_mode")


@routes.put("/v2.1/os-hosts/{host_name}")
async def update_host(req: Req) -> Response:
    req.require_version(maximum=LAST)
    status, maintenance = _update_body(await req.json())
    await req.enforce("os_compute_api:os-hosts:update", {})
    host = req.path("host_name")
    await req.read(hosts_svc.compute_host, host)
    result: dict[str, Any] = {"host": host}
    if status is not None:
        # Nova's compute manager only flips the host's COMPUTE_STATUS_DISABLED placement trait
        # here, and its next resource audit resets that trait from the service's own disabled
        # flag; the lasting switch is os-services, so this answers without changing the host.
        result["status"] = "enabled" if status else "disabled"
    if maintenance is not None:
        raise NotImplementedFault(NOT_SUPPORTED)  # evacuating a host is not a driver ability here
    return json_response(result)


async def _power_action(req: Req, rule: str) -> Response:
    req.require_version(maximum=LAST)
    await req.enforce(rule, {})
    await req.read(hosts_svc.compute_host, req.path("host_name"))
    raise NotImplementedFault(NOT_SUPPORTED)


@routes.get("/v2.1/os-hosts/{host_name}/startup")
async def startup_host(req: Req) -> Response:
    return await _power_action(req, "os_compute_api:os-hosts:start")


@routes.get("/v2.1/os-hosts/{host_name}/shutdown")
async def shutdown_host(req: Req) -> Response:
    return await _power_action(req, "os_compute_api:os-hosts:shutdown")


@routes.get("/v2.1/os-hosts/{host_name}/reboot")
async def reboot_host(req: Req) -> Response:
    return await _power_action(req, "os_compute_api:os-hosts:reboot")
