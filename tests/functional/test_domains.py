"""Keystone v3 domains: CRUD, filters, delete rules and cascade, policy."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.functional.cloud import RunningCloud


def _name(prefix: str = "d") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _api(conn: Any, method: str, path: str, **kw: Any) -> Any:
    return conn.session.request(path, method, endpoint_filter={"service_type": "identity"}, raise_exc=False, **kw)


def _domain_ids(admin: Any, query: str = "") -> set[str]:
    return {d["id"] for d in _api(admin, "GET", f"/v3/domains?{query}").json()["domains"]}


def test_cli_lifecycle(cloud: RunningCloud, admin: Any) -> None:
    name = _name()
    created = cloud.cli("domain", "create", "--description", "mine", name)
    assert created["name"] == name and created["enabled"] is True and created["description"] == "mine"
    denied = cloud.cli("domain", "delete", name, check=False, json_out=False)
    assert denied.returncode != 0 and "please disable it first" in denied.stderr
    assert created["id"] in _domain_ids(admin)
    cloud.cli("domain", "set", "--disable", "--description", "off", name, json_out=False)
    shown = cloud.cli("domain", "show", name)
    assert shown["enabled"] is False and shown["description"] == "off"
    cloud.cli("domain", "delete", name, json_out=False)
    assert created["id"] not in _domain_ids(admin)


def test_create_response_equals_list_entry_and_filters(admin: Any) -> None:
    on = _api(admin, "POST", "/v3/domains", json={"domain": {"name": _name()}}).json()["domain"]
    off = _api(admin, "POST", "/v3/domains", json={"domain": {"name": _name(), "enabled": False}}).json()["domain"]
    try:
        assert on["description"] == "" and on["links"]["self"].endswith(f"/v3/domains/{on['id']}")
        enabled = _api(admin, "GET", "/v3/domains?enabled=true").json()["domains"]
        assert on in enabled and all(d["enabled"] for d in enabled)
        assert off["id"] in _domain_ids(admin, "enabled=false") and on["id"] not in _domain_ids(admin, "enabled=false")
        assert _domain_ids(admin, f"name={on['name']}") == {on["id"]}
    finally:
        for d in (on, off):
            _api(admin, "PATCH", f"/v3/domains/{d['id']}", json={"domain": {"enabled": False}})
            assert _api(admin, "DELETE", f"/v3/domains/{d['id']}").status_code == 204


def test_explicit_id_and_conflicts(admin: Any) -> None:
    explicit = uuid.uuid4().hex
    name = _name()
    resp = _api(admin, "POST", "/v3/domains", json={"domain": {"name": name, "explicit_domain_id": explicit}})
    assert resp.status_code == 201 and resp.json()["domain"]["id"] == explicit
    before = _domain_ids(admin)
    assert _api(admin, "POST", "/v3/domains", json={"domain": {"name": name}}).status_code == 409
    dup_id = {"domain": {"name": _name(), "explicit_domain_id": explicit}}
    assert _api(admin, "POST", "/v3/domains", json=dup_id).status_code == 409
    assert _domain_ids(admin) == before
    _api(admin, "PATCH", f"/v3/domains/{explicit}", json={"domain": {"enabled": False}})
    assert _api(admin, "DELETE", f"/v3/domains/{explicit}").status_code == 204


@pytest.mark.parametrize(
    "body",
    [
        {"domain": {"name": ""}},
        {"domain": {"name": "a" * 65}},
        {"domain": {"name": "x", "enabled": "perhaps"}},
        {"domain": {"name": "x", "explicit_domain_id": "not/valid"}},
        {"domain": {}},
    ],
)
def test_bad_bodies_are_400(admin: Any, body: dict[str, Any]) -> None:
    before = _domain_ids(admin)
    assert _api(admin, "POST", "/v3/domains", json=body).status_code == 400
    assert _domain_ids(admin) == before


def test_unknown_domain_is_404(admin: Any) -> None:
    missing = uuid.uuid4().hex
    assert _api(admin, "GET", f"/v3/domains/{missing}").status_code == 404
    assert _api(admin, "DELETE", f"/v3/domains/{missing}").status_code == 404
    assert _api(admin, "PATCH", f"/v3/domains/{missing}", json={"domain": {"name": "x"}}).status_code == 404
    # A project id is not a domain id.
    demo_project = admin.identity.find_project("demo").id
    assert _api(admin, "GET", f"/v3/domains/{demo_project}").status_code == 404


def test_member_policy(admin: Any, demo: Any) -> None:
    assert _api(demo, "GET", "/v3/domains").status_code == 403
    assert _api(demo, "POST", "/v3/domains", json={"domain": {"name": _name()}}).status_code == 403
    # Anyone scoped to a project in the default domain may read it (tempest's test_default_domain_exists).
    resp = _api(demo, "GET", "/v3/domains/default")
    assert resp.status_code == 200 and resp.json()["domain"]["enabled"] is True
    assert _api(demo, "PATCH", "/v3/domains/default", json={"domain": {"description": "x"}}).status_code == 403


def test_delete_cascades_content(cloud: RunningCloud, admin: Any) -> None:
    dname = _name()
    domain = cloud.cli("domain", "create", dname)
    project = cloud.cli("project", "create", "--domain", dname, _name("p"))
    child = cloud.cli("project", "create", "--domain", dname, "--parent", project["id"], _name("c"))
    user = cloud.cli("user", "create", "--domain", dname, "--password", "pw", _name("u"))
    group = cloud.cli("group", "create", "--domain", dname, _name("g"))
    cloud.cli("group", "add", "user", "--group-domain", dname, "--user-domain", dname, group["id"], user["id"],
              json_out=False)
    assert project["domain_id"] == domain["id"] and user["domain_id"] == domain["id"]
    cloud.cli("domain", "set", "--disable", dname, json_out=False)
    cloud.cli("domain", "delete", dname, json_out=False)
    for path in (f"domains/{domain['id']}", f"projects/{project['id']}", f"projects/{child['id']}",
                 f"users/{user['id']}", f"groups/{group['id']}"):
        assert _api(admin, "GET", f"/v3/{path}").status_code == 404, path


def test_disabled_domain_blocks_its_users(cloud: RunningCloud, admin: Any) -> None:
    dname = _name()
    domain = cloud.cli("domain", "create", dname)
    cloud.cli("user", "create", "--domain", dname, "--password", "pw", "someone")
    auth = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": "someone", "domain": {"id": domain["id"]}, "password": "pw"}}}}}
    assert _api(admin, "POST", "/v3/auth/tokens", json=auth, authenticated=False).status_code == 201
    cloud.cli("domain", "set", "--disable", dname, json_out=False)
    assert _api(admin, "POST", "/v3/auth/tokens", json=auth, authenticated=False).status_code == 401
    cloud.cli("domain", "delete", dname, json_out=False)
