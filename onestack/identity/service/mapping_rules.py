"""Keystone's attribute-mapping JSON schemas (1.0, 2.0, 3.0) and its validation of a mapping.

Keystone checks a mapping with a Draft 4 validator and answers 400 ValidationError whose
message is every schema error's message, sorted by the error's text, one per line.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema

from onestack.core.api.faults import BadRequest

EPHEMERAL = "ephemeral"
LOCAL = "local"
DEFAULT_SCHEMA_VERSION = "1.0"

_ROLES: dict[str, Any] = {
    "type": "array",
    "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}},
              "additionalProperties": False},
}
_PROJECTS: dict[str, Any] = {
    "type": "array",
    "items": {"type": "object", "required": ["name", "roles"], "additionalProperties": False,
              "properties": {"name": {"type": "string"}, "roles": _ROLES}},
}
_DOMAIN: dict[str, Any] = {
    "type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
    "additionalProperties": False,
}


def _requirement(keyword: str | None) -> dict[str, Any]:
    """One kind of remote requirement: ``type`` alone, or with a list to match against."""
    if keyword is None:
        return {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}},
                "additionalProperties": False}
    return {"type": "object", "additionalProperties": False, "required": ["type", keyword],
            "properties": {"type": {"type": "string"}, keyword: {"type": "array"}, "regex": {"type": "boolean"}}}


SCHEMA_1_0: dict[str, Any] = {
    "type": "object",
    "required": ["rules"],
    "properties": {
        "rules": {
            "minItems": 1,
            "type": "array",
            "items": {
                "type": "object",
                "required": ["local", "remote"],
                "additionalProperties": False,
                "properties": {
                    "local": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "user": {
                                    "type": "object",
                                    "properties": {
                                        "id": {"type": "string"},
                                        "name": {"type": "string"},
                                        "email": {"type": "string"},
                                        "domain": {"$ref": "#/definitions/domain"},
                                        "type": {"type": "string", "enum": [EPHEMERAL, LOCAL]},
                                    },
                                    "additionalProperties": False,
                                },
                                "projects": _PROJECTS,
                                "group": {
                                    "type": "object",
                                    "oneOf": [{"$ref": "#/definitions/group_by_id"},
                                              {"$ref": "#/definitions/group_by_name"}],
                                },
                                "groups": {"type": "string"},
                                "group_ids": {"type": "string"},
                                "domain": {"$ref": "#/definitions/domain"},
                            },
                        },
                    },
                    "remote": {
                        "minItems": 1,
                        "type": "array",
                        "items": {
                            "type": "object",
                            "oneOf": [{"$ref": f"#/definitions/{name}"} for name in
                                      ("empty", "any_one_of", "not_any_of", "blacklist", "whitelist")],
                        },
                    },
                },
            },
        },
        "schema_version": {"type": "string"},
    },
    "definitions": {
        "empty": _requirement(None),
        "any_one_of": _requirement("any_one_of"),
        "not_any_of": _requirement("not_any_of"),
        "blacklist": _requirement("blacklist"),
        "whitelist": _requirement("whitelist"),
        "domain": _DOMAIN,
        "group_by_id": {"type": "object", "properties": {"id": {"type": "string"}},
                        "additionalProperties": False, "required": ["id"]},
        "group_by_name": {"type": "object",
                          "properties": {"name": {"type": "string"}, "domain": {"$ref": "#/definitions/domain"}},
                          "additionalProperties": False, "required": ["name", "domain"]},
    },
}


def _local_items(schema: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = schema["properties"]["rules"]["items"]["properties"]["local"]["items"]["properties"]
    return props


# 2.0 lets a project name its domain; 3.0 adds projects_json (projects from an assertion attribute).
SCHEMA_2_0: dict[str, Any] = copy.deepcopy(SCHEMA_1_0)
_local_items(SCHEMA_2_0)["projects"]["items"]["properties"]["domain"] = _DOMAIN
SCHEMA_3_0: dict[str, Any] = copy.deepcopy(SCHEMA_2_0)
_local_items(SCHEMA_3_0)["projects_json"] = {"type": "string"}

SCHEMAS: dict[str, dict[str, Any]] = {"1.0": SCHEMA_1_0, "2.0": SCHEMA_2_0, "3.0": SCHEMA_3_0}


def validate_mapping(mapping: dict[str, Any]) -> None:
    """400 unless ``mapping`` (with its ``schema_version`` set) matches that version's schema.

    Keystone looks an unknown version up without a guard and answers 500; this answers 400.
    """
    version = mapping.get("schema_version")
    if not isinstance(version, str) or version not in SCHEMAS:
        raise BadRequest(f"Invalid input for field 'schema_version': {version!r} is not one of "
                         f"{sorted(SCHEMAS)}.")
    validator = jsonschema.Draft4Validator(SCHEMAS[version])
    messages = "".join(error.message + "\n" for error in sorted(validator.iter_errors(mapping), key=str))
    if messages:
        raise BadRequest(messages)


def prepare(body: dict[str, Any], default_version: str) -> dict[str, Any]:
    """The mapping a PUT or PATCH stores: the body with a schema version (the default when none), validated."""
    mapping = dict(body)
    if not mapping.get("schema_version"):
        mapping["schema_version"] = default_version
    validate_mapping(mapping)
    return mapping
