"""``/v3/role_assignments``: every filter, effective expansion, names, subtree, refusals, the CLI."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.keystone_api import Keystone


@pytest.fixture(scope="module")
def ks(cloud: RunningCloud) -> Keystone:
    return Keystone(cloud)


@pytest.fixture(scope="module")
def world(ks: Keystone) -> dict[str, Any]:
    """A domain with a parent/child project, a user in a group, and one grant of each kind."""
    domain = ks.domain()
    parent = ks.project(domain["id"])
    child = ks.project(domain["id"], parent_id=parent["id"])
    user, group = ks.user(domain["id"]), ks.group(domain["id"])
    ks.add_member(group["id"], user["id"])
    direct, via_group, on_domain, inherited, on_system = ks.role(), ks.role(), ks.role(), ks.role(), ks.role()
    ks.grant(f"/v3/projects/{parent['id']}/users/{user['id']}/roles/{direct['id']}")
    ks.grant(f"/v3/projects/{parent['id']}/groups/{group['id']}/roles/{via_group['id']}")
    ks.grant(f"/v3/domains/{domain['id']}/users/{user['id']}/roles/{on_domain['id']}")
    ks.grant(f"/v3/OS-INHERIT/domains/{domain['id']}/users/{user['id']}/roles/{inherited['id']}/inherited_to_projects")
    ks.grant(f"/v3/system/groups/{group['id']}/roles/{on_system['id']}")
    return {"domain": domain, "parent": parent, "child": child, "user": user, "group": group,
            "direct": direct, "via_group": via_group, "on_domain": on_domain, "inherited": inherited,
            "on_system": on_system}


def _keys(entries: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    """(role id, actor id, scope kind, scope id) for each entry."""
    out = set()
    for e in entries:
        actor = e.get("user") or e["group"]
        scope = e["scope"]
        kind = next(k for k in ("project", "domain", "system") if k in scope)
        out.add((e["role"]["id"], actor["id"], kind, "all" if kind == "system" else scope[kind]["id"]))
    return out


def test_direct_listing_filters(ks: Keystone, world: dict[str, Any]) -> None:
    w = world
    uid, gid, did, pid = w["user"]["id"], w["group"]["id"], w["domain"]["id"], w["parent"]["id"]
    assert _keys(ks.assignments(**{"user.id": uid})) == {
        (w["direct"]["id"], uid, "project", pid),
        (w["on_domain"]["id"], uid, "domain", did),
        (w["inherited"]["id"], uid, "domain", did),
    }
    assert _keys(ks.assignments(**{"group.id": gid})) == {
        (w["via_group"]["id"], gid, "project", pid),
        (w["on_system"]["id"], gid, "system", "all"),
    }
    assert _keys(ks.assignments(**{"scope.project.id": pid})) == {
        (w["direct"]["id"], uid, "project", pid), (w["via_group"]["id"], gid, "project", pid),
    }
    assert _keys(ks.assignments(**{"role.id": w["on_domain"]["id"]})) == {(w["on_domain"]["id"], uid, "domain", did)}
    assert _keys(ks.assignments(**{"scope.domain.id": did})) == {
        (w["on_domain"]["id"], uid, "domain", did), (w["inherited"]["id"], uid, "domain", did),
    }
    inherited = ks.assignments(**{"scope.domain.id": did, "scope.OS-INHERIT:inherited_to": "projects"})
    assert _keys(inherited) == {(w["inherited"]["id"], uid, "domain", did)}
    assert inherited[0]["scope"]["OS-INHERIT:inherited_to"] == "projects"
    assert inherited[0]["links"]["assignment"].endswith(
        f"/v3/OS-INHERIT/domains/{did}/users/{uid}/roles/{w['inherited']['id']}/inherited_to_projects")
    system = ks.assignments(**{"scope.system": "all", "group.id": gid})
    assert system == [{
        "role": {"id": w["on_system"]["id"]}, "group": {"id": gid}, "scope": {"system": {"all": True}},
        "links": {"assignment": f"{ks.cloud.identity_url}/v3/system/groups/{gid}/roles/{w['on_system']['id']}"},
    }]
    admin_system = ks.assignments(**{"scope.system": "all", "role.id": ks.role_id("admin")})
    assert len(admin_system) >= 1 and all("system" in e["scope"] for e in admin_system)
    assert ks.assignments(**{"user.id": uid, "scope.project.id": w["child"]["id"]}) == []


def test_effective_listing(ks: Keystone, world: dict[str, Any]) -> None:
    w = world
    uid, gid, did, pid, cid = w["user"]["id"], w["group"]["id"], w["domain"]["id"], w["parent"]["id"], w["child"]["id"]
    entries = ks.assignments(**{"user.id": uid, "effective": ""})
    assert _keys(entries) == {
        (w["direct"]["id"], uid, "project", pid),
        (w["via_group"]["id"], uid, "project", pid),
        (w["on_domain"]["id"], uid, "domain", did),
        (w["inherited"]["id"], uid, "project", pid),
        (w["inherited"]["id"], uid, "project", cid),
        (w["on_system"]["id"], uid, "system", "all"),
    }
    by_role = {(e["role"]["id"], e["scope"].get("project", {}).get("id")): e for e in entries}
    group_entry = by_role[(w["via_group"]["id"], pid)]
    assert group_entry["links"]["membership"].endswith(f"/v3/groups/{gid}/users/{uid}")
    assert group_entry["links"]["assignment"].endswith(f"/v3/projects/{pid}/groups/{gid}/roles/{w['via_group']['id']}")
    inherited_entry = by_role[(w["inherited"]["id"], cid)]
    assert "OS-INHERIT:inherited_to" not in inherited_entry["scope"]
    assert "/OS-INHERIT/domains/" in inherited_entry["links"]["assignment"]
    assert "membership" not in by_role[(w["direct"]["id"], pid)]["links"]
    on_child = ks.assignments(**{"user.id": uid, "scope.project.id": cid, "effective": ""})
    assert _keys(on_child) == {(w["inherited"]["id"], uid, "project", cid)}
    on_domain = ks.assignments(**{"user.id": uid, "scope.domain.id": did, "effective": ""})
    assert _keys(on_domain) == {(w["on_domain"]["id"], uid, "domain", did)}
    on_system = ks.assignments(**{"user.id": uid, "scope.system": "all", "effective": ""})
    assert _keys(on_system) == {(w["on_system"]["id"], uid, "system", "all")}


def test_effective_implied_and_domain_roles(ks: Keystone) -> None:
    project, user = ks.project(), ks.user()
    prior, implied = ks.role(), ks.role()
    domain_role = ks.role("default")
    ks.ok("PUT", f"/v3/roles/{prior['id']}/implies/{implied['id']}", 201)
    ks.grant(f"/v3/projects/{project['id']}/users/{user['id']}/roles/{prior['id']}")
    ks.grant(f"/v3/projects/{project['id']}/users/{user['id']}/roles/{domain_role['id']}")
    params = {"user.id": user["id"], "scope.project.id": project["id"]}
    assert len(ks.assignments(**params)) == 2  # stored: prior + the domain role
    entries = ks.assignments(**params, effective="")
    assert sorted(e["role"]["id"] for e in entries) == sorted([prior["id"], implied["id"]])
    implied_entry = next(e for e in entries if e["role"]["id"] == implied["id"])
    assert implied_entry["links"]["prior_role"].endswith(f"/v3/roles/{prior['id']}")
    assert implied_entry["links"]["assignment"].endswith(
        f"/v3/projects/{project['id']}/users/{user['id']}/roles/{prior['id']}")
    only_implied = ks.assignments(**params, effective="", **{"role.id": implied["id"]})
    assert [e["role"]["id"] for e in only_implied] == [implied["id"]]
    ks.ok("DELETE", f"/v3/roles/{prior['id']}/implies/{implied['id']}", 204)
    assert [e["role"]["id"] for e in ks.assignments(**params, effective="")] == [prior["id"]]


def test_include_names(ks: Keystone, world: dict[str, Any]) -> None:
    w = world
    entries = ks.assignments(**{"user.id": w["user"]["id"], "include_names": "true"})
    project_entry = next(e for e in entries if "project" in e["scope"])
    domain_ref = {"id": w["domain"]["id"], "name": w["domain"]["name"]}
    assert project_entry["role"] == {"id": w["direct"]["id"], "name": w["direct"]["name"]}
    assert project_entry["user"] == {"id": w["user"]["id"], "name": w["user"]["name"], "domain": domain_ref}
    assert project_entry["scope"]["project"] == {"id": w["parent"]["id"], "name": w["parent"]["name"], "domain": domain_ref}
    domain_entries = [e for e in entries if "domain" in e["scope"]]
    assert all(e["scope"]["domain"] == domain_ref for e in domain_entries)
    group_entries = ks.assignments(**{"group.id": w["group"]["id"], "include_names": ""})
    assert all(e["group"] == {"id": w["group"]["id"], "name": w["group"]["name"], "domain": domain_ref}
               for e in group_entries)
    domain_role = ks.role("default")
    user = ks.user()
    ks.grant(f"/v3/domains/default/users/{user['id']}/roles/{domain_role['id']}")
    [entry] = ks.assignments(**{"user.id": user["id"], "include_names": "1"})
    assert entry["role"]["domain"] == {"id": "default", "name": "Default"}


def test_include_subtree(ks: Keystone, world: dict[str, Any]) -> None:
    w = world
    uid, pid, cid = w["user"]["id"], w["parent"]["id"], w["child"]["id"]
    extra = ks.role()
    ks.grant(f"/v3/projects/{cid}/users/{uid}/roles/{extra['id']}")
    tree = ks.assignments(**{"scope.project.id": pid, "include_subtree": "true"})
    assert (extra["id"], uid, "project", cid) in _keys(tree)
    assert (w["direct"]["id"], uid, "project", pid) in _keys(tree)
    assert (extra["id"], uid, "project", cid) not in _keys(ks.assignments(**{"scope.project.id": pid}))
    effective = ks.assignments(**{"scope.project.id": pid, "include_subtree": "true", "effective": "",
                                  "user.id": uid})
    assert {(w["inherited"]["id"], uid, "project", cid), (extra["id"], uid, "project", cid)} <= _keys(effective)
    ks.ok("GET", "/v3/role_assignments", 404, params={"scope.project.id": "nosuch", "include_subtree": "true"})


@pytest.mark.parametrize("params", [
    {"user.id": "u", "group.id": "g"},
    {"scope.project.id": "p", "scope.domain.id": "d"},
    {"scope.system": "all", "scope.project.id": "p"},
    {"include_subtree": "true"},
    {"include_subtree": "true", "scope.domain.id": "d"},
    {"effective": "", "group.id": "g"},
    {"effective": "", "scope.domain.id": "d", "scope.OS-INHERIT:inherited_to": "projects"},
])
def test_refused_filter_combinations(ks: Keystone, params: dict[str, str]) -> None:
    ks.ok("GET", "/v3/role_assignments", 400, params=params)


def test_policy(ks: Keystone, demo: Any) -> None:
    token = demo.session.get_token()
    assert ks.call("GET", "/v3/role_assignments", token).status_code == 403
    assert ks.call("GET", "/v3/role_assignments", token, params={"user.id": demo.current_user_id}).status_code == 403
    assert ks.http.get("/v3/role_assignments").status_code == 401


def test_cli_role_assignment_list(cloud: RunningCloud, ks: Keystone, world: dict[str, Any]) -> None:
    w = world
    rows = cloud.cli("role", "assignment", "list", "--user", w["user"]["id"], "--project", w["parent"]["id"],
                     "--names", "--effective")
    domain_name = w["domain"]["name"]
    assert {(r["Role"], r["User"], r["Project"]) for r in rows} == {
        (w["direct"]["name"], f"{w['user']['name']}@{domain_name}", f"{w['parent']['name']}@{domain_name}"),
        (w["via_group"]["name"], f"{w['user']['name']}@{domain_name}", f"{w['parent']['name']}@{domain_name}"),
        (w["inherited"]["name"], f"{w['user']['name']}@{domain_name}", f"{w['parent']['name']}@{domain_name}"),
    }
    inherited = cloud.cli("role", "assignment", "list", "--domain", w["domain"]["id"], "--inherited")
    assert [(r["Role"], r["Inherited"]) for r in inherited] == [(w["inherited"]["id"], True)]
    system = cloud.cli("role", "assignment", "list", "--system", "all", "--group", w["group"]["id"])
    assert [(r["Role"], r["System"]) for r in system] == [(w["on_system"]["id"], "all")]
    by_role = cloud.cli("role", "assignment", "list", "--role", w["on_domain"]["id"])
    assert [(r["User"], r["Domain"]) for r in by_role] == [(w["user"]["id"], w["domain"]["id"])]
