"""APIs Nova has removed and answers with 410 Gone (``nova/api/openstack/compute/`` keeps a
controller for each whose every method raises ``HTTPGone``): nova-network's, cells v1, the
certificates, cloudpipe, fping and agents APIs, XVP consoles and virtual interfaces.

They are routed so a client gets Nova's 410 rather than a router 404 that reads as a missing
feature.
"""

from __future__ import annotations

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req
from onestack.core.api.faults import Gone

routes = ComputeRoutes()

# (path, methods) as Nova's router has them; each answers 410 after authentication.
REMOVED: tuple[tuple[str, list[str]], ...] = (
    ("/v2.1/os-agents", ["GET", "POST"]),
    ("/v2.1/os-agents/{id}", ["PUT", "DELETE"]),
    ("/v2.1/os-cells", ["GET", "POST"]),
    ("/v2.1/os-cells/capacities", ["GET"]),
    ("/v2.1/os-cells/detail", ["GET"]),
    ("/v2.1/os-cells/info", ["GET"]),
    ("/v2.1/os-cells/sync_instances", ["POST"]),
    ("/v2.1/os-cells/{id}", ["GET", "PUT", "DELETE"]),
    ("/v2.1/os-cells/{id}/capacities", ["GET"]),
    ("/v2.1/os-certificates", ["POST"]),
    ("/v2.1/os-certificates/{id}", ["GET"]),
    ("/v2.1/os-cloudpipe", ["GET", "POST"]),
    ("/v2.1/os-cloudpipe/{id}", ["PUT"]),
    ("/v2.1/os-fixed-ips/{id}", ["GET"]),
    ("/v2.1/os-fixed-ips/{id}/action", ["POST"]),
    ("/v2.1/os-floating-ip-dns", ["GET"]),
    ("/v2.1/os-floating-ip-dns/{id}", ["PUT", "DELETE"]),
    ("/v2.1/os-floating-ip-dns/{id}/entries/{name}", ["GET", "PUT", "DELETE"]),
    ("/v2.1/os-floating-ips-bulk", ["GET", "POST"]),
    ("/v2.1/os-floating-ips-bulk/{id}", ["GET", "PUT"]),
    ("/v2.1/os-fping", ["GET"]),
    ("/v2.1/os-fping/{id}", ["GET"]),
    ("/v2.1/os-security-group-default-rules", ["GET", "POST"]),
    ("/v2.1/os-security-group-default-rules/{id}", ["GET", "DELETE"]),
    ("/v2.1/servers/{server_id}/consoles", ["GET", "POST"]),
    ("/v2.1/servers/{server_id}/consoles/{id}", ["GET", "DELETE"]),
    ("/v2.1/servers/{server_id}/os-virtual-interfaces", ["GET"]),
)


async def gone(req: Req) -> Response:
    await req.caller()  # 401 before anything else, as behind Nova's auth middleware
    raise Gone("This resource is no longer available.  No forwarding address is given.")


for _path, _methods in REMOVED:
    routes.add(_methods, _path)(gone)
