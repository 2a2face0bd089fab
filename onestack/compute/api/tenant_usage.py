"""Simple tenant usage (``/os-simple-tenant-usage``): server hours per project in a period.

``start``/``end`` default to now (the end is never later than now); 2.40 pages over the
servers with ``limit``/``marker`` (an instance uuid) and adds ``*_links``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req
from onestack.compute.api.operator import nova_time, strict_query
from onestack.compute.service import tenant_usage as svc
from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.http import json_response
from onestack.core.api.pagination import Page
from onestack.core.ids import utcnow

routes = ComputeRoutes()

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


def _period(req: Req) -> tuple[datetime, datetime]:
    start, stop = _when(req.params.get("start")), _when(req.params.get("end"))
    if not start < stop:
        raise BadRequest("Invalid start time. The start time cannot occur after the end time.")
    return start, min(stop, utcnow())


def _page(req: Req, allowed: set[str]) -> tuple[Page, bool]:
    links = req.at_least(2, 40)
    if req.at_least(2, 75):
        strict_query(req, allowed | {"limit", "marker"})
    if not links:
        return Page(MAX_LIMIT, None), False
    page = req.page(MAX_LIMIT)
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


def _links(req: Req, servers: list[dict[str, Any]], page: Page) -> list[dict[str, str]]:
    return req.next_links(servers, page, key="instance_id")


@routes.get("/v2.1/os-simple-tenant-usage")
async def list_usage(req: Req) -> Response:
    await req.enforce("os_compute_api:os-simple-tenant-usage:list")
    page, links = _page(req, {"start", "end", "detailed"})
    start, stop = _period(req)
    detailed = req.params.get("detailed", "0") == "1"
    usages, servers = await req.read(svc.usage, start, stop, None, page.limit, page.marker)
    body: dict[str, Any] = {"tenant_usages": [render(u, detailed) for u in usages]}
    if links and (found := _links(req, servers, page)):
        body["tenant_usages_links"] = found
    return json_response(body)


@routes.get("/v2.1/os-simple-tenant-usage/")
async def empty_tenant(req: Req) -> Response:
    """An empty tenant id matches no route in Nova's router: 404, not a redirect to the list.

    Nova's token check runs before its router, so a caller without a token gets 401 first.
    """
    await req.caller()
    raise NotFound("The resource could not be found.")


@routes.get("/v2.1/os-simple-tenant-usage/{tenant_id}")
async def show_usage(req: Req) -> Response:
    await req.caller()
    tenant_id = req.path("tenant_id")
    await req.enforce("os_compute_api:os-simple-tenant-usage:show", {"project_id": tenant_id})
    page, links = _page(req, {"start", "end"})
    start, stop = _period(req)
    usages, servers = await req.read(svc.usage, start, stop, tenant_id, page.limit, page.marker)
    body: dict[str, Any] = {"tenant_usage": render(usages[0], True) if usages else {}}
    if links and (found := _links(req, servers, page)):
        body["tenant_usage_links"] = found
    return json_response(body)
