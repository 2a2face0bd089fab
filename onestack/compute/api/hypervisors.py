"""Hypervisors (``/os-hypervisors``): list, detail, show, uptime, statistics, search, servers.

Microversions: 2.28 makes ``cpu_info`` an object; 2.33 adds paging; 2.53 switches ids to
uuids and replaces the search/servers routes with query parameters; 2.75 always shows
``servers`` when asked for; 2.88 drops the capacity fields (placement has them), folds uptime
into the detail view and removes the statistics and uptime routes.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req, is_uuid_like
from onestack.compute.api.operator import strict_query
from onestack.compute.service import hypervisors as svc
from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version
from onestack.core.api.pagination import Page

routes = ComputeRoutes()

_FQDN = re.compile(r"^[a-zA-Z0-9-._]*$")
_LIST_PARAMS = {"limit", "marker", "hypervisor_hostname_pattern", "with_servers"}


def render(req: Req, hyp: svc.Hypervisor, detail: bool, *, servers: bool = False,
           asked_servers: bool = False) -> dict[str, Any]:
    node, service = hyp.node, hyp.service
    uuids = req.at_least(2, 53)
    body: dict[str, Any] = {
        "id": node.uuid if uuids else node.id, "hypervisor_hostname": node.hypervisor_hostname,
        "state": "up" if hyp.up else "down", "status": "disabled" if service.disabled else "enabled",
    }
    if detail:
        body.update({"hypervisor_type": node.hypervisor_type, "hypervisor_version": node.hypervisor_version,
                     "host_ip": node.host_ip,
                     "service": {"id": service.uuid if uuids else service.id, "host": node.host,
                                 "disabled_reason": service.disabled_reason}})
        if req.at_least(2, 88):
            body["uptime"] = svc.uptime(node) if hyp.up else None
        else:
            body.update(svc.resources(node))
            body["current_workload"] = hyp.workload
            info = svc.cpu_info(node)
            body["cpu_info"] = info if req.at_least(2, 28) else json.dumps(info)
    if servers and hyp.servers:
        body["servers"] = list(hyp.servers)
    elif asked_servers and req.at_least(2, 75):
        body["servers"] = []
    return body


def _down_after(req: Req) -> float:
    return float(req.state.config.compute.service_down_time)


def _uuid_or_int(req: Req, ident: str) -> bool:
    """Validate a path id for this microversion; True when it is a uuid (2.53+)."""
    if req.at_least(2, 53):
        if not is_uuid_like(ident):
            raise BadRequest(f"Invalid uuid {ident}")
        return True
    return False


async def _listing(req: Req, detail: bool) -> Response:
    await req.enforce("os_compute_api:os-hypervisors:list-detail" if detail
                      else "os_compute_api:os-hypervisors:list", {})
    paged, modern = req.at_least(2, 33), req.at_least(2, 53)
    pattern: str | None = None
    with_servers = False
    if modern:
        strict_query(req, _LIST_PARAMS)
        pattern = req.params.get("hypervisor_hostname_pattern")
        with_servers = bool(req.flag("with_servers", False))
        if pattern is not None and not (0 < len(pattern) <= 255 and _FQDN.match(pattern)):
            raise BadRequest(f"Invalid input for query parameters hypervisor_hostname_pattern. Value: {pattern}. "
                             f"{pattern!r} does not match '{_FQDN.pattern}'")
    page = req.page() if paged else Page(None, None)
    if pattern is not None and ("limit" in req.params or page.marker):
        raise BadRequest("Paging over hypervisors with the hypervisor_hostname_pattern query parameter is "
                         "not supported.")
    found = await req.read(svc.listing, pattern, page.limit, page.marker, modern, _down_after(req), with_servers)
    items = [render(req, h, detail, servers=with_servers, asked_servers=with_servers) for h in found]
    body: dict[str, Any] = {"hypervisors": items}
    if paged and pattern is None:
        links = req.next_links(items, page)
        if links:
            body["hypervisors_links"] = links
    return json_response(body)


@routes.get("/v2.1/os-hypervisors")
async def list_hypervisors(req: Req) -> Response:
    return await _listing(req, detail=False)


@routes.get("/v2.1/os-hypervisors/detail")
async def list_hypervisors_detail(req: Req) -> Response:
    return await _listing(req, detail=True)


@routes.get("/v2.1/os-hypervisors/statistics")
async def statistics(req: Req) -> Response:
    req.require_version(maximum=Version(2, 87))
    await req.enforce("os_compute_api:os-hypervisors:statistics", {})
    stats = await req.read(svc.statistics)
    return json_response({"hypervisor_statistics": stats})


async def _one(req: Req, ident: str, with_servers: bool = False) -> svc.Hypervisor:
    return await req.read(svc.one, ident, _uuid_or_int(req, ident), _down_after(req), with_servers)


@routes.get("/v2.1/os-hypervisors/{hypervisor_id}")
async def show_hypervisor(req: Req) -> Response:
    await req.caller()
    with_servers = False
    if req.at_least(2, 53):
        strict_query(req, {"with_servers"})
        with_servers = bool(req.flag("with_servers", False))
    await req.enforce("os_compute_api:os-hypervisors:show", {})
    hyp = await _one(req, req.path("hypervisor_id"), with_servers)
    return json_response({"hypervisor": render(req, hyp, True, servers=with_servers, asked_servers=with_servers)})


@routes.get("/v2.1/os-hypervisors/{hypervisor_id}/uptime")
async def hypervisor_uptime(req: Req) -> Response:
    req.require_version(maximum=Version(2, 87))
    await req.enforce("os_compute_api:os-hypervisors:uptime", {})
    hyp = await _one(req, req.path("hypervisor_id"))
    if not hyp.up:
        raise BadRequest(f"Compute service of {hyp.node.host} is unavailable at this time.")
    body = render(req, hyp, False)
    body["uptime"] = svc.uptime(hyp.node)
    return json_response({"hypervisor": body})


async def _matching(req: Req, rule: str, with_servers: bool) -> list[svc.Hypervisor]:
    req.require_version(maximum=Version(2, 52))
    await req.enforce(rule, {})
    pattern = req.path("pattern")
    return await req.read(svc.matching, pattern, _down_after(req), with_servers)


@routes.get("/v2.1/os-hypervisors/{pattern}/search")
async def search_hypervisors(req: Req) -> Response:
    found = await _matching(req, "os_compute_api:os-hypervisors:search", False)
    return json_response({"hypervisors": [render(req, h, False) for h in found]})


@routes.get("/v2.1/os-hypervisors/{pattern}/servers")
async def hypervisor_servers(req: Req) -> Response:
    found = await _matching(req, "os_compute_api:os-hypervisors:servers", True)
    return json_response({"hypervisors": [render(req, h, False, servers=True) for h in found]})
