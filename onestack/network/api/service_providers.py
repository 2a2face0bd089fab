"""/v2.0/service-providers (the service-type extension): which driver serves each advanced service.

onestack's routers are its own L3 implementation, served by the network agents; that is the one
provider, default for its type, as a DevStack with OVN lists its L3 provider.
"""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.network.api.common import Extension, NetworkRoutes, Req, fields_of, project
from onestack.network.errors import HTTPBadRequest

routes = NetworkRoutes()
EXTENSIONS = [Extension("service-type", "Neutron Service Type Management",
                        "API for retrieving service providers for Neutron advanced services")]
PROVIDERS = ({"service_type": "L3_ROUTER_NAT", "name": "onestack", "default": True},)
FILTERS = ("service_type", "name", "default")


@routes.get("/v2.0/service-providers")
async def list_service_providers(req: Req) -> Response:
    await req.caller()
    wanted: dict[str, list[str]] = {}
    for key in dict.fromkeys(req.params.keys()):
        if key in ("fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse"):
            continue
        if key not in FILTERS:
            raise HTTPBadRequest(f"[{key}] is invalid attribute for filtering")
        wanted[key] = req.params.getlist(key)
    items = [p for p in PROVIDERS if all(str(p[k]).lower() in [v.lower() for v in vals] for k, vals in wanted.items())]
    return json_response({"service_providers": [project(p, fields_of(req)) for p in items]})
