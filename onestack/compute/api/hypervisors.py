"""Hypervisors (``/os-hypervisors``): list, detail, show, uptime, statistics, search, servers.

Microversions: 2.28 makes ``cpu_info`` an object; 2.33 adds paging; 2.53 switches ids to
uuids and replaces the search/servers routes with query parameters; 2.75 always shows
``servers`` when asked for; 2.88 drops the capacity fields (placement has them), folds uptime
into the detail view and removes the statistics and uptime routes.
"""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from onestack.compute.api.common import at_least, caller, compute_of, enforce, require_version
from onestack.compute.api.operator import query_bool, strict_query
from onestack.compute.models import ComputeNode
from onestack.compute.service import hypervisors as svc
from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.http import RouteTable, json_response
from onestack.core.api.microversion import Version
from onestack.core.api.pagination import Page, next_link, page_params

routes = RouteTable()

_FQDN = re.compile(r"^[a-zA-Z0-9-._]*$")
_LIST_PARAMS = {"limit", "marker", "hypervisor_hostname_pattern", "with_servers"}


def render(request: Request, hyp: svc.Hypervisor, detail: bool, *, servers: bool = False,
           asked_servers: bool = False) -> dict[str, Any]:
    node, service = hyp.node, hyp.service
    uuids = at_least(request, 2, 53)
    body: dict[str, Any] = {
        "id": node.uuid if uuids else node.id, "hypervisor_hostname": node.hypervisor_hostname,
        "state": "up" if hyp.up else "down", "status": "disabled" if service.disabled else "enabled",
    }
    if detail:
        body.update({"hypervisor_type": node.hypervisor_type, "hypervisor_version": node.hypervisor_version,
                     "host_ip": node.host_ip,
                     "service": {"id": service.uuid if uuids else service.id, "host": node.host,
                                 "disabled_reason": service.disabled_reason}})
        if at_least(request, 2, 88):
            body["uptime"] = svc.uptime(node) if hyp.up else None
        else:
            body.update(svc.resources(node))
            body["current_workload"] = hyp.workload
            info = svc.cpu_info(node)
            body["cpu_info"] = info if at_least(request, 2, 28) else json.dumps(info)
    if servers and hyp.servers:
        body["servers"] = list(hyp.servers)
    elif asked_servers and at_least(request, 2, 75):
        body["servers"] = []
    return body


def _uuid_or_int(request: Request, ident: str) -> bool:
    """Validate a path id for this microversion; True when it is a uuid (2.53+)."""
    if at_least(request, 2, 53):
        try:
            uuidlib.UUID(ident)
        except ValueError:
            raise BadRequest(f"Invalid uuid {ident}") from None
        return True
    return False


async def _listing(request: Request, detail: bool) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-hypervisors:list-detail" if detail else "os_compute_api:os-hypervisors:list",
            {})
    paged, modern = at_least(request, 2, 33), at_least(request, 2, 53)
    pattern: str | None = None
    with_servers = False
    if modern:
        strict_query(request, _LIST_PARAMS)
        pattern = request.query_params.get("hypervisor_hostname_pattern")
        with_servers = query_bool(request, "with_servers")
        if pattern is not None and not (0 < len(pattern) <= 255 and _FQDN.match(pattern)):
            raise BadRequest(f"Invalid input for query parameters hypervisor_hostname_pattern. Value: {pattern}. "
                             f"{pattern!r} does not match '{_FQDN.pattern}'")
    page = page_params(request) if paged else Page(None, None)
    if pattern is not None and ("limit" in request.query_params or page.marker):
        raise BadRequest("Paging over hypervisors with the hypervisor_hostname_pattern query parameter is "
                         "not supported.")
    compute = compute_of(request)
    down_after = compute.config.compute.service_down_time

    def load(s: Any) -> list[svc.Hypervisor]:
        nodes = svc.search(s, pattern) if pattern is not None else svc.page(s, page.limit, page.marker, modern)
        return svc.assemble(s, nodes, down_after, with_servers)

    found = await compute.db.read(load)
    items = [render(request, h, detail, servers=with_servers, asked_servers=with_servers) for h in found]
    body: dict[str, Any] = {"hypervisors": items}
    if paged and pattern is None:
        nxt = next_link(request, items, page)
        if nxt:
            body["hypervisors_links"] = [{"rel": "next", "href": nxt}]
    return json_response(body)


@routes.get("/v2.1/os-hypervisors")
async def list_hypervisors(request: Request) -> Response:
    return await _listing(request, detail=False)


@routes.get("/v2.1/os-hypervisors/detail")
async def list_hypervisors_detail(request: Request) -> Response:
    return await _listing(request, detail=True)


@routes.get("/v2.1/os-hypervisors/statistics")
async def statistics(request: Request) -> Response:
    require_version(request, maximum=Version(2, 87))
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-hypervisors:statistics", {})
    stats = await compute_of(request).db.read(svc.statistics)
    return json_response({"hypervisor_statistics": stats})


async def _one(request: Request, ident: str, with_servers: bool = False) -> svc.Hypervisor:
    by_uuid = _uuid_or_int(request, ident)
    compute = compute_of(request)
    down_after = compute.config.compute.service_down_time

    def load(s: Any) -> svc.Hypervisor:
        node: ComputeNode = svc.get(s, ident, by_uuid)
        found = svc.assemble(s, [node], down_after, with_servers)
        if not found:
            raise NotFound(f"Hypervisor with ID '{ident}' could not be found.")
        return found[0]

    return await compute.db.read(load)


@routes.get("/v2.1/os-hypervisors/{hypervisor_id}")
async def show_hypervisor(request: Request) -> Response:
    ctx = await caller(request)
    with_servers = False
    if at_least(request, 2, 53):
        strict_query(request, {"with_servers"})
        with_servers = query_bool(request, "with_servers")
    enforce(request, ctx, "os_compute_api:os-hypervisors:show", {})
    hyp = await _one(request, request.path_params["hypervisor_id"], with_servers)
    return json_response({"hypervisor": render(request, hyp, True, servers=with_servers, asked_servers=with_servers)})


@routes.get("/v2.1/os-hypervisors/{hypervisor_id}/uptime")
async def hypervisor_uptime(request: Request) -> Response:
    require_version(request, maximum=Version(2, 87))
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-hypervisors:uptime", {})
    hyp = await _one(request, request.path_params["hypervisor_id"])
    if not hyp.up:
        raise BadRequest(f"Compute service of {hyp.node.host} is unavailable at this time.")
    body = render(request, hyp, False)
    body["uptime"] = svc.uptime(hyp.node)
    return json_response({"hypervisor": body})


async def _matching(request: Request, rule: str, with_servers: bool) -> list[svc.Hypervisor]:
    require_version(request, maximum=Version(2, 52))
    ctx = await caller(request)
    enforce(request, ctx, rule, {})
    pattern = request.path_params["pattern"]
    compute = compute_of(request)
    down_after = compute.config.compute.service_down_time
    return await compute.db.read(lambda s: svc.assemble(s, svc.search(s, pattern), down_after, with_servers))


@routes.get("/v2.1/os-hypervisors/{pattern}/search")
async def search_hypervisors(request: Request) -> Response:
    found = await _matching(request, "os_compute_api:os-hypervisors:search", False)
    return json_response({"hypervisors": [render(request, h, False) for h in found]})


@routes.get("/v2.1/os-hypervisors/{pattern}/servers")
async def hypervisor_servers(request: Request) -> Response:
    found = await _matching(request, "os_compute_api:os-hypervisors:servers", True)
    return json_response({"hypervisors": [render(request, h, False, servers=True) for h in found]})
