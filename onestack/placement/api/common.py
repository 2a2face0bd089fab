"""What placement adds to the shared request layer: its microversions, error codes and wording."""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

from starlette.responses import Response

from onestack.core.api.faults import ApiError
from onestack.core.api.microversion import MicroversionPolicy, Version
from onestack.core.api.request import ApiRoutes, Conventions, given_target
from onestack.core.api.request import Req as CoreReq
from onestack.core.api.validation import SchemaFailure
from onestack.placement.service.common import UNDEFINED, bad_request
from onestack.placement.state import PlacementState

MICROVERSIONS = MicroversionPolicy(service_type="placement", minimum=Version(1, 0), maximum=Version(1, 39))

Req = CoreReq[PlacementState]


def V(minor: int) -> Version:
    return Version(1, minor)


def _schema_error(failure: SchemaFailure) -> ApiError:
    where = "/".join(str(p) for p in failure.path)
    return bad_request(f"JSON does not validate: {failure.message}" + (f" (at {where})" if where else ""))


def _bad_value(name: str, value: str, reason: str) -> ApiError:
    return bad_request(f"Invalid query string parameters: {name}: {reason}")


class _Hooks:
    """Seeding before the first answer; version and cache headers after; request id and code on errors."""

    async def before(self, req: Req) -> None:
        await req.state.ensure_seeded()

    def after(self, req: Req, response: Response) -> None:
        response.headers.update(MICROVERSIONS.response_headers(req.mv))
        if req.method in ("GET", "HEAD") and req.mv >= V(15):
            response.headers["cache-control"] = "no-cache"
            response.headers["last-modified"] = formatdate(usegmt=True)

    def failed(self, req: Req, err: ApiError) -> None:
        err.request_id = req.request_id  # type: ignore[attr-defined]
        if req.version is None:
            return
        err.headers = {**err.headers, **MICROVERSIONS.response_headers(req.version)}
        # Error codes are part of the body from 1.23 on.
        err.error_code = (getattr(err, "error_code", None) or UNDEFINED) if req.version >= V(23) else None  # type: ignore


CONVENTIONS = Conventions(schema_error=_schema_error, bad_value=_bad_value, policy_target=given_target,
                          microversion=MICROVERSIONS, hooks=_Hooks())


PlacementRoutes = ApiRoutes[PlacementState]


def check_params(req: Req, allowed: dict[str, int]) -> None:
    """Refuse (400) query parameters unknown at this microversion (``allowed``: name -> min minor)."""
    unknown = sorted(k for k in req.params if k not in allowed or not req.at_least(1, allowed[k]))
    if unknown:
        raise bad_request("Invalid query string parameters: Additional properties are not allowed "
                          f"({', '.join(repr(k) for k in unknown)} {'was' if len(unknown) == 1 else 'were'} "
                          "unexpected)")


UUID_SCHEMA: dict[str, Any] = {"type": "string", "format": "uuid"}
NAME_SCHEMA: dict[str, Any] = {"type": "string", "pattern": "^[A-Z0-9_]+$", "maxLength": 255}
CUSTOM_SCHEMA: dict[str, Any] = {"type": "string", "pattern": "^CUSTOM_[A-Z0-9_]+$", "maxLength": 255}
