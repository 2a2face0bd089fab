"""Image API: members of shared images (/v2/images/{id}/members)."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.image.api.common import ImageRoutes, Req, image_for, viewer
from onestack.image.service import images
from onestack.image.service import members as svc

routes = ImageRoutes()


@routes.post("/v2/images/{image_id}/members")
async def add_member(req: Req) -> Response:
    who, _target = await image_for(req, "add_member")
    new_member = svc.clean_member_id(await req.json())
    limit = images.limits_of(req.state).members
    doc = await req.write(svc.add_member, req.path("image_id"), who, new_member, limit)
    return json_response(doc)  # Glance answers 200, not 201


@routes.get("/v2/images/{image_id}/members")
async def list_members(req: Req) -> Response:
    who, _target = await image_for(req, "get_members")
    members = await req.read(svc.list_members, req.path("image_id"), who)
    return json_response({"members": members, "schema": "/v2/schemas/members"})


@routes.get("/v2/images/{image_id}/members/{member_id}")
async def show_member(req: Req) -> Response:
    who, _target = await image_for(req, "get_member")
    return json_response(await req.read(svc.get_member, req.path("image_id"), req.path("member_id"), who))


@routes.put("/v2/images/{image_id}/members/{member_id}")
async def update_member(req: Req) -> Response:
    image_id, member_id = req.path("image_id"), req.path("member_id")
    _, who = await viewer(req)
    target = await req.read(images.visible_target, image_id, who)
    status = svc.clean_member_status(await req.json())
    # The member being changed, not the caller, is what the rule checks against.
    await req.enforce("modify_member", {**target, "member_id": member_id})
    return json_response(await req.write(svc.update_member, image_id, member_id, who, status))


@routes.delete("/v2/images/{image_id}/members/{member_id}")
async def delete_member(req: Req) -> Response:
    who, _target = await image_for(req, "delete_member")
    await req.write(svc.delete_member, req.path("image_id"), req.path("member_id"), who)
    return no_content()
