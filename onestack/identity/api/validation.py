"""Request-body validation with JSON Schema, reporting errors the way Keystone does."""

from __future__ import annotations

from typing import Any

import jsonschema
from jsonschema import Draft4Validator

from onestack.core.api.faults import BadRequest

NAME = {"type": "string", "minLength": 1, "maxLength": 255}
ID_STRING = {"type": "string", "minLength": 1, "maxLength": 64}
NULLABLE_ID = {"type": ["string", "null"], "minLength": 1, "maxLength": 64}
DESCRIPTION = {"type": ["string", "null"]}
ENABLED = {"type": "boolean"}
TAG = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^,/]*$"}


_validators: dict[int, Draft4Validator] = {}


def validate(body: Any, schema: dict[str, Any], *, wrapper: str | None = None) -> dict[str, Any]:
    """Check ``body`` (or ``body[wrapper]``) against ``schema``; 400 with Keystone's message if it fails."""
    if wrapper is not None:
        if not isinstance(body, dict) or wrapper not in body:
            raise BadRequest(f"Invalid input for field '{wrapper}': '{wrapper}' is a required property")
        body = body[wrapper]
    validator = _validators.get(id(schema))
    if validator is None:
        validator = _validators[id(schema)] = Draft4Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(body))
    if error is not None:
        field = ".".join(str(p) for p in error.path) or (wrapper or "body")
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else field
            raise BadRequest(f"Invalid input for field '{missing}': {error.message}")
        if error.validator == "additionalProperties":
            raise BadRequest(f"Invalid input for field '{field}': {error.message}")
        raise BadRequest(f"Invalid input for field '{field}': {error.message}")
    if not isinstance(body, dict):
        raise BadRequest(f"Invalid input for field '{wrapper or 'body'}': {body!r} is not of type 'object'")
    return body


def entity(properties: dict[str, Any], required: tuple[str, ...] = (), *, extra: bool = True) -> dict[str, Any]:
    """A schema for one resource body."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": extra,
    }
