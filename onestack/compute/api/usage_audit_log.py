"""Instance usage audit log (``/os-instance_usage_audit_log``): how far each compute host got
with the usage audit of the last completed audit period.

Nova's hosts write these task logs only when ``[DEFAULT] instance_usage_audit`` is on (off by
default); onestack runs no usage audit, so — like a Nova with the default — there are no task
logs and every compute host counts as not run. The period is Nova's default monthly one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.compute.api.common import caller, compute_of, enforce
from onestack.compute.models import Service
from onestack.compute.service.services import COMPUTE
from onestack.core.api.faults import BadRequest
from onestack.core.api.http import RouteTable, json_response
from onestack.core.ids import utcnow

routes = RouteTable()


def _month_before(day: datetime) -> datetime:
    return datetime(day.year - 1, 12, 1) if day.month == 1 else datetime(day.year, day.month - 1, 1)


def last_completed_period(before: datetime | None = None) -> tuple[datetime, datetime]:
    """The most recent whole month that ended before ``before`` (default now), as Nova's
    last_completed_audit_period with its default unit "month"."""
    now = before or utcnow()
    end = datetime(now.year, now.month, 1)
    if end >= now:
        end = _month_before(end)
    return _month_before(end), end


def _audit(s: Session, before: datetime | None) -> dict[str, Any]:
    begin, end = last_completed_period(before)
    # Disabled compute services count too: they can still have servers.
    hosts = sorted(set(s.scalars(select(Service.host).where(Service.binary == COMPUTE))))
    done, errors = 0, 0  # no task logs: nothing done, running or failed
    overall = "ALL" if done == len(hosts) else f"{done} of {len(hosts)}"
    return {"period_beginning": str(begin), "period_ending": str(end), "num_hosts": len(hosts),
            "num_hosts_done": done, "num_hosts_running": 0, "num_hosts_not_run": len(hosts),
            "hosts_not_run": hosts, "total_instances": 0, "total_errors": errors,
            "overall_status": f"{overall} hosts done. {errors} errors.", "log": {}}


@routes.get("/v2.1/os-instance_usage_audit_log")
async def list_audit_logs(request: Request) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-instance-usage-audit-log:list", {})
    body = await compute_of(request).db.read(_audit, None)
    return json_response({"instance_usage_audit_logs": body})


def _timestamp(raw: str) -> datetime:
    fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in raw else "%Y-%m-%d %H:%M:%S"
    try:
        return datetime.strptime(raw, fmt)
    except ValueError:
        raise BadRequest(f"Invalid timestamp for date {raw}") from None


@routes.get("/v2.1/os-instance_usage_audit_log/{before_timestamp}")
async def show_audit_log(request: Request) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-instance-usage-audit-log:show", {})
    before = _timestamp(request.path_params["before_timestamp"])
    body = await compute_of(request).db.read(_audit, before)
    return json_response({"instance_usage_audit_log": body})
