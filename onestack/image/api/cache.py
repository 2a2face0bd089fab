"""Image API: the image cache of this host (``/v2/cache``, Glance API 2.14+).

Glance's order of checks: the image must be visible (404), then the policy (403), then the
site must have a cache (404 "Caching via API is not supported at this site."), then the state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.responses import Response

from onestack.core.api.faults import NotFound
from onestack.core.api.http import json_response, no_content
from onestack.image.api.common import ImageRoutes, Req, viewer
from onestack.image.service import cache as svc
from onestack.image.service import images as images_svc
from onestack.image.state import ImageService

routes = ImageRoutes()
T = TypeVar("T")


async def _as(req: Req, rule: str, action: Callable[[ImageService], Awaitable[T]]) -> T:
    """A cache-wide action: the policy, then the action (404 when this site has no cache)."""
    await req.enforce(rule)
    return await action(req.state)


@routes.get("/v2/cache")
async def cache_state(req: Req) -> Response:
    return json_response(await _as(req, "cache_list", svc.state))


@routes.delete("/v2/cache")
async def clear_cache(req: Req) -> Response:
    header = req.headers.get("x-image-cache-clear-target")
    await _as(req, "cache_delete", lambda image: svc.clear(image, header))
    return no_content()


@routes.post("/v2/cache/clean")
async def clean_cache(req: Req) -> Response:
    """Remove stalled incomplete files and orphans now (what the periodic pass does)."""
    await _as(req, "cache_clean", svc.clean)
    return Response(b"", status_code=200)


@routes.post("/v2/cache/prune")
async def prune_cache(req: Req) -> Response:
    return json_response(await _as(req, "cache_prune", svc.prune))


@routes.put("/v2/cache/{image_id}")
async def queue_image(req: Req) -> Response:
    _, who = await viewer(req)
    image_id = req.path("image_id")
    target = await req.read(images_svc.visible_target, image_id, who)
    await req.enforce("cache_image", target)
    await svc.queue(req.state, image_id, str(target.get("status")))
    return Response(b"", status_code=202)


@routes.delete("/v2/cache/{image_id}")
async def delete_cache_entry(req: Req) -> Response:
    _, who = await viewer(req)
    image_id = req.path("image_id")
    try:
        target = await req.read(images_svc.visible_target, image_id, who)
    except NotFound:
        # A deleted image may still be cached or queued here: Glance lets the entry go.
        if not await svc.is_known(req.state, image_id):
            raise NotFound(f"Image {image_id} not found.") from None
        target = None
    await req.enforce("cache_delete", target)
    await svc.delete_entry(req.state, image_id)
    return no_content()
