"""/resource_classes (1.2)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.placement.api.common import CUSTOM_SCHEMA, PlacementRoutes, Req, V
from onestack.placement.service import classes
from onestack.placement.service.common import CUSTOM_RE, bad_request

routes = PlacementRoutes()
NAME_BODY: dict[str, Any] = {"type": "object", "properties": {"name": CUSTOM_SCHEMA}, "required": ["name"],
                             "additionalProperties": False}


def class_body(req: Req, name: str) -> dict[str, Any]:
    return {"name": name, "links": [{"rel": "self", "href": req.href(f"/resource_classes/{name}")}]}


@routes.get("/resource_classes", rule="placement:resource_classes:list", since=V(2))
async def list_classes(req: Req) -> Response:
    names = await req.read(classes.listing)
    return json_response({"resource_classes": [class_body(req, n) for n in names]})


@routes.post("/resource_classes", rule="placement:resource_classes:create", since=V(2))
async def create_class(req: Req) -> Response:
    body = await req.body(NAME_BODY)
    await req.write(classes.create, body["name"])
    return Response(b"", status_code=201, headers=req.location("/resource_classes", body["name"]))


@routes.get("/resource_classes/{name}", rule="placement:resource_classes:show", since=V(2))
async def show_class(req: Req) -> Response:
    rc = await req.read(classes.get, req.path("name"))
    return json_response(class_body(req, rc.name))


@routes.put("/resource_classes/{name}", rule="placement:resource_classes:update", since=V(2))
async def put_class(req: Req) -> Response:
    name = req.path("name")
    if not req.at_least(1, 7):
        body = await req.body(NAME_BODY)
        await req.write(classes.rename, name, body["name"])
        return json_response(class_body(req, body["name"]))
    if not CUSTOM_RE.match(name) or len(name) > 255:
        raise bad_request(f"JSON does not validate: '{name}' does not match '^CUSTOM_[A-Z0-9_]+$'")
    if await req.write(lambda s: classes.create(s, name, exist_ok=True)):
        return Response(b"", status_code=201, headers=req.location("/resource_classes", name))
    return no_content()


@routes.delete("/resource_classes/{name}", rule="placement:resource_classes:delete", since=V(2))
async def delete_class(req: Req) -> Response:
    await req.write(classes.remove, req.path("name"))
    return no_content()
