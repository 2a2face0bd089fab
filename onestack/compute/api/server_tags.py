"""Server tags (microversion 2.26+): ``/servers/{id}/tags`` and ``/servers/{id}/tags/{tag}``.

A tag is 1..60 characters without ``/`` or ``,``; a server has at most 50. Tags change only
while the server is active, paused, suspended or stopped (Nova's 409 otherwise); unlike
metadata, a lock does not stop them.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req
from onestack.compute.api.servers import load
from onestack.compute.service import server_tags as tags_svc
from onestack.compute.service.server_tags import MAX_TAGS
from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.http import json_response, no_content
from onestack.core.api.microversion import Version
from onestack.core.auth import AuthContext

routes = ComputeRoutes()

MAX_TAG_LENGTH = 60
_RULE = "os_compute_api:os-server-tags:"
_V226 = Version(2, 26)


def tag_problem(tag: Any) -> str | None:
    """Why ``tag`` is not a valid tag (jsonschema's wording, as Nova reports it), or None."""
    if not isinstance(tag, str):
        return f"{tag!r} is not of type 'string'"
    if not tag:
        return f"{tag!r} is too short"
    if len(tag) > MAX_TAG_LENGTH:
        return f"{tag!r} is too long"
    if "/" in tag or "," in tag:
        return f"{tag!r} does not match '^[^,/]*$'"
    return None


def _tags_body(body: Any) -> list[str]:
    if not isinstance(body, dict) or "tags" not in body:
        raise BadRequest("'tags' is a required property")
    extra = sorted(set(body) - {"tags"})
    if extra:
        listed = ", ".join(repr(k) for k in extra)
        raise BadRequest(f"Additional properties are not allowed ({listed} "
                         f"{'was' if len(extra) == 1 else 'were'} unexpected)")
    tags = body["tags"]
    if not isinstance(tags, list):
        raise BadRequest(f"Invalid input for field/attribute tags. Value: {tags}. {tags!r} is not of type 'array'")
    if len(tags) > MAX_TAGS:
        raise BadRequest(f"Invalid input for field/attribute tags. Value: {tags}. {tags!r} is too long")
    for tag in tags:
        why = tag_problem(tag)
        if why:
            raise BadRequest(f"Invalid input for field/attribute tags. Value: {tag}. {why}")
    return list(dict.fromkeys(tags))


async def _server(req: Req, ctx: AuthContext, rule: str) -> str:
    req.require_version(_V226)
    row = await load(req, ctx, req.path("server_id"), _RULE + rule)
    return str(row["uuid"])


@routes.get("/v2.1/servers/{server_id}/tags")
async def list_tags(req: Req) -> Response:
    ctx = await req.caller()
    uuid = await _server(req, ctx, "index")
    return json_response({"tags": await req.read(tags_svc.tags, uuid)})


@routes.put("/v2.1/servers/{server_id}/tags")
async def replace_tags(req: Req) -> Response:
    ctx = await req.caller()
    req.require_version(_V226)
    tags = _tags_body(await req.json())
    uuid = await _server(req, ctx, "update_all")

    return json_response({"tags": await req.write(tags_svc.replace, uuid, tags)})


@routes.delete("/v2.1/servers/{server_id}/tags")
async def delete_tags(req: Req) -> Response:
    ctx = await req.caller()
    uuid = await _server(req, ctx, "delete_all")

    await req.write(tags_svc.delete_all, uuid)
    return no_content()


@routes.get("/v2.1/servers/{server_id}/tags/{tag}")
async def check_tag(req: Req) -> Response:
    ctx = await req.caller()
    uuid = await _server(req, ctx, "show")
    tag = req.path("tag")
    if tag not in await req.read(tags_svc.tags, uuid):
        raise NotFound(f"Server {uuid} has no tag '{tag}'")
    return no_content()


@routes.put("/v2.1/servers/{server_id}/tags/{tag}")
async def add_tag(req: Req) -> Response:
    """201 with the tag's Location when added; 204 when the server already had it."""
    ctx = await req.caller()
    req.require_version(_V226)
    body = await req.json(required=False)
    if body is not None:  # Nova's schema for this request body is "null"
        raise BadRequest(f"{body!r} is not of type 'null'")
    uuid = await _server(req, ctx, "update")
    tag = req.path("tag")

    if not await req.write(tags_svc.add, uuid, tag, tag_problem(tag)):
        return no_content()
    return Response(b"", status_code=201, headers=req.location(f"/v2.1/servers/{uuid}/tags", tag))


@routes.delete("/v2.1/servers/{server_id}/tags/{tag}")
async def remove_tag(req: Req) -> Response:
    ctx = await req.caller()
    uuid = await _server(req, ctx, "delete")
    tag = req.path("tag")

    await req.write(tags_svc.remove, uuid, tag)
    return no_content()
