"""Image API: discovery of import methods and stores, and quota usage (/v2/info/...)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.faults import Forbidden
from onestack.core.api.http import json_response
from onestack.image.api.common import ImageRoutes, Req
from onestack.image.service import imports, quotas

routes = ImageRoutes()


@routes.get("/v2/info/import")
async def info_import(req: Req) -> Response:
    await req.caller()
    methods = imports.advertised_methods(req.state)
    return json_response({"import-methods": {
        "description": "Import methods available.", "type": "array", "value": methods,
    }})


def _store_doc(store: Any, default: bool, detail: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": store.id, "description": store.description}
    if default:
        doc["default"] = True
    if detail:
        doc["type"] = getattr(store, "store_type", "file")
        doc["weight"] = getattr(store, "weight", 0)
        doc["properties"] = store.properties() if hasattr(store, "properties") else {}
    return doc


def _stores(req: Req, detail: bool) -> list[dict[str, Any]]:
    image = req.state
    return [_store_doc(s, sid == image.default_store, detail) for sid, s in image.stores.items()]


@routes.get("/v2/info/stores")
async def info_stores(req: Req) -> Response:
    await req.caller()
    return json_response({"stores": _stores(req, False)})


@routes.get("/v2/info/stores/detail")
async def info_stores_detail(req: Req) -> Response:
    ctx = await req.caller()
    if "stores_info_detail" in req.api.enforcer.rules():
        await req.enforce("stores_info_detail", {})
    elif not ctx.is_admin:
        raise Forbidden("Only an administrator may see store details.")
    return json_response({"stores": _stores(req, True)})


@routes.get("/v2/info/usage")
async def info_usage(req: Req) -> Response:
    ctx = await req.caller()
    return json_response({"usage": await req.read(quotas.usage, req.state, ctx.project_id)})
