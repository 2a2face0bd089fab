"""Small helpers the operator APIs share (services, hypervisors, aggregates, usage, zones), and
the query-string checks of Nova's query schemas that many APIs use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from onestack.compute.api.common import Req
from onestack.core.api.faults import BadRequest


def nova_time(dt: datetime | None) -> str | None:
    """Nova serialises naive UTC datetimes as ``2012-10-29T13:42:02.000000`` in these APIs."""
    return None if dt is None else dt.strftime("%Y-%m-%dT%H:%M:%S.%f")


def strict_query(req: Req, allowed: set[str]) -> None:
    """Nova's query schemas that forbid unknown parameters (``additionalProperties: False``)."""
    extra = sorted(set(req.params) - allowed)
    if extra:
        listed = ", ".join(f"'{k}'" for k in extra)
        raise BadRequest(f"Invalid input for query parameters {', '.join(extra)}. Value: "
                         f"{req.params[extra[0]]}. Additional properties are not allowed "
                         f"({listed} {'was' if len(extra) == 1 else 'were'} unexpected)")


async def no_query_from_2_102(req: Req) -> None:
    """Microversion 2.102 made the query schemas of GETs that take no parameters strict: any
    parameter is a 400 there (ignored before). Checked after authentication, as Nova does."""
    await req.caller()
    if req.at_least(2, 102):
        strict_query(req, set())


def body_dict(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest(f"Invalid input for field/attribute body. Value: {body}. {body!r} is not of type 'object'")
    return body
