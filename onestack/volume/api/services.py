"""``/os-services``: the block-storage services (the scheduler, every ``host@backend`` volume
service, backups) with their state, and the operator's switches: enable/disable (with a reason),
freeze/thaw, failover_host, set-log/get-log."""

from __future__ import annotations

import logging
import re
from typing import Any

from starlette.responses import Response

from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response
from onestack.volume.api.common import Req, VolumeRoutes
from onestack.volume.errors import InvalidInput
from onestack.volume.service import operations as svc
from onestack.volume.service.common import iso

routes = VolumeRoutes()
_REASON = re.compile(r"^[\w\-. :,'\"/()]{0,255}$")
LOG_LEVELS = ("INFO", "WARNING", "ERROR", "DEBUG")


def _render(req: Req, v: svc.ServiceView) -> dict[str, Any]:
    row = v.row
    out: dict[str, Any] = {
        "binary": row.binary, "host": row.host, "zone": row.availability_zone,
        "status": "disabled" if row.disabled else "enabled", "state": "up" if v.up else "down",
        "updated_at": iso(v.last_seen), "disabled_reason": row.disabled_reason,
    }
    if req.at_least(3, 7):
        out["cluster"] = None
    if row.binary == svc.VOLUME_BINARY:
        out.update(replication_status=row.replication_status, active_backend_id=row.active_backend_id,
                   frozen=row.frozen)
        if req.at_least(3, 49):
            out["backend_state"] = "up" if v.up and v.has_pools else "down"
    return out


@routes.get("/v3/os-services")
async def list_services(req: Req) -> Response:
    await req.enforce("volume_extension:services:index")
    found = await req.read(svc.list_services, req.state.config.volume.service_down_time,
                           req.params.get("host"), req.params.get("binary"))
    return json_response({"services": [_render(req, v) for v in found]})


def _host(body: dict[str, Any]) -> str:
    host = body.get("host")
    if not isinstance(host, str) or not host:
        raise InvalidInput("Missing required element 'host' in request body.")
    return host


@routes.put("/v3/os-services/{action}")
async def update_service(req: Req) -> Response:
    action = req.path("action")
    body = await req.json()
    if not isinstance(body, dict):
        raise BadRequest("Malformed request body")
    if action in ("freeze", "thaw"):
        await req.enforce(f"volume:{action}_host")
        await req.write(svc.set_frozen, _host(body), action == "freeze")
        return Response(status_code=200)
    if action == "failover_host" or action == "failover":
        await req.enforce("volume:failover_host")
        await req.write(svc.failover, _host(body))
        return Response(status_code=202)
    await req.enforce("volume_extension:services:update")
    if action == "set-log":
        return _set_log(body)
    if action == "get-log":
        return await _get_log(req, body)
    if action not in ("enable", "disable", "disable-log-reason"):
        raise InvalidInput("Unknown action")
    host = _host(body)
    service = body.get("service", "")
    binary = body.get("binary") or service
    if not isinstance(binary, str) or not binary:
        raise BadRequest("Missing required element 'binary' in request body.")
    disabled = action != "enable"
    out: dict[str, Any] = {"disabled": disabled}
    reason = None
    if action == "disable-log-reason":
        reason = body.get("disabled_reason")
        if not isinstance(reason, str) or not reason.strip() or not _REASON.match(reason):
            raise InvalidInput("Disabled reason contains invalid characters or is too long")
        out["disabled_reason"] = reason
    elif action == "enable":
        out["disabled_reason"] = None
    await req.write(svc.set_disabled, host, binary, disabled, reason)
    out.update(host=host, service=service, binary=binary, status="disabled" if disabled else "enabled")
    return json_response(out)


def _set_log(body: dict[str, Any]) -> Response:
    """Levels of this process's loggers (the API's; agents run their own logging)."""
    level = str(body.get("level", "")).upper()
    if level not in LOG_LEVELS:
        raise InvalidInput(f"{body.get('level')!r} is not a valid log level.")
    prefix = body.get("prefix") or "onestack"
    logging.getLogger(str(prefix)).setLevel(level)
    return Response(status_code=202)


async def _get_log(req: Req, body: dict[str, Any]) -> Response:
    prefix = str(body.get("prefix") or "onestack")
    binary = body.get("binary") or None
    server = body.get("server") or None
    found = await req.read(svc.list_services, req.state.config.volume.service_down_time, server, binary)
    names = sorted(n for n in logging.root.manager.loggerDict if n.startswith(prefix)) or [prefix]
    levels = {n: logging.getLevelName(logging.getLogger(n).getEffectiveLevel()) for n in names}
    return json_response({"log_levels": [{"binary": v.row.binary, "host": v.row.host, "levels": levels}
                                         for v in found]})
