"""Grants on projects, domains and the system, for users and groups, plus OS-INHERIT grants.

Every form has the same four operations: PUT (grant, 204), GET/HEAD (check, 204 or 404),
DELETE (revoke, 204) and GET on the ``roles`` collection (list).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from onestack.core.api.http import Handler, RouteTable, json_response, no_content
from onestack.identity.api.policy import enforce, identity_of
from onestack.identity.api.render import collection
from onestack.identity.api.roles import render_role
from onestack.identity.service import assignments, grants

routes = RouteTable()


def _ref(request: Request, actor: str, target: str, inherited: bool) -> grants.GrantRef:
    params = request.path_params
    target_id = assignments.SYSTEM_TARGET if target == "system" else params["target_id"]
    return grants.GrantRef(actor, params["actor_id"], target, target_id, inherited)


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
    async def put(request: Request) -> Response:
        ref, role_id = _ref(request, actor, target, inherited), request.path_params["role_id"]
        await enforce(request, _policy("create", ref), _target(ref, role_id))
        ident = identity_of(request)
        await ident.db.write(grants.create_grant, ref, role_id)
        return no_content()

    async def check(request: Request) -> Response:
        ref, role_id = _ref(request, actor, target, inherited), request.path_params["role_id"]
        await enforce(request, _policy("check", ref), _target(ref, role_id))
        await identity_of(request).db.read(grants.check_grant, ref, role_id)
        return no_content()

    async def delete(request: Request) -> Response:
        ref, role_id = _ref(request, actor, target, inherited), request.path_params["role_id"]
        await enforce(request, _policy("revoke", ref), _target(ref, role_id))
        ident = identity_of(request)
        await ident.db.write(grants.delete_grant, ref, role_id, ident.config.identity.token_expiration)
        return no_content()

    return put, check, delete


def _make_list_handler(actor: str, target: str, inherited: bool) -> Handler:
    async def list_grants(request: Request) -> Response:
        ref = _ref(request, actor, target, inherited)
        await enforce(request, _policy("list", ref), _target(ref))
        rows = await identity_of(request).db.read(grants.list_grants, ref)
        return json_response(collection(request, "roles", [render_role(request, r) for r in rows]))

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
