"""Simple tenant usage (``/os-simple-tenant-usage``): server hours per project in a period.

``start``/``end`` default to now (the end is never later than now); 2.40 pages over the
servers with ``limit``/``marker`` (an instance uuid) and adds ``*_links``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from onestack.compute.api.common import at_least, caller, compute_of, enforce
from onestack.compute.api.operator import nova_time, strict_query
from onestack.compute.service import tenant_usage as svc
from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.http import RouteTable, json_response
from onestack.core.api.pagination import Page, next_link, page_params
from onestack.core.ids import utcnow

routes = RouteTable()

MAX_LIMIT = 1000
_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


def _when(raw: str | None) -> datetime:
    if not raw:
        return utcnow()
    for fmt in _FORMATS:
        try:
            return datetime.strptime(raw, fmt)
        except ValueError:
            continue
    raise BadRequest("Invalid datetime string: Datetime is in invalid format")


def _period(request: Request) -> tuple[datetime, datetime]:
    start, stop = _when(request.query_params.get("start")), _when(request.query_params.get("end"))
    if not start < stop:
        raise BadRequest("Invalid start time. The start time cannot occur after the end time.")
    return start, min(stop, utcnow())


def _page(request: Request, allowed: set[str]) -> tuple[Page, bool]:
    links = at_least(request, 2, 40)
    if at_least(request, 2, 75):
        strict_query(request, allowed | {"limit", "marker"})
    if not links:
        return Page(MAX_LIMIT, None), False
    page = page_params(request, MAX_LIMIT)
    return Page(MAX_LIMIT if page.limit is None else page.limit, page.marker), True


def render_server(info: dict[str, Any]) -> dict[str, Any]:
    return {**info, "started_at": nova_time(info["started_at"]), "ended_at": nova_time(info["ended_at"])}


def render(usage: svc.ProjectUsage, detailed: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tenant_id": usage.tenant_id, "total_local_gb_usage": usage.total_local_gb_usage,
        "total_vcpus_usage": usage.total_vcpus_usage, "total_memory_mb_usage": usage.total_memory_mb_usage,
        "total_hours": usage.total_hours, "start": nova_time(usage.start), "stop": nova_time(usage.stop),
    }
    if detailed:
        body["server_usages"] = [render_server(i) for i in usage.server_usages]
    return body


def _links(request: Request, servers: list[dict[str, Any]], page: Page) -> list[dict[str, str]]:
    nxt = next_link(request, servers, page, key="instance_id")
    return [{"rel": "next", "href": nxt}] if nxt else []


@routes.get("/v2.1/os-simple-tenant-usage")
async def list_usage(request: Request) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-simple-tenant-usage:list")
    page, links = _page(request, {"start", "end", "detailed"})
    start, stop = _period(request)
    detailed = request.query_params.get("detailed", "0") == "1"
    usages, servers = await compute_of(request).db.read(svc.usage, start, stop, None, page.limit, page.marker)
    body: dict[str, Any] = {"tenant_usages": [render(u, detailed) for u in usages]}
    if links and (found := _links(request, servers, page)):
        body["tenant_usages_links"] = found
    return json_response(body)


@routes.get("/v2.1/os-simple-tenant-usage/")
async def empty_tenant(request: Request) -> Response:
    """An empty tenant id matches no route in Nova's router: 404, not a redirect to the list."""
    raise NotFound("The resource could not be found.")


@routes.get("/v2.1/os-simple-tenant-usage/{tenant_id}")
async def show_usage(request: Request) -> Response:
    ctx = await caller(request)
    tenant_id = request.path_params["tenant_id"]
    enforce(request, ctx, "os_compute_api:os-simple-tenant-usage:show", {"project_id": tenant_id})
    page, links = _page(request, {"start", "end"})
    start, stop = _period(request)
    usages, servers = await compute_of(request).db.read(svc.usage, start, stop, tenant_id, page.limit, page.marker)
    body: dict[str, Any] = {"tenant_usage": render(usages[0], True) if usages else {}}
    if links and (found := _links(request, servers, page)):
        body["tenant_usage_links"] = found
    return json_response(body)
