"""``/servers/{id}/os-server-password``: the password the guest posted, encrypted with its key.

The guest sets it through the metadata service; the API only shows it (``""`` when there is
none) and clears it. Clearing does not change the password inside the guest.
"""

from __future__ import annotations

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req
from onestack.compute.api.operator import no_query_from_2_102
from onestack.compute.api.servers import load
from onestack.compute.service import servers
from onestack.core.api.http import json_response, no_content

routes = ComputeRoutes()
_RULE = "os_compute_api:os-server-password:"


@routes.get("/v2.1/servers/{server_id}/os-server-password")
async def show_password(req: Req) -> Response:
    await no_query_from_2_102(req)
    ctx = await req.caller()
    row = await load(req, ctx, req.path("server_id"), _RULE + "show")
    return json_response({"password": row.get("encrypted_password") or ""})


@routes.delete("/v2.1/servers/{server_id}/os-server-password")
async def clear_password(req: Req) -> Response:
    ctx = await req.caller()
    row = await load(req, ctx, req.path("server_id"), _RULE + "clear")
    await req.write(servers.clear_password, row["uuid"])
    return no_content()
