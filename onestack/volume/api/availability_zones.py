"""``/os-availability-zone``: the zones the volume services are in (and the configured one),
available while one of its services is up and enabled."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.volume.api.common import Req, VolumeRoutes
from onestack.volume.service import operations as svc

routes = VolumeRoutes()


@routes.get("/v3/os-availability-zone")
async def list_zones(req: Req) -> Response:
    await req.enforce("volume_extension:availability_zone_list")
    conf = req.state.config.volume
    zones = await req.read(svc.availability_zones, conf.service_down_time, conf.storage_availability_zone)
    return json_response({"availabilityZoneInfo": [{"zoneName": name, "zoneState": {"available": up}}
                                                   for name, up in zones]})
