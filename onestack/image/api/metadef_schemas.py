"""JSON-schema documents for the metadata-definition API.

The same documents are served at /v2/schemas/metadefs/* and used to validate request
bodies, so what a client reads is exactly what the server enforces.
"""

from __future__ import annotations

import copy
from typing import Any

_STAMPS: dict[str, Any] = {
    "created_at": {"type": "string", "readOnly": True, "format": "date-time",
                   "description": "When the definition was created."},
    "updated_at": {"type": "string", "readOnly": True, "format": "date-time",
                   "description": "When the definition last changed."},
}
_LINKS: dict[str, Any] = {
    "self": {"type": "string", "readOnly": True},
    "schema": {"type": "string", "readOnly": True},
}
# Keys a client may echo back from a GET; the server owns them, so they are dropped on input.
READ_ONLY = ("created_at", "updated_at", "self", "schema")

_VALUE_TYPES = ["array", "boolean", "integer", "number", "object", "string", None]
_COUNT = {"type": "integer", "minimum": 0}


def _property_def() -> dict[str, Any]:
    """One property definition: a small JSON-schema fragment describing a key's values."""
    return {
        "type": "object",
        "required": ["title", "type"],
        "properties": {
            "name": {"type": "string", "maxLength": 80},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "operators": {"type": "array", "items": {"type": "string"}},
            "type": {"type": "string", "enum": _VALUE_TYPES},
            "required": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "minimum": {"type": "number"},
            "maximum": {"type": "number"},
            "maxLength": _COUNT,
            "minLength": _COUNT,
            "pattern": {"type": "string", "format": "regex"},
            "enum": {"type": "array"},
            "readonly": {"type": "boolean"},
            "default": {},
            "items": {"type": "object", "properties": {
                "type": {"type": "string", "enum": _VALUE_TYPES},
                "enum": {"type": "array"},
            }},
            "uniqueItems": {"type": "boolean", "default": False},
            "maxItems": _COUNT,
            "minItems": _COUNT,
            "additionalItems": {"type": "boolean"},
        },
    }


def _object_def() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "maxLength": 80},
            "description": {"type": "string"},
            "required": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "properties": {"type": "object", "additionalProperties": _property_def()},
        },
    }


def _association_def() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "maxLength": 80,
                     "description": "A resource type, named as Heat names them (e.g. OS::Glance::Image)."},
            "prefix": {"type": "string", "maxLength": 80,
                       "description": "Prepended to this namespace's property names when applied to the "
                                      "resource type; include the separator, e.g. 'hw_'."},
            "properties_target": {"type": "string", "maxLength": 80,
                                  "description": "Which of the resource's key/value maps the properties "
                                                 "belong to, when it has several (e.g. image)."},
        },
    }


def _tag_def() -> dict[str, Any]:
    return {"type": "object", "required": ["name"],
            "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 80}}}


def _entity(name: str, body: dict[str, Any], *, links: bool = True) -> dict[str, Any]:
    doc = copy.deepcopy(body)
    doc["name"] = name
    doc["additionalProperties"] = False
    doc["properties"].update(copy.deepcopy(_STAMPS))
    if links:
        doc["properties"].update(copy.deepcopy(_LINKS))
    return doc


def _namespace() -> dict[str, Any]:
    body = {
        "type": "object",
        "required": ["namespace"],
        "properties": {
            "namespace": {"type": "string", "minLength": 1, "maxLength": 80,
                          "description": "The namespace's unique name."},
            "display_name": {"type": "string", "maxLength": 80, "description": "A name for people to read."},
            "description": {"type": "string", "maxLength": 500},
            "visibility": {"type": "string", "enum": ["public", "private"],
                           "description": "public: every project can read it; private: only the owner."},
            "protected": {"type": "boolean", "description": "A protected namespace cannot be deleted."},
            "owner": {"type": "string", "maxLength": 255, "description": "The owning project."},
            "resource_type_associations": {"type": "array", "items": _association_def()},
            "properties": {"type": "object", "additionalProperties": _property_def()},
            "objects": {"type": "array", "items": _object_def()},
            "tags": {"type": "array", "items": _tag_def()},
        },
    }
    return _entity("namespace", body)


def _collection(name: str, key: str, item: dict[str, Any], *, as_map: bool = False) -> dict[str, Any]:
    items: dict[str, Any] = ({"type": "object", "additionalProperties": item} if as_map
                             else {"type": "array", "items": item})
    return {
        "name": name,
        "properties": {key: items, "first": {"type": "string"}, "next": {"type": "string"},
                       "schema": {"type": "string"}},
        "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                  {"rel": "describedby", "href": "{schema}"}],
    }


def _property() -> dict[str, Any]:
    doc = _property_def()
    doc["name"] = "property"
    doc["additionalProperties"] = False
    doc["required"] = ["name", "title", "type"]
    return doc


NAMESPACE = _namespace()
OBJECT = _entity("object", _object_def())
PROPERTY = _property()
TAG = _entity("tag", _tag_def(), links=False)
ASSOCIATION = _entity("resource_type_association", _association_def(), links=False)
TAGS = {
    "name": "tags",
    "type": "object",
    "required": ["tags"],
    "properties": {"tags": {"type": "array", "items": TAG}, "first": {"type": "string"},
                   "next": {"type": "string"}, "schema": {"type": "string"}},
    "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
              {"rel": "describedby", "href": "{schema}"}],
}

# What /v2/schemas/metadefs/<key> serves.
SCHEMAS: dict[str, dict[str, Any]] = {
    "namespace": NAMESPACE,
    "namespaces": _collection("namespaces", "namespaces", NAMESPACE),
    "object": OBJECT,
    "objects": _collection("objects", "objects", OBJECT),
    "property": PROPERTY,
    "properties": _collection("properties", "properties", _property_def(), as_map=True),
    "resource_type": ASSOCIATION,
    "resource_types": _collection("resource_type_associations", "resource_type_associations", ASSOCIATION),
    "tag": TAG,
    "tags": TAGS,
}
