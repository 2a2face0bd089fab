"""Image API: members of shared images (/v2/images/{id}/members)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.image.api.images import (
    caller,
    enforce,
    image_service,
    image_target,
    limits_of,
    load_for_policy,
)
from onestack.image.service import members as svc

routes = RouteTable()


@routes.post("/v2/images/{image_id}/members")
async def add_member(request: Request) -> Response:
    ctx, viewer = await caller(request)
    image_id = request.path_params["image_id"]
    image, member = await load_for_policy(request, image_id, viewer)
    enforce(request, ctx, "add_member", image_target(image, member))
    new_member = svc.clean_member_id(await json_body(request))
    doc = await image_service(request).db.write(
        svc.add_member, image_id, viewer, new_member, limits_of(request).members)
    return json_response(doc)  # Glance answers 200, not 201


@routes.get("/v2/images/{image_id}/members")
async def list_members(request: Request) -> Response:
    ctx, viewer = await caller(request)
    image_id = request.path_params["image_id"]
    image, member = await load_for_policy(request, image_id, viewer)
    enforce(request, ctx, "get_members", image_target(image, member))
    members = await image_service(request).db.read(svc.list_members, image_id, viewer)
    return json_response({"members": members, "schema": "/v2/schemas/members"})


@routes.get("/v2/images/{image_id}/members/{member_id}")
async def show_member(request: Request) -> Response:
    ctx, viewer = await caller(request)
    image_id, member_id = request.path_params["image_id"], request.path_params["member_id"]
    image, member = await load_for_policy(request, image_id, viewer)
    enforce(request, ctx, "get_member", image_target(image, member))
    doc = await image_service(request).db.read(svc.get_member, image_id, member_id, viewer)
    return json_response(doc)


@routes.put("/v2/images/{image_id}/members/{member_id}")
async def update_member(request: Request) -> Response:
    ctx, viewer = await caller(request)
    image_id, member_id = request.path_params["image_id"], request.path_params["member_id"]
    image, _member = await load_for_policy(request, image_id, viewer)
    status = svc.clean_member_status(await json_body(request))
    # The member being changed, not the caller, is what the rule checks against.
    enforce(request, ctx, "modify_member", image_target(image, member_id))
    doc = await image_service(request).db.write(svc.update_member, image_id, member_id, viewer, status)
    return json_response(doc)


@routes.delete("/v2/images/{image_id}/members/{member_id}")
async def delete_member(request: Request) -> Response:
    ctx, viewer = await caller(request)
    image_id, member_id = request.path_params["image_id"], request.path_params["member_id"]
    image, member = await load_for_policy(request, image_id, viewer)
    enforce(request, ctx, "delete_member", image_target(image, member))
    await image_service(request).db.write(svc.delete_member, image_id, member_id, viewer)
    return no_content()
