"""Credentials (/v3/credentials) and OS-EC2, through the CLI, openstacksdk and raw HTTP."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import text

from tests.functional.cloud import RunningCloud

IDENTITY = {"service_type": "identity"}


def _call(conn: Any, method: str, path: str, **kw: Any) -> Any:
    return conn.session.request(path, method, endpoint_filter=IDENTITY, raise_exc=False, **kw)


def _ec2_blob(access: str | None = None, secret: str | None = None) -> str:
    return json.dumps({"access": access or uuid.uuid4().hex, "secret": secret or uuid.uuid4().hex})


def _create(conn: Any, **cred: Any) -> Any:
    return _call(conn, "POST", "/v3/credentials", json={"credential": cred})


def _ids(conn: Any, query: str = "") -> list[str]:
    resp = _call(conn, "GET", f"/v3/credentials{query}")
    assert resp.status_code == 200, resp.text
    return [c["id"] for c in resp.json()["credentials"]]


def test_cli_credential_crud(cloud: RunningCloud, demo: Any) -> None:
    access = uuid.uuid4().hex
    created = cloud.cli("credential", "create", "--type", "ec2", "--project", demo.current_project_id,
                        demo.current_user_id, _ec2_blob(access, "s1"))
    assert created["id"] == hashlib.sha256(access.encode()).hexdigest()
    assert created["type"] == "ec2" and json.loads(created["blob"])["secret"] == "s1"
    assert created["id"] in [c["ID"] for c in cloud.cli("credential", "list", "--type", "ec2")]
    new_blob = _ec2_blob(uuid.uuid4().hex, "s2")
    cloud.cli("credential", "set", "--user", demo.current_user_id, "--type", "ec2", "--data", new_blob,
              "--project", demo.current_project_id, created["id"], json_out=False)
    shown = cloud.cli("credential", "show", created["id"])
    assert json.loads(shown["blob"])["secret"] == "s2" and shown["project_id"] == demo.current_project_id
    cloud.cli("credential", "delete", created["id"], json_out=False)
    assert created["id"] not in _ids(demo)


def test_owner_and_admin_visibility(admin: Any, demo: Any, alt: Any) -> None:
    resp = _create(demo, user_id=demo.current_user_id, type="cert", blob="-----BEGIN-----")
    assert resp.status_code == 201, resp.text
    cred = resp.json()["credential"]
    assert cred["links"]["self"].endswith(f"/v3/credentials/{cred['id']}")
    assert cred["project_id"] is None and cred["blob"] == "-----BEGIN-----"
    assert cred["id"] in _ids(demo)
    assert cred["id"] in _ids(admin, f"?user_id={demo.current_user_id}&type=cert")
    assert cred["id"] not in _ids(admin, f"?user_id={demo.current_user_id}&type=ec2")
    assert cred["id"] not in _ids(alt)
    assert _ids(alt, f"?user_id={demo.current_user_id}") == []
    path = f"/v3/credentials/{cred['id']}"
    assert _call(alt, "GET", path).status_code == 403
    assert _call(alt, "PATCH", path, json={"credential": {"blob": "stolen"}}).status_code == 403
    assert _call(alt, "DELETE", path).status_code == 403
    assert _create(alt, user_id=demo.current_user_id, type="cert", blob="x").status_code == 403
    assert _call(demo, "GET", path).json()["credential"]["blob"] == "-----BEGIN-----"
    updated = _call(demo, "PATCH", path, json={"credential": {"blob": "renewed"}})
    assert updated.status_code == 200 and updated.json()["credential"]["blob"] == "renewed"
    # Giving the credential to another user is refused for a non-admin.
    assert _call(demo, "PATCH", path, json={"credential": {"user_id": alt.current_user_id}}).status_code == 403
    assert _call(admin, "GET", path).json()["credential"]["user_id"] == demo.current_user_id
    assert _call(demo, "DELETE", path).status_code == 204
    assert _call(admin, "GET", path).status_code == 404


def test_sdk_credentials(admin: Any, demo: Any) -> None:
    cred = demo.identity.create_credential(user_id=demo.current_user_id, type="totp", blob="GEZDGNBVGY3TQOJQ")
    assert cred.type == "totp"
    found = [c.id for c in admin.identity.credentials(user_id=demo.current_user_id, type="totp")]
    assert cred.id in found
    assert admin.identity.get_credential(cred.id).blob == "GEZDGNBVGY3TQOJQ"
    demo.identity.delete_credential(cred.id)
    assert admin.identity.find_credential(cred.id) is None


def test_ec2_type_rules(cloud: RunningCloud, admin: Any, demo: Any) -> None:
    before = _ids(admin)
    access = uuid.uuid4().hex
    resp = _create(demo, user_id=demo.current_user_id, project_id=demo.current_project_id, type="ec2",
                   blob=_ec2_blob(access, "very-secret-value"))
    assert resp.status_code == 201, resp.text
    cred_id = resp.json()["credential"]["id"]
    assert cred_id == hashlib.sha256(access.encode()).hexdigest()
    refused = [
        ({"project_id": demo.current_project_id, "blob": _ec2_blob(access)}, 409),
        ({"blob": _ec2_blob()}, 400),  # ec2 needs a project
        ({"project_id": demo.current_project_id, "blob": "not json"}, 400),
        ({"project_id": demo.current_project_id, "blob": json.dumps({"secret": "no access"})}, 400),
        ({"project_id": demo.current_project_id, "blob": {"access": "a"}}, 400),
    ]
    for extra, status in refused:
        resp = _create(demo, user_id=demo.current_user_id, type="ec2", **extra)
        assert resp.status_code == status, (extra, resp.text)
    assert _create(demo, type="cert", blob="x").status_code == 400  # no user_id
    assert _call(demo, "PATCH", f"/v3/credentials/{cred_id}",
                 json={"credential": {"project_id": None}}).status_code == 400
    assert sorted(_ids(admin)) == sorted([*before, cred_id])
    # The blob is encrypted at rest, with the key's fingerprint alongside.
    with cloud.engine() as engine, engine.connect() as db:
        row = db.execute(text("SELECT encrypted_blob, key_hash FROM credential WHERE id = :id"),
                         {"id": cred_id}).mappings().one()
    stored, key_hash = row["encrypted_blob"], row["key_hash"]
    assert "very-secret-value" not in stored and access not in stored
    assert len(key_hash) == 64 and int(key_hash, 16) >= 0
    assert _call(demo, "DELETE", f"/v3/credentials/{cred_id}").status_code == 204


def test_os_ec2_cli(cloud: RunningCloud, demo: Any, alt: Any) -> None:
    created = cloud.cli("ec2", "credentials", "create", cloud="devstack")
    access = created["access"]
    assert created["secret"] and created["project_id"] == demo.current_project_id
    assert created["user_id"] == demo.current_user_id
    listed = cloud.cli("ec2", "credentials", "list", cloud="devstack")
    assert access in [c["Access"] for c in listed]
    shown = cloud.cli("ec2", "credentials", "show", access, cloud="devstack")
    assert shown["secret"] == created["secret"]
    # The same credential is visible as an ec2-type credential with the hashed id.
    cred_id = hashlib.sha256(access.encode()).hexdigest()
    blob = _call(demo, "GET", f"/v3/credentials/{cred_id}").json()["credential"]["blob"]
    assert json.loads(blob)["access"] == access
    cloud.cli("ec2", "credentials", "delete", access, cloud="devstack", json_out=False)
    assert access not in [c["Access"] for c in cloud.cli("ec2", "credentials", "list", cloud="devstack")]


def test_os_ec2_api(admin: Any, demo: Any, alt: Any) -> None:
    base = f"/v3/users/{demo.current_user_id}/credentials/OS-EC2"
    resp = _call(demo, "POST", base, json={"tenant_id": demo.current_project_id})
    assert resp.status_code == 201, resp.text
    cred = resp.json()["credential"]
    assert set(cred) >= {"user_id", "tenant_id", "access", "secret", "trust_id", "links"}
    assert cred["links"]["self"].endswith(f"{base}/{cred['access']}")
    assert _call(demo, "GET", f"{base}/{cred['access']}").json()["credential"]["secret"] == cred["secret"]
    assert cred["access"] in [c["access"] for c in _call(admin, "GET", base).json()["credentials"]]
    assert _call(alt, "GET", base).status_code == 403
    assert _call(alt, "POST", base, json={"tenant_id": demo.current_project_id}).status_code == 403
    assert _call(alt, "GET", f"{base}/{cred['access']}").status_code == 403
    assert _call(alt, "DELETE", f"{base}/{cred['access']}").status_code == 403
    alt_base = f"/v3/users/{alt.current_user_id}/credentials/OS-EC2"
    assert _call(alt, "GET", f"{alt_base}/{cred['access']}").status_code == 404
    assert _call(demo, "POST", base, json={"tenant_id": uuid.uuid4().hex}).status_code == 404
    assert _call(demo, "POST", base, json={}).status_code == 400
    assert _call(demo, "DELETE", f"{base}/{cred['access']}").status_code == 204
    assert _call(demo, "GET", f"{base}/{cred['access']}").status_code == 404
    assert cred["access"] not in [c["access"] for c in _call(demo, "GET", base).json()["credentials"]]
