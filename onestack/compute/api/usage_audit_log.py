"""Instance usage audit log (``/os-instance_usage_audit_log``): how far each compute host got
with the usage audit of the last completed audit period.

Nova's hosts write these task logs only when ``[DEFAULT] instance_usage_audit`` is on (off by
default); onestack runs no usage audit, so — like a Nova with the default — there are no task
logs and every compute host counts as not run. The period is Nova's default monthly one.
"""

from __future__ import annotations

from datetime import datetime

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req
from onestack.compute.api.operator import no_query_from_2_102
from onestack.compute.service import usage
from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response

routes = ComputeRoutes()


@routes.get("/v2.1/os-instance_usage_audit_log")
async def list_audit_logs(req: Req) -> Response:
    await no_query_from_2_102(req)
    await req.enforce("os_compute_api:os-instance-usage-audit-log:list", {})
    body = await req.read(usage.audit_log, None)
    return json_response({"instance_usage_audit_logs": body})


def _timestamp(raw: str) -> datetime:
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in raw else "%Y-%m-%d %H:%M:%S"
    try:
        return datetime.strptime(raw, fmt)
    except ValueError:
        raise BadRequest(f"Invalid timestamp for date {raw}") from None


@routes.get("/v2.1/os-instance_usage_audit_log/{before_timestamp}")
async def show_audit_log(req: Req) -> Response:
    await no_query_from_2_102(req)
    await req.enforce("os_compute_api:os-instance-usage-audit-log:show", {})
    before = _timestamp(req.path("before_timestamp"))
    body = await req.read(usage.audit_log, before)
    return json_response({"instance_usage_audit_log": body})
