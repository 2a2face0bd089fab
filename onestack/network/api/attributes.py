"""Neutron's attribute maps: what a body may hold for each resource, checked and converted
with Neutron's wording ("Invalid input for name. Reason: …").

A resource declares its attributes once as ``Attr``s; ``parse_body`` applies them to a POST
(defaults filled, required ones present, ``allow_post``) or a PUT (only ``allow_put`` ones).
Converters take the JSON value and return the stored one, raising ``ValueError(reason)`` (or
``TypeError`` for a value of the wrong kind).
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from onestack.core.api.parse import parse_uuid
from onestack.network.errors import HTTPBadRequest, InvalidInput, invalid_input

Convert = Callable[[Any], Any]
MISSING: Any = object()


@dataclass(frozen=True)
class Attr:
    name: str
    convert: Convert
    allow_post: bool = True
    allow_put: bool = True
    default: Any = MISSING  # MISSING and allow_post: required on POST
    required: bool = False


def parse_body(body: Any, member: str, attrs: Sequence[Attr], *, creating: bool,
               fill_defaults: bool = True) -> dict[str, Any]:
    """The ``member`` object of ``body`` checked against ``attrs``: unknown, read-only or invalid
    attributes are Neutron's 400; on POST missing optional ones get their defaults."""
    if not isinstance(body, Mapping) or member not in body:
        raise HTTPBadRequest(f"Unable to find '{member}' in request body")
    data = body[member]
    if not isinstance(data, Mapping):
        raise HTTPBadRequest(f"Invalid input for {member}. Reason: '{data}' is not a dictionary.")
    by_name = {a.name: a for a in attrs}
    unknown = [k for k in data if k not in by_name]
    if unknown:
        raise HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(sorted(unknown))}'")
    out: dict[str, Any] = {}
    for key, value in data.items():
        attr = by_name[key]
        if creating and not attr.allow_post:
            raise HTTPBadRequest(f"Attribute '{key}' not allowed in POST")
        if not creating and not attr.allow_put:
            raise HTTPBadRequest(f"Cannot update read-only attribute {key}")
        try:
            out[key] = attr.convert(value)
        except (ValueError, TypeError) as exc:
            raise invalid_input(key, str(exc)) from None
    if creating:
        missing = [a.name for a in attrs if a.allow_post and a.required and a.name not in out]
        if missing:
            raise HTTPBadRequest(f"Failed to parse request. Required attribute '{missing[0]}' not specified")
        if fill_defaults:
            for a in attrs:
                if a.allow_post and a.name not in out and a.default is not MISSING:
                    out[a.name] = a.default() if callable(a.default) else a.default
    return out


# --- converters -------------------------------------------------------------------------------------


def string(max_len: int | None = 255, *, nullable: bool = False) -> Convert:
    def convert(value: Any) -> Any:
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            raise TypeError(f"'{value}' is not a valid string")
        if max_len is not None and len(value) > max_len:
            raise ValueError(f"'{value}' exceeds maximum length of {max_len}")
        return value
    return convert


def name_or_none(max_len: int = 255) -> Convert:
    """A name where ``null`` means the empty string (Neutron stores names as '')."""
    inner = string(max_len)
    return lambda value: "" if value is None else inner(value)


_TRUE = {"true", "1", "t", "on", "y", "yes"}
_FALSE = {"false", "0", "f", "off", "n", "no"}


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise ValueError(f"'{value}' cannot be converted to boolean")


def integer(minimum: int | None = None, maximum: int | None = None, *, nullable: bool = False) -> Convert:
    def convert(value: Any) -> Any:
        if value is None and nullable:
            return None
        if isinstance(value, bool):
            raise TypeError(f"'{value}' is not an integer")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"'{value}' is not an integer") from None
        if isinstance(value, float) and value != number:
            raise ValueError(f"'{value}' is not an integer")
        if minimum is not None and number < minimum:
            raise ValueError(f"'{number}' is too small - must be at least '{minimum}'")
        if maximum is not None and number > maximum:
            raise ValueError(f"'{number}' is too large - must be no larger than '{maximum}'")
        return number
    return convert


def uuid_(value: Any, *, nullable: bool = False) -> Any:
    if value is None and nullable:
        return None
    try:
        return parse_uuid(value) if isinstance(value, str) else _bad_uuid(value)
    except ValueError:
        return _bad_uuid(value)


def _bad_uuid(value: Any) -> Any:
    raise ValueError(f"'{value}' is not a valid UUID")


def uuid_or_none(value: Any) -> Any:
    return uuid_(value, nullable=True)


def project_id(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 255:
        raise ValueError(f"'{value}' is not a valid string")
    return value


def ip_address(value: Any, *, nullable: bool = False) -> Any:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise TypeError(f"'{value}' is not a valid IP address")
    try:
        # Neutron refuses the leading-zero and scoped forms the stdlib would also refuse.
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"'{value}' is not a valid IP address") from None


def cidr(value: Any, *, nullable: bool = False, strict: bool = False) -> Any:
    """A network in CIDR form; an address with host bits set is refused when ``strict``."""
    if value is None and nullable:
        return None
    if not isinstance(value, str) or "/" not in value:
        raise ValueError(f"'{value}' is not a valid IP subnet")
    try:
        net = ipaddress.ip_network(value, strict=strict)
    except ValueError:
        raise ValueError(f"'{value}' is not a valid IP subnet") from None
    return str(net) if strict else value


_MAC = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")


def mac_address(value: Any) -> str:
    if not isinstance(value, str) or not _MAC.match(value):
        raise ValueError(f"'{value}' is not a valid MAC address")
    mac = value.lower().replace("-", ":")
    if mac == "00:00:00:00:00:00" or int(mac[:2], 16) & 1:
        raise ValueError(f"'{value}' is not a valid MAC address")  # zero or multicast
    return mac


def one_of(*choices: Any, nullable: bool = False) -> Convert:
    def convert(value: Any) -> Any:
        if value is None and nullable:
            return None
        if value not in choices:
            raise ValueError(f"'{value}' is not in {list(choices)}")
        return value
    return convert


def list_of(item: Convert, *, unique: bool = False) -> Convert:
    def convert(value: Any) -> Any:
        if value is None:
            return []
        if not isinstance(value, list):
            raise TypeError(f"'{value}' is not a list")
        out = [item(v) for v in value]
        if unique and len({repr(v) for v in out}) != len(out):
            raise ValueError(f"Duplicate items in the list: '{', '.join(str(v) for v in value)}'")
        return out
    return convert


def az_hints(value: Any) -> Any:
    """Neutron's availability_zone_hints: unique strings whose stored JSON fits its 255-character
    column, else InvalidInput (raised, not a reason, as neutron_lib's validator does)."""
    hints = list_of(string(None), unique=True)(value)
    if len(json.dumps(hints)) > 255:
        raise InvalidInput("Too many availability_zone_hints specified")
    return hints


def dict_(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"'{value}' is not a dictionary")
    return value


def any_(value: Any) -> Any:
    return value


def random_uuid() -> str:
    return str(uuid.uuid4())


# The attributes every standard resource has in its body.
def common_attrs(*, name_required: bool = False) -> list[Attr]:
    return [
        Attr("id", uuid_, allow_post=False, allow_put=False),
        Attr("name", name_or_none(), default="", required=name_required),
        Attr("description", name_or_none(), default=""),
        Attr("project_id", project_id, allow_put=False),
        Attr("tenant_id", project_id, allow_put=False),
    ]


def bulk_items(body: Any, collection: str, member: str) -> list[dict[str, Any]]:
    """The members of a bulk create (``{"ports": [{…}, …]}``), each wrapped as ``{member: …}``
    for ``parse_body``; an empty or malformed list is Neutron's 400."""
    items = body.get(collection) if isinstance(body, Mapping) else None
    if not isinstance(items, list) or not items:
        raise HTTPBadRequest("Resources required")
    return [{member: item} for item in items]
