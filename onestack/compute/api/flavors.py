"""Flavors: list, detail, show, create (admin), update description (2.55+), delete (admin)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import (
    MAX_INT,
    ComputeRoutes,
    Req,
    as_bool,
    as_int,
    check_keys,
    name_field,
    resource_links,
)
from onestack.compute.api.operator import no_query_from_2_102, strict_query
from onestack.compute.service import flavors as svc
from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response
from onestack.core.api.microversion import Version
from onestack.core.api.parse import fits

routes = ComputeRoutes()

_FLAVOR_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789. _-")
_UPDATE: dict[str, Any] = {"type": "object", "required": ["description"], "additionalProperties": False,
                           "properties": {"description": {}}}  # its content: _description (Nova's wording)
_CREATE_KEYS = {"name", "id", "ram", "vcpus", "disk", "OS-FLV-EXT-DATA:ephemeral", "swap", "rxtx_factor",
                "os-flavor-access:is_public"}
_LIST_PARAMS = {"limit", "marker", "is_public", "minRam", "minDisk", "sort_key", "sort_dir"}
_V2102 = (2, 102)  # rxtx_factor and OS-FLV-DISABLED:disabled gone, name filter, strict queries


def render(req: Req, flavor: svc.FlavorRow, *, detail: bool = True, with_specs: bool = False) -> dict[str, Any]:
    """A flavor as the negotiated microversion shows it."""
    body: dict[str, Any] = {"id": flavor.flavorid, "name": flavor.name}
    if detail:
        # Before 2.75 a flavor without swap reports it as an empty string.
        swap: int | str = flavor.swap if (flavor.swap or req.at_least(2, 75)) else ""
        body.update({
            "ram": flavor.memory_mb, "disk": flavor.root_gb, "swap": swap,
            "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb, "vcpus": flavor.vcpus,
            "os-flavor-access:is_public": flavor.is_public,
        })
        if not req.at_least(*_V2102):
            body.update({"OS-FLV-DISABLED:disabled": flavor.disabled, "rxtx_factor": float(flavor.rxtx_factor)})
    body["links"] = resource_links(req, "flavors", flavor.flavorid)
    if req.at_least(2, 55):
        body["description"] = flavor.description
    if detail and with_specs and req.at_least(2, 61):
        body["extra_specs"] = svc.specs_of(flavor)
    return body


async def show_specs(req: Req) -> bool:
    return req.at_least(2, 61) and await req.allowed("os_compute_api:os-flavor-extra-specs:index")


async def viewer(req: Req) -> svc.Viewer:
    ctx = await req.caller()
    return svc.Viewer(project_id=ctx.project_id, is_admin=await req.is_admin())


def _list_query(req: Req, admin: bool) -> svc.ListQuery:
    params = req.params
    newest = req.at_least(*_V2102)
    if req.at_least(2, 75):  # unknown parameters: ignored before 2.75, 400 since
        strict_query(req, _LIST_PARAMS | ({"name"} if newest else set()))
    is_public: bool | None = True
    if admin and "is_public" in params:
        raw = params["is_public"].strip().lower()
        if raw == "none":
            is_public = None
        else:
            try:
                is_public = as_bool(raw, "is_public")
            except BadRequest:
                raise BadRequest(f"Invalid is_public filter [{params['is_public']}]") from None
    minimums: dict[str, int | None] = {}
    for name in ("minRam", "minDisk"):
        raw_min = params.get(name)
        if raw_min is not None and (not raw_min.isdigit()):
            raise BadRequest(f"Invalid {name} filter [{raw_min}]")
        # A minimum beyond the Integer column matches no flavor; capped so the query cannot overflow.
        minimums[name] = None if raw_min is None else int(raw_min) if fits(raw_min, 0, MAX_INT) else MAX_INT + 1
    sort_key = params.get("sort_key", "flavorid")
    if sort_key not in svc.SORT_KEYS or (newest and sort_key == "rxtx_factor"):
        raise BadRequest(f"Invalid input for query parameters sort_key. Value: {sort_key}.")
    sort_dir = params.get("sort_dir", "asc")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid input for query parameters sort_dir. Value: {sort_dir}.")
    page = req.page()
    return svc.ListQuery(is_public=is_public, min_ram=minimums["minRam"], min_disk=minimums["minDisk"],
                         sort_key=sort_key, sort_dir=sort_dir, limit=page.limit, marker=page.marker,
                         name=params.get("name") if newest else None)


async def _list(req: Req, detail: bool) -> Response:
    who = await viewer(req)
    query = _list_query(req, who.is_admin)
    flavors = await req.read(svc.list_flavors, who, query)
    specs = detail and await show_specs(req)
    items = [render(req, f, detail=detail, with_specs=specs) for f in flavors]
    body: dict[str, Any] = {"flavors": items}
    nxt = req.next_links(items, req.page())
    if nxt:
        body["flavors_links"] = nxt
    return json_response(body)


@routes.get("/v2.1/flavors")
async def list_flavors(req: Req) -> Response:
    return await _list(req, detail=False)


@routes.get("/v2.1/flavors/detail")
async def list_flavors_detail(req: Req) -> Response:
    return await _list(req, detail=True)


def _flavor_id(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadRequest(f"Invalid input for field/attribute id. Value: {value}. {value!r} is not of type "
                         "'string', 'number', 'null'")
    text = str(value)
    if not 1 <= len(text) <= 255 or text != text.strip() or not set(text) <= _FLAVOR_ID_CHARS:
        raise BadRequest(f"Invalid input for field/attribute id. Value: {value}. "
                         "Flavor id may contain letters, digits, '.', ' ', '_' and '-' only")
    return None if text == "auto" else text


def _rxtx(value: Any) -> float:
    try:
        number = float(value) if not isinstance(value, bool) else -1.0
    except (TypeError, ValueError):
        number = -1.0
    if not 0 < number <= 3.40282e38:
        raise BadRequest(f"Invalid input for field/attribute rxtx_factor. Value: {value}.")
    return number


def _description(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) > 65535
                              or any(ord(c) < 32 and c not in "\t\n\r" for c in value)):
        raise BadRequest(f"Invalid input for field/attribute description. Value: {value}.")
    return value


def parse_create(req: Req, body: dict[str, Any]) -> dict[str, Any]:
    """The new flavor's columns from the request, validated as Nova's schema does."""
    keys = _CREATE_KEYS | ({"description"} if req.at_least(2, 55) else set())
    if req.at_least(*_V2102):
        keys = keys - {"rxtx_factor"}
    check_keys(body, keys, "flavor")
    for required in ("name", "ram", "vcpus", "disk"):
        if required not in body:
            raise BadRequest(f"Invalid input for field/attribute flavor. '{required}' is a required property")
    return {
        "flavorid": _flavor_id(body.get("id")),
        "name": name_field(body["name"]),
        "memory_mb": as_int(body["ram"], "ram", 1),
        "vcpus": as_int(body["vcpus"], "vcpus", 1),
        "root_gb": as_int(body["disk"], "disk", 0),
        "ephemeral_gb": as_int(body.get("OS-FLV-EXT-DATA:ephemeral", 0), "OS-FLV-EXT-DATA:ephemeral", 0),
        "swap": as_int(body.get("swap", 0), "swap", 0, MAX_INT),
        "rxtx_factor": _rxtx(body.get("rxtx_factor", 1.0)),
        "is_public": as_bool(body.get("os-flavor-access:is_public", True), "os-flavor-access:is_public"),
        "description": _description(body.get("description")),
    }


@routes.post("/v2.1/flavors")
async def create_flavor(req: Req) -> Response:
    await req.enforce("os_compute_api:os-flavor-manage:create")
    values = parse_create(req, await req.body(wrapper="flavor"))
    flavor = await req.write(svc.create_flavor, values)
    return json_response({"flavor": render(req, flavor, with_specs=await show_specs(req))})


@routes.get("/v2.1/flavors/{flavor_id}")
async def show_flavor(req: Req) -> Response:
    await no_query_from_2_102(req)
    flavor = await req.read(svc.get_flavor, req.path("flavor_id"), await viewer(req))
    return json_response({"flavor": render(req, flavor, with_specs=await show_specs(req))})


@routes.put("/v2.1/flavors/{flavor_id}")
async def update_flavor(req: Req) -> Response:
    req.require_version(Version(2, 55))
    await req.enforce("os_compute_api:os-flavor-manage:update")
    body = await req.body(_UPDATE, wrapper="flavor")
    flavor = await req.write(svc.update_description, req.path("flavor_id"), _description(body["description"]))
    return json_response({"flavor": render(req, flavor, with_specs=await show_specs(req))})


@routes.delete("/v2.1/flavors/{flavor_id}")
async def delete_flavor(req: Req) -> Response:
    await req.enforce("os_compute_api:os-flavor-manage:delete")
    await req.write(svc.delete_flavor, req.path("flavor_id"))
    return Response(status_code=202)
