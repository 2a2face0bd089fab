"""Grants on projects, domains and the system, for users and groups, plus OS-INHERIT grants.

Every form has the same four operations: PUT (grant, 204), GET/HEAD (check, 204 or 404),
DELETE (revoke, 204) and GET on the ``roles`` collection (list).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response, no_content
from onestack.core.api.request import Handler as CoreHandler
from onestack.identity.api.conventions import IdentityRoutes, Req
from onestack.identity.api.render import collection
from onestack.identity.api.roles import render_role
from onestack.identity.service import assignments, grants
from onestack.identity.state import Identity

routes = IdentityRoutes()
Handler = CoreHandler[Identity]


def _ref(req: Req, actor: str, target: str, inherited: bool) -> grants.GrantRef:
    target_id = assignments.SYSTEM_TARGET if target == "system" else req.path("target_id")
    return grants.GrantRef(actor, req.path("actor_id"), target, target_id, inherited)


def _policy(action: str, ref: grants.GrantRef) -> str:
    noun = "grants" if action == "list" else "grant"  # Keystone's rule names: list_grants, check_grant
    if ref.target == "system":
        return f"identity:{action}_system_{noun}_for_{ref.actor}"
    return f"identity:{action}_{noun}"


def _target(ref: grants.GrantRef, role_id: str | None = None) -> dict[str, Any]:
    target: dict[str, Any] = {ref.actor: {"id": ref.actor_id}}
    if ref.target != "system":
        target[ref.target] = {"id": ref.target_id}
    if role_id is not None:
        target["role"] = {"id": role_id}
    return {"target": target}


def _make_item_handlers(actor: str, target: str, inherited: bool) -> tuple[Handler, Handler, Handler]:
    async def put(req: Req) -> Response:
        ref, role_id = _ref(req, actor, target, inherited), req.path("role_id")
        await req.enforce(_policy("create", ref), _target(ref, role_id))
        await req.write(grants.create_grant, ref, role_id)
        return no_content()

    async def check(req: Req) -> Response:
        ref, role_id = _ref(req, actor, target, inherited), req.path("role_id")
        await req.enforce(_policy("check", ref), _target(ref, role_id))
        await req.read(grants.check_grant, ref, role_id)
        return no_content()

    async def delete(req: Req) -> Response:
        ref, role_id = _ref(req, actor, target, inherited), req.path("role_id")
        await req.enforce(_policy("revoke", ref), _target(ref, role_id))
        await req.write(grants.delete_grant, ref, role_id, req.state.config.identity.token_expiration)
        return no_content()

    return put, check, delete


def _make_list_handler(actor: str, target: str, inherited: bool) -> Handler:
    async def list_grants(req: Req) -> Response:
        ref = _ref(req, actor, target, inherited)
        await req.enforce(_policy("list", ref), _target(ref))
        rows = await req.read(grants.list_grants, ref)
        return json_response(collection(req, "roles", [render_role(req, r) for r in rows]))

    return list_grants


def _register(prefix: str, actor: str, target: str, inherited: bool, *, suffix: str = "", listable: bool = True) -> None:
    """``prefix`` ends with ``/roles``; ``suffix`` follows the role id (OS-INHERIT's ``/inherited_to_projects``)."""
    put, check, delete = _make_item_handlers(actor, target, inherited)
    if listable:
        routes.get(f"{prefix}{suffix}")(_make_list_handler(actor, target, inherited))
    item = f"{prefix}/{{role_id}}{suffix}"
    routes.put(item)(put)
    routes.get(item)(check)
    routes.delete(item)(delete)


for _actor in ("user", "group"):
    _register(f"/v3/projects/{{target_id}}/{_actor}s/{{actor_id}}/roles", _actor, "project", False)
    _register(f"/v3/domains/{{target_id}}/{_actor}s/{{actor_id}}/roles", _actor, "domain", False)
    _register(f"/v3/system/{_actor}s/{{actor_id}}/roles", _actor, "system", False)
    # OS-INHERIT: the collection form exists for domains only, as in Keystone.
    _register(f"/v3/OS-INHERIT/domains/{{target_id}}/{_actor}s/{{actor_id}}/roles", _actor, "domain", True,
              suffix="/inherited_to_projects")
    _register(f"/v3/OS-INHERIT/projects/{{target_id}}/{_actor}s/{{actor_id}}/roles", _actor, "project", True,
              suffix="/inherited_to_projects", listable=False)
