"""Absolute limits (``/limits``): the project's quotas and what it uses, under Nova's names."""

from __future__ import annotations

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req
from onestack.compute.service import quotas as svc
from onestack.core.api.http import json_response

routes = ComputeRoutes()

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


def _hidden(req: Req) -> set[str]:
    hidden: set[str] = set()
    if req.at_least(2, 36):
        hidden |= _GONE_236
    if req.at_least(2, 39):
        hidden.add("maxImageMeta")
    if req.at_least(2, 57):
        hidden |= {"maxPersonality", "maxPersonalitySize"}
    return hidden


def absolute(limits: dict[str, int], used: dict[str, int], hidden: set[str]) -> dict[str, int]:
    out = {name: limits[res] for name, res in MAXIMA if name not in hidden}
    out.update({name: used.get(res, 0) for name, res in USED if name not in hidden})
    return out


@routes.get("/v2.1/limits")
async def show_limits(req: Req) -> Response:
    ctx = await req.enforce("os_compute_api:limits")
    project_id = ctx.project_id or ""
    asked = req.params.get("tenant_id")
    if asked and asked != project_id:
        await req.enforce("os_compute_api:limits:other_project", {"project_id": asked})
        project_id = asked
    limits, used = await req.read(svc.limits_and_usage, project_id)
    return json_response({"limits": {"rate": [], "absolute": absolute(limits, used, _hidden(req))}})
