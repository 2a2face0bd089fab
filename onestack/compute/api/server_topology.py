"""Server topology (microversion 2.78+): ``GET /servers/{id}/topology``.

Nova answers from the instance's NUMA topology; an instance without one (every guest of the
simulated driver: no NUMA placement, no pinning, no huge pages) gets ``{"nodes": [],
"pagesize_kb": null}``. The host fields of a node (``host_node``, ``cpu_pinning``) are shown only
to callers that pass ``compute:server:topology:host:index``.
"""

from __future__ import annotations

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req
from onestack.compute.api.operator import no_query_from_2_102
from onestack.compute.api.servers import load
from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version

routes = ComputeRoutes()

_V278 = Version(2, 78)


@routes.get("/v2.1/servers/{server_id}/topology")
async def show_topology(req: Req) -> Response:
    await no_query_from_2_102(req)
    req.require_version(_V278)
    ctx = await req.caller()
    await load(req, ctx, req.path("server_id"), "compute:server:topology:index")
    # No guest has a NUMA topology, so there are no nodes whose host fields the
    # compute:server:topology:host:index rule would reveal.
    return json_response({"nodes": [], "pagesize_kb": None})
