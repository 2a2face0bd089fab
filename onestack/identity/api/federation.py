"""Identity API: OS-FEDERATION identity providers, protocols, mappings and service providers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.identity.api.conventions import IdentityRoutes, Req, query
from onestack.identity.api.render import collection, self_link
from onestack.identity.api.schemas import BOOLISH, DESCRIPTION, normalise_bools
from onestack.identity.service import federation, mapping_rules

routes = IdentityRoutes()

EXT = "OS-FEDERATION"
IDPS = f"{EXT}/identity_providers"
SPS = f"{EXT}/service_providers"

# Keystone's parameter_types.url: lenient, "scheme:rest".
URL = {"type": "string", "minLength": 0, "maxLength": 225, "pattern": "^[a-zA-Z0-9+.-]+:.+"}
# Keystone's parameter_types.boolean: its spellings of true and false, or null (the default)
NULLABLE_BOOL = {"type": ["boolean", "string", "null"], "enum": [*BOOLISH["enum"], None]}
_IDP_PROPS: dict[str, Any] = {
    "enabled": NULLABLE_BOOL,
    "description": DESCRIPTION,
    "authorization_ttl": {"type": ["integer", "null"], "minimum": 0},
    "remote_ids": {"type": ["array", "null"], "items": {"type": "string", "maxLength": 64}, "uniqueItems": True},
}
IDP_CREATE = {"type": "object", "additionalProperties": False, "properties": {
    **_IDP_PROPS,
    "domain_id": {"type": ["string", "null"], "minLength": 1, "maxLength": 64, "pattern": "^[a-zA-Z0-9-]+$"}}}
IDP_UPDATE = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": _IDP_PROPS}
_MAPPING_ID = {"type": "string", "minLength": 1, "maxLength": 64}
PROTOCOL_CREATE = {"type": "object", "additionalProperties": False, "required": ["mapping_id"], "properties": {
    "mapping_id": _MAPPING_ID, "remote_id_attribute": {"type": ["string", "null"], "maxLength": 64}}}
# An update names the mapping again; remote_id_attribute may be emptied but not nulled.
PROTOCOL_UPDATE = {"type": "object", "additionalProperties": False, "required": ["mapping_id"], "minProperties": 1,
                   "properties": {"mapping_id": _MAPPING_ID,
                                  "remote_id_attribute": {"type": "string", "maxLength": 64}}}
MAPPING = {"type": "object"}
_SP_PROPS: dict[str, Any] = {
    "auth_url": URL,
    "sp_url": URL,
    "description": DESCRIPTION,
    "enabled": NULLABLE_BOOL,
    "relay_state_prefix": {"type": ["string", "null"]},
}
SP_CREATE = {"type": "object", "additionalProperties": False, "required": ["auth_url", "sp_url"],
             "properties": _SP_PROPS}
SP_UPDATE = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": _SP_PROPS}


# --- rendering --------------------------------------------------------------------------------


def _idp_doc(req: Req, doc: dict[str, Any]) -> dict[str, Any]:
    me = self_link(req, f"{IDPS}/{doc['id']}")["self"]
    return {**doc, "links": {"self": me, "protocols": f"{me}/protocols"}}


def _protocol_doc(req: Req, doc: dict[str, Any], *, full: bool) -> dict[str, Any]:
    """A protocol; a single one is shown as Keystone filters it: id, mapping_id and links only."""
    idp = self_link(req, f"{IDPS}/{doc['idp_id']}")["self"]
    links = {"self": f"{idp}/protocols/{doc['id']}", "identity_provider": idp}
    if full:
        return {**doc, "links": links}
    return {"id": doc["id"], "mapping_id": doc["mapping_id"], "links": links}


def _mapping_doc(req: Req, doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "links": self_link(req, f"{EXT}/mappings/{doc['id']}")}


def _sp_doc(req: Req, doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "links": self_link(req, f"{SPS}/{doc['id']}")}


# --- PUT and PATCH by id ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    """A resource its client names: its policy rules' noun (also the body's and answer's wrapper),
    the path parameters naming it and its document."""

    noun: str
    ids: tuple[str, ...]
    render: Callable[[Req, dict[str, Any]], dict[str, Any]]


_IDP = _Kind("identity_provider", ("idp_id",), _idp_doc)
_PROTOCOL = _Kind("protocol", ("idp_id", "protocol_id"), lambda req, doc: _protocol_doc(req, doc, full=False))
_MAPPING = _Kind("mapping", ("mapping_id",), _mapping_doc)
_SP = _Kind("service_provider", ("sp_id",), _sp_doc)

Body = Callable[[Req], Awaitable[dict[str, Any]]]


def _wrapped(kind: _Kind, schema: dict[str, Any]) -> Body:
    """The body's ``kind.noun`` object checked against ``schema``, ``enabled`` made a boolean."""

    async def read(req: Req) -> dict[str, Any]:
        return normalise_bools(dict(await req.body(schema, wrapper=kind.noun)), "enabled")

    return read


async def _save(req: Req, kind: _Kind, create: bool, body: Body, write: Callable[..., dict[str, Any]],
                *extra: Any) -> Response:
    """PUT (``create``: 201) or PATCH of one resource by id: policy before the body, as Keystone
    enforces; ``write`` gets the path's ids, the data and ``extra``."""
    await req.enforce(f"identity:{'create' if create else 'update'}_{kind.noun}")
    data = await body(req)
    doc = await req.write(write, *(req.path(name) for name in kind.ids), data, *extra)
    return json_response({kind.noun: kind.render(req, doc)}, status=201 if create else 200)


# --- identity providers -----------------------------------------------------------------------


@routes.get(f"/v3/{IDPS}")
async def list_identity_providers(req: Req) -> Response:
    await req.enforce("identity:list_identity_providers")
    rows = await req.read(federation.list_idps, query(req))
    return json_response(collection(req, "identity_providers", [_idp_doc(req, r) for r in rows]))


@routes.get(f"/v3/{IDPS}/{{idp_id}}")
async def get_identity_provider(req: Req) -> Response:
    await req.enforce("identity:get_identity_provider")
    doc = await req.read(federation.show_idp, req.path("idp_id"))
    return json_response({"identity_provider": _idp_doc(req, doc)})


async def _idp_create_body(req: Req) -> dict[str, Any]:
    """Keystone requires neither a body nor its wrapper here: an IdP of defaults."""
    body = await req.json(required=False) or {}
    req.validate(body, {"type": "object", "properties": {"identity_provider": {"type": "object"}},
                        "additionalProperties": False})
    data = body.get("identity_provider", {})
    req.validate(data, IDP_CREATE, wrapper="identity_provider")
    return normalise_bools(dict(data), "enabled")


@routes.put(f"/v3/{IDPS}/{{idp_id}}")
async def create_identity_provider(req: Req) -> Response:
    return await _save(req, _IDP, True, _idp_create_body, federation.create_idp)


@routes.patch(f"/v3/{IDPS}/{{idp_id}}")
async def update_identity_provider(req: Req) -> Response:
    return await _save(req, _IDP, False, _wrapped(_IDP, IDP_UPDATE), federation.update_idp)


@routes.delete(f"/v3/{IDPS}/{{idp_id}}")
async def delete_identity_provider(req: Req) -> Response:
    await req.enforce("identity:delete_identity_provider")
    await req.write(federation.delete_idp, req.path("idp_id"))
    return no_content()


# --- protocols --------------------------------------------------------------------------------


@routes.get(f"/v3/{IDPS}/{{idp_id}}/protocols")
async def list_protocols(req: Req) -> Response:
    await req.enforce("identity:list_protocols")
    rows = await req.read(federation.list_protocols, req.path("idp_id"))
    return json_response(collection(req, "protocols", [_protocol_doc(req, r, full=True) for r in rows]))


@routes.get(f"/v3/{IDPS}/{{idp_id}}/protocols/{{protocol_id}}")
async def get_protocol(req: Req) -> Response:
    await req.enforce("identity:get_protocol")
    doc = await req.read(federation.show_protocol, req.path("idp_id"), req.path("protocol_id"))
    return json_response({"protocol": _protocol_doc(req, doc, full=False)})


@routes.put(f"/v3/{IDPS}/{{idp_id}}/protocols/{{protocol_id}}")
async def create_protocol(req: Req) -> Response:
    return await _save(req, _PROTOCOL, True, _wrapped(_PROTOCOL, PROTOCOL_CREATE), federation.create_protocol)


@routes.patch(f"/v3/{IDPS}/{{idp_id}}/protocols/{{protocol_id}}")
async def update_protocol(req: Req) -> Response:
    return await _save(req, _PROTOCOL, False, _wrapped(_PROTOCOL, PROTOCOL_UPDATE), federation.update_protocol)


@routes.delete(f"/v3/{IDPS}/{{idp_id}}/protocols/{{protocol_id}}")
async def delete_protocol(req: Req) -> Response:
    await req.enforce("identity:delete_protocol")
    await req.write(federation.delete_protocol, req.path("idp_id"), req.path("protocol_id"))
    return no_content()


# --- mappings ---------------------------------------------------------------------------------


@routes.get(f"/v3/{EXT}/mappings")
async def list_mappings(req: Req) -> Response:
    await req.enforce("identity:list_mappings")
    rows = await req.read(federation.list_mappings)
    return json_response(collection(req, "mappings", [_mapping_doc(req, r) for r in rows]))


@routes.get(f"/v3/{EXT}/mappings/{{mapping_id}}")
async def get_mapping(req: Req) -> Response:
    await req.enforce("identity:get_mapping")
    row = await req.read(federation.get_mapping, req.path("mapping_id"))
    return json_response({"mapping": _mapping_doc(req, federation.mapping_to_dict(row))})


async def _mapping_body(req: Req) -> dict[str, Any]:
    """The body's mapping (``{}`` when absent, as Keystone reads it) with its schema version, validated."""
    body = await req.json()
    req.validate(body, {"type": "object"})
    mapping = body.get("mapping", {})
    req.validate(mapping, MAPPING, wrapper="mapping")
    return mapping_rules.prepare(mapping, req.state.config.identity.federation_mapping_schema_version)


@routes.put(f"/v3/{EXT}/mappings/{{mapping_id}}")
async def create_mapping(req: Req) -> Response:
    return await _save(req, _MAPPING, True, _mapping_body, federation.create_mapping)


@routes.patch(f"/v3/{EXT}/mappings/{{mapping_id}}")
async def update_mapping(req: Req) -> Response:
    return await _save(req, _MAPPING, False, _mapping_body, federation.update_mapping)


@routes.delete(f"/v3/{EXT}/mappings/{{mapping_id}}")
async def delete_mapping(req: Req) -> Response:
    await req.enforce("identity:delete_mapping")
    await req.write(federation.delete_mapping, req.path("mapping_id"))
    return no_content()


# --- service providers ------------------------------------------------------------------------


@routes.get(f"/v3/{SPS}")
async def list_service_providers(req: Req) -> Response:
    await req.enforce("identity:list_service_providers")
    rows = await req.read(federation.list_sps, query(req))
    return json_response(collection(req, "service_providers", [_sp_doc(req, r) for r in rows]))


@routes.get(f"/v3/{SPS}/{{sp_id}}")
async def get_service_provider(req: Req) -> Response:
    await req.enforce("identity:get_service_provider")
    doc = await req.read(federation.show_sp, req.path("sp_id"))
    return json_response({"service_provider": _sp_doc(req, doc)})


@routes.put(f"/v3/{SPS}/{{sp_id}}")
async def create_service_provider(req: Req) -> Response:
    return await _save(req, _SP, True, _wrapped(_SP, SP_CREATE), federation.create_sp,
                       req.state.config.identity.saml_relay_state_prefix)


@routes.patch(f"/v3/{SPS}/{{sp_id}}")
async def update_service_provider(req: Req) -> Response:
    return await _save(req, _SP, False, _wrapped(_SP, SP_UPDATE), federation.update_sp)


@routes.delete(f"/v3/{SPS}/{{sp_id}}")
async def delete_service_provider(req: Req) -> Response:
    await req.enforce("identity:delete_service_provider")
    await req.write(federation.delete_sp, req.path("sp_id"))
    return no_content()
