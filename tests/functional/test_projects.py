"""Keystone v3 projects: CRUD, hierarchy, tags, filters, policy, token revocation."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.functional.cloud import RunningCloud


def _name(prefix: str = "p") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _api(conn: Any, method: str, path: str, **kw: Any) -> Any:
    """A raw identity call that never raises on error statuses."""
    return conn.session.request(path, method, endpoint_filter={"service_type": "identity"}, raise_exc=False, **kw)


def _api_list(cloud: RunningCloud, query: str) -> list[dict[str, Any]]:
    conn = cloud.sdk("devstack-admin")
    return list(_api(conn, "GET", f"/v3/projects?{query}").json()["projects"])


def _project_names(cloud: RunningCloud) -> set[str]:
    return {p["Name"] for p in cloud.cli("project", "list")}


def test_cli_create_show_set_delete(cloud: RunningCloud) -> None:
    name = _name()
    created = cloud.cli("project", "create", "--description", "first", name)
    assert created["name"] == name and created["domain_id"] == "default" and created["parent_id"] == "default"
    assert created["enabled"] is True and created["is_domain"] is False
    shown = cloud.cli("project", "show", name)
    assert shown["id"] == created["id"] and shown["description"] == "first"
    cloud.cli("project", "set", "--description", "second", "--disable", name, json_out=False)
    shown = cloud.cli("project", "show", created["id"])
    assert shown["description"] == "second" and shown["enabled"] is False
    assert created["id"] in {p["id"] for p in _api_list(cloud, "enabled=false")}
    cloud.cli("project", "delete", name, json_out=False)
    assert name not in _project_names(cloud)
    gone = cloud.cli("project", "show", created["id"], check=False)
    assert gone.returncode != 0 and "No Project found" in gone.stderr


def test_sdk_create_and_list_equals_show(admin: Any) -> None:
    project = admin.identity.create_project(name=_name(), description="d", tags=["a", "c", "b"])
    try:
        shown = _api(admin, "GET", f"/v3/projects/{project.id}").json()["project"]
        listed = [p for p in _api(admin, "GET", "/v3/projects").json()["projects"] if p["id"] == project.id]
        assert len(listed) == 1
        assert set(shown.pop("tags")) == {"a", "b", "c"} == set(listed[0].pop("tags"))
        assert shown == listed[0]
        assert shown["links"]["self"].endswith(f"/v3/projects/{project.id}")
        assert {"parent_id", "is_domain", "description", "links", "name", "enabled", "domain_id", "id"} <= set(shown)
    finally:
        admin.identity.delete_project(project.id)


def test_duplicate_name_conflict_leaves_db_unchanged(cloud: RunningCloud, admin: Any) -> None:
    name = _name()
    cloud.cli("project", "create", name)
    before = _api(admin, "GET", "/v3/projects").json()["projects"]
    resp = _api(admin, "POST", "/v3/projects", json={"project": {"name": name}})
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == 409
    after = _api(admin, "GET", "/v3/projects").json()["projects"]
    assert sorted(p["id"] for p in before) == sorted(p["id"] for p in after)
    cloud.cli("project", "delete", name, json_out=False)


@pytest.mark.parametrize(
    "body",
    [
        {"project": {"name": ""}},
        {"project": {"name": "a" * 65}},
        {"project": {"name": "x", "enabled": "maybe"}},
        {"project": {"name": "x", "tags": ["dup", "dup"]}},
        {"project": {"name": "x", "tags": ["a/b"]}},
        {"project": {"name": "x", "options": {"nonsense": True}}},
        {"project": {"description": "no name"}},
        {"name": "unwrapped"},
    ],
)
def test_bad_bodies_are_400(admin: Any, body: dict[str, Any]) -> None:
    before = len(_api(admin, "GET", "/v3/projects").json()["projects"])
    resp = _api(admin, "POST", "/v3/projects", json=body)
    assert resp.status_code == 400, resp.text
    assert len(_api(admin, "GET", "/v3/projects").json()["projects"]) == before


def test_unknown_ids_are_404(admin: Any) -> None:
    missing = uuid.uuid4().hex
    assert _api(admin, "GET", f"/v3/projects/{missing}").status_code == 404
    assert _api(admin, "DELETE", f"/v3/projects/{missing}").status_code == 404
    assert _api(admin, "PATCH", f"/v3/projects/{missing}", json={"project": {"name": "x"}}).status_code == 404
    resp = _api(admin, "POST", "/v3/projects", json={"project": {"name": _name(), "domain_id": missing}})
    assert resp.status_code == 404
    resp = _api(admin, "POST", "/v3/projects", json={"project": {"name": _name(), "parent_id": missing}})
    assert resp.status_code == 404


def test_member_policy(cloud: RunningCloud, admin: Any, demo: Any) -> None:
    assert _api(demo, "GET", "/v3/projects").status_code == 403
    # The CLI falls back to the caller's own projects when the full list is refused.
    # demo is a member of DevStack's invisible_to_admin too.
    assert sorted(p["Name"] for p in cloud.cli("project", "list", cloud="devstack")) == ["demo", "invisible_to_admin"]
    assert _api(demo, "POST", "/v3/projects", json={"project": {"name": _name()}}).status_code == 403
    own = demo.session.get_project_id()
    resp = _api(demo, "GET", f"/v3/projects/{own}")
    assert resp.status_code == 200 and resp.json()["project"]["name"] == "demo"
    other = admin.identity.find_project("alt_demo").id
    assert _api(demo, "GET", f"/v3/projects/{other}").status_code == 403
    project = admin.identity.create_project(name=_name())
    assert _api(demo, "DELETE", f"/v3/projects/{project.id}").status_code == 403
    assert _api(admin, "GET", f"/v3/projects/{project.id}").status_code == 200
    admin.identity.delete_project(project.id)


def test_no_token_is_401(cloud: RunningCloud) -> None:
    resp = httpx.get(f"{cloud.identity_url}/v3/projects")
    assert resp.status_code == 401


def test_hierarchy_and_views(admin: Any) -> None:
    top = admin.identity.create_project(name=_name("top"))
    mid = admin.identity.create_project(name=_name("mid"), parent_id=top.id)
    leaf = admin.identity.create_project(name=_name("leaf"), parent_id=mid.id)
    try:
        assert mid.domain_id == "default" and leaf.parent_id == mid.id
        doc = _api(admin, "GET", f"/v3/projects/{leaf.id}?parents_as_ids").json()["project"]
        assert doc["parents"] == {mid.id: {top.id: {"default": None}}}
        doc = _api(admin, "GET", f"/v3/projects/{top.id}?subtree_as_ids").json()["project"]
        assert doc["subtree"] == {mid.id: {leaf.id: None}}
        doc = _api(admin, "GET", f"/v3/projects/{leaf.id}?parents_as_list").json()["project"]
        assert [p["project"]["id"] for p in doc["parents"]] == [mid.id, top.id, "default"]
        doc = _api(admin, "GET", f"/v3/projects/{top.id}?subtree_as_list").json()["project"]
        assert {p["project"]["id"] for p in doc["subtree"]} == {mid.id, leaf.id}
        both = _api(admin, "GET", f"/v3/projects/{top.id}?parents_as_list&parents_as_ids")
        assert both.status_code == 400
        listed = _api(admin, "GET", f"/v3/projects?parent_id={top.id}").json()["projects"]
        assert [p["id"] for p in listed] == [mid.id]
        # Not a leaf: cannot delete; cannot move; cannot change domain.
        assert _api(admin, "DELETE", f"/v3/projects/{mid.id}").status_code == 403
        assert _api(admin, "PATCH", f"/v3/projects/{leaf.id}",
                    json={"project": {"parent_id": top.id}}).status_code == 403
        assert _api(admin, "PATCH", f"/v3/projects/{leaf.id}",
                    json={"project": {"domain_id": uuid.uuid4().hex}}).status_code == 400
        # Disabling a parent with an enabled child is refused.
        assert _api(admin, "PATCH", f"/v3/projects/{mid.id}",
                    json={"project": {"enabled": False}}).status_code == 403
    finally:
        for p in (leaf, mid, top):
            admin.identity.delete_project(p.id)


def test_max_depth(admin: Any) -> None:
    chain: list[str] = []
    parent = None
    try:
        for _ in range(5):
            p = admin.identity.create_project(name=_name("deep"), parent_id=parent)
            chain.append(p.id)
            parent = p.id
        resp = _api(admin, "POST", "/v3/projects", json={"project": {"name": _name(), "parent_id": parent}})
        assert resp.status_code == 403
    finally:
        for pid in reversed(chain):
            admin.identity.delete_project(pid)


def test_tags(cloud: RunningCloud, admin: Any) -> None:
    def ids(query: str) -> set[str]:
        return {p["id"] for p in _api(admin, "GET", f"/v3/projects?{query}").json()["projects"]}

    name = _name()
    pid = cloud.cli("project", "create", "--tag", "alpha", name)["id"]
    cloud.cli("project", "set", "--tag", "beta", name, json_out=False)
    assert sorted(cloud.cli("project", "show", name)["tags"]) == ["alpha", "beta"]
    base = f"/v3/projects/{pid}/tags"
    assert _api(admin, "GET", f"{base}/alpha").status_code == 204
    assert _api(admin, "GET", f"{base}/nope").status_code == 404
    assert _api(admin, "PUT", f"{base}/gamma").status_code == 201
    resp = _api(admin, "PUT", base, json={"tags": ["x", "y", "z"]})
    assert resp.status_code == 200 and sorted(resp.json()["tags"]) == ["x", "y", "z"]
    assert sorted(_api(admin, "GET", base).json()["tags"]) == ["x", "y", "z"]
    assert _api(admin, "DELETE", f"{base}/x").status_code == 204
    assert _api(admin, "DELETE", f"{base}/x").status_code == 404
    assert _api(admin, "PUT", base, json={"tags": ["bad,tag"]}).status_code == 400
    assert sorted(_api(admin, "GET", base).json()["tags"]) == ["y", "z"]
    # list filters
    assert pid in ids("tags=y,z") and pid not in ids("tags=y,x")
    assert pid in ids("tags-any=x,y") and pid not in ids("tags-any=q")
    assert pid not in ids("not-tags=y,z") and pid in ids("not-tags=y,x")
    assert pid not in ids("not-tags-any=z,q") and pid in ids("not-tags-any=q")
    assert _api(admin, "DELETE", base).status_code == 204
    assert _api(admin, "GET", base).json()["tags"] == []
    cloud.cli("project", "delete", pid, json_out=False)


def test_tags_beyond_ascii(cloud: RunningCloud, admin: Any) -> None:
    """A tag is any text without ``,`` or ``/``: its Location is percent-encoded UTF-8 (as werkzeug
    sends Keystone's), and it reads back exactly, by name and in the list."""
    pid = admin.identity.create_project(name=_name()).id
    base = f"/v3/projects/{pid}/tags"
    tags = ["€-euro", "日本語", "ünï", "50% off", "a?b#c", "tab\tand\"quote\"", "%E2%82%AC"]
    for tag in tags:
        resp = _api(admin, "PUT", f"{base}/{quote(tag, safe='')}")
        assert resp.status_code == 201, (tag, resp.status_code, resp.text)
        location = resp.headers["Location"]
        assert location == f"{cloud.identity_url}{base}/{quote(tag, safe='')}", tag
        assert location.isascii()
        assert httpx.get(location, headers={"X-Auth-Token": admin.session.get_token()}).status_code == 204, tag
    assert sorted(_api(admin, "GET", base).json()["tags"]) == sorted(tags)
    assert sorted(admin.identity.get_project(pid).tags) == sorted(tags)
    # Refused ones change nothing.
    for bad in ("x" * 256, "a,b"):
        assert _api(admin, "PUT", f"{base}/{quote(bad, safe='')}").status_code == 400
    assert _api(admin, "PUT", f"{base}/a%2Fb").status_code in (400, 404)  # an encoded "/" is a path separator
    assert sorted(_api(admin, "GET", base).json()["tags"]) == sorted(tags)
    assert _api(admin, "DELETE", f"{base}/{quote('€-euro', safe='')}").status_code == 204
    assert "€-euro" not in _api(admin, "GET", base).json()["tags"]
    admin.identity.delete_project(pid)


def test_list_filters(admin: Any) -> None:
    def ids(query: str) -> set[str]:
        return {p["id"] for p in _api(admin, "GET", f"/v3/projects?{query}").json()["projects"]}

    on = admin.identity.create_project(name=_name("on"))
    off = admin.identity.create_project(name=_name("off"), is_enabled=False)
    try:
        assert off.id in ids("enabled=false") and on.id not in ids("enabled=false")
        assert ids(f"name={on.name}") == {on.id}
        assert on.id in ids("domain_id=default") and not ids(f"domain_id={uuid.uuid4().hex}")
        assert "default" not in ids("") and "default" in ids("is_domain=true")
    finally:
        admin.identity.delete_project(on.id)
        admin.identity.delete_project(off.id)


def test_is_domain_project(admin: Any) -> None:
    resp = _api(admin, "POST", "/v3/projects", json={"project": {"name": _name("dom"), "is_domain": True}})
    assert resp.status_code == 201, resp.text
    doc = resp.json()["project"]
    assert doc["is_domain"] is True
    assert doc["id"] in {d["id"] for d in _api(admin, "GET", "/v3/domains").json()["domains"]}
    # The projects API also updates and deletes it (a domain must be disabled first).
    assert _api(admin, "DELETE", f"/v3/projects/{doc['id']}").status_code == 403
    assert _api(admin, "PATCH", f"/v3/projects/{doc['id']}", json={"project": {"enabled": False}}).status_code == 200
    assert _api(admin, "DELETE", f"/v3/projects/{doc['id']}").status_code == 204
    assert _api(admin, "GET", f"/v3/domains/{doc['id']}").status_code == 404


def test_disabling_project_revokes_its_tokens(fresh_cloud: RunningCloud) -> None:
    fresh_cloud.start()
    admin = fresh_cloud.sdk("devstack-admin")
    demo = fresh_cloud.sdk("devstack")
    token = demo.session.get_token()
    headers = {"X-Subject-Token": token}
    assert _api(admin, "GET", "/v3/auth/tokens", headers=headers).status_code == 200
    pid = admin.identity.find_project("demo").id
    assert _api(admin, "PATCH", f"/v3/projects/{pid}", json={"project": {"enabled": False}}).status_code == 200
    assert _api(admin, "GET", "/v3/auth/tokens", headers=headers).status_code == 404
    assert _api(admin, "PATCH", f"/v3/projects/{pid}", json={"project": {"enabled": True}}).status_code == 200
    # Re-enabling does not bring the old token back; a new one works.
    assert _api(admin, "GET", "/v3/auth/tokens", headers=headers).status_code == 404
    fresh = fresh_cloud.sdk("devstack").session.get_token()
    assert _api(admin, "GET", "/v3/auth/tokens", headers={"X-Subject-Token": fresh}).status_code == 200
