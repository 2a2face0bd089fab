"""``/scheduler-stats/get_pools[?detail=true]``: the pools the volume agents last reported."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.volume.api.common import Req, VolumeRoutes, as_bool
from onestack.volume.errors import InvalidInput
from onestack.volume.service import operations as svc

routes = VolumeRoutes()
FILTERS = ("name", "volume_type")


@routes.get("/v3/scheduler-stats/get_pools")
async def get_pools(req: Req) -> Response:
    await req.enforce("scheduler_extension:scheduler_stats:get_pools")
    detail = as_bool(req.params.get("detail", "False"), "detail")
    unknown = [k for k in req.params if k not in (*FILTERS, "detail")]
    if unknown and req.at_least(3, 34):
        raise InvalidInput(f"Invalid filter keys: {', '.join(unknown)}")
    volume_type = req.params.get("volume_type") if req.at_least(3, 35) else None
    found = await req.read(svc.pools, req.params.get("name"), volume_type)
    if detail:
        return json_response({"pools": [{"name": p.name, "capabilities": svc.pool_capabilities(p)} for p in found]})
    return json_response({"pools": [{"name": p.name} for p in found]})
