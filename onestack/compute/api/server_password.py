"""``/servers/{id}/os-server-password``: the password the guest posted, encrypted with its key.

The guest sets it through the metadata service; the API only shows it (``""`` when there is
none) and clears it. Clearing does not change the password inside the guest.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.compute.api.common import caller, compute_of
from onestack.compute.api.servers import load
from onestack.compute.models import Instance
from onestack.core.api.http import RouteTable, json_response, no_content

routes = RouteTable()
_RULE = "os_compute_api:os-server-password:"


@routes.get("/v2.1/servers/{server_id}/os-server-password")
async def show_password(request: Request) -> Response:
    ctx = await caller(request)
    row = await load(request, ctx, request.path_params["server_id"], _RULE + "show")
    return json_response({"password": row.get("encrypted_password") or ""})


@routes.delete("/v2.1/servers/{server_id}/os-server-password")
async def clear_password(request: Request) -> Response:
    ctx = await caller(request)
    row = await load(request, ctx, request.path_params["server_id"], _RULE + "clear")

    def write(s: Session) -> None:
        s.execute(update(Instance).where(Instance.uuid == row["uuid"], Instance.deleted.is_(False))
                  .values(encrypted_password=None))

    await compute_of(request).db.write(write)
    return no_content()
