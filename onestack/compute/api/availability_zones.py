"""Availability zones: ``/os-availability-zone`` and (admin) ``/os-availability-zone/detail``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from onestack.compute.api.common import caller, compute_of, enforce
from onestack.compute.service import availability_zones as svc
from onestack.core.api.http import RouteTable, json_response
from onestack.core.ids import isotime

routes = RouteTable()


@routes.get("/v2.1/os-availability-zone")
async def list_zones(request: Request) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-availability-zone:list")
    found = await compute_of(request).db.read(svc.zones)
    info = [{"zoneName": name, "zoneState": {"available": any(h["enabled"] and h["up"] for h in members)},
             "hosts": None} for name, members in sorted(found.items())]
    return json_response({"availabilityZoneInfo": info})


@routes.get("/v2.1/os-availability-zone/detail")
async def list_zones_detail(request: Request) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-availability-zone:detail")
    found = await compute_of(request).db.read(svc.zones)
    info: list[dict[str, Any]] = []
    for name, members in sorted(found.items()):
        hosts: dict[str, Any] = {}
        for h in members:
            updated = h["updated_at"]
            hosts.setdefault(h["host"], {})[h["binary"]] = {
                "available": bool(h["enabled"] and h["up"]), "active": bool(h["enabled"]),
                "updated_at": isotime(updated) if updated is not None and not isinstance(updated, str) else updated}
        info.append({"zoneName": name, "zoneState": {"available": any(h["enabled"] and h["up"] for h in members)},
                     "hosts": hosts})
    return json_response({"availabilityZoneInfo": info})
