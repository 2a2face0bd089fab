"""Helpers every compute API module shares: caller, policy, body checks, links, versions."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request

from onestack.compute.state import ComputeService
from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.http import json_body
from onestack.core.api.microversion import Version, microversion_of
from onestack.core.auth import AuthContext, authenticate

MAX_INT = 2**31 - 1
_TRUE = {"1", "t", "true", "on", "y", "yes"}
_FALSE = {"0", "f", "false", "off", "n", "no"}
_DIGITS = re.compile(r"^-?[0-9]+$")


def compute_of(request: Request) -> ComputeService:
    return request.app.state.compute  # type: ignore[no-any-return]


async def caller(request: Request) -> AuthContext:
    return await authenticate(request)


def enforce(request: Request, ctx: AuthContext, rule: str, target: dict[str, Any] | None = None) -> None:
    """403 unless ``rule`` allows the caller; the target defaults to the caller's own project and user."""
    full = {"project_id": ctx.project_id, "user_id": ctx.user_id, **(target or {})}
    compute_of(request).enforcer.enforce(rule, full, ctx.credentials())


def allowed(request: Request, ctx: AuthContext, rule: str, target: dict[str, Any] | None = None) -> bool:
    full = {"project_id": ctx.project_id, "user_id": ctx.user_id, **(target or {})}
    return compute_of(request).enforcer.check(rule, full, ctx.credentials())


def is_admin(request: Request, ctx: AuthContext) -> bool:
    return allowed(request, ctx, "context_is_admin")


def version(request: Request) -> Version:
    return microversion_of(request)


def at_least(request: Request, major: int, minor: int) -> bool:
    return microversion_of(request) >= Version(major, minor)


def require_version(request: Request, minimum: Version | None = None, maximum: Version | None = None) -> None:
    """Nova answers a method that does not exist at the requested version with 404."""
    mv = microversion_of(request)
    if (minimum is not None and mv < minimum) or (maximum is not None and mv > maximum):
        raise NotFound("The resource could not be found.")


async def wrapped_body(request: Request, wrapper: str) -> dict[str, Any]:
    """The object inside ``{wrapper: {...}}``; 400 when the envelope is missing or wrong."""
    body = await json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get(wrapper), dict):
        raise BadRequest(f"Invalid input for field/attribute {wrapper}. Value: {body}. "
                         f"'{wrapper}' is a required property")
    return body[wrapper]  # type: ignore[no-any-return]


def invalid(field: str, value: Any, why: str) -> BadRequest:
    """Nova's schema-error message for one field."""
    return BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {why}")


def check_keys(obj: dict[str, Any], allowed_keys: set[str], where: str) -> None:
    extra = sorted(set(obj) - allowed_keys)
    if extra:
        listed = ", ".join(f"'{k}'" for k in extra)
        raise BadRequest(f"Invalid input for field/attribute {where}. "
                         f"Additional properties are not allowed ({listed} {'was' if len(extra) == 1 else 'were'} "
                         "unexpected)")


def as_int(value: Any, field: str, minimum: int = 0, maximum: int = MAX_INT) -> int:
    """Nova's integer parameters: a JSON integer or a string of digits, within bounds."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                         f"{value!r} is not of type 'integer', 'string'")
    if isinstance(value, str):
        if not _DIGITS.match(value.strip()):
            raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                             f"{value!r} does not match '^-?[0-9]+$'")
        value = int(value.strip())
    if value < minimum:
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                         f"{value} is less than the minimum of {minimum}")
    if value > maximum:
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                         f"{value} is greater than the maximum of {maximum}")
    return int(value)


def as_bool(value: Any, field: str) -> bool:
    """Nova's boolean parameters also take the usual strings ("True", "no", "1", ...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {value!r} is not a valid boolean")


def name_field(value: Any, field: str = "name", max_length: int = 255) -> str:
    """A name: a 1..255 character string without leading or trailing whitespace."""
    if not isinstance(value, str):
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {value!r} is not of type 'string'")
    if not value or len(value) > max_length:
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                         f"must be between 1 and {max_length} characters long")
    if value != value.strip():
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                         "Leading or trailing whitespace is not allowed")
    if any(ord(c) < 32 for c in value):
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                         "Control characters are not allowed")
    return value


def api_base(request: Request) -> str:
    """``http://host:port/compute``: the root below which v2.1 and bookmark links live."""
    return str(request.base_url).rstrip("/") + str(request.scope.get("root_path", ""))


def resource_links(request: Request, collection: str, ident: str) -> list[dict[str, str]]:
    base = api_base(request)
    return [{"rel": "self", "href": f"{base}/v2.1/{collection}/{ident}"},
            {"rel": "bookmark", "href": f"{base}/{collection}/{ident}"}]
