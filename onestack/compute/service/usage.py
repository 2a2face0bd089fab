"""The instance usage audit log: how far each compute host got with the last audit period.

onestack runs no usage audit (Nova's ``instance_usage_audit`` is off by default), so there are
no task logs and every compute host counts as not run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.compute.models import Service
from onestack.compute.service.services import COMPUTE
from onestack.core.ids import utcnow


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


def audit_log(s: Session, before: datetime | None) -> dict[str, Any]:
    begin, end = last_completed_period(before)
    # Disabled compute services count too: they can still have servers.
    hosts = sorted(set(s.scalars(select(Service.host).where(Service.binary == COMPUTE))))
    done, errors = 0, 0  # no task logs: nothing done, running or failed
    overall = "ALL" if done == len(hosts) else f"{done} of {len(hosts)}"
    return {"period_beginning": str(begin), "period_ending": str(end), "num_hosts": len(hosts),
            "num_hosts_done": done, "num_hosts_running": 0, "num_hosts_not_run": len(hosts),
            "hosts_not_run": hosts, "total_instances": 0, "total_errors": errors,
            "overall_status": f"{overall} hosts done. {errors} errors.", "log": {}}
