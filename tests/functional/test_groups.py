"""Keystone v3 groups: CRUD, membership, filters, policy, revocation on removal."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud


def _name(prefix: str = "g") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _api(conn: Any, method: str, path: str, **kw: Any) -> Any:
    return conn.session.request(path, method, endpoint_filter={"service_type": "identity"}, raise_exc=False, **kw)


def _group_ids(admin: Any, query: str = "") -> set[str]:
    return {g["id"] for g in _api(admin, "GET", f"/v3/groups?{query}").json()["groups"]}


def test_cli_lifecycle(cloud: RunningCloud, admin: Any) -> None:
    name = _name()
    group = cloud.cli("group", "create", "--description", "first", name)
    assert group["name"] == name and group["domain_id"] == "default" and group["description"] == "first"
    new = _name()
    cloud.cli("group", "set", "--name", new, group["id"], json_out=False)
    shown = cloud.cli("group", "show", group["id"])
    assert shown["name"] == new and shown["description"] == "first"  # untouched fields stay
    assert _group_ids(admin, f"name={new}") == {group["id"]}
    assert group["id"] in _group_ids(admin, "domain_id=default")
    cloud.cli("group", "delete", group["id"], json_out=False)
    assert group["id"] not in _group_ids(admin)


def test_membership(cloud: RunningCloud, admin: Any) -> None:
    gid = cloud.cli("group", "create", _name())["id"]
    users = [_api(admin, "POST", "/v3/users", json={"user": {"name": _name("u")}}).json()["user"] for _ in range(3)]
    for u in users:
        cloud.cli("group", "add", "user", gid, u["id"], json_out=False)
    listed = _api(admin, "GET", f"/v3/groups/{gid}/users").json()["users"]
    assert sorted(listed, key=lambda u: u["name"]) == sorted(users, key=lambda u: u["name"])
    check = cloud.cli("group", "contains", "user", gid, users[0]["id"], json_out=False)
    assert "in group" in check.stdout
    assert _api(admin, "HEAD", f"/v3/groups/{gid}/users/{users[0]['id']}").status_code == 204
    # Adding twice is fine; removing twice is 404.
    assert _api(admin, "PUT", f"/v3/groups/{gid}/users/{users[0]['id']}").status_code == 204
    cloud.cli("group", "remove", "user", gid, users[0]["id"], json_out=False)
    assert _api(admin, "HEAD", f"/v3/groups/{gid}/users/{users[0]['id']}").status_code == 404
    assert _api(admin, "DELETE", f"/v3/groups/{gid}/users/{users[0]['id']}").status_code == 404
    assert len(_api(admin, "GET", f"/v3/groups/{gid}/users").json()["users"]) == 2
    # Deleting a user drops the membership; deleting the group drops the rest.
    _api(admin, "DELETE", f"/v3/users/{users[1]['id']}")
    assert [u["id"] for u in _api(admin, "GET", f"/v3/groups/{gid}/users").json()["users"]] == [users[2]["id"]]
    assert _api(admin, "DELETE", f"/v3/groups/{gid}").status_code == 204
    assert _api(admin, "GET", f"/v3/users/{users[2]['id']}/groups").json()["groups"] == []
    for u in (users[0], users[2]):
        _api(admin, "DELETE", f"/v3/users/{u['id']}")


def test_removal_revokes_the_users_tokens(cloud: RunningCloud, admin: Any) -> None:
    gid = cloud.cli("group", "create", _name())["id"]
    uid = cloud.cli("user", "create", "--password", "pw", _name("u"))["id"]
    cloud.cli("group", "add", "user", gid, uid, json_out=False)
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": uid, "password": "pw"}}}}}
    token = httpx.post(f"{cloud.identity_url}/v3/auth/tokens", json=body).headers["X-Subject-Token"]
    headers = {"X-Subject-Token": token}
    assert _api(admin, "GET", "/v3/auth/tokens", headers=headers).status_code == 200
    cloud.cli("group", "remove", "user", gid, uid, json_out=False)
    assert _api(admin, "GET", "/v3/auth/tokens", headers=headers).status_code == 404
    _api(admin, "DELETE", f"/v3/groups/{gid}")
    _api(admin, "DELETE", f"/v3/users/{uid}")


def test_duplicates_and_unknowns(cloud: RunningCloud, admin: Any) -> None:
    name = _name()
    gid = cloud.cli("group", "create", name)["id"]
    before = _group_ids(admin)
    assert _api(admin, "POST", "/v3/groups", json={"group": {"name": name}}).status_code == 409
    assert _group_ids(admin) == before
    missing = uuid.uuid4().hex
    assert _api(admin, "GET", f"/v3/groups/{missing}").status_code == 404
    assert _api(admin, "DELETE", f"/v3/groups/{missing}").status_code == 404
    assert _api(admin, "PUT", f"/v3/groups/{missing}/users/{admin.session.get_user_id()}").status_code == 404
    assert _api(admin, "PUT", f"/v3/groups/{gid}/users/{missing}").status_code == 404
    assert _api(admin, "GET", f"/v3/groups/{missing}/users").status_code == 404
    assert _api(admin, "POST", "/v3/groups", json={"group": {"name": _name(), "domain_id": missing}}).status_code == 404
    _api(admin, "DELETE", f"/v3/groups/{gid}")


@pytest.mark.parametrize(
    "body", [{"group": {"name": ""}}, {"group": {"name": "x" * 65}}, {"group": {"name": 5}}, {"group": {}}]
)
def test_bad_bodies_are_400(admin: Any, body: dict[str, Any]) -> None:
    before = _group_ids(admin)
    assert _api(admin, "POST", "/v3/groups", json=body).status_code == 400
    assert _group_ids(admin) == before


def test_member_policy(admin: Any, demo: Any) -> None:
    gid = _api(admin, "POST", "/v3/groups", json={"group": {"name": _name()}}).json()["group"]["id"]
    me = demo.session.get_user_id()
    assert _api(demo, "GET", "/v3/groups").status_code == 403
    assert _api(demo, "GET", f"/v3/groups/{gid}").status_code == 403
    assert _api(demo, "POST", "/v3/groups", json={"group": {"name": _name()}}).status_code == 403
    assert _api(demo, "PUT", f"/v3/groups/{gid}/users/{me}").status_code == 403
    assert _api(admin, "GET", f"/v3/groups/{gid}/users").json()["users"] == []
    assert _api(demo, "GET", f"/v3/users/{me}/groups").status_code == 200  # one's own groups
    _api(admin, "DELETE", f"/v3/groups/{gid}")
