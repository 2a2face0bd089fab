"""/resource_providers and /resource_providers/{uuid}."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.placement.api.common import UUID_SCHEMA, PlacementRoutes, Req, check_params
from onestack.placement.service import providers
from onestack.placement.service.common import is_uuid, norm_uuid
from onestack.placement.service.query import parse_member_of, parse_required, parse_resources

routes = PlacementRoutes()
BASE = "/resource_providers"


def provider_body(req: Req, rp: dict[str, Any]) -> dict[str, Any]:
    path = f"{BASE}/{rp['uuid']}"
    rels = [("self", ""), ("inventories", "/inventories"), ("usages", "/usages")]
    if req.at_least(1, 1):
        rels.append(("aggregates", "/aggregates"))
    if req.at_least(1, 6):
        rels.append(("traits", "/traits"))
    if req.at_least(1, 11):
        rels.append(("allocations", "/allocations"))
    body = {"uuid": rp["uuid"], "name": rp["name"], "generation": rp["generation"],
            "links": [{"rel": rel, "href": req.href(path + tail)} for rel, tail in rels]}
    if req.at_least(1, 14):
        body["parent_provider_uuid"] = rp["parent_provider_uuid"]
        body["root_provider_uuid"] = rp["root_provider_uuid"]
    return body


def _schema(req: Req, *, create: bool) -> dict[str, Any]:
    props: dict[str, Any] = {"name": {"type": "string", "minLength": 1, "maxLength": 200}}
    if create:
        props["uuid"] = UUID_SCHEMA
    if req.at_least(1, 14):
        props["parent_provider_uuid"] = {"anyOf": [UUID_SCHEMA, {"type": "null"}]}
    return {"type": "object", "properties": props, "required": ["name"], "additionalProperties": False}


@routes.get(BASE, rule="placement:resource_providers:list")
async def list_providers(req: Req) -> Response:
    check_params(req, {"name": 0, "uuid": 0, "member_of": 3, "resources": 4, "in_tree": 14, "required": 18})
    p = req.params
    f = providers.ProviderFilters(name=p.get("name"), in_tree=p.get("in_tree"))
    if "uuid" in p:
        f.uuid = norm_uuid(p["uuid"]) if is_uuid(p["uuid"]) else p["uuid"]
    if "member_of" in p:
        f.member_of = parse_member_of(p.getlist("member_of"), req.mv)
    if "resources" in p:
        f.resources = parse_resources(p["resources"])
    if "required" in p:
        f.required = parse_required(p.getlist("required"), req.mv)
    found = await req.read(providers.listing, f)
    return json_response({"resource_providers": [provider_body(req, rp) for rp in found]})


@routes.post(BASE, rule="placement:resource_providers:create")
async def create_provider(req: Req) -> Response:
    body = await req.body(_schema(req, create=True))
    rp = await req.write(providers.create, body["name"], body.get("uuid"), body.get("parent_provider_uuid"))
    headers = req.location(BASE, rp["uuid"])
    if req.at_least(1, 20):
        return json_response(provider_body(req, rp), headers=headers)
    return Response(b"", status_code=201, headers=headers)


@routes.get(BASE + "/{uuid}", rule="placement:resource_providers:show")
async def show_provider(req: Req) -> Response:
    return json_response(provider_body(req, await req.read(providers.show, req.path("uuid"))))


@routes.put(BASE + "/{uuid}", rule="placement:resource_providers:update")
async def update_provider(req: Req) -> Response:
    body = await req.body(_schema(req, create=False))
    rp = await req.write(providers.update, req.path("uuid"), body, req.at_least(1, 37))
    return json_response(provider_body(req, rp))


@routes.delete(BASE + "/{uuid}", rule="placement:resource_providers:delete")
async def delete_provider(req: Req) -> Response:
    await req.write(providers.remove, req.path("uuid"))
    return no_content()
