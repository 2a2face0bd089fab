"""POST /reshaper (1.30)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import no_content
from onestack.placement.api.allocations import consumer_schema, to_write
from onestack.placement.api.common import PlacementRoutes, Req, V
from onestack.placement.api.inventories import PUT_ALL
from onestack.placement.service import reshaper
from onestack.placement.service.common import is_uuid, norm_uuid

routes = PlacementRoutes()


def schema(req: Req) -> dict[str, Any]:
    consumer = consumer_schema(req)
    consumer = {**consumer, "properties": {**consumer["properties"], "allocations": {
        **consumer["properties"]["allocations"], "minProperties": 0}}}
    return {
        "type": "object", "required": ["inventories", "allocations"], "additionalProperties": False,
        "properties": {
            "inventories": {"type": "object", "minProperties": 1, "additionalProperties": False,
                            "patternProperties": {"^[0-9a-fA-F-]{36}$": PUT_ALL}},
            "allocations": {"type": "object", "minProperties": 0, "additionalProperties": False,
                            "patternProperties": {"^[0-9a-fA-F-]{36}$": consumer}},
        },
    }


@routes.post("/reshaper", rule="placement:reshaper:reshape", since=V(30))
async def reshape(req: Req) -> Response:
    body = await req.body(schema(req))
    writes = [to_write(req, norm_uuid(c), data) for c, data in body["allocations"].items() if is_uuid(c)]
    inventories = {norm_uuid(rp) if is_uuid(rp) else rp: entry for rp, entry in body["inventories"].items()}
    await req.write(reshaper.reshape, inventories, writes, req.mv)
    return no_content()
