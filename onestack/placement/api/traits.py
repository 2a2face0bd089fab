"""/traits (1.6) and /resource_providers/{uuid}/traits (1.6)."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.placement.api.common import NAME_SCHEMA, PlacementRoutes, Req, V, check_params
from onestack.placement.service import traits
from onestack.placement.service.common import CUSTOM_RE, bad_request, not_found

routes = PlacementRoutes()

PROVIDER_TRAITS = {
    "type": "object",
    "properties": {"traits": {"type": "array", "items": NAME_SCHEMA, "uniqueItems": True},
                   "resource_provider_generation": {"type": "integer"}},
    "required": ["traits", "resource_provider_generation"],
    "additionalProperties": False,
}


@routes.get("/traits", rule="placement:traits:list", since=V(6))
async def list_traits(req: Req) -> Response:
    check_params(req, {"name": 6, "associated": 6})
    associated = None
    if "associated" in req.params:
        value = req.params["associated"].lower()
        if value not in ("true", "false"):
            raise bad_request(f"The query parameter \"associated\" only accepts \"true\" or \"false\". Got: {value}")
        associated = value == "true"
    return json_response({"traits": await req.read(traits.listing, req.params.get("name"), associated)})


@routes.get("/traits/{name}", rule="placement:traits:show", since=V(6))
async def show_trait(req: Req) -> Response:
    if not await req.read(traits.exists_, req.path("name")):
        raise not_found(f"No such trait(s): {req.path('name')}")
    return no_content()


@routes.put("/traits/{name}", rule="placement:traits:update", since=V(6))
async def put_trait(req: Req) -> Response:
    name = req.path("name")
    if not CUSTOM_RE.match(name) or len(name) > 255:
        raise bad_request("The trait is invalid. A valid trait must be no longer than 255 characters, start with "
                          "the prefix \"CUSTOM_\" and use following characters: \"A\"-\"Z\", \"0\"-\"9\" and \"_\"")
    if await req.write(traits.create, name):
        return Response(b"", status_code=201, headers=req.location("/traits", name))
    return no_content()


@routes.delete("/traits/{name}", rule="placement:traits:delete", since=V(6))
async def delete_trait(req: Req) -> Response:
    await req.write(traits.remove, req.path("name"))
    return no_content()


@routes.get("/resource_providers/{uuid}/traits", rule="placement:resource_providers:traits:list", since=V(6))
async def provider_traits(req: Req) -> Response:
    return json_response(await req.read(traits.of_provider, req.path("uuid")))


@routes.put("/resource_providers/{uuid}/traits", rule="placement:resource_providers:traits:update", since=V(6))
async def set_provider_traits(req: Req) -> Response:
    body = await req.body(PROVIDER_TRAITS)
    return json_response(await req.write(traits.set_for_provider, req.path("uuid"), body["traits"],
                                         body["resource_provider_generation"]))


@routes.delete("/resource_providers/{uuid}/traits", rule="placement:resource_providers:traits:delete", since=V(6))
async def clear_provider_traits(req: Req) -> Response:
    await req.write(traits.clear_provider, req.path("uuid"))
    return no_content()
