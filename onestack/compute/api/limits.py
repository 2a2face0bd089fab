"""Absolute limits (``/limits``): the project's quotas and what it uses, under Nova's names."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from onestack.compute.api.common import at_least, caller, compute_of, enforce
from onestack.compute.service import quotas as svc
from onestack.core.api.http import RouteTable, json_response

routes = RouteTable()

# (absolute limit name, quota resource), in Nova's order.
MAXIMA = [
    ("maxImageMeta", "metadata_items"), ("maxPersonality", "injected_files"),
    ("maxPersonalitySize", "injected_file_content_bytes"), ("maxSecurityGroupRules", "security_group_rules"),
    ("maxSecurityGroups", "security_groups"), ("maxServerGroupMembers", "server_group_members"),
    ("maxServerGroups", "server_groups"), ("maxServerMeta", "metadata_items"), ("maxTotalCores", "cores"),
    ("maxTotalFloatingIps", "floating_ips"), ("maxTotalInstances", "instances"), ("maxTotalKeypairs", "key_pairs"),
    ("maxTotalRAMSize", "ram"),
]
USED = [
    ("totalCoresUsed", "cores"), ("totalFloatingIpsUsed", "floating_ips"), ("totalInstancesUsed", "instances"),
    ("totalRAMUsed", "ram"), ("totalSecurityGroupsUsed", "security_groups"),
    ("totalServerGroupsUsed", "server_groups"),
]
_GONE_236 = {"maxSecurityGroupRules", "maxSecurityGroups", "maxTotalFloatingIps", "totalFloatingIpsUsed",
             "totalSecurityGroupsUsed"}


def _hidden(request: Request) -> set[str]:
    hidden: set[str] = set()
    if at_least(request, 2, 36):
        hidden |= _GONE_236
    if at_least(request, 2, 39):
        hidden.add("maxImageMeta")
    if at_least(request, 2, 57):
        hidden |= {"maxPersonality", "maxPersonalitySize"}
    return hidden


def absolute(limits: dict[str, int], used: dict[str, int], hidden: set[str]) -> dict[str, int]:
    out = {name: limits[res] for name, res in MAXIMA if name not in hidden}
    out.update({name: used.get(res, 0) for name, res in USED if name not in hidden})
    return out


@routes.get("/v2.1/limits")
async def show_limits(request: Request) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:limits")
    project_id = ctx.project_id or ""
    asked = request.query_params.get("tenant_id")
    if asked and asked != project_id:
        enforce(request, ctx, "os_compute_api:limits:other_project", {"project_id": asked})
        project_id = asked

    def load(s: Any) -> tuple[dict[str, int], dict[str, int]]:
        return svc.limits_for(s, project_id), svc.usage_for(s, project_id)

    limits, used = await compute_of(request).db.read(load)
    return json_response({"limits": {"rate": [], "absolute": absolute(limits, used, _hidden(request))}})
