"""Keystone v3 users: CRUD, filters, options, password change, revocation, policy."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud


def _name(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _api(conn: Any, method: str, path: str, **kw: Any) -> Any:
    return conn.session.request(path, method, endpoint_filter={"service_type": "identity"}, raise_exc=False, **kw)


def _auth(cloud: RunningCloud, user_id: str, password: str) -> httpx.Response:
    """An unscoped password authentication, by user id."""
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": user_id, "password": password}}}}}
    return httpx.post(f"{cloud.identity_url}/v3/auth/tokens", json=body)


def _user_ids(admin: Any, query: str = "") -> set[str]:
    return {u["id"] for u in _api(admin, "GET", f"/v3/users?{query}").json()["users"]}


def _valid(admin: Any, token: str) -> int:
    return int(_api(admin, "GET", "/v3/auth/tokens", headers={"X-Subject-Token": token}).status_code)


def test_scenario_project_user_unscoped_auth(cloud: RunningCloud, admin: Any) -> None:
    pname, uname = _name("p1"), _name("u1")
    project = cloud.cli("project", "create", pname)
    user = cloud.cli("user", "create", "--project", pname, "--password", "s3cret", "--email", "u1@example.org", uname)
    assert user["default_project_id"] == project["id"] and user["domain_id"] == "default"
    assert user["email"] == "u1@example.org" and user["enabled"] is True
    assert "password" not in user
    shown = _api(admin, "GET", f"/v3/users/{user['id']}").json()["user"]
    assert "password" not in shown and shown["links"]["self"].endswith(f"/v3/users/{user['id']}")
    resp = _auth(cloud, user["id"], "s3cret")
    assert resp.status_code == 201 and "project" not in resp.json()["token"]  # no role on p1 yet: unscoped
    assert _auth(cloud, user["id"], "wrong").status_code == 401
    cloud.cli("user", "delete", uname, json_out=False)
    cloud.cli("project", "delete", pname, json_out=False)
    assert _auth(cloud, user["id"], "s3cret").status_code == 401


def test_create_response_equals_list_and_show(admin: Any) -> None:
    body = {"user": {"name": _name(), "password": "pw", "description": "d", "email": "e@x", "project_id": "p",
                     "options": {"ignore_password_expiry": True}}}
    created = _api(admin, "POST", "/v3/users", json=body).json()["user"]
    try:
        listed = [u for u in _api(admin, "GET", "/v3/users").json()["users"] if u["id"] == created["id"]]
        assert listed == [created]
        assert _api(admin, "GET", f"/v3/users/{created['id']}").json()["user"] == created
        assert created["options"] == {"ignore_password_expiry": True}
        assert created["project_id"] == "p" and created["password_expires_at"] is None
    finally:
        _api(admin, "DELETE", f"/v3/users/{created['id']}")


def test_update_fields_and_options(cloud: RunningCloud, admin: Any) -> None:
    uname = _name()
    uid = cloud.cli("user", "create", "--password", "pw", uname)["id"]
    new = _name()
    cloud.cli("user", "set", "--name", new, "--email", "new@x", "--description", "dd", uid, json_out=False)
    shown = cloud.cli("user", "show", uid)
    assert shown["name"] == new and shown["email"] == "new@x" and shown["description"] == "dd"
    resp = _api(admin, "PATCH", f"/v3/users/{uid}", json={"user": {"options": {"lock_password": True}}})
    assert resp.status_code == 200 and resp.json()["user"]["options"] == {"lock_password": True}
    resp = _api(admin, "PATCH", f"/v3/users/{uid}", json={"user": {"options": {"lock_password": None}}})
    assert resp.json()["user"]["options"] == {}
    assert _api(admin, "PATCH", f"/v3/users/{uid}", json={"user": {"options": {"bogus": 1}}}).status_code == 400
    assert _api(admin, "PATCH", f"/v3/users/{uid}", json={"user": {"domain_id": "other"}}).status_code == 400
    assert _api(admin, "PATCH", f"/v3/users/{uid}", json={"user": {}}).status_code == 400
    cloud.cli("user", "delete", uid, json_out=False)


def test_duplicate_name_is_409_per_domain(cloud: RunningCloud, admin: Any) -> None:
    uname = _name()
    uid = cloud.cli("user", "create", uname)["id"]
    before = _user_ids(admin)
    assert _api(admin, "POST", "/v3/users", json={"user": {"name": uname}}).status_code == 409
    assert _user_ids(admin) == before
    other = _name()
    oid = cloud.cli("user", "create", other)["id"]
    assert _api(admin, "PATCH", f"/v3/users/{oid}", json={"user": {"name": uname}}).status_code == 409
    assert cloud.cli("user", "show", oid)["name"] == other
    dom = cloud.cli("domain", "create", _name("dom"))
    same = cloud.cli("user", "create", "--domain", dom["id"], uname)  # another domain: fine
    assert same["domain_id"] == dom["id"]
    # One name in two domains: the listing orders by name, then by id (not by the rows' storage order).
    listed = [u["id"] for u in _api(admin, "GET", f"/v3/users?name={uname}").json()["users"]]
    assert listed == sorted([uid, same["id"]])
    for u in (uid, oid, same["id"]):
        _api(admin, "DELETE", f"/v3/users/{u}")
    cloud.cli("domain", "set", "--disable", dom["id"], json_out=False)
    cloud.cli("domain", "delete", dom["id"], json_out=False)


@pytest.mark.parametrize(
    "body",
    [
        {"user": {"name": ""}},
        {"user": {"name": "x" * 256}},
        {"user": {"name": "x", "enabled": "kinda"}},
        {"user": {"name": "x", "password": 12345}},
        {"user": {"name": "x", "options": {"lock_password": "yes please"}}},
        {"user": {"email": "no-name@x"}},
    ],
)
def test_bad_bodies_are_400(admin: Any, body: dict[str, Any]) -> None:
    before = _user_ids(admin)
    assert _api(admin, "POST", "/v3/users", json=body).status_code == 400
    assert _user_ids(admin) == before


def test_unknown_ids(admin: Any) -> None:
    missing = uuid.uuid4().hex
    assert _api(admin, "GET", f"/v3/users/{missing}").status_code == 404
    assert _api(admin, "DELETE", f"/v3/users/{missing}").status_code == 404
    assert _api(admin, "PATCH", f"/v3/users/{missing}", json={"user": {"name": "x"}}).status_code == 404
    resp = _api(admin, "POST", "/v3/users", json={"user": {"name": _name(), "domain_id": missing}})
    assert resp.status_code == 404


def test_member_policy(cloud: RunningCloud, admin: Any, demo: Any) -> None:
    denied = cloud.cli("user", "list", cloud="devstack", check=False, json_out=False)
    assert denied.returncode != 0 and "403" in denied.stderr
    me = demo.session.get_user_id()
    assert _api(demo, "GET", f"/v3/users/{me}").status_code == 200
    admin_id = admin.session.get_user_id()
    assert _api(demo, "GET", f"/v3/users/{admin_id}").status_code == 403
    assert _api(demo, "POST", "/v3/users", json={"user": {"name": _name()}}).status_code == 403
    assert _api(demo, "PATCH", f"/v3/users/{me}", json={"user": {"enabled": False}}).status_code == 403
    projects = _api(demo, "GET", f"/v3/users/{me}/projects").json()["projects"]
    assert sorted(p["name"] for p in projects) == ["demo", "invisible_to_admin"]  # as on DevStack
    assert _api(demo, "GET", f"/v3/users/{admin_id}/projects").status_code == 403


def test_list_filters(admin: Any) -> None:
    a = _api(admin, "POST", "/v3/users", json={"user": {"name": _name("flt")}}).json()["user"]
    b = _api(admin, "POST", "/v3/users", json={"user": {"name": _name("flt"), "enabled": False}}).json()["user"]
    try:
        assert b["id"] in _user_ids(admin, "enabled=false") and a["id"] not in _user_ids(admin, "enabled=false")
        assert _user_ids(admin, f"name={a['name']}") == {a["id"]}
        assert {a["id"], b["id"]} <= _user_ids(admin, "name__startswith=flt-")
        assert a["id"] in _user_ids(admin, "domain_id=default")
        assert not _user_ids(admin, f"domain_id={uuid.uuid4().hex}")
        # No password set: no expiry, so "neq" matches and "lt" does not.
        assert a["id"] in _user_ids(admin, "password_expires_at=neq:2030-01-01T00:00:00Z")
        assert a["id"] not in _user_ids(admin, "password_expires_at=lt:2030-01-01T00:00:00Z")
        assert _api(admin, "GET", "/v3/users?password_expires_at=lt:yesterday").status_code == 400
    finally:
        for u in (a, b):
            _api(admin, "DELETE", f"/v3/users/{u['id']}")


def test_disable_delete_and_reset_revoke_tokens(cloud: RunningCloud, admin: Any) -> None:
    uid = cloud.cli("user", "create", "--password", "pw1", _name())["id"]
    token = _auth(cloud, uid, "pw1").headers["X-Subject-Token"]
    assert _valid(admin, token) == 200
    cloud.cli("user", "set", "--disable", uid, json_out=False)
    assert _valid(admin, token) == 404
    assert _auth(cloud, uid, "pw1").status_code == 401
    cloud.cli("user", "set", "--enable", uid, json_out=False)
    assert _valid(admin, token) == 404
    token = _auth(cloud, uid, "pw1").headers["X-Subject-Token"]
    cloud.cli("user", "set", "--password", "pw2", uid, json_out=False)
    assert _valid(admin, token) == 404
    assert _auth(cloud, uid, "pw1").status_code == 401
    token = _auth(cloud, uid, "pw2").headers["X-Subject-Token"]
    cloud.cli("user", "delete", uid, json_out=False)
    assert _valid(admin, token) == 404


def test_self_service_password_change_without_token(cloud: RunningCloud, admin: Any) -> None:
    uid = cloud.cli("user", "create", "--password", "old-pw", _name())["id"]
    token = _auth(cloud, uid, "old-pw").headers["X-Subject-Token"]
    url = f"{cloud.identity_url}/v3/users/{uid}/password"
    wrong = httpx.post(url, json={"user": {"password": "new-pw", "original_password": "nope"}})
    assert wrong.status_code == 401
    assert _auth(cloud, uid, "old-pw").status_code == 201
    assert httpx.post(url, json={"user": {"password": "new-pw"}}).status_code == 400
    ok = httpx.post(url, json={"user": {"password": "new-pw", "original_password": "old-pw"}})
    assert ok.status_code == 204
    assert _valid(admin, token) == 404
    assert _auth(cloud, uid, "old-pw").status_code == 401
    assert _auth(cloud, uid, "new-pw").status_code == 201
    missing = f"{cloud.identity_url}/v3/users/{uuid.uuid4().hex}/password"
    assert httpx.post(missing, json={"user": {"password": "a", "original_password": "b"}}).status_code == 401
    _api(admin, "DELETE", f"/v3/users/{uid}")


def test_cli_user_password_set(fresh_cloud: RunningCloud) -> None:
    fresh_cloud.start()
    old = fresh_cloud.password("demo")
    done = fresh_cloud.cli("user", "password", "set", "--original-password", old, "--password", "brand-new",
                           cloud="devstack", json_out=False)
    assert done.returncode == 0
    admin = fresh_cloud.sdk("devstack-admin")
    demo_id = admin.identity.find_user("demo").id
    assert _auth(fresh_cloud, demo_id, old).status_code == 401
    assert _auth(fresh_cloud, demo_id, "brand-new").status_code == 201


def test_user_groups_and_projects(cloud: RunningCloud, admin: Any) -> None:
    uid = cloud.cli("user", "create", _name())["id"]
    g1 = cloud.cli("group", "create", _name("g"))["id"]
    g2 = cloud.cli("group", "create", _name("g"))["id"]
    for g in (g1, g2):
        cloud.cli("group", "add", "user", g, uid, json_out=False)
    groups = _api(admin, "GET", f"/v3/users/{uid}/groups").json()["groups"]
    assert {g["id"] for g in groups} == {g1, g2}
    assert _api(admin, "GET", f"/v3/users/{uid}/projects").json()["projects"] == []
    assert _api(admin, "GET", f"/v3/users/{uuid.uuid4().hex}/groups").status_code == 404
    for g in (g1, g2):
        _api(admin, "DELETE", f"/v3/groups/{g}")
    _api(admin, "DELETE", f"/v3/users/{uid}")


def test_list_limit_truncates(fresh_cloud: RunningCloud) -> None:
    fresh_cloud.env["ONESTACK_IDENTITY__LIST_LIMIT"] = "2"
    fresh_cloud.start()
    admin = fresh_cloud.sdk("devstack-admin")
    body = _api(admin, "GET", "/v3/users").json()
    assert len(body["users"]) == 2 and body["truncated"] is True  # bootstrap made four users
