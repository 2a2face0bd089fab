"""Compute key pairs: import and generate, fingerprints, per-user namespace, quota, microversions."""

from __future__ import annotations

import base64
import hashlib
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.functional.cloud import RunningCloud
from tests.functional.compute_support import call, module_cloud

ccloud = module_cloud("compute-keypairs", {"ONESTACK_COMPUTE__ENABLED": "true"})


def new_public_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + " me@host"


def md5_fingerprint(public_key: str) -> str:
    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).digest()
    return ":".join(f"{b:02x}" for b in digest)


def uniq() -> str:
    return f"kp-{uuid.uuid4().hex[:10]}"


def test_cli_import_and_generate(ccloud: RunningCloud, tmp_path: Path) -> None:
    pub = new_public_key()
    path = tmp_path / "id.pub"
    path.write_text(pub)
    name = uniq()
    created = ccloud.cli("keypair", "create", "--public-key", str(path), name, cloud="devstack")
    assert created["fingerprint"] == md5_fingerprint(pub)
    shown = ccloud.cli("keypair", "show", name, cloud="devstack")
    assert shown["fingerprint"] == md5_fingerprint(pub) and shown["type"] == "ssh"
    generated = ccloud.cli("keypair", "create", uniq(), cloud="devstack", json_out=False)
    assert "PRIVATE KEY" in generated.stdout
    names = [k["Name"] for k in ccloud.cli("keypair", "list", cloud="devstack")]
    assert name in names and len(names) == 2
    # Key pairs are per user: admin does not see demo's.
    assert name not in [k["Name"] for k in ccloud.cli("keypair", "list")]
    ccloud.cli("keypair", "delete", name, cloud="devstack", json_out=False)
    assert ccloud.cli("keypair", "show", name, cloud="devstack", check=False).returncode != 0


def test_server_side_generation_and_versions(cdemo: Any) -> None:
    name = uniq()
    old = call(cdemo, "POST", "/os-keypairs", body={"keypair": {"name": name}})
    assert old.status_code == 200
    body = old.json()["keypair"]
    assert "BEGIN RSA PRIVATE KEY" in body["private_key"] and body["public_key"].startswith("ssh-rsa ")
    assert body["fingerprint"] == md5_fingerprint(body["public_key"]) and "type" not in body
    detail = call(cdemo, "GET", f"/os-keypairs/{name}").json()["keypair"]
    assert detail["deleted"] is False and isinstance(detail["id"], int) and detail["user_id"] == body["user_id"]
    assert call(cdemo, "DELETE", f"/os-keypairs/{name}").status_code == 202
    x509 = call(cdemo, "POST", "/os-keypairs", mv="2.2", body={"keypair": {"name": name, "type": "x509"}})
    assert x509.status_code == 201
    cert = x509.json()["keypair"]
    assert cert["type"] == "x509" and "BEGIN CERTIFICATE" in cert["public_key"] and len(cert["fingerprint"]) == 59
    assert call(cdemo, "DELETE", f"/os-keypairs/{name}", mv="2.2").status_code == 204
    refused = call(cdemo, "POST", "/os-keypairs", mv="2.92", body={"keypair": {"name": name}})
    assert refused.status_code == 400
    dotted = call(cdemo, "POST", "/os-keypairs", mv="2.92",
                  body={"keypair": {"name": "me@host.x", "public_key": new_public_key()}})
    assert dotted.status_code == 201
    assert call(cdemo, "POST", "/os-keypairs", mv="2.91",
                body={"keypair": {"name": "me@host.y", "public_key": new_public_key()}}).status_code == 400


def test_negatives_leave_nothing_behind(cdemo: Any) -> None:
    before = call(cdemo, "GET", "/os-keypairs").json()["keypairs"]
    name = uniq()
    for bad in ({"name": name, "public_key": "ssh-rsa JUNK nova@ubuntu"}, {"name": name, "public_key": " "},
                {"name": name, "public_key": "ssh-rsa " + "A" * 2048 + " x@y"}, {"name": ""},
                {"name": "k" * 256}, {"name": r"key_/.\@:"}, {"name": name, "bogus": 1}):
        resp = call(cdemo, "POST", "/os-keypairs", body={"keypair": bad})
        assert resp.status_code == 400, (bad, resp.text)
        assert resp.json()["badRequest"]["code"] == 400
    assert call(cdemo, "POST", "/os-keypairs", mv="2.2",
                body={"keypair": {"name": name, "type": "pgp"}}).status_code == 400
    assert call(cdemo, "GET", "/os-keypairs").json()["keypairs"] == before
    missing = call(cdemo, "DELETE", f"/os-keypairs/{name}")
    assert missing.status_code == 404 and "itemNotFound" in missing.json()
    pub = new_public_key()
    assert call(cdemo, "POST", "/os-keypairs", body={"keypair": {"name": name, "public_key": pub}}).status_code == 200
    dup = call(cdemo, "POST", "/os-keypairs", body={"keypair": {"name": name, "public_key": pub}})
    assert dup.status_code == 409 and "conflictingRequest" in dup.json()
    call(cdemo, "DELETE", f"/os-keypairs/{name}")


def test_admin_manages_other_users_keys(cadmin: Any, cdemo: Any) -> None:
    demo_user = cdemo.current_user_id
    name = uniq()
    made = call(cadmin, "POST", "/os-keypairs", mv="2.10",
                body={"keypair": {"name": name, "public_key": new_public_key(), "user_id": demo_user}})
    assert made.status_code == 201 and made.json()["keypair"]["user_id"] == demo_user
    assert name in [k["keypair"]["name"] for k in call(cdemo, "GET", "/os-keypairs").json()["keypairs"]]
    listed = call(cadmin, "GET", f"/os-keypairs?user_id={demo_user}", mv="2.10").json()["keypairs"]
    assert name in [k["keypair"]["name"] for k in listed]
    forbidden = call(cdemo, "GET", f"/os-keypairs?user_id={cadmin.current_user_id}", mv="2.10")
    assert forbidden.status_code == 403 and "forbidden" in forbidden.json()
    assert call(cadmin, "DELETE", f"/os-keypairs/{name}?user_id={demo_user}", mv="2.10").status_code == 204
    assert call(cdemo, "GET", f"/os-keypairs/{name}").status_code == 404


def test_pagination_and_quota(cadmin: Any, ccloud: RunningCloud) -> None:
    alt = ccloud.sdk("devstack-alt")
    names = sorted(uniq() for _ in range(3))
    for n in names:
        assert call(alt, "POST", "/os-keypairs", body={"keypair": {"name": n, "public_key": new_public_key()}}).ok
    page = call(alt, "GET", "/os-keypairs?limit=2", mv="2.35").json()
    assert [k["keypair"]["name"] for k in page["keypairs"]] == names[:2] and page["keypairs_links"]
    rest = call(alt, "GET", f"/os-keypairs?limit=2&marker={names[1]}", mv="2.35").json()
    assert [k["keypair"]["name"] for k in rest["keypairs"]] == names[2:] and "keypairs_links" not in rest
    alt_project = alt.current_project_id
    assert call(cadmin, "PUT", f"/os-quota-sets/{alt_project}", body={"quota_set": {"key_pairs": 3}}).ok
    over = call(alt, "POST", "/os-keypairs", body={"keypair": {"name": uniq(), "public_key": new_public_key()}})
    assert over.status_code == 403 and "Quota exceeded" in over.json()["forbidden"]["message"]
    assert len(call(alt, "GET", "/os-keypairs").json()["keypairs"]) == 3
    call(cadmin, "DELETE", f"/os-quota-sets/{alt_project}")
    for n in names:
        call(alt, "DELETE", f"/os-keypairs/{n}")


def test_sdk_keypairs(cdemo: Any) -> None:
    name = uniq()
    kp = cdemo.compute.create_keypair(name=name, public_key=new_public_key())
    assert cdemo.compute.get_keypair(name).fingerprint == kp.fingerprint
    cdemo.compute.delete_keypair(name)
    assert cdemo.compute.find_keypair(name) is None
