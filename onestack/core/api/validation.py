"""Request bodies checked against JSON Schema; each service words the failure its own way.

Validators are compiled once per schema object and cached. The failure handed to a service's
formatter (``SchemaFailure``) is the single best jsonschema error, so every service reports the
same field for the same mistake and only the wording differs (Keystone's "Invalid input for
field 'x'", Nova's "Invalid input for field/attribute x. Value: …", placement's "JSON does not
validate: …").
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema
from jsonschema.protocols import Validator

from onestack.core.api.faults import ApiError, BadRequest
from onestack.core.api.parse import is_uuid, parse_timestamp


@dataclass(frozen=True)
class SchemaFailure:
    """What failed: jsonschema's message, where (path inside the body), which keyword, the value."""

    message: str
    path: tuple[str | int, ...]
    keyword: str
    value: Any
    wrapper: str | None = None

    @property
    def field(self) -> str:
        """The failing field as a dotted path, or the wrapper / "body" for the whole document."""
        return ".".join(str(p) for p in self.path) or (self.wrapper or "body")


SchemaErrors = Callable[[SchemaFailure], ApiError]


def plain_schema_error(failure: SchemaFailure) -> ApiError:
    return BadRequest(f"Invalid input for field '{failure.field}': {failure.message}")


FORMATS = jsonschema.FormatChecker()


def _uuid_format(value: object) -> bool:
    return not isinstance(value, str) or is_uuid(value)


def _timestamp_format(value: object) -> bool:
    if isinstance(value, str):
        parse_timestamp(value)
    return True


FORMATS.checks("uuid")(_uuid_format)
FORMATS.checks("date-time", raises=ValueError)(_timestamp_format)


_DRAFTS: dict[int, type[Validator]] = {4: jsonschema.Draft4Validator, 7: jsonschema.Draft7Validator}
_CACHE: OrderedDict[tuple[int, int], tuple[dict[str, Any], Validator]] = OrderedDict()
_CACHE_SIZE = 1024


def compiled(schema: dict[str, Any], draft: int = 7) -> Validator:
    """The validator for ``schema`` (compiled once; schemas built per request are cached briefly)."""
    key = (id(schema), draft)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is schema:
        _CACHE.move_to_end(key)
        return hit[1]
    validator = _DRAFTS[draft](schema, format_checker=FORMATS)
    _CACHE[key] = (schema, validator)  # holding the schema keeps its id from being reused
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return validator


def first_failure(data: Any, schema: dict[str, Any], *, draft: int = 7,
                  wrapper: str | None = None) -> SchemaFailure | None:
    error = jsonschema.exceptions.best_match(compiled(schema, draft).iter_errors(data))
    if error is None:
        return None
    return SchemaFailure(message=error.message, path=tuple(error.absolute_path), keyword=str(error.validator),
                         value=error.instance, wrapper=wrapper)


def validate(data: Any, schema: dict[str, Any], *, on_error: SchemaErrors = plain_schema_error,
             draft: int = 7, wrapper: str | None = None) -> None:
    """Raise the service's 400 (from ``on_error``) unless ``data`` matches ``schema``."""
    failure = first_failure(data, schema, draft=draft, wrapper=wrapper)
    if failure is not None:
        raise on_error(failure)
