"""Keystone's request-body schema fragments, and the body booleans they admit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from onestack.core.api.faults import BadRequest
from onestack.core.api.parse import Booleans, parse_timestamp

NAME = {"type": "string", "minLength": 1, "maxLength": 255}
ID_STRING = {"type": "string", "minLength": 1, "maxLength": 64}
NULLABLE_ID = {"type": ["string", "null"], "minLength": 1, "maxLength": 64}
ID_OR_NULL = {"type": ["string", "null"], "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-]+$"}
DESCRIPTION = {"type": ["string", "null"]}
ENABLED = {"type": "boolean"}
TAG = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^,/]*$"}
# A role named by id or by name (one of them), as Keystone's trust and OAuth1 authorization bodies take it.
ROLE_REF = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-]+$"},
        "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "[\\S]+"},
    },
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
}
OPTIONS = {"type": "object", "properties": {"immutable": {"type": ["boolean", "null"]}}, "additionalProperties": False}

# Keystone's body booleans (``enabled``, ``is_domain``) also take these strings, exactly so spelled
# (listed in order: a schema failure quotes them).
_TRUE = ("1", "true", "True", "TRUE", "on", "ON", "y", "Y", "yes")
_FALSE = ("", "0", "false", "False", "FALSE", "off", "OFF", "n", "N", "no")
BODY_BOOLEANS = Booleans(true=frozenset(_TRUE), false=frozenset(_FALSE), case_sensitive=True)
BOOLISH: dict[str, Any] = {"type": ["boolean", "string"], "enum": [True, False, *_TRUE, *_FALSE]}


def entity(properties: dict[str, Any], required: tuple[str, ...] = (), *, extra: bool = True) -> dict[str, Any]:
    """A schema for one resource body."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": extra,
    }


def normalise_bools(data: dict[str, Any], *names: str) -> dict[str, Any]:
    """``BOOLISH`` fields as real booleans; a null one is dropped (null means "the default")."""
    for name in names:
        if name in data and data[name] is not None:
            value = data[name]
            data[name] = value if isinstance(value, bool) else BODY_BOOLEANS.parse(value)
        elif name in data:
            data.pop(name)
    return data


def parse_expiry(data: dict[str, Any]) -> dict[str, Any]:
    """``expires_at`` as a datetime (None when absent or empty); 400 with Keystone's words if unreadable."""
    raw = data.get("expires_at")
    expires: datetime | None = None
    if raw:
        try:
            expires = parse_timestamp(str(raw))
        except ValueError:
            raise BadRequest(f"Invalid input for field 'expires_at': {raw!r} is not a valid time.") from None
    data["expires_at"] = expires
    return data
