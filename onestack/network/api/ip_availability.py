"""/v2.0/network-ip-availabilities (admin only by default policy)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.network.api.common import Extension, NetworkRoutes, Req, fields_of, project
from onestack.network.errors import HTTPBadRequest, NetworkNotFound
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


# As Neutron's policy hook on reads: a list keeps only the items the policy allows (none for a
# project member by default), a show the policy refuses is not found.
@routes.get("/v2.0/network-ip-availabilities")
async def list_availabilities(req: Req) -> Response:
    found = await req.read(ip_availability.availabilities, _filters(req))
    items = [i for i in found if await req.allowed("get_network_ip_availability", i)]
    fields = fields_of(req)
    return json_response({"network_ip_availabilities": [project(i, fields) for i in items]})


@routes.get("/v2.0/network-ip-availabilities/{network_id}")
async def show_availability(req: Req) -> Response:
    item = await req.read(ip_availability.availability, req.path("network_id"))
    if not await req.allowed("get_network_ip_availability", item):
        raise NetworkNotFound(req.path("network_id"))
    return json_response({"network_ip_availability": project(item, fields_of(req))})
