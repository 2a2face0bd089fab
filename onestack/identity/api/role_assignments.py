"""``GET /v3/role_assignments``: list grants, or effective assignments, with Keystone's filters."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.identity.api.conventions import IdentityRoutes, Req
from onestack.identity.api.render import collection
from onestack.identity.service import projects
from onestack.identity.service import role_assignments as svc
from onestack.identity.service.grants import KIND_OF_TYPE

routes = IdentityRoutes()


def _filters(req: Req) -> svc.Filters:
    q = req.params
    inherited: bool | None = None
    if "scope.OS-INHERIT:inherited_to" in q:
        inherited = q["scope.OS-INHERIT:inherited_to"] == "projects"
    return svc.Filters(
        user_id=q.get("user.id") or None,
        group_id=q.get("group.id") or None,
        role_id=q.get("role.id") or None,
        project_id=q.get("scope.project.id") or None,
        domain_id=q.get("scope.domain.id") or None,
        system=bool(q.get("scope.system")),
        inherited=inherited,
        effective=bool(req.flag("effective", False)),
        include_subtree=bool(req.flag("include_subtree", False)),
    )


def assignment_path(source: svc.Source) -> str:
    """The URL path (under /v3/) of the grant an entry comes from."""
    kind, actor_id, target_id, role_id, inherited = source
    actor, target = KIND_OF_TYPE[kind]
    if target == "system":
        return f"system/{actor}s/{actor_id}/roles/{role_id}"
    path = f"{target}s/{target_id}/{actor}s/{actor_id}/roles/{role_id}"
    return f"OS-INHERIT/{path}/inherited_to_projects" if inherited else path


def _named(ref: dict[str, Any], known: tuple[str, str] | None, names: svc.Names) -> dict[str, Any]:
    if known is not None:
        ref["name"] = known[0]
        ref["domain"] = names.domain_ref(known[1])
    return ref


def render_entry(root: str, e: svc.Entry, names: svc.Names | None) -> dict[str, Any]:
    role: dict[str, Any] = {"id": e.role_id}
    actor: dict[str, Any] = {"id": e.actor_id}
    if e.target == "system":
        scope: dict[str, Any] = {"system": {"all": True}}
    else:
        scope = {e.target: {"id": e.target_id}}
    if names is not None:
        known_role = names.roles.get(e.role_id)
        if known_role is not None:
            role["name"] = known_role[0]
            if known_role[1] is not None:  # a domain-specific role
                role["domain"] = names.domain_ref(known_role[1])
        _named(actor, (names.users if e.actor == "user" else names.groups).get(e.actor_id), names)
        if e.target == "project":
            _named(scope["project"], names.projects.get(e.target_id), names)
        elif e.target == "domain" and e.target_id in names.projects:
            scope["domain"]["name"] = names.projects[e.target_id][0]
    if e.inherited:
        scope["OS-INHERIT:inherited_to"] = "projects"
    links = {"assignment": f"{root}/v3/{assignment_path(e.source)}"}
    if e.via_group:
        links["membership"] = f"{root}/v3/groups/{e.via_group}/users/{e.actor_id}"
    if e.prior_role_id:
        links["prior_role"] = f"{root}/v3/roles/{e.prior_role_id}"
    return {"role": role, e.actor: actor, "scope": scope, "links": links}


async def _authorize(req: Req, f: svc.Filters) -> None:
    """Domain readers may list what lies in their domain; the target names the domain concerned."""
    domain_id = f.domain_id
    if f.project_id:
        domain_id = await req.read(projects.domain_of, f.project_id)
    if f.include_subtree:
        target = {"target": {"project": {"id": f.project_id, "domain_id": domain_id}}}
        await req.enforce("identity:list_role_assignments_for_tree", target)
    else:
        await req.enforce("identity:list_role_assignments", {"target": {"domain_id": domain_id}})


@routes.get("/v3/role_assignments")
async def list_role_assignments(req: Req) -> Response:
    f = _filters(req)
    await _authorize(req, f)
    entries, names = await req.read(svc.list_with_names, f, bool(req.flag("include_names", False)))
    root = req.service_url
    items = [render_entry(root, e, names) for e in entries]
    return json_response(collection(req, "role_assignments", items))
