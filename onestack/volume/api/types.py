"""Volume types (``/types``): CRUD, the default type, extra specs, access to private types
(``os-volume-type-access``, ``addProjectAccess``/``removeProjectAccess``) and encryption."""

from __future__ import annotations

import ast
import re
from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.volume.api.common import Req, VolumeRoutes, as_bool, caller, invalid, list_query
from onestack.volume.errors import InvalidInput, NotFound, VolumeTypeExtraSpecsNotFound
from onestack.volume.service import types as svc

routes = VolumeRoutes()

_KEY = re.compile(r"^[a-zA-Z0-9-_:. /]{1,255}$")
# What a member may read of a type's extra specs (Cinder's user-visible keys; the rest is
# the operator's business: read_sensitive).
USER_VISIBLE_SPECS = ("RESKEY:availability_zones", "multiattach", "sharing_enabled", "replication_enabled")

_NAME = {"type": "string", "minLength": 1, "maxLength": 255}
_DESCRIPTION = {"type": ["string", "null"], "maxLength": 255}
_BOOL = {"type": ["boolean", "string"]}
_CREATE = {
    "type": "object",
    "properties": {"name": _NAME, "description": _DESCRIPTION, "is_public": _BOOL,
                   "os-volume-type-access:is_public": _BOOL, "extra_specs": {"type": ["object", "null"]}},
    "required": ["name"], "additionalProperties": False,
}
_UPDATE = {
    "type": "object",
    "properties": {"name": {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
                   "description": _DESCRIPTION, "is_public": _BOOL},
    "additionalProperties": False,
}
_ENCRYPTION = {
    "type": "object",
    "properties": {"provider": {"type": "string", "minLength": 0, "maxLength": 255},
                   "cipher": {"type": ["string", "null"], "maxLength": 255},
                   "key_size": {"type": ["integer", "null"], "minimum": 0},
                   "control_location": {"enum": ["front-end", "back-end"]}},
    "additionalProperties": False,
}


def parse_specs(specs: Any, field: str = "extra_specs") -> dict[str, str]:
    """Cinder's extra specs: keys of ``[a-zA-Z0-9-_:. /]``, values strings of at most 255."""
    if not isinstance(specs, dict):
        raise invalid(field, specs, f"{specs!r} is not of type 'object'")
    parsed: dict[str, str] = {}
    for key, value in specs.items():
        if not _KEY.match(key):
            raise invalid(field, specs, f"'{key}' does not match any of the regexes: '^[a-zA-Z0-9-_:. /]{{1,255}}$'")
        if not isinstance(value, str) or len(value) > 255:
            raise invalid(key, value, f"{value!r} is not of type 'string' or is longer than 255 characters")
        parsed[key] = value
    return parsed


async def _specs_for(req: Req, specs: dict[str, str]) -> dict[str, str]:
    if await req.allowed("volume_extension:types_extra_specs:read_sensitive"):
        return specs
    return {k: v for k, v in specs.items() if k in USER_VISIBLE_SPECS}


async def render(req: Req, t: svc.TypeView, *, qos: bool = True, access: bool = True) -> dict[str, Any]:
    row = t.row
    out: dict[str, Any] = {"id": row.id, "name": row.name, "is_public": row.is_public,
                           "description": row.description}
    if await req.allowed("volume_extension:access_types_extra_specs"):
        out["extra_specs"] = await _specs_for(req, t.extra_specs)
    if qos and await req.allowed("volume_extension:access_types_qos_specs_id"):
        out["qos_specs_id"] = row.qos_specs_id
    if access:
        out["os-volume-type-access:is_public"] = row.is_public
    return out


def is_public_param(req: Req, admin: bool) -> bool | None:
    """Only admins choose: absent → public (and shared), ``none`` → all, else the boolean."""
    if not admin:
        return True
    raw = req.params.get("is_public")
    if raw is None:
        return True
    if raw.strip().lower() == "none":
        return None
    return as_bool(raw, "is_public")


async def _extra_specs_filter(req: Req) -> dict[str, str]:
    """``?extra_specs={'key': 'value'}`` (3.52, a Python literal as Cinder reads it). Members
    filter by the user-visible keys only: the others are not theirs to probe."""
    raw = req.params.get("extra_specs")
    if raw is None or not req.at_least(3, 52):
        return {}
    try:
        parsed = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        parsed = None
    if not isinstance(parsed, dict) or not all(isinstance(k, str) for k in parsed):
        raise InvalidInput(f"Invalid filter extra_specs: {raw}")
    specs = {k: str(v) for k, v in parsed.items()}
    if await req.allowed("volume_extension:types_extra_specs:read_sensitive"):
        return specs
    return {k: v for k, v in specs.items() if k in USER_VISIBLE_SPECS}


# --- types --------------------------------------------------------------------------------------


@routes.get("/v3/types")
async def list_types(req: Req) -> Response:
    await req.enforce("volume_extension:type_get_all")
    who = await caller(req)
    lq = list_query(req, sort_keys=svc.SORT_COLUMNS, filters=(), ignore=("is_public", "extra_specs"))
    specs = await _extra_specs_filter(req)
    found = await req.read(svc.list_types, who, is_public_param(req, who.is_admin), lq, specs)
    return json_response({"volume_types": [await render(req, t) for t in found]})


@routes.get("/v3/types/default")
async def show_default(req: Req) -> Response:
    await req.enforce("volume_extension:type_get")
    found = await req.read(svc.default_type, await caller(req), req.state.config.volume.default_volume_type)
    return json_response({"volume_type": await render(req, found)})


@routes.post("/v3/types")
async def create_type(req: Req) -> Response:
    await req.enforce("volume_extension:type_create")
    body = await req.body(_CREATE, wrapper="volume_type")
    name = body["name"].strip()
    if not name:
        raise InvalidInput("Volume type name can not be empty.")
    public = True
    for key in ("is_public", "os-volume-type-access:is_public"):
        if body.get(key) is not None:
            public = as_bool(body[key], key)
    specs = parse_specs(body.get("extra_specs") or {})
    created = await req.write(svc.create_type, name, body.get("description"), public, specs)
    return json_response({"volume_type": await render(req, created, qos=False)})


@routes.get("/v3/types/{type_id}")
async def show_type(req: Req) -> Response:
    await req.enforce("volume_extension:type_get")
    found = await req.read(svc.get_type, req.path("type_id"), await caller(req))
    return json_response({"volume_type": await render(req, found)})


@routes.put("/v3/types/{type_id}")
async def update_type(req: Req) -> Response:
    await req.enforce("volume_extension:type_update")
    body = await req.body(_UPDATE, wrapper="volume_type")
    changes: dict[str, Any] = {}
    if body.get("name") is not None:
        name = body["name"].strip()
        if not name:
            raise InvalidInput("Volume type name can not be empty.")
        changes["name"] = name
    if "description" in body:
        changes["description"] = body["description"]
    if body.get("is_public") is not None:
        changes["is_public"] = as_bool(body["is_public"], "is_public")
    if not changes:
        raise InvalidInput("Specify volume type name, description, is_public or a combination thereof.")
    updated = await req.write(svc.update_type, req.path("type_id"), await caller(req), changes)
    return json_response({"volume_type": await render(req, updated, qos=False, access=False)})


@routes.delete("/v3/types/{type_id}")
async def delete_type(req: Req) -> Response:
    await req.enforce("volume_extension:type_delete")
    await req.write(svc.delete_type, req.path("type_id"), await caller(req),
                    req.state.config.volume.default_volume_type)
    return Response(status_code=202)


# --- extra specs --------------------------------------------------------------------------------


@routes.get("/v3/types/{type_id}/extra_specs")
async def list_specs(req: Req) -> Response:
    await req.enforce("volume_extension:types_extra_specs:index")
    specs = await req.read(svc.get_specs, req.path("type_id"), await caller(req))
    return json_response({"extra_specs": await _specs_for(req, specs)})


@routes.post("/v3/types/{type_id}/extra_specs")
async def create_specs(req: Req) -> Response:
    await req.enforce("volume_extension:types_extra_specs:create")
    body = await req.json()
    if not isinstance(body, dict) or "extra_specs" not in body:
        raise invalid("extra_specs", body, "'extra_specs' is a required property")
    specs = parse_specs(body["extra_specs"])
    await req.write(svc.set_specs, req.path("type_id"), specs, await caller(req))
    return json_response({"extra_specs": specs})


@routes.get("/v3/types/{type_id}/extra_specs/{key}")
async def show_spec(req: Req) -> Response:
    await req.enforce("volume_extension:types_extra_specs:show")
    key = req.path("key")
    if key not in USER_VISIBLE_SPECS and not await req.allowed("volume_extension:types_extra_specs:read_sensitive"):
        raise VolumeTypeExtraSpecsNotFound(req.path("type_id"), key)
    value = await req.read(svc.get_spec, req.path("type_id"), key, await caller(req))
    return json_response({key: value})


@routes.put("/v3/types/{type_id}/extra_specs/{key}")
async def update_spec(req: Req) -> Response:
    await req.enforce("volume_extension:types_extra_specs:update")
    key = req.path("key")
    body = await req.json()
    if not isinstance(body, dict) or not body:
        raise InvalidInput("Request body empty")  # Cinder's HTTPBadRequest wording differs little
    if key not in body:
        raise InvalidInput("Request body and URI mismatch")
    if len(body) > 1:
        raise InvalidInput("Request body contains too many items")
    specs = parse_specs(body)
    await req.write(svc.set_specs, req.path("type_id"), specs, await caller(req))
    return json_response(specs)


@routes.delete("/v3/types/{type_id}/extra_specs/{key}")
async def delete_spec(req: Req) -> Response:
    await req.enforce("volume_extension:types_extra_specs:delete")
    await req.write(svc.delete_spec, req.path("type_id"), req.path("key"), await caller(req))
    return Response(status_code=202)


# --- access -------------------------------------------------------------------------------------


@routes.get("/v3/types/{type_id}/os-volume-type-access")
async def list_access(req: Req) -> Response:
    await req.enforce("volume_extension:volume_type_access:get_all_for_type")
    found = await req.read(svc.access_list, req.path("type_id"), await caller(req))
    return json_response({"volume_type_access": found})


@routes.post("/v3/types/{type_id}/action")
async def type_action(req: Req) -> Response:
    body = await req.json()
    if not isinstance(body, dict) or len(body) != 1:
        raise InvalidInput("There is no such action or more than one action in the request body.")
    action, args = next(iter(body.items()))
    if action not in ("addProjectAccess", "removeProjectAccess"):
        raise InvalidInput(f"There is no such action: {action}")
    await req.enforce(f"volume_extension:volume_type_access:{action}")
    project = args.get("project") if isinstance(args, dict) else None
    if not isinstance(project, str) or not project:
        raise InvalidInput("Missing required element 'project' in request body.")
    fn = svc.add_access if action == "addProjectAccess" else svc.remove_access
    await req.write(fn, req.path("type_id"), project, await caller(req))
    return Response(status_code=202)


# --- encryption ---------------------------------------------------------------------------------


@routes.get("/v3/types/{type_id}/encryption")
async def show_encryption(req: Req) -> Response:
    await req.enforce("volume_extension:volume_type_encryption:get")
    enc = await req.read(svc.get_encryption, req.path("type_id"), await caller(req))
    return json_response({} if enc is None else svc.encryption_dict(enc))


@routes.get("/v3/types/{type_id}/encryption/{key}")
async def show_encryption_key(req: Req) -> Response:
    await req.enforce("volume_extension:volume_type_encryption:get")
    key = req.path("key")
    enc = await req.read(svc.get_encryption, req.path("type_id"), await caller(req))
    data = {} if enc is None else svc.encryption_dict(enc)
    if key not in data:
        raise NotFound(f"Volume type encryption for type {req.path('type_id')} does not exist.")
    return json_response({key: data[key]})


@routes.post("/v3/types/{type_id}/encryption")
async def create_encryption(req: Req) -> Response:
    await req.enforce("volume_extension:volume_type_encryption:create")
    spec = await req.body({**_ENCRYPTION, "required": ["provider"]}, wrapper="encryption")
    created = await req.write(svc.create_encryption, req.path("type_id"), spec, await caller(req))
    shown = {k: created[k] for k in ("volume_type_id", "encryption_id", "provider", "cipher", "key_size",
                                     "control_location")}
    return json_response({"encryption": shown})


@routes.put("/v3/types/{type_id}/encryption/{encryption_id}")
async def update_encryption(req: Req) -> Response:
    await req.enforce("volume_extension:volume_type_encryption:update")
    spec = await req.body(_ENCRYPTION, wrapper="encryption")
    await req.write(svc.update_encryption, req.path("type_id"), req.path("encryption_id"), spec, await caller(req))
    return json_response({"encryption": spec})


@routes.delete("/v3/types/{type_id}/encryption/{encryption_id}")
async def delete_encryption(req: Req) -> Response:
    await req.enforce("volume_extension:volume_type_encryption:delete")
    await req.write(svc.delete_encryption, req.path("type_id"), req.path("encryption_id"), await caller(req))
    return Response(status_code=202)
