"""Image API: /v2/images create, list, show, update (JSON patch), delete, deactivate/reactivate.

Also the helpers the members and tags modules share: who the caller is (``caller``), the
policy target of an image (``image_target``) and the configured limits (``limits_of``).
"""

from __future__ import annotations

import importlib
import inspect
import json
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.faults import BadRequest, NotFound, UnsupportedMediaType
from onestack.core.api.http import RouteTable, json_body, json_response, no_content, read_body
from onestack.core.auth import AuthContext, authenticate
from onestack.image.models import Image, ImageMember
from onestack.image.service import images as svc
from onestack.image.service import patch
from onestack.image.service.images import Limits, Viewer
from onestack.image.state import ImageService

routes = RouteTable()

MAX_LIMIT = 1000


def image_service(request: Request) -> ImageService:
    return request.app.state.image  # type: ignore[no-any-return]


async def caller(request: Request) -> tuple[AuthContext, Viewer]:
    """The authenticated caller (401 otherwise) and how image visibility sees it."""
    ctx = await authenticate(request)
    return ctx, viewer_of(image_service(request), ctx)


def viewer_of(image: ImageService, ctx: AuthContext) -> Viewer:
    return Viewer(project_id=ctx.project_id,
                  is_admin=image.enforcer.check("context_is_admin", {}, ctx.credentials()))


def enforce(request: Request, ctx: AuthContext, rule: str, target: dict[str, Any]) -> None:
    image_service(request).enforcer.enforce(rule, target, ctx.credentials())


def image_target(image: Image | dict[str, Any], member_id: str | None = None) -> dict[str, Any]:
    """What an image policy rule may look at: its owner (as project_id), visibility, member."""
    get = image.get if isinstance(image, dict) else (lambda k: getattr(image, k, None))
    owner = get("owner")
    return {"project_id": owner, "owner": owner, "visibility": get("visibility"), "member_id": member_id}


def limits_of(request: Request, project_id: str | None = None) -> Limits:
    conf = image_service(request).config.image
    return Limits(
        image_count=int(getattr(conf, "image_count_total", -1)),
        properties=int(getattr(conf, "image_property_quota", 128)),
        tags=int(getattr(conf, "image_tag_quota", 128)),
        members=int(getattr(conf, "image_member_quota", 128)),
    )


async def load_for_policy(request: Request, image_id: str, viewer: Viewer) -> tuple[Image, str | None]:
    """The visible image (404 otherwise) and the caller's project if it is one of its members."""

    return await image_service(request).db.read(visible_image, image_id, viewer)


def visible_image(s: Session, image_id: str, viewer: Viewer) -> tuple[Image, str | None]:
    image = svc.get_image(s, image_id, viewer)
    member = None
    if viewer.project_id and s.get(ImageMember, (image_id, viewer.project_id)) is not None:
        member = viewer.project_id
    return image, member


# --- static paths first --------------------------------------------------------------------

@routes.add(["GET", "HEAD", "DELETE", "PATCH", "PUT", "POST"], "/v2/images/")
async def empty_id(request: Request) -> Response:
    # An empty image id is a missing image, not the collection (no slash redirect).
    raise NotFound("No image found with an empty ID")


@routes.post("/v2/images")
async def create(request: Request) -> Response:
    ctx, viewer = await caller(request)
    body = await json_body(request)
    core, props, tags = svc.split_create_body(body, viewer)
    core.setdefault("owner", ctx.project_id)
    if core.get("owner") != ctx.project_id and not viewer.is_admin:
        enforce(request, ctx, "context_is_admin", {})  # only admins create images for others
    target = image_target({"owner": core.get("owner"), "visibility": core.get("visibility", "shared")})
    enforce(request, ctx, "add_image", target)
    _check_visibility(request, ctx, target, core.get("visibility", "shared"))
    limits = await _limits_for(request, core.get("owner"))
    doc = await image_service(request).db.write(svc.create_image, core, props, tags, limits)
    return json_response(doc, status=201, headers={"Location": _absolute(request, doc["self"])})


def _absolute(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + str(request.scope.get("root_path", "")) + path


async def _limits_for(request: Request, project_id: str | None) -> Limits:
    """Configured limits, with a Keystone limit on image_count_total winning when the data path provides one."""
    limits = limits_of(request)
    try:
        quotas = importlib.import_module("onestack.image.service.quotas")
    except ImportError:
        return limits
    resolve = getattr(quotas, "effective_limit", None)
    if resolve is None or project_id is None:
        return limits
    value = resolve(image_service(request), project_id, "image_count_total")
    if inspect.isawaitable(value):
        value = await value
    if isinstance(value, int):
        limits = Limits(image_count=value, properties=limits.properties, tags=limits.tags, members=limits.members)
    return limits


def _check_visibility(request: Request, ctx: AuthContext, target: dict[str, Any], visibility: str) -> None:
    if visibility == "public":
        enforce(request, ctx, "publicize_image", target)
    elif visibility == "community":
        enforce(request, ctx, "communitize_image", target)


@routes.get("/v2/images")
async def list_images(request: Request) -> Response:
    ctx, viewer = await caller(request)
    enforce(request, ctx, "get_images", {"project_id": ctx.project_id})
    params = list(request.query_params.multi_items())
    query = svc.parse_list_query(params, MAX_LIMIT)
    images, next_marker = await image_service(request).db.read(svc.list_images, viewer, query)
    kept = [(k, v) for k, v in params if k != "marker"]
    body: dict[str, Any] = {
        "images": images,
        "first": "/v2/images" + (f"?{urlencode(kept)}" if kept else ""),
        "schema": "/v2/schemas/images",
    }
    if next_marker:
        if not any(k == "limit" for k, _ in kept):
            kept.append(("limit", str(query.limit)))
        body["next"] = "/v2/images?" + urlencode([*kept, ("marker", next_marker)])
    return json_response(body)


@routes.get("/v2/images/{image_id}")
async def show(request: Request) -> Response:
    ctx, viewer = await caller(request)
    image_id = request.path_params["image_id"]
    image, member = await load_for_policy(request, image_id, viewer)
    enforce(request, ctx, "get_image", image_target(image, member))
    doc = await image_service(request).db.read(lambda s: svc.image_to_dict(s, svc.get_image(s, image_id, viewer)))
    return json_response(doc)


@routes.patch("/v2/images/{image_id}")
async def update(request: Request) -> Response:
    ctx, viewer = await caller(request)
    image_id = request.path_params["image_id"]
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in patch.PATCH_MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"Unsupported Content-Type {ctype or '(none)'}; use {patch.PATCH_MEDIA_TYPES[0]}.",
            headers={"Accept-Patch": ", ".join(patch.PATCH_MEDIA_TYPES)},
        )
    image, member = await load_for_policy(request, image_id, viewer)
    target = image_target(image, member)
    enforce(request, ctx, "modify_image", target)
    ops = patch.parse_patch(await _patch_body(request))

    def check_visibility(new: str) -> None:
        _check_visibility(request, ctx, target, new)

    doc = await image_service(request).db.write(
        svc.update_image, image_id, viewer, ops, limits_of(request), check_visibility)
    return json_response(doc)


async def _patch_body(request: Request) -> Any:
    # The patch media types are not "+json", so json_body would refuse them; parse here.
    raw = await read_body(request, getattr(request.app.state, "max_body_size", 114688))
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"Malformed JSON in request body: {exc}") from None


@routes.delete("/v2/images/{image_id}")
async def delete(request: Request) -> Response:
    ctx, viewer = await caller(request)
    image_id = request.path_params["image_id"]
    image, member = await load_for_policy(request, image_id, viewer)
    enforce(request, ctx, "delete_image", image_target(image, member))
    svc.check_deletable(image)
    status = await _delete_data(request, image)
    await image_service(request).db.write(svc.mark_deleted, image_id, viewer, status)
    return no_content()


async def _delete_data(request: Request, image: Image) -> str:
    """Remove the bytes through the data path; it may answer "pending_delete" (delayed delete)."""
    try:
        data = importlib.import_module("onestack.image.service.data")
    except ImportError:
        return "deleted"
    remove = getattr(data, "delete_image_data", None)
    if remove is None:
        return "deleted"
    result = remove(image_service(request), image)
    if inspect.isawaitable(result):
        result = await result
    return result if result == "pending_delete" else "deleted"


@routes.post("/v2/images/{image_id}/actions/deactivate")
async def deactivate(request: Request) -> Response:
    return await _activation(request, "deactivate")


@routes.post("/v2/images/{image_id}/actions/reactivate")
async def reactivate(request: Request) -> Response:
    return await _activation(request, "reactivate")


async def _activation(request: Request, action: str) -> Response:
    ctx, viewer = await caller(request)
    image_id = request.path_params["image_id"]
    image, member = await load_for_policy(request, image_id, viewer)
    enforce(request, ctx, action, image_target(image, member))
    await image_service(request).db.write(svc.change_activation, image_id, viewer, action)
    return no_content()
