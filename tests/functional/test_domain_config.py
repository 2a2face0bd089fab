"""Domain-specific configuration and the security_compliance group every user may read."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.functional.cloud import RunningCloud

IDENTITY = {"service_type": "identity"}
CONFIG = {"identity": {"driver": "ldap"},
          "ldap": {"url": "ldap://myldap.example:389/", "user_tree_dn": "ou=Users,dc=example,dc=org"}}


def call(conn: Any, method: str, path: str, body: Any = None) -> Any:
    kwargs: dict[str, Any] = {"endpoint_filter": IDENTITY, "raise_exc": False}
    if body is not None:
        kwargs["json"] = body
    return conn.session.request(path, method, **kwargs)


@pytest.fixture
def domain_id(cloud: RunningCloud) -> str:
    return str(cloud.cli("domain", "create", f"dc-{uuid.uuid4().hex[:8]}")["id"])


def test_config_lifecycle(admin: Any, domain_id: str) -> None:
    base = f"/v3/domains/{domain_id}/config"
    assert call(admin, "GET", base).status_code == 404
    made = call(admin, "PUT", base, {"config": CONFIG})
    assert made.status_code == 201 and made.json()["config"] == CONFIG
    assert call(admin, "GET", base).json()["config"] == CONFIG
    assert call(admin, "GET", f"{base}/ldap").json()["config"] == {"ldap": CONFIG["ldap"]}
    assert call(admin, "GET", f"{base}/ldap/url").json()["config"] == {"url": CONFIG["ldap"]["url"]}

    upd = call(admin, "PATCH", f"{base}/identity", {"config": {"identity": {"driver": "sql", "list_limit": 7}}})
    assert upd.status_code == 200 and upd.json()["config"]["identity"] == {"driver": "sql", "list_limit": 7}
    opt = call(admin, "PATCH", f"{base}/identity/driver", {"config": {"driver": "ldap"}})
    assert opt.json()["config"]["identity"]["driver"] == "ldap"
    whole = call(admin, "PATCH", base, {"config": {"ldap": {"url": "ldap://other.example/", "password": "s3"}}})
    assert whole.json()["config"]["ldap"]["url"] == "ldap://other.example/"
    # The bind password is kept but never shown.
    assert "password" not in call(admin, "GET", base).json()["config"]["ldap"]
    assert call(admin, "GET", f"{base}/ldap/password").status_code == 404

    assert call(admin, "DELETE", f"{base}/identity/driver").status_code == 204
    assert call(admin, "GET", f"{base}/identity/driver").status_code == 404
    assert call(admin, "DELETE", f"{base}/identity").status_code == 204
    assert call(admin, "GET", f"{base}/identity").status_code == 404
    again = call(admin, "PUT", base, {"config": CONFIG})
    assert again.status_code == 200 and again.json()["config"] == CONFIG  # PUT replaces the whole config
    assert call(admin, "DELETE", base).status_code == 204
    assert call(admin, "GET", base).status_code == 404


def test_config_negatives_leave_config_unchanged(admin: Any, demo: Any, domain_id: str) -> None:
    base = f"/v3/domains/{domain_id}/config"
    assert call(admin, "PUT", base, {"config": CONFIG}).status_code == 201
    forbidden = [
        ("PUT", base, {"config": {"nova": {"x": 1}}}),
        ("PUT", base, {"config": {"ldap": {"not_an_option": 1}}}),
        ("PUT", base, {"config": {}}),
        ("PATCH", f"{base}/ldap", {"config": {"identity": {"driver": "x"}}}),
        ("PATCH", f"{base}/identity/driver", {"config": {"list_limit": 3}}),
        ("GET", f"{base}/nova", None),
        ("GET", f"{base}/ldap/not_an_option", None),
    ]
    for method, path, body in forbidden:
        assert call(admin, method, path, body).status_code == 403, (method, path, body)
    assert call(admin, "PUT", base, {"nope": 1}).status_code == 400
    assert call(admin, "PATCH", f"{base}/identity/list_limit", {"config": {"list_limit": 3}}).status_code == 404
    assert call(admin, "PUT", "/v3/domains/no-such-domain/config", {"config": CONFIG}).status_code == 404
    assert call(demo, "PUT", base, {"config": {"identity": {"driver": "x"}}}).status_code == 403
    assert call(demo, "GET", base).status_code == 403
    assert call(admin, "GET", base).json()["config"] == CONFIG


def test_defaults(admin: Any) -> None:
    config = call(admin, "GET", "/v3/domains/config/default").json()["config"]
    assert {"identity", "ldap"} <= set(config) and "password" not in config["ldap"]
    identity = call(admin, "GET", "/v3/domains/config/identity/default").json()["config"]
    assert set(identity) == {"identity"} and {"driver", "list_limit"} <= set(identity["identity"])
    for option in config["ldap"]:
        one = call(admin, "GET", f"/v3/domains/config/ldap/{option}/default")
        assert one.status_code == 200 and option in one.json()["config"]
    assert call(admin, "GET", "/v3/domains/config/ldap/password/default").status_code == 403
    assert call(admin, "GET", "/v3/domains/config/nova/default").status_code == 403


def test_security_compliance_readable_by_anyone(demo: Any, domain_id: str) -> None:
    resp = call(demo, "GET", "/v3/domains/default/config/security_compliance")
    assert resp.status_code == 200
    assert set(resp.json()["config"]) == {"password_regex", "password_regex_description"}
    one = call(demo, "GET", "/v3/domains/default/config/security_compliance/password_regex")
    assert one.status_code == 200 and set(one.json()["config"]) == {"password_regex"}
    assert call(demo, "GET", "/v3/domains/default/config/security_compliance/lockout_duration").status_code == 403
    assert call(demo, "GET", f"/v3/domains/{domain_id}/config/security_compliance").status_code == 403


def test_security_compliance_from_config(fresh_cloud: RunningCloud) -> None:
    fresh_cloud.env["ONESTACK_IDENTITY__SECURITY_COMPLIANCE__PASSWORD_REGEX"] = "^.{12,}$"
    fresh_cloud.env["ONESTACK_IDENTITY__SECURITY_COMPLIANCE__PASSWORD_REGEX_DESCRIPTION"] = "12 or more"
    fresh_cloud.start()
    conn = fresh_cloud.sdk("devstack")
    config = call(conn, "GET", "/v3/domains/default/config/security_compliance").json()["config"]
    assert config == {"password_regex": "^.{12,}$", "password_regex_description": "12 or more"}
