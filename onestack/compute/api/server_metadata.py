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

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from onestack.compute import states
from onestack.compute.api.common import caller, compute_of, invalid, is_admin
from onestack.compute.api.servers import load
from onestack.compute.models import Instance
from onestack.compute.service import instances, quotas
from onestack.core.api.faults import BadRequest, Forbidden, NotFound
from onestack.core.api.http import RouteTable, json_body, json_response, no_content
from onestack.core.auth import AuthContext
from onestack.core.ids import utcnow

routes = RouteTable()

KEY_PATTERN = "^[a-zA-Z0-9-_:. ]{1,255}$"
_KEY = re.compile(KEY_PATTERN)
MAX_VALUE = 255
# The vm_states in which Nova lets metadata change (and only with no task running).
EDITABLE = (states.ACTIVE, states.PAUSED, states.SUSPENDED, states.STOPPED)
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


async def _body(request: Request, wrapper: str) -> dict[str, Any]:
    """The whole body must be ``{wrapper: {...}}`` and nothing else."""
    body = await json_body(request)
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


async def _edit(request: Request, ctx: AuthContext, uuid: str, action: str,
                change: Callable[[dict[str, str]], dict[str, str]], check_quota: bool = True) -> dict[str, str]:
    """Apply ``change`` to the server's metadata under Nova's lock, state and quota rules."""
    admin = is_admin(request, ctx)

    def write(s: Session) -> dict[str, str]:
        # Row lock: two concurrent edits must not lose each other's keys (no-op on SQLite,
        # where writers are serialised anyway).
        inst = s.scalar(select(Instance).where(Instance.uuid == uuid, Instance.deleted.is_(False))
                        .with_for_update())
        if inst is None:
            raise NotFound(f"Instance {uuid} could not be found.")
        instances.check_not_locked(inst, admin)
        instances.check_state(inst, action, EDITABLE, (None,))
        new = change(dict(inst.metadata_ or {}))
        if check_quota and new:
            limit = quotas.limits_for(s, inst.project_id, inst.user_id)["metadata_items"]
            if 0 <= limit < len(new):
                raise Forbidden(f"Maximum number of metadata items exceeds {limit}")
        inst.metadata_ = new
        inst.updated_at = utcnow()
        return new

    return await compute_of(request).db.write(write)


async def _current(request: Request, ctx: AuthContext, rule: str) -> tuple[str, dict[str, str]]:
    row = await load(request, ctx, request.path_params["server_id"], _RULE + rule)
    return row["uuid"], dict(row["metadata"])


@routes.get("/v2.1/servers/{server_id}/metadata")
async def list_metadata(request: Request) -> Response:
    ctx = await caller(request)
    _, meta = await _current(request, ctx, "index")
    return json_response({"metadata": meta})


@routes.post("/v2.1/servers/{server_id}/metadata")
async def create_metadata(request: Request) -> Response:
    """Add or change the given keys, keep the others (200, as Nova, not 201)."""
    ctx = await caller(request)
    items = parse_items(await _body(request, "metadata"), "metadata")
    uuid, _ = await _current(request, ctx, "create")
    meta = await _edit(request, ctx, uuid, "update metadata", lambda old: {**old, **items})
    return json_response({"metadata": meta})


@routes.put("/v2.1/servers/{server_id}/metadata")
async def replace_metadata(request: Request) -> Response:
    ctx = await caller(request)
    items = parse_items(await _body(request, "metadata"), "metadata")
    uuid, _ = await _current(request, ctx, "update_all")
    meta = await _edit(request, ctx, uuid, "update metadata", lambda old: dict(items))
    return json_response({"metadata": meta})


@routes.get("/v2.1/servers/{server_id}/metadata/{key}")
async def show_metadata_item(request: Request) -> Response:
    ctx = await caller(request)
    _, meta = await _current(request, ctx, "show")
    key = request.path_params["key"]
    if key not in meta:
        raise NotFound("Metadata item was not found")
    return json_response({"meta": {key: meta[key]}})


@routes.put("/v2.1/servers/{server_id}/metadata/{key}")
async def update_metadata_item(request: Request) -> Response:
    ctx = await caller(request)
    body = await _body(request, "meta")
    item = parse_single_item(body)
    uuid, _ = await _current(request, ctx, "update")
    if request.path_params["key"] not in item:
        raise BadRequest("Request body and URI mismatch")
    await _edit(request, ctx, uuid, "update metadata", lambda old: {**old, **item})
    return json_response({"meta": item})


@routes.delete("/v2.1/servers/{server_id}/metadata/{key}")
async def delete_metadata_item(request: Request) -> Response:
    ctx = await caller(request)
    uuid, meta = await _current(request, ctx, "delete")
    key = request.path_params["key"]
    if key not in meta:
        raise NotFound("Metadata item was not found")

    def drop(old: dict[str, str]) -> dict[str, str]:
        old.pop(key, None)
        return old

    await _edit(request, ctx, uuid, "delete metadata", drop, check_quota=False)
    return no_content()
