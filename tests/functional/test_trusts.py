"""Trusts (OS-TRUST): create/list/show/delete, trust-scoped tokens, and the refusals around them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import openstack
import requests

from tests.functional.cloud import RunningCloud

IDENTITY = {"service_type": "identity"}


def _call(conn: Any, method: str, path: str, **kw: Any) -> Any:
    return conn.session.request(path, method, endpoint_filter=IDENTITY, raise_exc=False, **kw)


def _trust_body(demo: Any, alt: Any, **over: Any) -> dict[str, Any]:
    body = {
        "trustor_user_id": demo.current_user_id, "trustee_user_id": alt.current_user_id,
        "project_id": demo.current_project_id, "impersonation": True, "roles": [{"name": "member"}],
    }
    body.update(over)
    return {"trust": body}


def _create(demo: Any, alt: Any, **over: Any) -> Any:
    return _call(demo, "POST", "/v3/OS-TRUST/trusts", json=_trust_body(demo, alt, **over))


def _trustee_auth(cloud: RunningCloud, trust_id: str, user: str = "devstack-alt") -> requests.Response:
    auth = cloud.cloud_config(user)["auth"]
    body: dict[str, Any] = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": auth["username"], "domain": {"id": auth["user_domain_id"]}, "password": auth["password"]}}},
        "scope": {"OS-TRUST:trust": {"id": trust_id}},
    }}
    return requests.post(f"{cloud.identity_url}/v3/auth/tokens", json=body, timeout=30)


def _validate(admin: Any, token: str) -> Any:
    return _call(admin, "GET", "/v3/auth/tokens", headers={"X-Subject-Token": token})


def _trust_ids(conn: Any, query: str) -> list[str]:
    resp = _call(conn, "GET", f"/v3/OS-TRUST/trusts{query}")
    assert resp.status_code == 200, resp.text
    return [t["id"] for t in resp.json()["trusts"]]


def test_create_show_roles_and_delete(admin: Any, demo: Any, alt: Any) -> None:
    expires = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0, tzinfo=None)
    resp = _create(demo, alt, expires_at=expires.isoformat() + "Z")
    assert resp.status_code == 201, resp.text
    trust = resp.json()["trust"]
    assert trust["expires_at"] == expires.isoformat() + ".000000Z"
    assert trust["impersonation"] is True and trust["remaining_uses"] is None
    assert trust["trustor_user_id"] == demo.current_user_id and trust["trustee_user_id"] == alt.current_user_id
    assert "v3/OS-TRUST/trusts" in trust["links"]["self"]
    assert [r["name"] for r in trust["roles"]] == ["member"]
    member_id = trust["roles"][0]["id"]
    assert f"v3/roles/{member_id}" in trust["roles"][0]["links"]["self"]
    path = f"/v3/OS-TRUST/trusts/{trust['id']}"
    for conn in (demo, alt, admin):
        assert _call(conn, "GET", path).json()["trust"]["id"] == trust["id"]
    roles = _call(alt, "GET", f"{path}/roles").json()["roles"]
    assert [r["id"] for r in roles] == [member_id]
    assert _call(demo, "GET", f"{path}/roles/{member_id}").json()["role"]["name"] == "member"
    assert _call(demo, "HEAD", f"{path}/roles/{member_id}").status_code == 200
    reader = _call(admin, "GET", "/v3/roles?name=reader").json()["roles"][0]["id"]
    assert _call(demo, "GET", f"{path}/roles/{reader}").status_code == 404
    assert _call(alt, "DELETE", path).status_code == 403  # only the trustor (or an admin) deletes
    assert _call(demo, "DELETE", path).status_code == 204
    assert _call(demo, "GET", path).status_code == 404
    assert _call(demo, "DELETE", path).status_code == 404


def test_list_filters_and_policy(admin: Any, demo: Any, alt: Any) -> None:
    trust = _create(demo, alt).json()["trust"]
    assert trust["id"] in _trust_ids(demo, f"?trustor_user_id={demo.current_user_id}")
    assert trust["id"] in _trust_ids(alt, f"/?trustee_user_id={alt.current_user_id}")
    assert trust["id"] in _trust_ids(admin, "")
    listed = _call(admin, "GET", "/v3/OS-TRUST/trusts/").json()["trusts"]
    assert next(t for t in listed if t["id"] == trust["id"])["project_id"] == demo.current_project_id
    assert _call(demo, "GET", "/v3/OS-TRUST/trusts").status_code == 403
    assert _call(demo, "GET", f"/v3/OS-TRUST/trusts?trustor_user_id={alt.current_user_id}").status_code == 403
    assert _call(alt, "GET", f"/v3/OS-TRUST/trusts?trustor_user_id={demo.current_user_id}").status_code == 403


def test_refused_creations_store_nothing(admin: Any, demo: Any, alt: Any) -> None:
    before = _trust_ids(demo, f"?trustor_user_id={demo.current_user_id}")
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cases = [
        ({"trustor_user_id": alt.current_user_id}, 403),  # only the trustor creates
        ({"roles": [{"name": "admin"}]}, 403),  # demo does not hold admin on demo
        ({"roles": [{"name": f"nope-{uuid.uuid4().hex[:6]}"}]}, 404),
        ({"trustee_user_id": uuid.uuid4().hex}, 404),
        ({"expires_at": past}, 400),
        ({"expires_at": "bad.123Z"}, 400),
        ({"remaining_uses": 0}, 400),
        ({"roles": [{"name": "member", "id": "x"}]}, 400),
    ]
    for over, status in cases:
        resp = _create(demo, alt, **over)
        assert resp.status_code == status, (over, resp.text)
    body = _trust_body(demo, alt)
    del body["trust"]["impersonation"]
    assert _call(demo, "POST", "/v3/OS-TRUST/trusts", json=body).status_code == 400
    assert _trust_ids(demo, f"?trustor_user_id={demo.current_user_id}") == before


def test_trust_token_impersonation_and_revocation(cloud: RunningCloud, admin: Any, demo: Any, alt: Any) -> None:
    trust = _create(demo, alt).json()["trust"]
    resp = _trustee_auth(cloud, trust["id"])
    assert resp.status_code == 201, resp.text
    token, doc = resp.headers["X-Subject-Token"], resp.json()["token"]
    assert doc["user"]["id"] == demo.current_user_id  # impersonating the trustor
    assert doc["project"]["id"] == demo.current_project_id
    assert doc["OS-TRUST:trust"] == {
        "id": trust["id"], "impersonation": True,
        "trustee_user": {"id": alt.current_user_id}, "trustor_user": {"id": demo.current_user_id},
    }
    assert {r["name"] for r in doc["roles"]} == {"member", "reader"}
    # Trust tokens cannot be rescoped.
    rescope = requests.post(f"{cloud.identity_url}/v3/auth/tokens", timeout=30, json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": token}},
        "scope": {"project": {"id": demo.current_project_id}}}})
    assert rescope.status_code == 403
    # Someone other than the trustee cannot use it.
    assert _trustee_auth(cloud, trust["id"], user="devstack-admin").status_code == 403
    assert _validate(admin, token).status_code == 200
    assert _call(demo, "DELETE", f"/v3/OS-TRUST/trusts/{trust['id']}").status_code == 204
    assert _validate(admin, token).status_code == 404
    assert _trustee_auth(cloud, trust["id"]).status_code == 404


def test_no_impersonation_and_remaining_uses(cloud: RunningCloud, demo: Any, alt: Any) -> None:
    trust = _create(demo, alt, impersonation=False, remaining_uses=2).json()["trust"]
    assert trust["remaining_uses"] == 2
    first = _trustee_auth(cloud, trust["id"])
    assert first.status_code == 201
    assert first.json()["token"]["user"]["id"] == alt.current_user_id
    assert _trustee_auth(cloud, trust["id"]).status_code == 201
    assert _trustee_auth(cloud, trust["id"]).status_code == 404  # used up
    assert _call(demo, "GET", f"/v3/OS-TRUST/trusts/{trust['id']}").status_code == 404


def test_sdk_trust_auth_and_redelegation(cloud: RunningCloud, admin: Any, demo: Any, alt: Any) -> None:
    trust = _create(demo, alt, impersonation=False, allow_redelegation=True).json()["trust"]
    assert trust["allow_redelegation"] is True and trust["redelegation_count"] == 3
    auth = cloud.cloud_config("devstack-alt")["auth"]
    conn = openstack.connect(auth_type="v3password", auth={
        "auth_url": cloud.identity_url, "username": auth["username"], "password": auth["password"],
        "user_domain_id": auth["user_domain_id"], "trust_id": trust["id"],
    })
    token = conn.session.get_token()
    assert token is not None
    assert _validate(admin, token).json()["token"]["OS-TRUST:trust"]["id"] == trust["id"]
    # The trustee redelegates to admin with its trust-scoped token.
    headers = {"X-Auth-Token": token}
    body = {"trust": {"trustor_user_id": alt.current_user_id, "trustee_user_id": admin.current_user_id,
                      "project_id": demo.current_project_id, "impersonation": False,
                      "roles": [{"name": "member"}], "allow_redelegation": True}}
    url = f"{cloud.identity_url}/v3/OS-TRUST/trusts"
    made = requests.post(url, json=body, headers=headers, timeout=30)
    assert made.status_code == 201, made.text
    child = made.json()["trust"]
    assert child["redelegated_trust_id"] == trust["id"] and child["redelegation_count"] == 2
    body["trust"]["roles"] = [{"name": "admin"}]  # more than was delegated
    assert requests.post(url, json=body, headers=headers, timeout=30).status_code == 403
    # Deleting the parent takes the redelegated trust with it.
    assert _call(demo, "DELETE", f"/v3/OS-TRUST/trusts/{trust['id']}").status_code == 204
    assert _call(admin, "GET", f"/v3/OS-TRUST/trusts/{child['id']}").status_code == 404


def test_cli_trust_lifecycle(cloud: RunningCloud, admin: Any, demo: Any, alt: Any) -> None:
    # A non-admin cannot look roles up by name, so (as with Keystone) the CLI is given the id.
    member = _call(admin, "GET", "/v3/roles?name=member").json()["roles"][0]["id"]
    created = cloud.cli(
        "trust", "create", "--project", demo.current_project_id, "--role", member, "--impersonate",
        demo.current_user_id, alt.current_user_id, cloud="devstack",
    )
    assert created["trustee_user_id"] == alt.current_user_id
    assert created["is_impersonation"] is True
    listed = cloud.cli("trust", "list", "--auth-user", cloud="devstack")
    assert created["id"] in [t["ID"] for t in listed]
    shown = cloud.cli("trust", "show", created["id"], cloud="devstack")
    assert shown["project_id"] == demo.current_project_id
    cloud.cli("trust", "delete", created["id"], cloud="devstack", json_out=False)
    assert _call(demo, "GET", f"/v3/OS-TRUST/trusts/{created['id']}").status_code == 404


def _temp_user(admin: Any, demo: Any, roles: tuple[str, ...] = ("member",)) -> tuple[Any, str]:
    """A throwaway user holding ``roles`` on the demo project; returns (user, password)."""
    password = uuid.uuid4().hex
    user = admin.identity.create_user(name=f"tmp-{uuid.uuid4().hex[:8]}", password=password, domain_id="default")
    for name in roles:
        role = admin.identity.find_role(name, ignore_missing=False)
        admin.identity.assign_project_role_to_user(demo.current_project_id, user.id, role.id)
    return user, password


def _password_token(cloud: RunningCloud, user_id: str, password: str, scope: Any) -> requests.Response:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": user_id, "password": password}}},
                     "scope": scope}}
    return requests.post(f"{cloud.identity_url}/v3/auth/tokens", json=body, timeout=30)


def test_trustor_disabled_or_deleted_invalidates(cloud: RunningCloud, admin: Any, demo: Any, alt: Any) -> None:
    for how in ("disable", "delete"):
        user, password = _temp_user(admin, demo)
        own = _password_token(cloud, user.id, password, {"project": {"id": demo.current_project_id}})
        headers = {"X-Auth-Token": own.headers["X-Subject-Token"]}
        made = requests.post(f"{cloud.identity_url}/v3/OS-TRUST/trusts", headers=headers, timeout=30,
                             json=_trust_body(demo, alt, trustor_user_id=user.id))
        assert made.status_code == 201, made.text
        trust_id = made.json()["trust"]["id"]
        token = _trustee_auth(cloud, trust_id).headers["X-Subject-Token"]
        assert _validate(admin, token).status_code == 200
        if how == "disable":
            admin.identity.update_user(user.id, enabled=False)
        else:
            admin.identity.delete_user(user.id)
        assert _validate(admin, token).status_code == 404
        assert _trustee_auth(cloud, trust_id).status_code in (401, 403, 404)
        if how == "disable":
            admin.identity.delete_user(user.id)
