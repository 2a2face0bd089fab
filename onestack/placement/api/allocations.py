"""/allocations/{consumer_uuid}, POST /allocations and /resource_providers/{uuid}/allocations."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.placement.api.common import UUID_SCHEMA, PlacementRoutes, Req, V
from onestack.placement.service import allocations
from onestack.placement.service.allocations import UNCHECKED, ConsumerWrite
from onestack.placement.service.common import bad_request, is_uuid, norm_uuid

routes = PlacementRoutes()

RESOURCES: dict[str, Any] = {"type": "object", "minProperties": 1, "additionalProperties": False,
                             "patternProperties": {"^[A-Z0-9_]+$": {"type": "integer", "minimum": 1}}}
LIST_ITEM: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["resource_provider", "resources"],
    "properties": {"resources": RESOURCES,
                   "resource_provider": {"type": "object", "required": ["uuid"], "additionalProperties": False,
                                         "properties": {"uuid": UUID_SCHEMA}}},
}
DICT_ENTRY: dict[str, Any] = {"type": "object", "required": ["resources"], "additionalProperties": False,
                              "properties": {"resources": RESOURCES, "generation": {"type": "integer"}}}
ID_SCHEMA: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 255}
CONSUMER_TYPE: dict[str, Any] = {"type": "string", "pattern": "^[A-Z0-9_]+$", "minLength": 1, "maxLength": 255}
MAPPINGS: dict[str, Any] = {"type": "object", "minProperties": 1, "patternProperties": {
    "^[a-zA-Z0-9_-]{0,64}$": {"type": "array", "minItems": 1, "items": UUID_SCHEMA}}}


def consumer_schema(req: Req) -> dict[str, Any]:
    """The body that sets one consumer's allocations at this microversion."""
    if not req.at_least(1, 12):
        props: dict[str, Any] = {"allocations": {"type": "array", "minItems": 1, "items": LIST_ITEM}}
        required = ["allocations"]
        if req.at_least(1, 8):
            props.update(project_id=ID_SCHEMA, user_id=ID_SCHEMA)
            required += ["project_id", "user_id"]
        return {"type": "object", "properties": props, "required": required, "additionalProperties": False}
    allocs = {"type": "object", "minProperties": 0 if req.at_least(1, 28) else 1, "additionalProperties": False,
              "patternProperties": {"^[0-9a-fA-F-]{36}$": DICT_ENTRY}}
    props = {"allocations": allocs, "project_id": ID_SCHEMA, "user_id": ID_SCHEMA}
    required = ["allocations", "project_id", "user_id"]
    if req.at_least(1, 28):
        props["consumer_generation"] = {"type": ["integer", "null"]}
        required.append("consumer_generation")
    if req.at_least(1, 34):
        props["mappings"] = MAPPINGS  # accepted for symmetry with candidates, then ignored
    if req.at_least(1, 38):
        props["consumer_type"] = CONSUMER_TYPE
        required.append("consumer_type")
    return {"type": "object", "properties": props, "required": required, "additionalProperties": False}


def to_write(req: Req, consumer_uuid: str, body: dict[str, Any]) -> ConsumerWrite:
    allocs: dict[str, dict[str, int]] = {}
    if isinstance(body["allocations"], list):
        for item in body["allocations"]:
            res = allocs.setdefault(norm_uuid(item["resource_provider"]["uuid"]), {})
            res.update(item["resources"])
    else:
        for rp_uuid, entry in body["allocations"].items():
            if not is_uuid(rp_uuid):
                raise bad_request(f"JSON does not validate: '{rp_uuid}' is not a 'uuid'")
            allocs[norm_uuid(rp_uuid)] = dict(entry["resources"])
    return ConsumerWrite(uuid=consumer_uuid, allocations=allocs, project_id=body.get("project_id"),
                         user_id=body.get("user_id"),
                         generation=body["consumer_generation"] if req.at_least(1, 28) else UNCHECKED,
                         consumer_type=body["consumer_type"] if req.at_least(1, 38) else UNCHECKED)


def _consumer_uuid(text: str) -> str:
    if not is_uuid(text):
        raise bad_request(f"Malformed consumer_uuid: {text}")
    return norm_uuid(text)


@routes.get("/allocations/{consumer_uuid}", rule="placement:allocations:list")
async def show_allocations(req: Req) -> Response:
    consumer_uuid = req.path("consumer_uuid")
    key = norm_uuid(consumer_uuid) if is_uuid(consumer_uuid) else consumer_uuid
    allocs, consumer = await req.read(allocations.for_consumer, key)
    body: dict[str, Any] = {"allocations": allocs}
    if consumer is not None and req.at_least(1, 12):
        body.update(project_id=consumer.project_id, user_id=consumer.user_id)
        if req.at_least(1, 28):
            body["consumer_generation"] = consumer.generation
        if req.at_least(1, 38):
            # A consumer written before 1.38 has no type: placement shows its alias, never null.
            body["consumer_type"] = consumer.consumer_type or "unknown"
    return json_response(body)


@routes.put("/allocations/{consumer_uuid}", rule="placement:allocations:update")
async def put_allocations(req: Req) -> Response:
    consumer_uuid = _consumer_uuid(req.path("consumer_uuid"))
    body = await req.body(consumer_schema(req))
    await req.write(allocations.set_allocations, [to_write(req, consumer_uuid, body)])
    return no_content()


@routes.delete("/allocations/{consumer_uuid}", rule="placement:allocations:delete")
async def delete_allocations(req: Req) -> Response:
    await req.write(allocations.delete_for_consumer, _consumer_uuid(req.path("consumer_uuid")))
    return no_content()


@routes.post("/allocations", rule="placement:allocations:manage", since=V(13))
async def post_allocations(req: Req) -> Response:
    entry = consumer_schema(req)
    entry = {**entry, "properties": {**entry["properties"], "allocations": {
        **entry["properties"]["allocations"], "minProperties": 0}}}
    schema = {"type": "object", "minProperties": 1, "additionalProperties": False,
              "patternProperties": {"^[0-9a-fA-F-]{36}$": entry}}
    body = await req.body(schema)
    writes = [to_write(req, _consumer_uuid(c), data) for c, data in body.items()]
    await req.write(allocations.set_allocations, writes)
    return no_content()


@routes.get("/resource_providers/{uuid}/allocations", rule="placement:resource_providers:allocations:list")
async def provider_allocations(req: Req) -> Response:
    return json_response(await req.read(allocations.for_provider, req.path("uuid")))
