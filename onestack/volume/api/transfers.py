"""Volume transfers: ``/v3/os-volume-transfer`` and, from 3.55, ``/v3/volume-transfers`` (which
adds ``no_snapshots``). The auth key is in the create response only."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version
from onestack.volume import models
from onestack.volume.api.common import (
    Req,
    VolumeRoutes,
    as_bool,
    caller,
    links,
    list_query,
    self_links,
    text,
)
from onestack.volume.errors import InvalidInput
from onestack.volume.service import transfers as svc
from onestack.volume.service.common import iso

routes = VolumeRoutes()

SORT_KEYS = ("created_at", "updated_at", "name", "volume_id")
FILTERS = ("name", "volume_id")
V355 = Version(3, 55)


def _collection(req: Req) -> str:
    return "volume-transfers" if "/volume-transfers" in req.request.url.path else "os-volume-transfer"


def summary(req: Req, t: models.Transfer) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "volume_id": t.volume_id,
            "links": self_links(req, _collection(req), t.id)}


def detail(req: Req, t: models.Transfer) -> dict[str, Any]:
    view: dict[str, Any] = {"id": t.id, "name": t.name, "created_at": iso(t.created_at), "volume_id": t.volume_id,
            "links": self_links(req, _collection(req), t.id)}
    if req.at_least(3, 55):
        view["no_snapshots"] = t.no_snapshots
    if req.at_least(3, 57):
        # Rows go once accepted: what is listed is always pending.
        view.update(source_project_id=t.source_project_id, destination_project_id=None, accepted=False)
    return view


async def _wrapped(req: Req, wrapper: str) -> dict[str, Any]:
    body = await req.json()
    if not isinstance(body, dict) or not isinstance(body.get(wrapper), dict):
        raise InvalidInput(f"Missing required element '{wrapper}' in request body.")
    found: dict[str, Any] = body[wrapper]
    return found


async def _list(req: Req, is_detail: bool) -> Response:
    await req.enforce("volume:get_all_transfers")
    lq = list_query(req, sort_keys=SORT_KEYS, filters=FILTERS, aliases={"display_name": "name"})
    rows, count = await req.read(svc.list_transfers, await caller(req), lq)
    items = [detail(req, t) if is_detail else summary(req, t) for t in rows]
    body: dict[str, Any] = {"transfers": items, **links(req, "transfers", items, lq)}
    if count is not None:
        body["count"] = count
    return json_response(body)


async def _create(req: Req) -> Response:
    await req.enforce("volume:create_transfer")
    body = await _wrapped(req, "transfer")
    volume_id = body.get("volume_id")
    if not isinstance(volume_id, str) or not volume_id:
        raise InvalidInput("Incorrect request body format")
    name = text(body.get("name"), "name")
    no_snapshots = False
    if "no_snapshots" in body and "/volume-transfers" in req.request.url.path:
        no_snapshots = as_bool(body["no_snapshots"], "no_snapshots")
    created = await req.write(svc.create, await caller(req), volume_id.strip(), name, no_snapshots)
    t = created.row
    view: dict[str, Any] = {"id": t.id, "created_at": iso(t.created_at), "name": t.name, "volume_id": t.volume_id,
            "auth_key": created.auth_key, "links": self_links(req, _collection(req), t.id)}
    if req.at_least(3, 55):
        view["no_snapshots"] = t.no_snapshots
    return json_response({"transfer": view}, 202)


async def _show(req: Req) -> Response:
    await req.enforce("volume:get_transfer")
    row = await req.read(svc.get, req.path("transfer_id"), await caller(req))
    return json_response({"transfer": detail(req, row)})


async def _delete(req: Req) -> Response:
    await req.enforce("volume:delete_transfer")
    await req.write(svc.delete_transfer, await caller(req), req.path("transfer_id"))
    return Response(status_code=202)


async def _accept(req: Req) -> Response:
    await req.enforce("volume:accept_transfer")
    body = await _wrapped(req, "accept")
    auth_key = body.get("auth_key")
    if not isinstance(auth_key, str) or not auth_key:
        raise InvalidInput("Incorrect request body format")
    row = await req.write(svc.accept, await caller(req), req.path("transfer_id"), auth_key.strip())
    return json_response({"transfer": summary(req, row)}, 202)


async def _index(req: Req) -> Response:
    return await _list(req, False)


async def _detail(req: Req) -> Response:
    return await _list(req, True)


# The same handlers under both names; the new one exists from 3.55.
for _base, _since in (("/v3/os-volume-transfer", None), ("/v3/volume-transfers", V355)):
    routes.get(_base, since=_since)(_index)
    routes.get(f"{_base}/detail", since=_since)(_detail)
    routes.post(_base, since=_since)(_create)
    routes.get(f"{_base}/{{transfer_id}}", since=_since)(_show)
    routes.delete(f"{_base}/{{transfer_id}}", since=_since)(_delete)
    routes.post(f"{_base}/{{transfer_id}}/accept", since=_since)(_accept)
