"""/v2.0/network-ip-availabilities (admin only by default policy)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.network.api.common import Extension, NetworkRoutes, Req, enforce, fields_of, project
from onestack.network.errors import HTTPBadRequest
from onestack.network.service import ip_availability

routes = NetworkRoutes()

EXTENSIONS = [
    Extension("network-ip-availability", "Network IP Availability",
              "Provides IP availability data for each network and subnet.", "2015-09-24T00:00:00-00:00"),
]
# Paging and sorting parameters are accepted and, as by Neutron's plugin, not applied.
_IGNORED = {"fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse"}


def _filters(req: Req) -> dict[str, list[Any]]:
    filters: dict[str, list[Any]] = {}
    for key in dict.fromkeys(req.params.keys()):
        if key in _IGNORED:
            continue
        if key not in ip_availability.FILTERS:
            raise HTTPBadRequest(f"[{key}] is invalid attribute for filtering")
        values: list[Any] = req.params.getlist(key)
        if key == "ip_version":
            try:
                values = [int(v) for v in values]
            except ValueError:
                raise HTTPBadRequest(f"Invalid input for ip_version. Reason: '{values[0]}' is not an "
                                     "integer.") from None
        filters[key] = values
    return filters


@routes.get("/v2.0/network-ip-availabilities")
async def list_availabilities(req: Req) -> Response:
    await enforce(req, "get_network_ip_availability", {})
    items = await req.read(ip_availability.availabilities, _filters(req))
    fields = fields_of(req)
    return json_response({"network_ip_availabilities": [project(i, fields) for i in items]})


@routes.get("/v2.0/network-ip-availabilities/{network_id}")
async def show_availability(req: Req) -> Response:
    await enforce(req, "get_network_ip_availability", {})
    item = await req.read(ip_availability.availability, req.path("network_id"))
    return json_response({"network_ip_availability": project(item, fields_of(req))})
