"""Server tags (microversion 2.26+): ``/servers/{id}/tags`` and ``/servers/{id}/tags/{tag}``.

A tag is 1..60 characters without ``/`` or ``,``; a server has at most 50. Tags change only
while the server is active, paused, suspended or stopped (Nova's 409 otherwise); unlike
metadata, a lock does not stop them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.compute import states
from onestack.compute.api.common import api_base, caller, compute_of, require_version
from onestack.compute.api.servers import load
from onestack.compute.models import Instance, InstanceTag
from onestack.compute.service import instances
from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.core.api.microversion import Version
from onestack.core.auth import AuthContext

routes = RouteTable()

MAX_TAGS = 50
MAX_TAG_LENGTH = 60
EDITABLE = (states.ACTIVE, states.PAUSED, states.SUSPENDED, states.STOPPED)
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


async def _server(request: Request, ctx: AuthContext, rule: str) -> str:
    require_version(request, _V226)
    row = await load(request, ctx, request.path_params["server_id"], _RULE + rule)
    return str(row["uuid"])


def _editable(s: Session, uuid: str, action: str) -> Instance:
    """The server row, locked for this transaction, if its state lets tags change."""
    inst = s.scalar(select(Instance).where(Instance.uuid == uuid, Instance.deleted.is_(False)).with_for_update())
    if inst is None:
        raise NotFound(f"Instance {uuid} could not be found.")
    instances.check_state(inst, action, EDITABLE, task_states=None)
    return inst


def _tags(s: Session, uuid: str) -> list[str]:
    return instances.tags_of(s, [uuid])[uuid]


@routes.get("/v2.1/servers/{server_id}/tags")
async def list_tags(request: Request) -> Response:
    ctx = await caller(request)
    uuid = await _server(request, ctx, "index")
    return json_response({"tags": await compute_of(request).db.read(_tags, uuid)})


@routes.put("/v2.1/servers/{server_id}/tags")
async def replace_tags(request: Request) -> Response:
    ctx = await caller(request)
    require_version(request, _V226)
    tags = _tags_body(await json_body(request))
    uuid = await _server(request, ctx, "update_all")

    def write(s: Session) -> list[str]:
        _editable(s, uuid, "update tags")
        s.execute(delete(InstanceTag).where(InstanceTag.instance_uuid == uuid))
        s.add_all(InstanceTag(instance_uuid=uuid, tag=t) for t in tags)
        s.flush()
        return _tags(s, uuid)

    return json_response({"tags": await compute_of(request).db.write(write)})


@routes.delete("/v2.1/servers/{server_id}/tags")
async def delete_tags(request: Request) -> Response:
    ctx = await caller(request)
    uuid = await _server(request, ctx, "delete_all")

    def write(s: Session) -> None:
        _editable(s, uuid, "delete tags")
        s.execute(delete(InstanceTag).where(InstanceTag.instance_uuid == uuid))

    await compute_of(request).db.write(write)
    return no_content()


@routes.get("/v2.1/servers/{server_id}/tags/{tag}")
async def check_tag(request: Request) -> Response:
    ctx = await caller(request)
    uuid = await _server(request, ctx, "show")
    tag = request.path_params["tag"]
    if tag not in await compute_of(request).db.read(_tags, uuid):
        raise NotFound(f"Server {uuid} has no tag '{tag}'")
    return no_content()


@routes.put("/v2.1/servers/{server_id}/tags/{tag}")
async def add_tag(request: Request) -> Response:
    """201 with the tag's Location when added; 204 when the server already had it."""
    ctx = await caller(request)
    require_version(request, _V226)
    body = await json_body(request, required=False)
    if body is not None:  # Nova's schema for this request body is "null"
        raise BadRequest(f"{body!r} is not of type 'null'")
    uuid = await _server(request, ctx, "update")
    tag = request.path_params["tag"]

    def write(s: Session) -> bool:
        _editable(s, uuid, "update tag")
        why = tag_problem(tag)
        if why:
            raise BadRequest(f"Tag '{tag}' is invalid. It must be a non empty string without characters '/' "
                             f"and ','. Validation error message: {why}")
        current = _tags(s, uuid)
        # Nova counts before looking: a full server refuses even a tag it already has.
        if len(current) >= MAX_TAGS:
            raise BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
        if tag in current:
            return False
        s.add(InstanceTag(instance_uuid=uuid, tag=tag))
        return True

    if not await compute_of(request).db.write(write):
        return no_content()
    location = f"{api_base(request)}/v2.1/servers/{uuid}/tags/{quote(tag, safe='')}"
    return Response(b"", status_code=201, headers={"Location": location})


@routes.delete("/v2.1/servers/{server_id}/tags/{tag}")
async def remove_tag(request: Request) -> Response:
    ctx = await caller(request)
    uuid = await _server(request, ctx, "delete")
    tag = request.path_params["tag"]

    def write(s: Session) -> None:
        _editable(s, uuid, "delete tag")
        gone = s.execute(delete(InstanceTag).where(InstanceTag.instance_uuid == uuid, InstanceTag.tag == tag))
        if gone.rowcount == 0:  # type: ignore[attr-defined]
            raise NotFound(f"Instance {uuid} has no tag '{tag}'")

    await compute_of(request).db.write(write)
    return no_content()
