"""Server diagnostics (admin): ``GET /servers/{id}/diagnostics``, answered by the server's host.

From 2.48 the body is Nova's standard shape (``Diagnostics.as_api_dict``); before it, the
free-form, libvirt-style flat dict (``cpu0_time``, ``memory``, ``vda_read``, ``vnet0_rx``...).
Nova's 409s: the server has no host yet ("is not ready") or its guest is not running.
"""

from __future__ import annotations

import string
from typing import Any

from starlette.responses import Response

from onestack.compute.agent.info import InstanceInvalidState, InstanceNotReady
from onestack.compute.api.common import ComputeRoutes, Req
from onestack.compute.api.operator import no_query_from_2_102
from onestack.compute.api.servers import load
from onestack.core.api.faults import Conflict, NotImplementedFault, ServiceUnavailable
from onestack.core.api.http import json_response
from onestack.core.bus import BusTimeout, NoSuchMethod

routes = ComputeRoutes()


def legacy(diag: dict[str, Any]) -> dict[str, Any]:
    """The pre-2.48 free-form body, derived from the standard one the way libvirt names things."""
    body: dict[str, Any] = {}
    for cpu in diag.get("cpu_details") or []:
        body[f"cpu{cpu['id']}_time"] = cpu["time"]
    memory = diag.get("memory_details") or {}
    if memory.get("maximum") is not None:
        body["memory"] = memory["maximum"] * 1024  # KiB, as libvirt reports it
        body["memory-actual"] = memory["maximum"] * 1024
    if memory.get("used") is not None:
        body["memory-rss"] = memory["used"] * 1024
    for i, disk in enumerate(diag.get("disk_details") or []):
        name = "vd" + string.ascii_lowercase[i % 26]
        body.update({f"{name}_read": disk["read_bytes"], f"{name}_read_req": disk["read_requests"],
                     f"{name}_write": disk["write_bytes"], f"{name}_write_req": disk["write_requests"],
                     f"{name}_errors": disk["errors_count"]})
    for i, nic in enumerate(diag.get("nic_details") or []):
        name = f"vnet{i}"
        for field in ("rx", "tx"):
            body[f"{name}_{field}"] = nic[f"{field}_octets"]
            for what in ("drop", "errors", "packets"):
                body[f"{name}_{field}_{what}"] = nic[f"{field}_{what}"]
    return body


@routes.get("/v2.1/servers/{server_id}/diagnostics")
async def show_diagnostics(req: Req) -> Response:
    await no_query_from_2_102(req)
    ctx = await req.caller()
    row = await load(req, ctx, req.path("server_id"), "os_compute_api:os-server-diagnostics")
    uuid, host = row["uuid"], row.get("host")
    if not host:
        raise Conflict(f"Instance {uuid} is not ready")
    agents = req.state.agents
    assert agents is not None
    try:
        diag = await agents.get_diagnostics(host, uuid)
    except InstanceInvalidState as exc:  # its message is the power state's name
        raise Conflict(f"Cannot 'get_diagnostics' instance {uuid} while it is in power state {exc}") from None
    except InstanceNotReady:
        raise Conflict(f"Instance {uuid} is not ready") from None
    except (NotImplementedError, NoSuchMethod):
        raise NotImplementedFault("The requested functionality is not supported.") from None
    except BusTimeout:
        raise ServiceUnavailable(f"Compute host {host} did not answer; try again later.") from None
    return json_response(diag if req.at_least(2, 48) else legacy(diag))
