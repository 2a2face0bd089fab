"""Roles and implied roles: CRUD through the CLI and raw HTTP, options, refusals, token expansion."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.keystone_api import Keystone, unique


@pytest.fixture(scope="module")
def ks(cloud: RunningCloud) -> Keystone:
    return Keystone(cloud)


def test_cli_role_lifecycle(cloud: RunningCloud) -> None:
    name = unique("clirole")
    created = cloud.cli("role", "create", "--description", "first", name)
    assert created["name"] == name and created["description"] == "first" and created["domain_id"] is None
    shown = cloud.cli("role", "show", name)
    assert shown["id"] == created["id"]
    renamed = unique("clirole")
    cloud.cli("role", "set", "--name", renamed, "--description", "second", created["id"], json_out=False)
    shown = cloud.cli("role", "show", created["id"])
    assert shown["name"] == renamed and shown["description"] == "second"
    listed = {r["Name"] for r in cloud.cli("role", "list")}
    assert renamed in listed and name not in listed and {"admin", "member", "reader"} <= listed
    dup = cloud.cli("role", "create", renamed, check=False, json_out=False)
    assert dup.returncode != 0 and "409" in dup.stderr
    cloud.cli("role", "delete", renamed, json_out=False)
    gone = cloud.cli("role", "show", created["id"], check=False, json_out=False)
    assert gone.returncode != 0


def test_cli_domain_role(cloud: RunningCloud, ks: Keystone) -> None:
    domain = ks.domain()
    name = unique("domrole")
    created = cloud.cli("role", "create", "--domain", domain["id"], name)
    assert created["domain_id"] == domain["id"]
    in_domain = cloud.cli("role", "list", "--domain", domain["id"])
    assert [r["Name"] for r in in_domain] == [name]
    assert name not in {r["Name"] for r in cloud.cli("role", "list")}  # global listing only
    # The same name may exist once globally and once per domain.
    same_global = ks.ok("POST", "/v3/roles", 201, json={"role": {"name": name}})
    assert same_global["role"]["domain_id"] is None
    ks.ok("POST", "/v3/roles", 409, json={"role": {"name": name, "domain_id": domain["id"]}})


def test_create_show_list_shapes(ks: Keystone) -> None:
    role = ks.role(description="d")
    assert set(role) >= {"id", "name", "domain_id", "description", "links", "options"}
    assert role["links"]["self"].endswith(f"/v3/roles/{role['id']}")
    assert ks.ok("GET", f"/v3/roles/{role['id']}", 200)["role"] == role
    # Tempest compares list entries with the created role for equality.
    assert role in ks.ok("GET", "/v3/roles", 200)["roles"]
    by_name = ks.ok("GET", "/v3/roles", 200, params={"name": role["name"]})["roles"]
    assert by_name == [role]
    assert ks.call("HEAD", f"/v3/roles/{role['id']}").status_code == 200
    extra = ks.role(colour="blue")
    assert extra["colour"] == "blue"
    assert ks.ok("GET", f"/v3/roles/{extra['id']}", 200)["role"]["colour"] == "blue"


def test_update_role(ks: Keystone) -> None:
    role = ks.role()
    other = ks.role()
    updated = ks.ok("PATCH", f"/v3/roles/{role['id']}", 200, json={"role": {"name": role["name"] + "x"}})["role"]
    assert updated["name"] == role["name"] + "x" and updated["id"] == role["id"]
    before = ks.snapshot()
    ks.ok("PATCH", f"/v3/roles/{role['id']}", 409, json={"role": {"name": other["name"]}})
    ks.ok("PATCH", f"/v3/roles/{role['id']}", 400, json={"role": {"domain_id": "default"}})
    ks.ok("PATCH", f"/v3/roles/{role['id']}", 400, json={"role": {}})
    ks.ok("PATCH", f"/v3/roles/{role['id']}", 400, json={"role": {"name": ""}})
    ks.ok("PATCH", "/v3/roles/nope", 404, json={"role": {"name": "x"}})
    assert ks.snapshot() == before
    assert ks.ok("GET", f"/v3/roles/{role['id']}", 200)["role"]["name"] == role["name"] + "x"


def test_create_refusals_change_nothing(ks: Keystone) -> None:
    existing = ks.role()
    before = ks.snapshot()
    ks.ok("POST", "/v3/roles", 409, json={"role": {"name": existing["name"]}})
    ks.ok("POST", "/v3/roles", 400, json={"role": {"description": "no name"}})
    ks.ok("POST", "/v3/roles", 400, json={"role": {"name": "   "}})
    ks.ok("POST", "/v3/roles", 400, json={"role": {"name": "x" * 256}})
    ks.ok("POST", "/v3/roles", 400, json={"role": {"name": "ok", "options": {"bogus": True}}})
    ks.ok("POST", "/v3/roles", 400, json={"name": "unwrapped"})
    ks.ok("POST", "/v3/roles", 404, json={"role": {"name": unique("r"), "domain_id": "nosuchdomain"}})
    assert ks.snapshot() == before
    ks.ok("GET", "/v3/roles/nosuchrole", 404)
    ks.ok("DELETE", "/v3/roles/nosuchrole", 404)


def test_immutable_role(ks: Keystone) -> None:
    role = ks.role(options={"immutable": True})
    assert role["options"] == {"immutable": True}
    rid = role["id"]
    ks.ok("PATCH", f"/v3/roles/{rid}", 403, json={"role": {"name": unique("r")}})
    ks.ok("DELETE", f"/v3/roles/{rid}", 403)
    assert ks.ok("GET", f"/v3/roles/{rid}", 200)["role"] == role
    # Unsetting the option is the one change an immutable role accepts.
    unset = ks.ok("PATCH", f"/v3/roles/{rid}", 200, json={"role": {"options": {"immutable": False}}})["role"]
    assert unset["options"] == {"immutable": False}
    ks.ok("DELETE", f"/v3/roles/{rid}", 204)
    ks.ok("GET", f"/v3/roles/{rid}", 404)


def test_member_cannot_manage_roles(ks: Keystone, demo: Any) -> None:
    token = demo.session.get_token()
    role = ks.role()
    before = ks.snapshot()
    assert ks.call("POST", "/v3/roles", token, json={"role": {"name": unique("r")}}).status_code == 403
    assert ks.call("PATCH", f"/v3/roles/{role['id']}", token, json={"role": {"name": "x"}}).status_code == 403
    assert ks.call("DELETE", f"/v3/roles/{role['id']}", token).status_code == 403
    assert ks.call("DELETE", "/v3/roles/nosuchrole", token).status_code == 403
    assert ks.call("GET", "/v3/roles", token).status_code == 403
    assert ks.call("PUT", f"/v3/roles/{role['id']}/implies/{ks.role_id('reader')}", token).status_code == 403
    assert ks.snapshot() == before
    assert ks.http.get("/v3/roles").status_code == 401


def test_implied_role_rules(ks: Keystone) -> None:
    a, b, c = ks.role(), ks.role(), ks.role()
    put = ks.ok("PUT", f"/v3/roles/{a['id']}/implies/{b['id']}", 201)
    inference = put["role_inference"]
    assert inference["prior_role"]["id"] == a["id"] and inference["implies"]["id"] == b["id"]
    for key in ("prior_role", "implies"):
        assert set(inference[key]) == {"id", "name", "links"}
    ks.ok("PUT", f"/v3/roles/{a['id']}/implies/{c['id']}", 201)
    ks.ok("PUT", f"/v3/roles/{c['id']}/implies/{b['id']}", 201)
    assert ks.ok("GET", f"/v3/roles/{a['id']}/implies/{b['id']}", 200)["role_inference"] == inference
    assert ks.call("HEAD", f"/v3/roles/{a['id']}/implies/{b['id']}").status_code == 204
    listed = ks.ok("GET", f"/v3/roles/{a['id']}/implies", 200)["role_inference"]
    assert listed["prior_role"]["id"] == a["id"]
    assert sorted(r["id"] for r in listed["implies"]) == sorted([b["id"], c["id"]])  # direct rules only
    rules = {i["prior_role"]["id"]: {r["id"] for r in i["implies"]}
             for i in ks.ok("GET", "/v3/role_inferences", 200)["role_inferences"]}
    assert rules[a["id"]] == {b["id"], c["id"]} and rules[c["id"]] == {b["id"]}
    # bootstrap's admin→manager→member→reader, as Keystone since 2023.2 (no direct admin→member)
    assert rules[ks.role_id("admin")] == {ks.role_id("manager")}
    assert rules[ks.role_id("manager")] == {ks.role_id("member")}
    assert ks.role_id("reader") in rules[ks.role_id("member")]
    before = ks.snapshot()
    ks.ok("PUT", f"/v3/roles/{a['id']}/implies/{b['id']}", 409)
    ks.ok("PUT", f"/v3/roles/{a['id']}/implies/{ks.role_id('admin')}", 403)  # nothing may imply admin
    ks.ok("PUT", f"/v3/roles/{a['id']}/implies/nosuch", 404)
    ks.ok("PUT", f"/v3/roles/nosuch/implies/{a['id']}", 404)
    assert ks.snapshot() == before
    ks.ok("DELETE", f"/v3/roles/{a['id']}/implies/{b['id']}", 204)
    ks.ok("GET", f"/v3/roles/{a['id']}/implies/{b['id']}", 404)
    assert ks.call("HEAD", f"/v3/roles/{a['id']}/implies/{b['id']}").status_code == 404
    ks.ok("DELETE", f"/v3/roles/{a['id']}/implies/{b['id']}", 404)


def test_domain_role_inference_rules(ks: Keystone) -> None:
    d1, d2 = ks.domain(), ks.domain()
    global_role = ks.role()
    r1, r2, r3 = ks.role(d1["id"]), ks.role(d1["id"]), ks.role(d2["id"])
    ks.ok("PUT", f"/v3/roles/{r1['id']}/implies/{r2['id']}", 201)
    ks.ok("PUT", f"/v3/roles/{r1['id']}/implies/{r3['id']}", 201)  # across domains is allowed
    ks.ok("PUT", f"/v3/roles/{r1['id']}/implies/{global_role['id']}", 201)
    before = ks.snapshot()
    ks.ok("PUT", f"/v3/roles/{global_role['id']}/implies/{r1['id']}", 403)
    assert ks.snapshot() == before


def test_cli_implied_roles(cloud: RunningCloud, ks: Keystone) -> None:
    prior, implied = ks.role(), ks.role()
    cloud.cli("implied", "role", "create", "--implied-role", implied["name"], prior["name"])
    rows = cloud.cli("implied", "role", "list")
    assert any(r["Prior Role Name"] == prior["name"] and r["Implied Role Name"] == implied["name"] for r in rows)
    cloud.cli("implied", "role", "delete", "--implied-role", implied["name"], prior["name"], json_out=False)
    rows = cloud.cli("implied", "role", "list")
    assert not any(r["Prior Role Name"] == prior["name"] for r in rows)


def test_implied_roles_expand_in_tokens(ks: Keystone) -> None:
    project, user = ks.project(), ks.user()
    top, middle, bottom = ks.role(), ks.role(), ks.role()
    ks.ok("PUT", f"/v3/roles/{top['id']}/implies/{middle['id']}", 201)
    ks.ok("PUT", f"/v3/roles/{middle['id']}/implies/{bottom['id']}", 201)
    domain_role = ks.role("default")
    ks.ok("PUT", f"/v3/roles/{domain_role['id']}/implies/{ks.role_id('reader')}", 201)
    ks.grant(f"/v3/projects/{project['id']}/users/{user['id']}/roles/{top['id']}")
    ks.grant(f"/v3/projects/{project['id']}/users/{user['id']}/roles/{domain_role['id']}")
    status, token, body = ks.user_token(user, project={"id": project["id"]})
    assert status == 201
    names = {r["name"] for r in body["token"]["roles"]}
    # Domain-specific roles never appear in tokens; the global roles they imply do.
    assert names == {top["name"], middle["name"], bottom["name"], "reader"}
    # Removing a rule changes what the token carries from then on.
    ks.ok("DELETE", f"/v3/roles/{middle['id']}/implies/{bottom['id']}", 204)
    assert ks.token_role_names(token) == {top["name"], middle["name"], "reader"}


def test_delete_role_removes_assignments_rules_and_tokens(ks: Keystone) -> None:
    project, user = ks.project(), ks.user()
    role, implied = ks.role(), ks.role()
    ks.ok("PUT", f"/v3/roles/{role['id']}/implies/{implied['id']}", 201)
    ks.grant(f"/v3/projects/{project['id']}/users/{user['id']}/roles/{role['id']}")
    ks.grant(f"/v3/projects/{project['id']}/users/{user['id']}/roles/{ks.role_id('member')}")
    status, token, _ = ks.user_token(user, project={"id": project["id"]})
    assert status == 201 and ks.validate(token) == 200
    ks.ok("DELETE", f"/v3/roles/{role['id']}", 204)
    assert ks.validate(token) == 404  # revoked, although the user keeps "member"
    assert [a["role"]["id"] for a in ks.assignments(**{"user.id": user["id"]})] == [ks.role_id("member")]
    rules = ks.ok("GET", "/v3/role_inferences", 200)["role_inferences"]
    assert role["id"] not in {i["prior_role"]["id"] for i in rules}
    status, token, body = ks.user_token(user, project={"id": project["id"]})
    assert status == 201 and {r["name"] for r in body["token"]["roles"]} == {"member", "reader"}
