"""Server metadata: ``/servers/{id}/metadata`` and ``/servers/{id}/metadata/{key}``.

User key/value pairs on a server, as Nova keeps them: keys of 1..255 characters from
``[a-zA-Z0-9-_:. ]``, values up to 255 characters, at most ``metadata_items`` (quota) pairs.
Changes are refused (409) while the server is locked (for non-admins), busy with a task, or
in a vm_state other than active, paused, suspended or stopped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req, invalid
from onestack.compute.api.operator import no_query_from_2_102
from onestack.compute.api.servers import load
from onestack.compute.service import server_metadata as metadata_svc
from onestack.core.api.faults import BadRequest, NotFound
from onestack.core.api.http import json_response, no_content
from onestack.core.auth import AuthContext

routes = ComputeRoutes()

KEY_PATTERN = "^[a-zA-Z0-9-_:. ]{1,255}$"
_KEY = re.compile(KEY_PATTERN)
MAX_VALUE = 255
_RULE = "os_compute_api:server-metadata:"


def parse_single_item(body: Any) -> dict[str, str]:
    """The body of PUT .../metadata/{key}: exactly one item (servers and the /images proxy alike)."""
    if len(body) != 1:
        why = "does not have enough properties" if not body else "has too many properties"
        raise invalid("meta", body, f"{body} {why}")
    return parse_items(body, "meta")


def parse_items(value: Any, field: str) -> dict[str, str]:
    """Nova's ``metadata`` schema: an object of string keys matching KEY_PATTERN to short strings."""
    if not isinstance(value, dict):
        raise invalid(field, value, f"{value!r} is not of type 'object'")
    bad = [k for k in value if not _KEY.match(k)]
    if bad:
        listed = ", ".join(repr(k) for k in bad)
        raise invalid(field, value, f"{listed} {'does' if len(bad) == 1 else 'do'} not match any of the "
                                     f"regexes: '{KEY_PATTERN}'")
    for key, item in value.items():
        if not isinstance(item, str):
            raise invalid(key, item, f"{item!r} is not of type 'string'")
        if len(item) > MAX_VALUE:
            raise invalid(key, item, f"{item!r} is too long")
    return dict(value)


async def _body(req: Req, wrapper: str) -> dict[str, Any]:
    """The whole body must be ``{wrapper: {...}}`` and nothing else."""
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


async def _edit(req: Req, ctx: AuthContext, uuid: str, action: str,
                change: Callable[[dict[str, str]], dict[str, str]], check_quota: bool = True) -> dict[str, str]:
    """Apply ``change`` to the server's metadata under Nova's lock, state and quota rules."""
    return await req.write(metadata_svc.edit, uuid, action, change, check_quota, await req.is_admin())


async def _current(req: Req, ctx: AuthContext, rule: str) -> tuple[str, dict[str, str]]:
    row = await load(req, ctx, req.path("server_id"), _RULE + rule)
    return row["uuid"], dict(row["metadata"])


@routes.get("/v2.1/servers/{server_id}/metadata")
async def list_metadata(req: Req) -> Response:
    await no_query_from_2_102(req)
    ctx = await req.caller()
    _, meta = await _current(req, ctx, "index")
    return json_response({"metadata": meta})


@routes.post("/v2.1/servers/{server_id}/metadata")
async def create_metadata(req: Req) -> Response:
    """Add or change the given keys, keep the others (200, as Nova, not 201)."""
    ctx = await req.caller()
    items = parse_items(await _body(req, "metadata"), "metadata")
    uuid, _ = await _current(req, ctx, "create")
    meta = await _edit(req, ctx, uuid, "update metadata", lambda old: {**old, **items})
    return json_response({"metadata": meta})


@routes.put("/v2.1/servers/{server_id}/metadata")
async def replace_metadata(req: Req) -> Response:
    ctx = await req.caller()
    items = parse_items(await _body(req, "metadata"), "metadata")
    uuid, _ = await _current(req, ctx, "update_all")
    meta = await _edit(req, ctx, uuid, "update metadata", lambda old: dict(items))
    return json_response({"metadata": meta})


@routes.get("/v2.1/servers/{server_id}/metadata/{key}")
async def show_metadata_item(req: Req) -> Response:
    await no_query_from_2_102(req)
    ctx = await req.caller()
    _, meta = await _current(req, ctx, "show")
    key = req.path("key")
    if key not in meta:
        raise NotFound("Metadata item was not found")
    return json_response({"meta": {key: meta[key]}})


@routes.put("/v2.1/servers/{server_id}/metadata/{key}")
async def update_metadata_item(req: Req) -> Response:
    ctx = await req.caller()
    body = await _body(req, "meta")
    item = parse_single_item(body)
    uuid, _ = await _current(req, ctx, "update")
    if req.path("key") not in item:
        raise BadRequest("Request body and URI mismatch")
    await _edit(req, ctx, uuid, "update metadata", lambda old: {**old, **item})
    return json_response({"meta": item})


@routes.delete("/v2.1/servers/{server_id}/metadata/{key}")
async def delete_metadata_item(req: Req) -> Response:
    ctx = await req.caller()
    uuid, meta = await _current(req, ctx, "delete")
    key = req.path("key")
    if key not in meta:
        raise NotFound("Metadata item was not found")

    def drop(old: dict[str, str]) -> dict[str, str]:
        old.pop(key, None)
        return old

    await _edit(req, ctx, uuid, "delete metadata", drop, check_quota=False)
    return no_content()
