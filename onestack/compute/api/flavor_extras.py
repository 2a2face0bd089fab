"""Flavor extra specs (``/flavors/{id}/os-extra_specs``) and flavor access for private flavors."""

from __future__ import annotations

import re
from typing import Any

import anyio.to_thread
from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req
from onestack.compute.api.flavors import viewer
from onestack.compute.api.operator import no_query_from_2_102
from onestack.compute.service import extra_specs as spec_rules
from onestack.compute.service import flavors as svc
from onestack.core.api.faults import BadRequest
from onestack.core.api.http import json_response

routes = ComputeRoutes()

_KEY_RE = re.compile(r"^[\w\-. :]{1,255}$")


def _spec_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str) or len(value) > 255:
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value}. "
                         "Extra spec values are strings of at most 255 characters")
    return value


def parse_specs(req: Req, specs: Any) -> dict[str, str]:
    if not isinstance(specs, dict):
        raise BadRequest(f"Invalid input for field/attribute extra_specs. Value: {specs}. "
                         f"{specs!r} is not of type 'object'")
    parsed: dict[str, str] = {}
    for key, value in specs.items():
        if not _KEY_RE.match(key):
            raise BadRequest(f"Invalid input for field/attribute extra_specs. Value: {specs}. "
                             f"'{key}' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{{1,255}}$'")
        parsed[key] = _spec_value(key, value)
    if req.at_least(2, 86):
        spec_rules.validate(parsed)
    return parsed


@routes.get("/v2.1/flavors/{flavor_id}/os-extra_specs")
async def list_specs(req: Req) -> Response:
    await no_query_from_2_102(req)
    await req.enforce("os_compute_api:os-flavor-extra-specs:index")
    flavor = await req.read(svc.get_flavor, req.path("flavor_id"), await viewer(req))
    return json_response({"extra_specs": svc.specs_of(flavor)})


@routes.post("/v2.1/flavors/{flavor_id}/os-extra_specs")
async def create_specs(req: Req) -> Response:
    await req.enforce("os_compute_api:os-flavor-extra-specs:create")
    body = await req.json()
    if not isinstance(body, dict) or "extra_specs" not in body:
        raise BadRequest("Invalid input for field/attribute extra_specs. 'extra_specs' is a required property")
    specs = parse_specs(req, body["extra_specs"])
    await req.write(svc.set_specs, req.path("flavor_id"), specs)
    return json_response({"extra_specs": specs})


@routes.get("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
async def show_spec(req: Req) -> Response:
    await no_query_from_2_102(req)
    await req.enforce("os_compute_api:os-flavor-extra-specs:show")
    key = req.path("key")
    value = await req.read(svc.get_spec, req.path("flavor_id"), key, await viewer(req))
    return json_response({key: value})


@routes.put("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
async def update_spec(req: Req) -> Response:
    await req.enforce("os_compute_api:os-flavor-extra-specs:update")
    key = req.path("key")
    body = await req.json()
    if not isinstance(body, dict) or not body:
        raise BadRequest("Invalid input for field/attribute extra_specs. The body must hold one extra spec")
    if len(body) > 1:
        raise BadRequest("Request body contains too many items")
    if key not in body:
        raise BadRequest("Request body and URI mismatch")
    specs = parse_specs(req, body)
    await req.write(svc.set_specs, req.path("flavor_id"), specs)
    return json_response(specs)


@routes.delete("/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
async def delete_spec(req: Req) -> Response:
    await req.enforce("os_compute_api:os-flavor-extra-specs:delete")
    await req.write(svc.delete_spec, req.path("flavor_id"),
                                       req.path("key"))
    return Response(status_code=200)


@routes.get("/v2.1/flavors/{flavor_id}/os-flavor-access")
async def list_access(req: Req) -> Response:
    await no_query_from_2_102(req)
    await req.enforce("os_compute_api:os-flavor-access")
    access = await req.read(svc.access_list, req.path("flavor_id"))
    return json_response({"flavor_access": access})


def _tenant(action: str, args: Any) -> str:
    tenant = args.get("tenant") if isinstance(args, dict) else None
    if not isinstance(tenant, str) or not 1 <= len(tenant) <= 255:
        raise BadRequest(f"Invalid input for field/attribute {action}. Value: {args}. "
                         "'tenant' is a required string of 1 to 255 characters")
    extra = set(args) - {"tenant"}
    if extra:
        raise BadRequest(f"Invalid input for field/attribute {action}. Additional properties are not allowed")
    return tenant


@routes.post("/v2.1/flavors/{flavor_id}/action")
async def flavor_action(req: Req) -> Response:
    await req.caller()
    body = await req.json()
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body: one action is expected")
    action, args = next(iter(body.items()))
    flavor_id = req.path("flavor_id")
    if action == "addTenantAccess":
        await req.enforce("os_compute_api:os-flavor-access:add_tenant_access")
        tenant = _tenant(action, args)
        directory = req.state.directory
        if directory is not None and not await anyio.to_thread.run_sync(directory.project_exists, tenant):
            raise BadRequest(f"Project ID {tenant} is not a valid project.")
        access = await req.write(svc.add_access, flavor_id, tenant)
    elif action == "removeTenantAccess":
        await req.enforce("os_compute_api:os-flavor-access:remove_tenant_access")
        tenant = _tenant(action, args)
        access = await req.write(svc.remove_access, flavor_id, tenant)
    else:
        raise BadRequest(f"There is no such action: {action}")
    return json_response({"flavor_access": access})
