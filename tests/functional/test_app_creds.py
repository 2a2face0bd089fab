"""Application credentials and access rules, through the CLI, openstacksdk and raw HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import openstack
import pytest
import requests
from keystoneauth1 import exceptions as ks_exc

from tests.functional.cloud import RunningCloud, wait_until

IDENTITY = {"service_type": "identity"}


def _name(prefix: str = "ac") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _call(conn: Any, method: str, path: str, **kw: Any) -> Any:
    return conn.session.request(path, method, endpoint_filter=IDENTITY, raise_exc=False, **kw)


def _create(conn: Any, user_id: str, **body: Any) -> Any:
    body.setdefault("name", _name())
    return _call(conn, "POST", f"/v3/users/{user_id}/application_credentials", json={"application_credential": body})


def _auth(cloud: RunningCloud, identity: dict[str, Any], scope: Any = None) -> requests.Response:
    body: dict[str, Any] = {"auth": {"identity": identity}}
    if scope is not None:
        body["auth"]["scope"] = scope
    return requests.post(f"{cloud.identity_url}/v3/auth/tokens", json=body, timeout=30)


def _app_cred_identity(cred_id: str, secret: str) -> dict[str, Any]:
    return {"methods": ["application_credential"], "application_credential": {"id": cred_id, "secret": secret}}


def _validate(admin: Any, token: str) -> Any:
    return _call(admin, "GET", "/v3/auth/tokens", headers={"X-Subject-Token": token})


def _names(conn: Any, user_id: str) -> list[str]:
    resp = _call(conn, "GET", f"/v3/users/{user_id}/application_credentials")
    assert resp.status_code == 200
    return sorted(c["name"] for c in resp.json()["application_credentials"])


def test_cli_lifecycle(cloud: RunningCloud, demo: Any) -> None:
    name = _name()
    created = cloud.cli("application", "credential", "create", name, "--description", "for ci", cloud="devstack")
    assert created["Name"] == name and created["Description"] == "for ci"
    assert created["Secret"] and len(created["Secret"]) >= 32
    assert created["Project ID"] == demo.current_project_id
    assert created["Unrestricted"] is False
    assert "member" in [r["name"] for r in created["Roles"]]
    listed = cloud.cli("application", "credential", "list", cloud="devstack")
    assert name in [c["Name"] for c in listed]
    shown = cloud.cli("application", "credential", "show", name, cloud="devstack")
    assert shown["ID"] == created["ID"]
    assert "Secret" not in shown
    raw = _call(demo, "GET", f"/v3/users/{demo.current_user_id}/application_credentials/{created['ID']}").json()
    assert "secret" not in raw["application_credential"]
    assert {r["name"] for r in raw["application_credential"]["roles"]} >= {"member"}
    cloud.cli("application", "credential", "delete", name, cloud="devstack", json_out=False)
    assert name not in _names(demo, demo.current_user_id)


def test_sdk_auth_with_app_cred_and_delete_revokes(cloud: RunningCloud, admin: Any, demo: Any) -> None:
    user_id = demo.current_user_id
    resp = _create(demo, user_id, secret="s3cret-value-for-test")
    assert resp.status_code == 201, resp.text
    cred = resp.json()["application_credential"]
    assert cred["secret"] == "s3cret-value-for-test"
    assert cred["links"]["self"].endswith(f"/v3/users/{user_id}/application_credentials/{cred['id']}")
    conn = openstack.connect(auth_type="v3applicationcredential", auth={
        "auth_url": cloud.identity_url, "application_credential_id": cred["id"],
        "application_credential_secret": "s3cret-value-for-test",
    })
    token = conn.session.get_token()
    assert token is not None
    body = _validate(admin, token).json()["token"]
    assert body["methods"] == ["application_credential"]
    assert body["user"]["id"] == user_id
    assert body["project"]["id"] == demo.current_project_id
    assert body["application_credential"] == {"id": cred["id"], "name": cred["name"], "restricted": True}
    assert "member" in {r["name"] for r in body["roles"]}
    # An app-cred token cannot be rescoped into something broader.
    rescope = _auth(cloud, {"methods": ["token"], "token": {"id": token}},
                    {"project": {"id": demo.current_project_id}})
    assert rescope.status_code == 403
    resp = _call(demo, "DELETE", f"/v3/users/{user_id}/application_credentials/{cred['id']}")
    assert resp.status_code == 204
    assert _validate(admin, token).status_code == 404
    assert _auth(cloud, _app_cred_identity(cred["id"], "s3cret-value-for-test")).status_code == 401
    again = _call(demo, "DELETE", f"/v3/users/{user_id}/application_credentials/{cred['id']}")
    assert again.status_code == 404


def test_auth_by_name_and_user(cloud: RunningCloud, demo: Any) -> None:
    resp = _create(demo, demo.current_user_id)
    cred = resp.json()["application_credential"]
    conn = openstack.connect(auth_type="v3applicationcredential", auth={
        "auth_url": cloud.identity_url, "application_credential_name": cred["name"],
        "application_credential_secret": cred["secret"], "username": "demo", "user_domain_name": "Default",
    })
    assert conn.session.get_token()
    assert conn.session.get_project_id() == demo.current_project_id


def test_wrong_secret_unknown_id_and_expiry(cloud: RunningCloud, demo: Any) -> None:
    cred = _create(demo, demo.current_user_id).json()["application_credential"]
    assert _auth(cloud, _app_cred_identity(cred["id"], "not-the-secret")).status_code == 401
    assert _auth(cloud, _app_cred_identity(uuid.uuid4().hex, cred["secret"])).status_code == 401
    assert _auth(cloud, {"methods": ["application_credential"], "application_credential": {"id": cred["id"]}}
                 ).status_code == 400
    soon = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=2)
    short = _create(demo, demo.current_user_id, expires_at=soon.isoformat()).json()["application_credential"]
    assert short["expires_at"] == soon.strftime("%Y-%m-%dT%H:%M:%S.%f")
    wait_until(lambda: _auth(cloud, _app_cred_identity(short["id"], short["secret"])).status_code == 401,
               timeout=15, what="app cred expiry")


def test_roles_subset_and_refusals(cloud: RunningCloud, admin: Any, demo: Any) -> None:
    user_id = demo.current_user_id
    before = _names(demo, user_id)
    resp = _create(demo, user_id, roles=[{"name": "reader"}])
    assert resp.status_code == 201, resp.text
    cred = resp.json()["application_credential"]
    assert [r["name"] for r in cred["roles"]] == ["reader"]
    token = _auth(cloud, _app_cred_identity(cred["id"], cred["secret"]))
    assert token.status_code == 201
    assert [r["name"] for r in token.json()["token"]["roles"]] == ["reader"]
    # A role the user does not hold, an unknown role, a duplicate name, a bad body: refused, nothing stored.
    assert _create(demo, user_id, roles=[{"name": "admin"}]).status_code == 404
    assert _create(demo, user_id, roles=[{"id": uuid.uuid4().hex}]).status_code == 404
    assert _create(demo, user_id, name=cred["name"]).status_code == 409
    assert _call(demo, "POST", f"/v3/users/{user_id}/application_credentials",
                 json={"application_credential": {"description": "no name"}}).status_code == 400
    assert _create(demo, user_id, bogus="x").status_code == 400
    assert _create(demo, user_id, expires_at="not-a-time").status_code == 400
    assert _create(demo, user_id, expires_at="2001-01-01T00:00:00").status_code == 400
    assert _names(demo, user_id) == sorted([*before, cred["name"]])


def test_other_users_creds_are_private(alt: Any, demo: Any) -> None:
    cred = _create(demo, demo.current_user_id).json()["application_credential"]
    path = f"/v3/users/{demo.current_user_id}/application_credentials"
    assert _call(alt, "GET", f"{path}/{cred['id']}").status_code == 403
    assert _call(alt, "GET", path).status_code == 403
    assert _call(alt, "DELETE", f"{path}/{cred['id']}").status_code == 403
    assert _create(alt, demo.current_user_id).status_code == 403
    # Under alt's own user the credential simply does not exist.
    assert _call(alt, "GET", f"/v3/users/{alt.current_user_id}/application_credentials/{cred['id']}"
                 ).status_code == 404
    assert _call(demo, "GET", f"{path}/{uuid.uuid4().hex}").status_code == 404
    filtered = _call(demo, "GET", f"{path}?name={cred['name']}").json()["application_credentials"]
    assert [c["id"] for c in filtered] == [cred["id"]]


def test_restricted_token_cannot_delegate(cloud: RunningCloud, demo: Any, alt: Any) -> None:
    user_id = demo.current_user_id
    restricted = _create(demo, user_id).json()["application_credential"]
    unrestricted = _create(demo, user_id, unrestricted=True).json()["application_credential"]
    assert unrestricted["unrestricted"] is True
    for cred, allowed in ((restricted, False), (unrestricted, True)):
        token = _auth(cloud, _app_cred_identity(cred["id"], cred["secret"])).headers["X-Subject-Token"]
        headers = {"X-Auth-Token": token}
        base = f"{cloud.identity_url}/v3"
        made = requests.post(f"{base}/users/{user_id}/application_credentials", headers=headers, timeout=30,
                             json={"application_credential": {"name": _name()}})
        assert made.status_code == (201 if allowed else 403), made.text
        trust = requests.post(f"{base}/OS-TRUST/trusts", headers=headers, timeout=30, json={"trust": {
            "trustor_user_id": user_id, "trustee_user_id": alt.current_user_id, "impersonation": False,
            "project_id": demo.current_project_id, "roles": [{"name": "member"}]}})
        assert trust.status_code == (201 if allowed else 403), trust.text


def test_access_rules(cloud: RunningCloud, demo: Any) -> None:
    user_id = demo.current_user_id
    rule = {"service": "compute", "path": f"/v2.1/servers/{uuid.uuid4().hex}/ips", "method": "GET"}
    first = _create(demo, user_id, access_rules=[rule]).json()["application_credential"]
    second = _create(demo, user_id, access_rules=[rule]).json()["application_credential"]
    rule_id = first["access_rules"][0]["id"]
    assert {k: v for k, v in first["access_rules"][0].items() if k != "id"} == rule
    assert second["access_rules"][0]["id"] == rule_id  # identical rules are shared
    third = _create(demo, user_id, access_rules=[{"id": rule_id}]).json()["application_credential"]
    assert third["access_rules"][0]["id"] == rule_id
    token = _auth(cloud, _app_cred_identity(first["id"], first["secret"])).json()["token"]
    assert token["application_credential"]["access_rules"] == [{"id": rule_id, **rule}]
    listed = cloud.cli("access", "rule", "list", cloud="devstack")
    assert rule_id in [r["ID"] for r in listed]
    shown = cloud.cli("access", "rule", "show", rule_id, cloud="devstack")
    assert shown["Path"] == rule["path"] and shown["Service"] == "compute"
    assert _create(demo, user_id, access_rules=[{"service": "compute", "path": "/x", "method": "FETCH"}]
                   ).status_code == 400
    assert _create(demo, user_id, access_rules=[{"id": uuid.uuid4().hex}]).status_code == 404
    # An existing id with service/path/method given is that rule (once answered 500: a second row, same id).
    fourth = _create(demo, user_id, access_rules=[{"id": rule_id, "service": "image", "path": "/v2/images",
                                                   "method": "GET"}])
    assert fourth.status_code == 201, fourth.text
    assert fourth.json()["application_credential"]["access_rules"] == [{"id": rule_id, **rule}]
    path = f"/v3/users/{user_id}/access_rules/{rule_id}"
    assert _call(demo, "DELETE", path).status_code == 403  # still in use
    for cred in (first, second, third, fourth.json()["application_credential"]):
        _call(demo, "DELETE", f"/v3/users/{user_id}/application_credentials/{cred['id']}")
    assert _call(demo, "GET", path).status_code == 200
    cloud.cli("access", "rule", "delete", rule_id, cloud="devstack", json_out=False)
    assert _call(demo, "GET", path).status_code == 404


def test_unauthenticated_is_401(cloud: RunningCloud, demo: Any) -> None:
    url = f"{cloud.identity_url}/v3/users/{demo.current_user_id}/application_credentials"
    assert requests.get(url, timeout=30).status_code == 401
    with pytest.raises(ks_exc.Unauthorized):
        openstack.connect(auth_type="v3applicationcredential", auth={
            "auth_url": cloud.identity_url, "application_credential_id": uuid.uuid4().hex,
            "application_credential_secret": "nope",
        }).session.get_token()


def test_role_removal_and_user_deletion(cloud: RunningCloud, admin: Any, demo: Any) -> None:
    password = uuid.uuid4().hex
    user = admin.identity.create_user(name=_name("tmp"), password=password, domain_id="default")
    member = admin.identity.find_role("member", ignore_missing=False)
    reader = admin.identity.find_role("reader", ignore_missing=False)
    for role in (member, reader):
        admin.identity.assign_project_role_to_user(demo.current_project_id, user.id, role.id)
    conn = openstack.connect(auth_type="password", auth={
        "auth_url": cloud.identity_url, "user_id": user.id, "password": password,
        "project_id": demo.current_project_id,
    })
    cred = _create(conn, user.id, roles=[{"id": member.id}, {"id": reader.id}]).json()["application_credential"]
    token = _auth(cloud, _app_cred_identity(cred["id"], cred["secret"]))
    assert {r["name"] for r in token.json()["token"]["roles"]} == {"member", "reader"}
    admin.identity.unassign_project_role_from_user(demo.current_project_id, user.id, member.id)
    # Old tokens are revoked with the grant; new ones carry only what the user still holds.
    token = _auth(cloud, _app_cred_identity(cred["id"], cred["secret"]))
    assert token.status_code == 201, token.text
    assert [r["name"] for r in token.json()["token"]["roles"]] == ["reader"]
    assert _validate(admin, token.headers["X-Subject-Token"]).status_code == 200
    admin.identity.delete_user(user.id)
    assert _auth(cloud, _app_cred_identity(cred["id"], cred["secret"])).status_code == 401
    assert _validate(admin, token.headers["X-Subject-Token"]).status_code == 404
