"""Host aggregates (``/os-aggregates``): CRUD and the add_host/remove_host/set_metadata actions.

Nova's quirks kept: create and delete answer 200; create's body has no hosts or metadata; a
zone conflict on add_host is a 409 while on update/set_metadata it is a 400; 2.41 adds uuid;
2.81 adds ``POST /os-aggregates/{id}/images`` (pre-cache images on the aggregate's hosts).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from onestack.compute.api import server_create
from onestack.compute.api.common import (
    at_least,
    caller,
    check_keys,
    compute_of,
    enforce,
    invalid,
    name_field,
    require_version,
    wrapped_body,
)
from onestack.compute.api.operator import nova_time
from onestack.compute.models import Aggregate
from onestack.compute.service import aggregates as svc
from onestack.compute.service import availability_zones as az
from onestack.core.api.faults import BadRequest, Conflict
from onestack.core.api.http import RouteTable, json_body, json_response
from onestack.core.api.microversion import Version

routes = RouteTable()

_FQDN = re.compile(r"^[a-zA-Z0-9-._]*$")
_META_KEY = re.compile(r"^[a-zA-Z0-9-_:. ]{1,255}$")


def render(request: Request, agg: Aggregate, full: bool = True) -> dict[str, Any]:
    metadata = svc.metadata_of(agg)
    body: dict[str, Any] = {
        "availability_zone": metadata.get(az.AZ_KEY), "created_at": nova_time(agg.created_at), "deleted": False,
        "deleted_at": None, "id": agg.id, "name": agg.name, "updated_at": nova_time(agg.updated_at),
    }
    if full:
        body.update(hosts=[h.host for h in agg.hosts], metadata=metadata)
    if at_least(request, 2, 41):
        body["uuid"] = agg.uuid
    return body


def _agg_id(request: Request) -> int:
    raw = request.path_params["aggregate_id"].strip()
    if not re.match(r"^-?[0-9]+$", raw):
        raise BadRequest("Invalid input received: id must be an integer")
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


async def _respond(request: Request, fn: Any, *args: Any, full: bool = True) -> Response:
    def work(s: Any) -> dict[str, Any]:
        try:
            agg = fn(s, *args)
        except svc.InvalidAggregateAction as exc:
            raise BadRequest(str(exc)) from None
        return render(request, agg, full)

    return json_response({"aggregate": await compute_of(request).db.write(work)})


@routes.get("/v2.1/os-aggregates")
async def list_aggregates(request: Request) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-aggregates:index", {})
    found = await compute_of(request).db.read(lambda s: [render(request, a) for a in svc.list_all(s)])
    return json_response({"aggregates": found})


@routes.post("/v2.1/os-aggregates")
async def create_aggregate(request: Request) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-aggregates:create", {})
    body = await wrapped_body(request, "aggregate")
    check_keys(body, {"name", "availability_zone"}, "aggregate")
    if "name" not in body:
        raise BadRequest("Invalid input for field/attribute aggregate. Value: "
                         f"{body}. 'name' is a required property")
    name = name_field(body["name"])
    zone = _zone(body.get("availability_zone"))
    return await _respond(request, svc.create, name, zone, full=False)


@routes.get("/v2.1/os-aggregates/{aggregate_id}")
async def show_aggregate(request: Request) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-aggregates:show", {})
    agg_id = _agg_id(request)
    return json_response({"aggregate": await compute_of(request).db.read(lambda s: render(request, svc.get(s, agg_id)))})


@routes.put("/v2.1/os-aggregates/{aggregate_id}")
async def update_aggregate(request: Request) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-aggregates:update", {})
    body = await wrapped_body(request, "aggregate")
    check_keys(body, {"name", "availability_zone"}, "aggregate")
    if not body:
        raise BadRequest(f"Invalid input for field/attribute aggregate. Value: {body}. "
                         f"{body} is not valid under any of the given schemas")
    values: dict[str, Any] = {}
    if "name" in body:
        values["name"] = _loose_name(body["name"])
    if "availability_zone" in body:
        values[az.AZ_KEY] = _zone(body["availability_zone"])
    agg_id = _agg_id(request)
    return await _respond(request, svc.update, agg_id, values)


@routes.delete("/v2.1/os-aggregates/{aggregate_id}")
async def delete_aggregate(request: Request) -> Response:
    ctx = await caller(request)
    enforce(request, ctx, "os_compute_api:os-aggregates:delete", {})
    agg_id = _agg_id(request)

    def work(s: Any) -> None:
        try:
            svc.delete(s, agg_id)
        except svc.InvalidAggregateAction as exc:
            raise BadRequest(str(exc)) from None

    await compute_of(request).db.write(work)
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


async def _membership(request: Request, agg_id: int, host: str, add: bool) -> Response:
    compute = compute_of(request)

    def work(s: Any) -> tuple[dict[str, Any], str, list[str]]:
        try:
            agg = svc.add_host(s, agg_id, host) if add else svc.remove_host(s, agg_id, host)
        except svc.InvalidAggregateAction as exc:
            raise Conflict(str(exc)) from None
        return render(request, agg), agg.uuid, svc.node_uuids(s, host)

    shown, agg_uuid, nodes = await compute.db.write(work)
    await svc.mirror(compute.placement, nodes, agg_uuid, member=add)
    return json_response({"aggregate": shown})


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
        if not server_create.is_uuid(item["id"]):
            raise invalid("id", item["id"], f"{item['id']!r} is not a 'uuid'")
        ids.append(str(item["id"]))
    return ids


@routes.post("/v2.1/os-aggregates/{aggregate_id}/images")
async def cache_images(request: Request) -> Response:
    """2.81: every host in the aggregate fetches these images into its cache now (202, no body)."""
    require_version(request, Version(2, 81))
    ctx = await caller(request)
    image_ids = _cache_request(await json_body(request))
    enforce(request, ctx, "os_compute_api:os-aggregates:images", {})
    agg_id = _agg_id(request)
    if len(set(image_ids)) != len(image_ids):
        raise BadRequest("Duplicate images in request")
    compute = compute_of(request)
    hosts = await compute.db.read(lambda s: [h.host for h in svc.get(s, agg_id).hosts])
    server_create.compute_has_clients(request)
    assert compute.images is not None and compute.agents is not None
    for image_id in image_ids:  # every image must exist (for the caller) before any host is asked
        if await compute.images.get(image_id, request.headers.get("X-Auth-Token")) is None:
            raise BadRequest(f"Image {image_id} could not be found.")
    for host in hosts:
        await compute.agents.cache_images(host, image_ids)
    return Response(status_code=202)


@routes.post("/v2.1/os-aggregates/{aggregate_id}/action")
async def aggregate_action(request: Request) -> Response:
    ctx = await caller(request)
    body = await json_body(request)
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body")
    action, arg = next(iter(body.items()))
    if action not in ("add_host", "remove_host", "set_metadata"):
        raise BadRequest(f"There is no such action: {action}")
    if action == "set_metadata":
        metadata = _metadata(arg)
        enforce(request, ctx, "os_compute_api:os-aggregates:set_metadata", {})
        return await _respond(request, svc.set_metadata, _agg_id(request), metadata)
    host = _host(arg, action)
    enforce(request, ctx, f"os_compute_api:os-aggregates:{action}", {})
    return await _membership(request, _agg_id(request), host, add=action == "add_host")
