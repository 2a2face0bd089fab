"""/v2.0/<resources>/{id}/tags: list, replace and remove all tags of a resource; add, check and
remove one. Routes for every taggable collection (service/tags.py's table)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.network.api.common import Extension, NetworkRoutes, Req, caller_of, enforce
from onestack.network.errors import InvalidInput
from onestack.network.service import tags

routes = NetworkRoutes()

EXTENSIONS = [
    Extension("standard-attr-tag", "Tag support for resources with standard attribute: subnet, trunk, "
              "network_segment_range, router, network, policy, subnetpool, port, security_group, floatingip",
              "Enables to set tag on resources with standard attribute."),
]

MAX_TAG_LEN = 255


def _tag(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"'{value}' is not a valid string")
    if len(value) > MAX_TAG_LEN:
        raise InvalidInput(f"'{value}' exceeds maximum length of {MAX_TAG_LEN}")
    return value


def _tags_body(body: Any) -> list[str]:
    if not isinstance(body, dict) or "tags" not in body:
        raise InvalidInput("Invalid tags body")
    given = body["tags"]
    if not isinstance(given, list):
        raise InvalidInput(f"'{given}' is not a list")
    found = [_tag(t) for t in given]
    if len(set(found)) != len(found):
        raise InvalidInput(f"Duplicate items in the list: '{', '.join(found)}'")
    return found


async def _allowed(req: Req, action: str, collection: str) -> Any:
    """The caller, once it is known they see the resource (404) and may change its tags (403)."""
    caller = await caller_of(req)
    project = await req.read(tags.owner, caller, collection, req.path("resource_id"))
    await enforce(req, action, {"project_id": project})
    return caller


def _mount(collection: str) -> None:
    base = f"/v2.0/{collection}/{{resource_id}}/tags"

    async def list_tags(req: Req) -> Response:
        caller = await caller_of(req)
        return json_response({"tags": await req.read(tags.get_all, caller, collection, req.path("resource_id"))})

    async def check_tag(req: Req) -> Response:
        caller = await caller_of(req)
        await req.read(tags.has, caller, collection, req.path("resource_id"), req.path("tag"))
        return no_content()

    async def replace_tags(req: Req) -> Response:
        given = _tags_body(await req.json())
        caller = await _allowed(req, "update_tag", collection)
        found = await req.write(tags.replace, caller, collection, req.path("resource_id"), given)
        return json_response({"tags": found})

    async def add_tag(req: Req) -> Response:
        tag = _tag(req.path("tag"))
        caller = await _allowed(req, "create_tag", collection)
        await req.write(tags.add, caller, collection, req.path("resource_id"), tag)
        return Response(status_code=201)

    async def remove_tags(req: Req) -> Response:
        caller = await _allowed(req, "delete_tag", collection)
        await req.write(tags.remove_all, caller, collection, req.path("resource_id"))
        return no_content()

    async def remove_tag(req: Req) -> Response:
        caller = await _allowed(req, "delete_tag", collection)
        await req.write(tags.remove, caller, collection, req.path("resource_id"), req.path("tag"))
        return no_content()

    routes.get(base)(list_tags)
    routes.put(base)(replace_tags)
    routes.delete(base)(remove_tags)
    routes.get(base + "/{tag}")(check_tag)
    routes.put(base + "/{tag}")(add_tag)
    routes.delete(base + "/{tag}")(remove_tag)


for _collection in tags.TAGGABLE:
    _mount(_collection)
