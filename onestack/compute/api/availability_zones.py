"""Availability zones: ``/os-availability-zone`` and (admin) ``/os-availability-zone/detail``.

The summary hides the internal zone (conductor, scheduler); the detail view shows every
zone with the enabled services of each host in it.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req
from onestack.compute.api.operator import no_query_from_2_102, nova_time
from onestack.compute.service import availability_zones as svc
from onestack.core.api.http import json_response

routes = ComputeRoutes()


async def _zones(req: Req) -> list[svc.Zone]:
    compute = req.state
    return await compute.db.read(svc.describe, compute.config.compute.service_down_time)


@routes.get("/v2.1/os-availability-zone")
async def list_zones(req: Req) -> Response:
    await no_query_from_2_102(req)
    await req.enforce("os_compute_api:os-availability-zone:list", {})
    info = [{"zoneName": z.name, "zoneState": {"available": z.available}, "hosts": None}
            for z in await _zones(req) if z.name != svc.INTERNAL_ZONE]
    return json_response({"availabilityZoneInfo": info})


@routes.get("/v2.1/os-availability-zone/detail")
async def list_zones_detail(req: Req) -> Response:
    await no_query_from_2_102(req)
    await req.enforce("os_compute_api:os-availability-zone:detail", {})
    info: list[dict[str, Any]] = []
    for zone in await _zones(req):
        hosts: dict[str, Any] | None = None
        if zone.available:
            hosts = {}
            for m in zone.members:
                hosts.setdefault(m.host, {})[m.binary] = {
                    "available": m.up, "active": m.enabled, "updated_at": nova_time(m.updated_at)}
        info.append({"zoneName": zone.name, "zoneState": {"available": zone.available}, "hosts": hosts})
    return json_response({"availabilityZoneInfo": info})
