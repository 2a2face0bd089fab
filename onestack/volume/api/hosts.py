"""``/os-hosts``: the hosts of the block-storage services, and what a volume host holds."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.volume.api.common import Req, VolumeRoutes
from onestack.volume.service import operations as svc
from onestack.volume.service.common import iso

routes = VolumeRoutes()


@routes.get("/v3/os-hosts")
async def list_hosts(req: Req) -> Response:
    await req.enforce("volume_extension:hosts")
    found = await req.read(svc.list_services, req.state.config.volume.service_down_time)
    zone = req.params.get("zone")
    return json_response({"hosts": [
        {"service-status": "available" if v.up else "unavailable", "service": v.row.binary,
         "zone": v.row.availability_zone, "service-state": "disabled" if v.row.disabled else "enabled",
         "host_name": v.row.host, "last-update": iso(v.last_seen)}
        for v in found if zone is None or v.row.availability_zone == zone]})


@routes.get("/v3/os-hosts/{host}")
async def show_host(req: Req) -> Response:
    await req.enforce("volume_extension:hosts")
    found = await req.read(svc.host_resources, req.path("host"))
    return json_response({"host": [{"resource": r} for r in found]})
