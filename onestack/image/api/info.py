"""Image API: discovery of import methods and stores, and quota usage (/v2/info/...)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.faults import Forbidden
from onestack.core.api.http import RouteTable, json_response
from onestack.core.auth import authenticate
from onestack.image.service import imports, quotas

routes = RouteTable()


@routes.get("/v2/info/import")
async def info_import(request: Request) -> Response:
    await authenticate(request)
    methods = imports.advertised_methods(request.app.state.image)
    return json_response({"import-methods": {
        "description": "Import methods available.", "type": "array", "value": methods,
    }})


def _store_doc(store: Any, default: bool, detail: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": store.id, "description": store.description}
    if default:
        doc["default"] = True
    if detail:
        doc["type"] = "file"
        doc["weight"] = getattr(store, "weight", 0)
        doc["properties"] = store.properties() if hasattr(store, "properties") else {}
    return doc


@routes.get("/v2/info/stores")
async def info_stores(request: Request) -> Response:
    await authenticate(request)
    svc = request.app.state.image
    stores = [_store_doc(s, sid == svc.default_store, False) for sid, s in svc.stores.items()]
    return json_response({"stores": stores})


@routes.get("/v2/info/stores/detail")
async def info_stores_detail(request: Request) -> Response:
    ctx = await authenticate(request)
    svc = request.app.state.image
    if "stores_info_detail" in svc.enforcer.rules():
        svc.enforcer.enforce("stores_info_detail", {}, ctx.credentials())
    elif not ctx.is_admin:
        raise Forbidden("Only an administrator may see store details.")
    stores = [_store_doc(s, sid == svc.default_store, True) for sid, s in svc.stores.items()]
    return json_response({"stores": stores})


@routes.get("/v2/info/usage")
async def info_usage(request: Request) -> Response:
    ctx = await authenticate(request)
    svc = request.app.state.image
    usage = await svc.db.read(quotas.usage, svc, ctx.project_id)
    return json_response({"usage": usage})
