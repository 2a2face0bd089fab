"""``/servers/{id}/ips`` and ``/servers/{id}/ips/{network_label}``: a server's addresses by network.

The addresses are those the server view shows (``addresses``, from the server's network info
cache); a label the server has no address on is a network it is not on (Nova's 404).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req
from onestack.compute.api.operator import no_query_from_2_102
from onestack.compute.api.servers import load
from onestack.compute.network_info import addresses, cached
from onestack.core.api.faults import NotFound
from onestack.core.api.http import json_response

routes = ComputeRoutes()
_RULE = "os_compute_api:ips:"


def addresses_of(row: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """{network label: [{"version", "addr"}]}: Nova's ips view leaves out the OS-EXT-IPS keys."""
    return {label: [{"version": a["version"], "addr": a["addr"]} for a in addrs]
            for label, addrs in addresses(cached(row)).items()}


@routes.get("/v2.1/servers/{server_id}/ips")
async def list_ips(req: Req) -> Response:
    await no_query_from_2_102(req)
    ctx = await req.caller()
    row = await load(req, ctx, req.path("server_id"), _RULE + "index")
    return json_response({"addresses": addresses_of(row)})


@routes.get("/v2.1/servers/{server_id}/ips/{network_label}")
async def show_ips(req: Req) -> Response:
    await no_query_from_2_102(req)
    ctx = await req.caller()
    row = await load(req, ctx, req.path("server_id"), _RULE + "show")
    label = req.path("network_label")
    networks = addresses_of(row)
    if label not in networks:
        raise NotFound("Instance is not a member of specified network")
    return json_response({label: networks[label]})
