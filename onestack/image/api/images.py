"""Image API: /v2/images create, list, show, update (JSON patch), delete, deactivate/reactivate."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.faults import NotFound, UnsupportedMediaType
from onestack.core.api.http import json_response, no_content
from onestack.image.api.common import DEFAULT_LIMIT, ImageRoutes, Req, image_for, viewer
from onestack.image.service import data, listing, patch
from onestack.image.service import images as svc

routes = ImageRoutes()


# --- static paths first --------------------------------------------------------------------

@routes.add(["GET", "HEAD", "DELETE", "PATCH", "PUT", "POST"], "/v2/images/")
async def empty_id(req: Req) -> Response:
    # An empty image id is a missing image, not the collection (no slash redirect); as everywhere
    # in Glance, a caller without a token learns nothing but 401.
    await req.caller()
    raise NotFound("No image found with an empty ID")


@routes.post("/v2/images")
async def create(req: Req) -> Response:
    ctx, who = await viewer(req)
    core, props, tags = svc.split_create_body(await req.json(), who)
    core.setdefault("owner", ctx.project_id)
    if core.get("owner") != ctx.project_id and not who.is_admin:
        await req.enforce("context_is_admin", {})  # only admins create images for others
    target = svc.image_target({"owner": core.get("owner"), "visibility": core.get("visibility", "shared")})
    await req.enforce("add_image", target)
    await _check_visibility(req, target, core.get("visibility", "shared"))
    limits = await req.read(svc.limits_for, req.state, core.get("owner"))
    doc = await req.write(svc.create_image, core, props, tags, limits)
    return json_response(doc, status=201, headers=req.location(doc["self"]))


async def _check_visibility(req: Req, target: dict[str, Any], visibility: str) -> None:
    if visibility == "public":
        await req.enforce("publicize_image", target)
    elif visibility == "community":
        await req.enforce("communitize_image", target)


@routes.get("/v2/images")
async def list_images(req: Req) -> Response:
    ctx, who = await viewer(req)
    await req.enforce("get_images", {"project_id": ctx.project_id})
    page = req.page(default=DEFAULT_LIMIT)
    flags = {name: bool(req.flag(name)) for name in listing.BOOL_FILTERS if name in req.params}
    query = listing.parse_list_query(list(req.params.multi_items()), page, flags)
    images, next_marker = await req.read(listing.list_images, who, query)
    body: dict[str, Any] = {"images": images, "first": req.link(drop=("marker",), absolute=False),
                            "schema": "/v2/schemas/images"}
    if next_marker:
        body["next"] = req.next_href(next_marker, absolute=False, limit=query.limit)
    return json_response(body)


@routes.get("/v2/images/{image_id}")
async def show(req: Req) -> Response:
    _, who = await viewer(req)
    target, doc = await req.read(svc.show_image, req.path("image_id"), who)
    await req.enforce("get_image", target)
    return json_response(doc)


@routes.patch("/v2/images/{image_id}")
async def update(req: Req) -> Response:
    await req.caller()  # 401 before anything is said about the body
    ctype = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in patch.PATCH_MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"Unsupported Content-Type {ctype or '(none)'}; use {patch.PATCH_MEDIA_TYPES[0]}.",
            headers={"Accept-Patch": ", ".join(patch.PATCH_MEDIA_TYPES)},
        )
    who, target = await image_for(req, "modify_image")
    ops = patch.parse_patch(await req.json(media_types=patch.PATCH_MEDIA_TYPES))
    for visibility in svc.new_visibilities(target["visibility"], ops):
        await _check_visibility(req, target, visibility)
    limits = svc.limits_of(req.state)
    return json_response(await req.write(svc.update_image, req.path("image_id"), who, ops, limits))


@routes.delete("/v2/images/{image_id}")
async def delete(req: Req) -> Response:
    who, _target = await image_for(req, "delete_image")
    image = await req.read(svc.deletable_image, req.path("image_id"), who)
    # The data path may answer "pending_delete" (delayed delete: the scrubber removes the bytes later).
    status = await data.delete_image_data(req.state, image)
    await req.write(svc.mark_deleted, req.path("image_id"), who, status)
    return no_content()


@routes.post("/v2/images/{image_id}/actions/deactivate")
async def deactivate(req: Req) -> Response:
    return await _activation(req, "deactivate")


@routes.post("/v2/images/{image_id}/actions/reactivate")
async def reactivate(req: Req) -> Response:
    return await _activation(req, "reactivate")


async def _activation(req: Req, action: str) -> Response:
    who, _target = await image_for(req, action)
    await req.write(svc.change_activation, req.path("image_id"), who, action)
    return no_content()
