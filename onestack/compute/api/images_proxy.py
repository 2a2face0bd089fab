"""Nova's image proxy: ``/v2.1/images`` (to 2.35) and ``/v2.1/images/{id}/metadata`` (to 2.38).

Every call goes to the image service as the calling user (their token), so the image
service's own visibility and policy decide, as Glance decides behind Nova. Images are shown
in Nova's v2 image view: Glance's status mapped to ACTIVE / SAVING / DELETED / ERROR /
UNKNOWN with a progress percentage, ``minRam``/``minDisk``, custom properties as
``metadata``, ``OS-EXT-IMG-SIZE:size``, the ``server`` of a snapshot and self / bookmark /
alternate links. List filters are Nova's (``name``, ``status``, ``changes-since``,
``server``, ``type``, ``minRam``, ``minDisk``, ``property-*``) turned into Glance v2 ones.
Metadata writes become JSON patches of the custom properties, within the ``metadata_items``
quota. From microversion 2.36 (metadata: 2.39) these paths answer 404, as Nova's do.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.responses import Response

from onestack.client.image import ImageClient
from onestack.compute.api.common import (
    MAX_LIMIT,
    ComputeRoutes,
    Req,
    invalid,
    resource_links,
)
from onestack.compute.api.server_metadata import parse_items, parse_single_item
from onestack.compute.service import quotas
from onestack.core.api.faults import ApiError, BadRequest, Forbidden, NotFound
from onestack.core.api.http import json_response, no_content
from onestack.core.api.microversion import Version
from onestack.core.api.pagination import Page
from onestack.core.api.parse import OSLO_BOOLEANS
from onestack.core.auth import AuthContext

routes = ComputeRoutes()

MAX_IMAGES = Version(2, 35)  # Nova's MAX_PROXY_API_SUPPORT_VERSION
MAX_METADATA = Version(2, 38)
# Glance's own image attributes; every other key of an image document is a custom property.
BASE_ATTRIBUTES = frozenset({
    "id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo",
    "os_hash_value", "owner", "size", "virtual_size", "min_ram", "min_disk", "container_format",
    "disk_format", "created_at", "updated_at", "tags", "direct_url", "locations", "self", "file",
    "schema", "stores",
})
# Properties holding JSON documents, shown decoded (Nova's block_device_mapping and mappings).
JSON_PROPERTIES = ("block_device_mapping", "mappings")
STATUS = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING", "deleted": "DELETED",
          "pending_delete": "DELETED", "killed": "ERROR"}
PROGRESS = {"queued": 25, "saving": 50, "active": 100}
# Nova's list filters and the Glance v2 names they become.
FILTERS = {"name": "name", "status": "status", "server": "instance_uuid", "type": "image_type",
           "minRam": "min_ram", "minDisk": "min_disk"}
_DIGITS = re.compile(r"^[0-9]+$")


# --- talking to the image service -----------------------------------------------------------

def _images(req: Req) -> ImageClient:
    images = req.state.images
    if images is None:
        raise ApiError("The image service is not reachable from compute.", status=503)
    return images


def _glance_message(text: str) -> str:
    """The message of an image service error body (``{"message": ...}``, possibly wrapped once)."""
    try:
        doc = json.loads(text)
    except ValueError:
        doc = None
    for candidate in (doc, *(doc.values() if isinstance(doc, dict) else ())):
        if isinstance(candidate, dict) and isinstance(candidate.get("message"), str):
            return str(candidate["message"])
    # Glance's plain-text errors read "400 Bad Request\n\n<explanation>": keep the explanation.
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return (paragraphs[-1] if paragraphs else text.strip())[:200]


async def _get(req: Req, ctx: AuthContext, image_id: str) -> dict[str, Any]:
    image = await _images(req).get(image_id, ctx.token)
    if image is None:
        raise NotFound("Image not found.")
    return image


def properties_of(image: dict[str, Any]) -> dict[str, Any]:
    """The custom properties of a Glance v2 image document (Nova's ``properties``)."""
    props = {k: v for k, v in image.items() if k not in BASE_ATTRIBUTES}
    for key in JSON_PROPERTIES:
        if isinstance(props.get(key), str):
            try:
                props[key] = json.loads(props[key])
            except ValueError:
                pass
    return props


async def _write(req: Req, ctx: AuthContext, image: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Make the image's custom properties ``new``; the updated image document."""
    old = properties_of(image)
    limit = await req.read(quotas.metadata_limit, ctx.project_id or "", ctx.user_id)
    if new and 0 <= limit < len(new):
        raise Forbidden("Image metadata limit exceeded")
    ops: list[dict[str, Any]] = []
    for key, value in new.items():
        if key not in old:
            ops.append({"op": "add", "path": f"/{_pointer(key)}", "value": value})
        elif old[key] != value:
            ops.append({"op": "replace", "path": f"/{_pointer(key)}", "value": value})
    # The image service's own os_glance_* bookkeeping is not the user's to remove.
    ops += [{"op": "remove", "path": f"/{_pointer(key)}"} for key in old
            if key not in new and not key.startswith("os_glance_")]
    if not ops:
        return image
    status, updated = await _images(req).patch_as_user(image["id"], ops, ctx.token)
    if status == 200 and updated is not None:
        return updated
    if status == 404:
        raise NotFound("Image not found.")
    if status in (401, 403):
        raise Forbidden(f"Not authorized for image {image['id']}.")
    if status == 413:
        raise Forbidden(f"Quota exceeded for image {image['id']}.")
    raise BadRequest(f"Request of image {image['id']} got BadRequest response: the image service answered {status}")


def _pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


# --- the view -------------------------------------------------------------------------------

def _isotime(value: Any) -> str | None:
    """Glance's timestamps, to the second, as Nova formats them (``...Z``)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("+00:00", "Z")
    if "." in text:
        text = text.split(".", 1)[0] + "Z"
    return text if text.endswith("Z") else text + "Z"


def _links(req: Req, image_id: str) -> list[dict[str, str]]:
    glance = str(req.request.base_url).rstrip("/") + "/image"
    return [*resource_links(req, "images", image_id),
            {"rel": "alternate", "type": "application/vnd.openstack.image", "href": f"{glance}/images/{image_id}"}]


def basic_view(req: Req, image: dict[str, Any]) -> dict[str, Any]:
    return {"id": image["id"], "name": image.get("name"), "links": _links(req, image["id"])}


def detail_view(req: Req, image: dict[str, Any]) -> dict[str, Any]:
    props = properties_of(image)
    status = image.get("status")
    view: dict[str, Any] = {
        "id": image["id"],
        "name": image.get("name"),
        "minRam": int(image.get("min_ram") or 0),
        "minDisk": int(image.get("min_disk") or 0),
        "metadata": props,
        "created": _isotime(image.get("created_at")),
        "updated": _isotime(image.get("updated_at")),
        "status": STATUS.get(str(status), "UNKNOWN"),
        "progress": PROGRESS.get(str(status), 0),
        "OS-EXT-IMG-SIZE:size": image.get("size") or 0,
        "links": _links(req, image["id"]),
    }
    server = props.get("instance_uuid")
    if server is not None:
        view["server"] = {"id": server, "links": resource_links(req, "servers", str(server))}
    auto = props.get("auto_disk_config")
    if auto is not None:
        view["OS-DCF:diskConfig"] = "AUTO" if str(auto).strip().lower() in OSLO_BOOLEANS.true else "MANUAL"
    return view


# --- listing --------------------------------------------------------------------------------

def _int_query(req: Req, name: str) -> int | None:
    values = req.params.getlist(name)
    if not values:
        return None
    value = values[-1]
    if not _DIGITS.match(value):
        raise req.bad_value(name, value, f"'{value}' does not match '^[0-9]*$'")
    return int(value)


def glance_filters(req: Req) -> dict[str, str]:
    """Nova's list filters as Glance v2 query parameters; other parameters are ignored."""
    out: dict[str, str] = {}
    for key, value in req.params.items():
        if key in FILTERS:
            out[FILTERS[key]] = value
        elif key == "changes-since":
            out["updated_at"] = f"gte:{value}"
        elif key.startswith("property-") and len(key) > len("property-"):
            out[key[len("property-"):]] = value
    if "instance_uuid" in out:
        out["instance_uuid"] = out["instance_uuid"].rsplit("/", 1)[-1]  # a server's link works too
    if "status" in out:
        out["status"] = out["status"].lower()
    return out


async def _list(req: Req, detail: bool) -> Response:
    ctx = await req.caller()
    req.require_version(maximum=MAX_IMAGES)
    limit = _int_query(req, "limit")
    for name in ("page_size", "offset"):
        _int_query(req, name)  # validated as Nova does; Glance pages on its own
    params = glance_filters(req)
    marker = req.params.get("marker")
    if marker:
        params["marker"] = marker
    if not limit:
        params["limit"] = str(MAX_LIMIT)  # every image, in as few pages as the image service allows
    status, found, text = await _images(req).list_as_user(params, ctx.token, limit or None)
    if status == 400:
        raise BadRequest(_glance_message(text))
    if status in (401, 403):
        raise Forbidden(_glance_message(text))
    if status == 404:
        raise BadRequest(_glance_message(text))  # an unknown marker
    if status != 200:
        raise ApiError(f"The image service answered {status}.")
    view = detail_view if detail else basic_view
    body: dict[str, Any] = {"images": [view(req, image) for image in found]}
    full = Page(limit=min(limit if limit is not None else MAX_LIMIT, MAX_LIMIT), marker=None)
    links = req.next_links(found, full, sort_params=True)
    if links:
        body["images_links"] = links
    return json_response(body)


@routes.get("/v2.1/images")
async def list_images(req: Req) -> Response:
    return await _list(req, detail=False)


@routes.get("/v2.1/images/detail")
async def list_images_detail(req: Req) -> Response:
    return await _list(req, detail=True)


# --- one image ------------------------------------------------------------------------------

@routes.get("/v2.1/images/{image_id}")
async def show_image(req: Req) -> Response:
    ctx = await req.caller()
    req.require_version(maximum=MAX_IMAGES)
    image = await _get(req, ctx, req.path("image_id"))
    return json_response({"image": detail_view(req, image)})


@routes.delete("/v2.1/images/")
async def delete_blank_image(req: Req) -> Response:
    # A blank id names no image (Nova: 404); without this route the slash redirect would lead
    # the client to the collection, which has no DELETE (405).
    await req.caller()
    raise NotFound("Image not found.")


@routes.delete("/v2.1/images/{image_id}")
async def delete_image(req: Req) -> Response:
    ctx = await req.caller()
    req.require_version(maximum=MAX_IMAGES)
    image_id = req.path("image_id")
    status = await _images(req).delete_as_user(image_id, ctx.token)
    if status in (200, 204):
        return no_content()
    if status in (400, 404):
        raise NotFound("Image not found.")
    if status in (401, 403):
        raise Forbidden("You are not allowed to delete the image.")
    if status == 409:
        raise ApiError(f"Image {image_id} cannot be deleted now: it is in use or busy.", status=409)
    raise ApiError(f"The image service answered {status}.")


# --- metadata -------------------------------------------------------------------------------

async def _wrapped(req: Req, wrapper: str) -> dict[str, Any]:
    """Nova's metadata bodies: exactly ``{wrapper: {...}}``."""
    body = await req.json()
    if not isinstance(body, dict) or wrapper not in body:
        raise BadRequest(f"'{wrapper}' is a required property")
    extra = sorted(set(body) - {wrapper})
    if extra:
        listed = ", ".join(repr(k) for k in extra)
        raise BadRequest(f"Additional properties are not allowed ({listed} "
                         f"{'was' if len(extra) == 1 else 'were'} unexpected)")
    if not isinstance(body[wrapper], dict):
        raise invalid(wrapper, body[wrapper], f"{body[wrapper]!r} is not of type 'object'")
    return body[wrapper]  # type: ignore[no-any-return]


async def _metadata_caller(req: Req) -> AuthContext:
    ctx = await req.caller()
    req.require_version(maximum=MAX_METADATA)
    return ctx


@routes.get("/v2.1/images/{image_id}/metadata")
async def list_metadata(req: Req) -> Response:
    ctx = await _metadata_caller(req)
    image = await _get(req, ctx, req.path("image_id"))
    return json_response({"metadata": properties_of(image)})


@routes.post("/v2.1/images/{image_id}/metadata")
async def create_metadata(req: Req) -> Response:
    """Add or change the given keys, keep the others; answers with every property."""
    ctx = await _metadata_caller(req)
    items = parse_items(await _wrapped(req, "metadata"), "metadata")
    image = await _get(req, ctx, req.path("image_id"))
    updated = await _write(req, ctx, image, {**properties_of(image), **items})
    return json_response({"metadata": properties_of(updated)})


@routes.put("/v2.1/images/{image_id}/metadata")
async def replace_metadata(req: Req) -> Response:
    ctx = await _metadata_caller(req)
    items = parse_items(await _wrapped(req, "metadata"), "metadata")
    image = await _get(req, ctx, req.path("image_id"))
    await _write(req, ctx, image, dict(items))
    return json_response({"metadata": items})


@routes.get("/v2.1/images/{image_id}/metadata/{key}")
async def show_metadata_item(req: Req) -> Response:
    ctx = await _metadata_caller(req)
    props = properties_of(await _get(req, ctx, req.path("image_id")))
    key = req.path("key")
    if key not in props:
        raise NotFound("The resource could not be found.")
    return json_response({"meta": {key: props[key]}})


@routes.put("/v2.1/images/{image_id}/metadata/{key}")
async def update_metadata_item(req: Req) -> Response:
    ctx = await _metadata_caller(req)
    body = await _wrapped(req, "meta")
    item = parse_single_item(body)
    if req.path("key") not in item:
        raise BadRequest("Request body and URI mismatch")
    image = await _get(req, ctx, req.path("image_id"))
    await _write(req, ctx, image, {**properties_of(image), **item})
    return json_response({"meta": item})


@routes.delete("/v2.1/images/{image_id}/metadata/{key}")
async def delete_metadata_item(req: Req) -> Response:
    ctx = await _metadata_caller(req)
    image = await _get(req, ctx, req.path("image_id"))
    props = properties_of(image)
    key = req.path("key")
    if key not in props:
        raise NotFound("Invalid metadata key")
    props.pop(key)
    await _write(req, ctx, image, props)
    return no_content()
