"""Hosts (``/os-hosts``): Nova's deprecated per-host view, removed at microversion 2.43.

The list shows every enabled service's host with its topic and zone; a host's detail sums its
compute node and the servers on it; ``PUT`` answers enable/disable the way Nova's compute
manager does for drivers other than XenAPI, and host power actions and maintenance mode are
501 as they are on libvirt hosts (onestack has no driver that powers its own host).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.compute.api.common import caller, compute_of, enforce, require_version
from onestack.compute.api.operator import body_dict
from onestack.compute.models import ComputeNode, Instance, Service
from onestack.compute.service import availability_zones as az_svc
from onestack.compute.service import services as svc
from onestack.core.api.faults import BadRequest, NotFound, NotImplementedFault
from onestack.core.api.http import RouteTable, json_body, json_response
from onestack.core.api.microversion import Version

routes = RouteTable()

LAST = Version(2, 42)
_SWITCH = ["enable", "disable", "Enable", "Disable", "ENABLE", "DISABLE"]
NOT_SUPPORTED = "The requested functionality is not supported."


def _enabled_hosts(s: Session, zone: str | None) -> list[dict[str, str]]:
    zones = az_svc.zones_by_host(s)
    hosts = []
    for row in s.scalars(select(Service).where(Service.disabled.is_(False)).order_by(Service.id)):
        where = svc.zone_of(row, zones)
        if zone and where != zone:
            continue
        hosts.append({"host_name": row.host, "service": row.topic, "zone": where})
    return hosts


def _compute_host(s: Session, host: str) -> Service:
    """The host's nova-compute service; Nova's 404 when the host has none (no cell mapping)."""
    row = svc.compute_service(s, host)
    if row is None:
        raise NotFound(f"Host '{host}' is not mapped to any cell")
    return row


@routes.get("/v2.1/os-hosts")
async def list_hosts(request: Request) -> Response:
    require_version(request, maximum=LAST)
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-hosts:list", {})
    zone = request.query_params.get("zone") or None  # a blank zone lists every host
    hosts = await compute_of(request).db.read(_enabled_hosts, zone)
    return json_response({"hosts": hosts})


def _resource(host: str, project: str, cpu: int, memory_mb: int, disk_gb: int) -> dict[str, Any]:
    return {"resource": {"host": host, "project": project, "cpu": cpu, "memory_mb": memory_mb, "disk_gb": disk_gb}}


def _sizes(inst: Instance) -> tuple[int, int, int]:
    flavor = inst.flavor or {}
    vcpus = int(flavor.get("vcpus", inst.vcpus) or 0)
    memory = int(flavor.get("memory_mb", inst.memory_mb) or 0)
    disk = int(flavor.get("root_gb", inst.root_gb) or 0) + int(flavor.get("ephemeral_gb", inst.ephemeral_gb) or 0)
    return vcpus, memory, disk


def _host_detail(s: Session, host: str) -> list[dict[str, Any]]:
    """(total), (used_now) from the node; (used_max) and one row per project from the servers."""
    _compute_host(s, host)
    node = s.scalar(select(ComputeNode).where(ComputeNode.host == host).order_by(ComputeNode.id).limit(1))
    if node is None:
        raise NotFound(f"Compute host {host} could not be found.")
    rows = [_resource(host, "(total)", node.vcpus, node.memory_mb, node.local_gb),
            _resource(host, "(used_now)", node.vcpus_used, node.memory_mb_used, node.local_gb_used)]
    servers = s.scalars(select(Instance).where(Instance.host == host, Instance.deleted.is_(False))
                        .order_by(Instance.id))
    total = [0, 0, 0]
    projects: dict[str, list[int]] = {}
    for inst in servers:
        sizes = _sizes(inst)
        mine = projects.setdefault(inst.project_id, [0, 0, 0])
        for i, value in enumerate(sizes):
            total[i] += value
            mine[i] += value
    rows.append(_resource(host, "(used_max)", *total))
    rows.extend(_resource(host, project, *sums) for project, sums in projects.items())
    return rows


@routes.get("/v2.1/os-hosts/{host_name}")
async def show_host(request: Request) -> Response:
    require_version(request, maximum=LAST)
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-hosts:show", {})
    rows = await compute_of(request).db.read(_host_detail, request.path_params["host_name"])
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
async def update_host(request: Request) -> Response:
    require_version(request, maximum=LAST)
    status, maintenance = _update_body(await json_body(request))
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-hosts:update", {})
    host = request.path_params["host_name"]
    await compute_of(request).db.read(_compute_host, host)
    result: dict[str, Any] = {"host": host}
    if status is not None:
        # Nova's compute manager only flips the host's COMPUTE_STATUS_DISABLED placement trait
        # here, and its next resource audit resets that trait from the service's own disabled
        # flag; the lasting switch is os-services, so this answers without changing the host.
        result["status"] = "enabled" if status else "disabled"
    if maintenance is not None:
        raise NotImplementedFault(NOT_SUPPORTED)  # evacuating a host is not a driver ability here
    return json_response(result)


async def _power_action(request: Request, rule: str) -> Response:
    require_version(request, maximum=LAST)
    ctx = await caller(request)
    enforce(request, ctx, rule, {})
    await compute_of(request).db.read(_compute_host, request.path_params["host_name"])
    raise NotImplementedFault(NOT_SUPPORTED)


@routes.get("/v2.1/os-hosts/{host_name}/startup")
async def startup_host(request: Request) -> Response:
    return await _power_action(request, "os_compute_api:os-hosts:start")


@routes.get("/v2.1/os-hosts/{host_name}/shutdown")
async def shutdown_host(request: Request) -> Response:
    return await _power_action(request, "os_compute_api:os-hosts:shutdown")


@routes.get("/v2.1/os-hosts/{host_name}/reboot")
async def reboot_host(request: Request) -> Response:
    return await _power_action(request, "os_compute_api:os-hosts:reboot")
