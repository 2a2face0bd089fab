"""Grants on projects, domains and the system (users and groups), OS-INHERIT, and token effects."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.keystone_api import Keystone, unique


@pytest.fixture(scope="module")
def ks(cloud: RunningCloud) -> Keystone:
    return Keystone(cloud)


def test_issue_scenario_cli(cloud: RunningCloud, ks: Keystone) -> None:
    """project create; user create; role add → scoped token with member+reader; role remove → revoked."""
    p1, u1, password = unique("p1"), unique("u1"), "s3cret"
    project = cloud.cli("project", "create", p1)
    user = cloud.cli("user", "create", "--project", p1, "--password", password, u1)
    cloud.cli("role", "add", "--project", p1, "--user", u1, "member", json_out=False)
    status, token, body = ks.password_token(u1, password, project={"name": p1})
    assert status == 201
    assert body["token"]["project"]["id"] == project["id"] and body["token"]["user"]["id"] == user["id"]
    assert {r["name"] for r in body["token"]["roles"]} == {"member", "reader"}
    assert ks.validate(token) == 200
    cloud.cli("role", "remove", "--project", p1, "--user", u1, "member", json_out=False)
    assert ks.validate(token) == 404
    status, _, body = ks.password_token(u1, password, project={"name": p1})
    assert status == 401, body
    # An unscoped token still works: the user exists, only the project access is gone.
    assert ks.password_token(u1, password)[0] == 201


def _forms(ks: Keystone) -> list[tuple[str, str, dict[str, Any]]]:
    """(collection path, actor kind, actor) for every grant form, with fresh parties."""
    project, domain = ks.project(), ks.domain()
    user, group = ks.user(), ks.group()
    out = []
    for kind, actor in (("users", user), ("groups", group)):
        out.append((f"/v3/projects/{project['id']}/{kind}/{actor['id']}/roles", kind, actor))
        out.append((f"/v3/domains/{domain['id']}/{kind}/{actor['id']}/roles", kind, actor))
        out.append((f"/v3/system/{kind}/{actor['id']}/roles", kind, actor))
    return out


def test_every_grant_form(ks: Keystone) -> None:
    role = ks.role()
    for collection, _, _ in _forms(ks):
        item = f"{collection}/{role['id']}"
        assert ks.call("HEAD", item).status_code == 404, item
        ks.ok("PUT", item, 204)
        ks.ok("PUT", item, 204)  # granting twice is fine
        assert ks.call("HEAD", item).status_code == 204
        assert ks.call("GET", item).status_code == 204
        listed = ks.ok("GET", collection, 200)["roles"]
        assert [r["id"] for r in listed] == [role["id"]], collection
        assert listed[0] == ks.ok("GET", f"/v3/roles/{role['id']}", 200)["role"]
        ks.ok("DELETE", item, 204)
        assert ks.call("HEAD", item).status_code == 404
        ks.ok("DELETE", item, 404)
        assert ks.ok("GET", collection, 200)["roles"] == []


def test_grant_not_found(ks: Keystone) -> None:
    project, domain, user, group, role = ks.project(), ks.domain(), ks.user(), ks.group(), ks.role()
    before = ks.snapshot()
    paths = [
        f"/v3/projects/nosuch/users/{user['id']}/roles/{role['id']}",
        f"/v3/projects/{project['id']}/users/nosuch/roles/{role['id']}",
        f"/v3/projects/{project['id']}/users/{user['id']}/roles/nosuch",
        f"/v3/projects/{project['id']}/groups/nosuch/roles/{role['id']}",
        f"/v3/projects/{domain['id']}/users/{user['id']}/roles/{role['id']}",  # a domain is not a project
        f"/v3/domains/{project['id']}/users/{user['id']}/roles/{role['id']}",  # nor a project a domain
        f"/v3/domains/nosuch/groups/{group['id']}/roles/{role['id']}",
        f"/v3/system/users/nosuch/roles/{role['id']}",
        f"/v3/system/groups/{group['id']}/roles/nosuch",
        f"/v3/OS-INHERIT/domains/nosuch/users/{user['id']}/roles/{role['id']}/inherited_to_projects",
        f"/v3/OS-INHERIT/projects/{project['id']}/groups/nosuch/roles/{role['id']}/inherited_to_projects",
    ]
    for path in paths:
        for method in ("PUT", "HEAD", "DELETE"):
            assert ks.call(method, path).status_code == 404, (method, path)
    ks.ok("GET", f"/v3/projects/nosuch/users/{user['id']}/roles", 404)
    ks.ok("GET", "/v3/system/groups/nosuch/roles", 404)
    assert ks.snapshot() == before


def test_domain_specific_role_grants(ks: Keystone) -> None:
    d1, d2 = ks.domain(), ks.domain()
    p1, p2 = ks.project(d1["id"]), ks.project(d2["id"])
    user, role = ks.user(), ks.role(d1["id"])
    ks.ok("PUT", f"/v3/projects/{p1['id']}/users/{user['id']}/roles/{role['id']}", 204)
    ks.ok("PUT", f"/v3/domains/{d1['id']}/users/{user['id']}/roles/{role['id']}", 204)
    before = ks.snapshot()
    ks.ok("PUT", f"/v3/projects/{p2['id']}/users/{user['id']}/roles/{role['id']}", 403)
    ks.ok("PUT", f"/v3/domains/{d2['id']}/users/{user['id']}/roles/{role['id']}", 403)
    ks.ok("PUT", f"/v3/system/users/{user['id']}/roles/{role['id']}", 400)
    assert ks.snapshot() == before


def test_member_cannot_grant(ks: Keystone, demo: Any) -> None:
    token = demo.session.get_token()
    project, user = ks.project(), ks.user()
    item = f"/v3/projects/{project['id']}/users/{user['id']}/roles/{ks.role_id('member')}"
    before = ks.snapshot()
    assert ks.call("PUT", item, token).status_code == 403
    assert ks.call("PUT", f"/v3/system/users/{demo.current_user_id}/roles/{ks.role_id('admin')}", token).status_code == 403
    assert ks.snapshot() == before
    ks.grant(item)
    assert ks.call("DELETE", item, token).status_code == 403
    assert ks.call("HEAD", item, token).status_code == 403
    assert ks.call("HEAD", item).status_code == 204


def test_group_grants_reach_members(ks: Keystone) -> None:
    project, domain = ks.project(), ks.domain()
    user, outsider, group = ks.user(), ks.user(), ks.group()
    ks.add_member(group["id"], user["id"])
    role = ks.role()
    ks.grant(f"/v3/projects/{project['id']}/groups/{group['id']}/roles/{ks.role_id('member')}")
    ks.grant(f"/v3/projects/{project['id']}/groups/{group['id']}/roles/{role['id']}")
    ks.grant(f"/v3/domains/{domain['id']}/groups/{group['id']}/roles/{ks.role_id('reader')}")
    ks.grant(f"/v3/system/groups/{group['id']}/roles/{ks.role_id('reader')}")
    status, token, body = ks.user_token(user, project={"id": project["id"]})
    assert status == 201 and {r["name"] for r in body["token"]["roles"]} == {"member", "reader", role["name"]}
    status, _, body = ks.user_token(user, domain={"id": domain["id"]})
    assert status == 201 and {r["name"] for r in body["token"]["roles"]} == {"reader"}
    status, _, body = ks.user_token(user, system=True)
    assert status == 201 and {r["name"] for r in body["token"]["roles"]} == {"reader"}
    assert ks.user_token(outsider, project={"id": project["id"]})[0] == 401
    # Revoking one group grant revokes the members' tokens on that project.
    ks.ok("DELETE", f"/v3/projects/{project['id']}/groups/{group['id']}/roles/{role['id']}", 204)
    assert ks.validate(token) == 404
    status, token, body = ks.user_token(user, project={"id": project["id"]})
    assert status == 201 and {r["name"] for r in body["token"]["roles"]} == {"member", "reader"}


def test_inherited_domain_grant_reaches_projects(cloud: RunningCloud, ks: Keystone) -> None:
    domain = ks.domain()
    project = ks.project(domain["id"])
    child = ks.project(domain["id"], parent_id=project["id"])
    user = ks.user()
    cloud.cli("role", "add", "--domain", domain["id"], "--user", user["id"], "--inherited", "member", json_out=False)
    base = f"/v3/OS-INHERIT/domains/{domain['id']}/users/{user['id']}/roles"
    member = ks.role_id("member")
    assert [r["id"] for r in ks.ok("GET", f"{base}/inherited_to_projects", 200)["roles"]] == [member]
    assert ks.call("HEAD", f"{base}/{member}/inherited_to_projects").status_code == 204
    # Inherited grants are not plain domain grants.
    assert ks.ok("GET", f"/v3/domains/{domain['id']}/users/{user['id']}/roles", 200)["roles"] == []
    for target in (project, child):
        status, _, body = ks.user_token(user, project={"id": target["id"]})
        assert status == 201 and {r["name"] for r in body["token"]["roles"]} == {"member", "reader"}
    assert ks.user_token(user, domain={"id": domain["id"]})[0] == 401  # not on the domain itself
    cloud.cli("role", "remove", "--domain", domain["id"], "--user", user["id"], "--inherited", "member",
              json_out=False)
    assert ks.user_token(user, project={"id": child["id"]})[0] == 401
    assert ks.call("HEAD", f"{base}/{member}/inherited_to_projects").status_code == 404


def test_inherited_group_grants(ks: Keystone) -> None:
    domain = ks.domain()
    parent = ks.project(domain["id"])
    child = ks.project(domain["id"], parent_id=parent["id"])
    user, group = ks.user(), ks.group()
    ks.add_member(group["id"], user["id"])
    role = ks.role()
    ks.grant(f"/v3/OS-INHERIT/projects/{parent['id']}/groups/{group['id']}/roles/{role['id']}/inherited_to_projects")
    ks.grant(f"/v3/OS-INHERIT/domains/{domain['id']}/groups/{group['id']}/roles/{ks.role_id('reader')}"
             "/inherited_to_projects")
    listed = ks.ok("GET", f"/v3/OS-INHERIT/domains/{domain['id']}/groups/{group['id']}/roles/inherited_to_projects", 200)
    assert [r["name"] for r in listed["roles"]] == ["reader"]
    # A project-inherited grant reaches the subtree, not the project it is on.
    status, _, body = ks.user_token(user, project={"id": child["id"]})
    assert status == 201 and {r["name"] for r in body["token"]["roles"]} == {role["name"], "reader"}
    status, _, body = ks.user_token(user, project={"id": parent["id"]})
    assert status == 201 and {r["name"] for r in body["token"]["roles"]} == {"reader"}
    check = f"/v3/OS-INHERIT/projects/{parent['id']}/groups/{group['id']}/roles/{role['id']}/inherited_to_projects"
    assert ks.call("HEAD", check).status_code == 204
    ks.ok("DELETE", check, 204)
    status, _, body = ks.user_token(user, project={"id": child["id"]})
    assert status == 201 and {r["name"] for r in body["token"]["roles"]} == {"reader"}


def test_cli_system_and_domain_grants(cloud: RunningCloud, ks: Keystone) -> None:
    user, domain = ks.user(), ks.domain()
    cloud.cli("role", "add", "--system", "all", "--user", user["id"], "reader", json_out=False)
    cloud.cli("role", "add", "--domain", domain["id"], "--user", user["id"], "admin", json_out=False)
    status, sys_token, body = ks.user_token(user, system=True)
    assert status == 201 and body["token"]["system"] == {"all": True}
    status, dom_token, body = ks.user_token(user, domain={"id": domain["id"]})
    assert status == 201 and {r["name"] for r in body["token"]["roles"]} == {"admin", "manager", "member", "reader"}
    cloud.cli("role", "remove", "--domain", domain["id"], "--user", user["id"], "admin", json_out=False)
    assert ks.validate(dom_token) == 404
    assert ks.validate(sys_token) == 200  # other scopes are untouched
    cloud.cli("role", "remove", "--system", "all", "--user", user["id"], "reader", json_out=False)
    assert ks.validate(sys_token) == 404
    assert ks.user_token(user, system=True)[0] == 401


def test_sdk_grants(admin: Any, ks: Keystone) -> None:
    project, domain, user, group = ks.project(), ks.domain(), ks.user(), ks.group()
    role = admin.identity.create_role(name=unique("sdkrole"))
    assert admin.identity.find_role(role.name).id == role.id
    admin.identity.assign_project_role_to_user(project["id"], user["id"], role.id)
    admin.identity.assign_domain_role_to_group(domain["id"], group["id"], role.id)
    admin.identity.assign_system_role_to_user(user["id"], role.id, "all")
    assert admin.identity.validate_user_has_project_role(project["id"], user["id"], role.id)
    assert admin.identity.validate_group_has_domain_role(domain["id"], group["id"], role.id)
    assert admin.identity.validate_user_has_system_role(user["id"], role.id, "all")
    assert not admin.identity.validate_user_has_domain_role(domain["id"], user["id"], role.id)
    found = list(admin.identity.role_assignments(role_id=role.id))
    assert len(found) == 3
    admin.identity.unassign_project_role_from_user(project["id"], user["id"], role.id)
    assert not admin.identity.validate_user_has_project_role(project["id"], user["id"], role.id)
    admin.identity.delete_role(role.id)
    assert list(admin.identity.role_assignments(role_id=role.id)) == []
