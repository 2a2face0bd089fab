"""What compute adds to the shared request layer (core/api/request.py): Nova's wording.

Nova words a schema failure "Invalid input for field/attribute {field}. Value: {value}.
{message}" and a bad query value "Invalid input for query parameters {name}. ..."; it takes
oslo's boolean spellings and checks policy against the caller's own project and user unless
told otherwise. Everything else a handler needs (caller, enforce, microversions, bodies, paging,
next links, service URLs) is the core request's.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from typing import Any

from onestack.compute.state import ComputeService
from onestack.core.api.faults import ApiError, BadRequest
from onestack.core.api.pagination import Page
from onestack.core.api.parse import INT32_MAX, OSLO_BOOLEANS, parse_int, parse_timestamp
from onestack.core.api.request import ApiRoutes, Conventions, own_target
from onestack.core.api.request import Req as CoreReq
from onestack.core.api.validation import SchemaFailure

Req = CoreReq[ComputeService]
ComputeRoutes = ApiRoutes[ComputeService]

MAX_INT = INT32_MAX
MAX_LIMIT = 1000  # Nova's [api] max_limit
_DIGITS = re.compile(r"^-?[0-9]+$")


def invalid(field: str, value: Any, why: str) -> BadRequest:
    """Nova's schema-error message for one field."""
    return BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. {why}")


def _schema_error(failure: SchemaFailure) -> ApiError:
    # Nova names the innermost field; a failure of the whole document names the wrapper, if any.
    field = str(failure.path[-1]) if failure.path else failure.wrapper
    return invalid(field, failure.value, failure.message) if field else BadRequest(failure.message)


def _bad_value(name: str, value: str, reason: str) -> ApiError:
    return BadRequest(f"Invalid input for query parameters {name}. Value: {value}. {reason}")


CONVENTIONS = Conventions(schema_error=_schema_error, bad_value=_bad_value, booleans=OSLO_BOOLEANS,
                          policy_target=own_target, max_limit=MAX_LIMIT)


def is_uuid_like(value: Any) -> bool:
    """oslo's is_uuid_like, Nova's "uuid" format: any spelling ``uuid.UUID`` reads (braces, a
    ``urn:uuid:`` prefix, no dashes) that names the same 32 hex digits."""
    if not isinstance(value, str):
        return False
    try:
        parsed = uuidlib.UUID(value)
    except ValueError:
        return False
    bare = value.lower().removeprefix("urn:").removeprefix("uuid:").strip("{}").replace("-", "")
    return parsed.hex == bare


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
        raise invalid(field, value, f"{value!r} is not of type 'integer', 'string'")
    if isinstance(value, str) and not _DIGITS.match(value.strip()):
        raise invalid(field, value, f"{value!r} does not match '^-?[0-9]+$'")
    number = int(value)
    try:
        return parse_int(number, minimum=minimum, maximum=maximum)
    except ValueError as exc:
        raise invalid(field, number, str(exc)) from None


def as_bool(value: Any, field: str) -> bool:
    """Nova's boolean parameters also take oslo's strings ("True", "no", "1", ...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return OSLO_BOOLEANS.parse(value)
        except ValueError:
            pass
    raise invalid(field, value, f"{value!r} is not a valid boolean")


def name_field(value: Any, field: str = "name", max_length: int = 255) -> str:
    """A name: a 1..255 character string without leading or trailing whitespace."""
    if not isinstance(value, str):
        raise invalid(field, value, f"{value!r} is not of type 'string'")
    if not value or len(value) > max_length:
        raise invalid(field, value, f"must be between 1 and {max_length} characters long")
    if value != value.strip():
        raise invalid(field, value, "Leading or trailing whitespace is not allowed")
    if any(ord(c) < 32 for c in value):
        raise invalid(field, value, "Control characters are not allowed")
    return value


def page(req: Req, max_limit: int = MAX_LIMIT) -> Page:
    """``limit``/``marker`` as Nova's query schemas take them (``limit`` only digits)."""
    for raw in req.params.getlist("limit"):
        if not raw.isdigit():
            raise req.bad_value("limit", raw, f"'{raw}' does not match '^[0-9]*$'")
    return req.page(max_limit)


def timestamp(req: Req, name: str) -> Any:
    """A ``changes-since``-like parameter (naive UTC), or None; Nova's 400 when malformed."""
    raw = req.params.get(name)
    if raw is None:
        return None
    try:
        return parse_timestamp(raw)
    except ValueError:
        raise req.bad_value(name, raw, f"'{raw}' is not a 'date-time'") from None


def resource_links(req: Req, collection: str, ident: str) -> list[dict[str, str]]:
    """Nova's self (versioned) and bookmark (unversioned) links of one resource."""
    base = req.service_url
    return [{"rel": "self", "href": f"{base}/v2.1/{collection}/{ident}"},
            {"rel": "bookmark", "href": f"{base}/{collection}/{ident}"}]
