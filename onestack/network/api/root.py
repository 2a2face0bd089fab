"""Version discovery (``/``, ``/v2.0``) and ``/v2.0/extensions``: exactly the extensions of the
mounted API modules, so Tempest's feature flags follow what is built."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.network.api.common import NetworkRoutes, Req
from onestack.network.errors import ExtensionNotFound

routes = NetworkRoutes()
EXTENSIONS = ()


def _version(req: Req) -> dict[str, object]:
    return {"id": "v2.0", "status": "CURRENT",
            "links": [{"rel": "self", "href": f"{req.service_url}/v2.0/"}]}


def _member(collection: str) -> str:
    """``subnetpools`` → ``subnetpool``, ``rbac-policies`` → ``rbac-policy``."""
    if collection.endswith("ies"):
        return collection[:-3] + "y"
    return collection.removesuffix("s")


@routes.get("/")
async def versions(req: Req) -> Response:
    return json_response({"versions": [_version(req)]})


@routes.get("/v2.0")
@routes.get("/v2.0/")
async def resources(req: Req) -> Response:
    await req.caller()
    names = sorted({c for c in req.state.collections})
    return json_response({"resources": [
        {"name": _member(n), "collection": n,
         "links": [{"rel": "self", "href": f"{req.service_url}/v2.0/{n}"}]} for n in names]})


@routes.get("/v2.0/extensions")
async def list_extensions(req: Req) -> Response:
    await req.caller()
    return json_response({"extensions": [e.view() for e in sorted(req.state.extensions, key=lambda e: e.alias)]})


@routes.get("/v2.0/extensions/{alias}")
async def show_extension(req: Req) -> Response:
    await req.caller()
    for e in req.state.extensions:
        if e.alias == req.path("alias"):
            return json_response({"extension": e.view()})
    raise ExtensionNotFound(req.path("alias"))
