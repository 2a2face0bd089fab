"""Host aggregates (``/os-aggregates``): CRUD and the add_host/remove_host/set_metadata actions.

Nova's quirks kept: create and delete answer 200; create's body has no hosts or metadata; a
zone conflict on add_host is a 409 while on update/set_metadata it is a 400; 2.41 adds uuid;
2.81 adds ``POST /os-aggregates/{id}/images`` (pre-cache images on the aggregate's hosts).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from onestack.compute.api import server_create
from onestack.compute.api.common import (
    ComputeRoutes,
    Req,
    check_keys,
    invalid,
    is_uuid_like,
    name_field,
)
from onestack.compute.api.operator import no_query_from_2_102, nova_time
from onestack.compute.service import aggregates as svc
from onestack.compute.service import availability_zones as az
from onestack.core.api.faults import BadRequest, Conflict, NotFound
from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version
from onestack.core.api.parse import INT32_MAX, INT32_MIN, fits

routes = ComputeRoutes()

_FQDN = re.compile(r"^[a-zA-Z0-9-._]*$")
_META_KEY = re.compile(r"^[a-zA-Z0-9-_:. ]{1,255}$")


def render(req: Req, agg: svc.Shown, full: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "availability_zone": agg.metadata.get(az.AZ_KEY), "created_at": nova_time(agg.created_at),
        "deleted": False, "deleted_at": None, "id": agg.id, "name": agg.name, "updated_at": nova_time(agg.updated_at),
    }
    if full:
        body.update(hosts=list(agg.hosts), metadata=agg.metadata)
    if req.at_least(2, 41):
        body["uuid"] = agg.uuid
    return body


def _agg_id(req: Req) -> int:
    raw = req.path("aggregate_id").strip()
    if not re.match(r"^-?[0-9]+$", raw):
        raise BadRequest("Invalid input received: id must be an integer")
    if not fits(raw, INT32_MIN, INT32_MAX):
        # Beyond Nova's Integer column no aggregate can have that id (a lookup would overflow).
        raise NotFound(f"Aggregate {raw} could not be found.")
    return int(raw)


def _zone(value: Any) -> str | None:
    """Nova's az_name: printable, no ':' and no leading or trailing whitespace; or null."""
    if value is None:
        return None
    name = name_field(value, "availability_zone")
    if ":" in name:
        raise BadRequest(f"Invalid input for field/attribute availability_zone. Value: {value}. "
                         f"{value!r} does not match the availability zone name format (':' is not allowed)")
    return name


def _loose_name(value: Any) -> str:
    """Names on update may carry surrounding spaces (Nova strips them); not only spaces."""
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise BadRequest(f"Invalid input for field/attribute name. Value: {value}. "
                         f"{value!r} is not a valid name")
    return value.strip()


async def _respond(req: Req, fn: Any, *args: Any, full: bool = True) -> Response:
    try:
        agg = await req.write(svc.change, fn, *args)
    except svc.InvalidAggregateAction as exc:
        raise BadRequest(str(exc)) from None
    return json_response({"aggregate": render(req, agg, full)})


@routes.get("/v2.1/os-aggregates")
async def list_aggregates(req: Req) -> Response:
    await no_query_from_2_102(req)
    await req.enforce("os_compute_api:os-aggregates:index", {})
    found = await req.read(svc.list_shown)
    return json_response({"aggregates": [render(req, a) for a in found]})


@routes.post("/v2.1/os-aggregates")
async def create_aggregate(req: Req) -> Response:
    await req.enforce("os_compute_api:os-aggregates:create", {})
    body = await req.body(wrapper="aggregate")
    check_keys(body, {"name", "availability_zone"}, "aggregate")
    if "name" not in body:
        raise BadRequest("Invalid input for field/attribute aggregate. Value: "
                         f"{body}. 'name' is a required property")
    name = name_field(body["name"])
    zone = _zone(body.get("availability_zone"))
    return await _respond(req, svc.create, name, zone, full=False)


@routes.get("/v2.1/os-aggregates/{aggregate_id}")
async def show_aggregate(req: Req) -> Response:
    await no_query_from_2_102(req)
    await req.enforce("os_compute_api:os-aggregates:show", {})
    agg_id = _agg_id(req)
    return json_response({"aggregate": render(req, await req.read(svc.show, agg_id))})


@routes.put("/v2.1/os-aggregates/{aggregate_id}")
async def update_aggregate(req: Req) -> Response:
    await req.enforce("os_compute_api:os-aggregates:update", {})
    body = await req.body(wrapper="aggregate")
    check_keys(body, {"name", "availability_zone"}, "aggregate")
    if not body:
        raise BadRequest(f"Invalid input for field/attribute aggregate. Value: {body}. "
                         f"{body} is not valid under any of the given schemas")
    values: dict[str, Any] = {}
    if "name" in body:
        values["name"] = _loose_name(body["name"])
    if "availability_zone" in body:
        values[az.AZ_KEY] = _zone(body["availability_zone"])
    agg_id = _agg_id(req)
    return await _respond(req, svc.update, agg_id, values)


@routes.delete("/v2.1/os-aggregates/{aggregate_id}")
async def delete_aggregate(req: Req) -> Response:
    await req.enforce("os_compute_api:os-aggregates:delete", {})
    agg_id = _agg_id(req)
    try:
        await req.write(svc.delete, agg_id)
    except svc.InvalidAggregateAction as exc:
        raise BadRequest(str(exc)) from None
    return Response(status_code=200)


def _host(body: Any, action: str) -> str:
    if not isinstance(body, dict):
        raise BadRequest(f"Invalid input for field/attribute {action}. Value: {body}. {body!r} is not of type 'object'")
    check_keys(body, {"host"}, action)
    host = body.get("host")
    if host is None:
        raise BadRequest(f"Invalid input for field/attribute {action}. Value: {body}. 'host' is a required property")
    if not isinstance(host, str) or not 0 < len(host) <= 255 or not _FQDN.match(host):
        raise BadRequest(f"Invalid input for field/attribute host. Value: {host}. "
                         f"{host!r} does not match '{_FQDN.pattern}'")
    return host


def _metadata(body: Any) -> dict[str, str | None]:
    if not isinstance(body, dict):
        raise BadRequest(f"Invalid input for field/attribute set_metadata. Value: {body}. "
                         f"{body!r} is not of type 'object'")
    check_keys(body, {"metadata"}, "set_metadata")
    metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        raise BadRequest(f"Invalid input for field/attribute metadata. Value: {metadata}. "
                         f"{metadata!r} is not of type 'object'")
    for key, value in metadata.items():
        if not _META_KEY.match(key):
            raise BadRequest(f"Invalid input for field/attribute metadata. Value: {metadata}. "
                             f"Additional properties are not allowed ('{key}' was unexpected)")
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value}. "
                             f"{value!r} is not of type 'string', 'null'")
    return metadata


async def _membership(req: Req, agg_id: int, host: str, add: bool) -> Response:
    try:
        agg, nodes = await req.write(svc.membership, agg_id, host, add)
    except svc.InvalidAggregateAction as exc:
        raise Conflict(str(exc)) from None
    await svc.mirror(req.state.placement, nodes, agg.uuid, member=add)
    return json_response({"aggregate": render(req, agg)})


def _cache_request(body: Any) -> list[str]:
    """2.81's body, ``{"cache": [{"id": <image uuid>}, ...]}``, checked as Nova's schema does."""
    if not isinstance(body, dict):
        raise invalid("body", body, f"{body!r} is not of type 'object'")
    check_keys(body, {"cache"}, "body")
    if "cache" not in body:
        raise invalid("body", body, "'cache' is a required property")
    cache = body["cache"]
    if not isinstance(cache, list):
        raise invalid("cache", cache, f"{cache!r} is not of type 'array'")
    if not cache:
        raise invalid("cache", cache, "[] should be non-empty")
    ids = []
    for item in cache:
        if not isinstance(item, dict):
            raise invalid("cache", item, f"{item!r} is not of type 'object'")
        check_keys(item, {"id"}, "cache")
        if "id" not in item:
            raise invalid("cache", item, "'id' is a required property")
        if not is_uuid_like(item["id"]):
            raise invalid("id", item["id"], f"{item['id']!r} is not a 'uuid'")
        ids.append(str(item["id"]))
    return ids


@routes.post("/v2.1/os-aggregates/{aggregate_id}/images")
async def cache_images(req: Req) -> Response:
    """2.81: every host in the aggregate fetches these images into its cache now (202, no body)."""
    req.require_version(Version(2, 81))
    await req.caller()
    image_ids = _cache_request(await req.json())
    await req.enforce("os_compute_api:os-aggregates:images", {})
    agg_id = _agg_id(req)
    if len(set(image_ids)) != len(image_ids):
        raise BadRequest("Duplicate images in request")
    compute = req.state
    hosts = await req.read(svc.hosts_of, agg_id)
    server_create.compute_has_clients(req)
    assert compute.images is not None and compute.agents is not None
    for image_id in image_ids:  # every image must exist (for the caller) before any host is asked
        if await compute.images.get(image_id, req.headers.get("X-Auth-Token")) is None:
            raise BadRequest(f"Image {image_id} could not be found.")
    for host in hosts:
        await compute.agents.cache_images(host, image_ids)
    return Response(status_code=202)


@routes.post("/v2.1/os-aggregates/{aggregate_id}/action")
async def aggregate_action(req: Req) -> Response:
    await req.caller()
    body = await req.json()
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body")
    action, arg = next(iter(body.items()))
    if action not in ("add_host", "remove_host", "set_metadata"):
        raise BadRequest(f"There is no such action: {action}")
    if action == "set_metadata":
        metadata = _metadata(arg)
        await req.enforce("os_compute_api:os-aggregates:set_metadata", {})
        return await _respond(req, svc.set_metadata, _agg_id(req), metadata)
    host = _host(arg, action)
    await req.enforce(f"os_compute_api:os-aggregates:{action}", {})
    return await _membership(req, _agg_id(req), host, add=action == "add_host")
