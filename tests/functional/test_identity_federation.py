"""OS-FEDERATION: identity providers, protocols, mappings and service providers through the
``openstack`` CLI, their errors through openstacksdk's session, and the authentication paths,
which find no assertion (onestack has no federating web server module) and answer as Keystone does."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import text

from tests.functional.cloud import RunningCloud

IDENTITY = {"service_type": "identity"}
FED = "/v3/OS-FEDERATION"
RULES = [{"local": [{"user": {"name": "{0}"}}, {"group": {"id": "0cd5e9"}}],
          "remote": [{"type": "REMOTE_USER"}, {"type": "orgPersonType", "any_one_of": ["Employee"]}]}]
GENERIC_401 = "The request you have made requires authentication."
GENERIC_403 = "You are not authorized to perform the requested action."


def call(conn: Any, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    kwargs: dict[str, Any] = {"endpoint_filter": IDENTITY, "raise_exc": False, **kw}
    if body is not None:
        kwargs["json"] = body
    return conn.session.request(path, method, **kwargs)


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def error(resp: Any, status: int) -> str:
    assert resp.status_code == status, (resp.status_code, resp.text)
    body = resp.json()["error"]
    assert body["code"] == status
    return str(body["message"])


def rules_file(tmp_path: Path, rules: Any) -> str:
    path = tmp_path / f"{uuid.uuid4().hex}.json"
    path.write_text(json.dumps(rules))
    return str(path)


def _mapping(admin: Any, rules: Any = None) -> str:
    mid = uniq("map")
    assert call(admin, "PUT", f"{FED}/mappings/{mid}", {"mapping": {"rules": rules or RULES}}).status_code == 201
    return mid


def _idp(admin: Any, **fields: Any) -> dict[str, Any]:
    idp_id = uniq("idp")
    resp = call(admin, "PUT", f"{FED}/identity_providers/{idp_id}", {"identity_provider": fields})
    assert resp.status_code == 201, resp.text
    return dict(resp.json()["identity_provider"])


# --- identity providers -------------------------------------------------------------------------


def test_identity_provider_lifecycle_through_the_cli(cloud: RunningCloud, admin: Any) -> None:
    name, r1, r2 = uniq("idp"), uniq("https://idp.example/"), uniq("https://idp2.example/")
    made = cloud.cli("identity", "provider", "create", "--remote-id", r1, "--remote-id", r2,
                     "--description", "first", name)
    assert made["id"] == name and made["enabled"] is True and sorted(made["remote_ids"]) == sorted([r1, r2])
    # no domain given: Keystone makes one for the IdP, named by its id
    domain = cloud.cli("domain", "show", made["domain_id"])
    assert domain["name"] == made["domain_id"] and domain["description"].endswith(f"Identity Provider: {name}")
    raw = call(admin, "GET", f"{FED}/identity_providers/{name}").json()["identity_provider"]
    assert raw["links"]["self"].endswith(f"{FED}/identity_providers/{name}")
    assert raw["links"]["protocols"] == raw["links"]["self"] + "/protocols"
    assert raw["authorization_ttl"] is None
    assert name in {row["ID"] for row in cloud.cli("identity", "provider", "list")}
    cloud.cli("identity", "provider", "set", "--description", "second", "--disable", name, json_out=False)
    shown = cloud.cli("identity", "provider", "show", name)
    assert shown["description"] == "second" and shown["enabled"] is False
    listed = call(admin, "GET", f"{FED}/identity_providers?enabled=false&id={name}").json()["identity_providers"]
    assert [i["id"] for i in listed] == [name]
    assert call(admin, "GET", f"{FED}/identity_providers?enabled=true&id={name}").json()["identity_providers"] == []
    cloud.cli("identity", "provider", "delete", name, json_out=False)
    assert "Could not find Identity Provider" in error(call(admin, "GET", f"{FED}/identity_providers/{name}"), 404)
    # a remote id of a deleted IdP is free again
    assert _idp(admin, remote_ids=[r1])["remote_ids"] == [r1]


def test_identity_provider_defaults_and_an_explicit_domain(admin: Any) -> None:
    dom = call(admin, "POST", "/v3/domains", {"domain": {"name": uniq("fed-dom")}}).json()["domain"]["id"]
    idp = _idp(admin, domain_id=dom, authorization_ttl=5)
    assert idp["enabled"] is False and idp["domain_id"] == dom and idp["authorization_ttl"] == 5
    assert idp["remote_ids"] == [] and idp["description"] is None
    assert "Could not find domain" in error(call(admin, "PUT", f"{FED}/identity_providers/{uniq('idp')}", {
        "identity_provider": {"domain_id": "nosuchdomain"}}), 404)
    error(call(admin, "PUT", f"{FED}/identity_providers/{uniq('idp')}", {"identity_provider": {"bogus": 1}}), 400)
    error(call(admin, "PUT", f"{FED}/identity_providers/{uniq('idp')}", {"identity_providers": {}}), 400)
    bare = call(admin, "PUT", f"{FED}/identity_providers/{uniq('idp')}")  # no body at all: Keystone's defaults
    assert bare.status_code == 201 and bare.json()["identity_provider"]["enabled"] is False
    error(call(admin, "PATCH", f"{FED}/identity_providers/{idp['id']}", {"identity_provider": {}}), 400)
    # domain_id cannot change
    error(call(admin, "PATCH", f"{FED}/identity_providers/{idp['id']}", {"identity_provider": {"domain_id": dom}}),
          400)
    # deleting the domain deletes its IdP, as Keystone's domain-deleted callback does
    call(admin, "PATCH", f"/v3/domains/{dom}", {"domain": {"enabled": False}})
    assert call(admin, "DELETE", f"/v3/domains/{dom}").status_code == 204
    error(call(admin, "GET", f"{FED}/identity_providers/{idp['id']}"), 404)


def test_remote_ids_are_unique_across_identity_providers(admin: Any) -> None:
    remote = uniq("https://shared.example/")
    first = _idp(admin, remote_ids=[remote], enabled=True)
    domains_before = len(call(admin, "GET", "/v3/domains").json()["domains"])
    other = uniq("idp")
    message = error(call(admin, "PUT", f"{FED}/identity_providers/{other}", {
        "identity_provider": {"remote_ids": [remote]}}), 409)
    assert message == f"Conflict occurred attempting to store identity_provider - Duplicate remote ID: {remote}."
    error(call(admin, "GET", f"{FED}/identity_providers/{other}"), 404)
    # the domain made for the refused IdP went with it
    assert len(call(admin, "GET", "/v3/domains").json()["domains"]) == domains_before
    second = _idp(admin)
    error(call(admin, "PATCH", f"{FED}/identity_providers/{second['id']}", {
        "identity_provider": {"remote_ids": [remote]}}), 409)
    assert call(admin, "GET", f"{FED}/identity_providers/{second['id']}").json()["identity_provider"][
        "remote_ids"] == []
    error(call(admin, "PUT", f"{FED}/identity_providers/{first['id']}", {"identity_provider": {}}), 409)


# --- mappings -----------------------------------------------------------------------------------


def test_mapping_cli_and_rule_validation(cloud: RunningCloud, admin: Any, tmp_path: Path) -> None:
    name = uniq("map")
    made = cloud.cli("mapping", "create", "--rules", rules_file(tmp_path, RULES), name)
    assert made["id"] == name and made["schema_version"] == "1.0"
    shown = call(admin, "GET", f"{FED}/mappings/{name}").json()["mapping"]
    assert shown["rules"] == RULES and shown["links"]["self"].endswith(f"{FED}/mappings/{name}")
    new_rules = [{"local": [{"user": {"name": "{0}", "type": "local", "domain": {"name": "Default"}}}],
                  "remote": [{"type": "REMOTE_USER", "whitelist": ["alice"], "regex": False}]}]
    cloud.cli("mapping", "set", "--rules", rules_file(tmp_path, new_rules), name, json_out=False)
    assert call(admin, "GET", f"{FED}/mappings/{name}").json()["mapping"]["rules"] == new_rules
    assert name in {row["ID"] for row in cloud.cli("mapping", "list")}
    # bad rules: Keystone's messages, one a line, sorted
    bad = [{"local": [{"user": {"name": 1}}]}]
    message = error(call(admin, "PATCH", f"{FED}/mappings/{name}", {"mapping": {"rules": bad}}), 400)
    assert message == "'remote' is a required property\n1 is not of type 'string'\n"
    assert call(admin, "GET", f"{FED}/mappings/{name}").json()["mapping"]["rules"] == new_rules
    assert error(call(admin, "PUT", f"{FED}/mappings/{uniq('m')}", {"mapping": {}}), 400) == \
        "'rules' is a required property\n"
    # jsonschema's own wording (Keystone's too): "is too short" or, newer, "should be non-empty"
    assert error(call(admin, "PUT", f"{FED}/mappings/{uniq('m')}", {"mapping": {"rules": []}}), 400).startswith("[] ")
    # a project's domain is a 2.0 feature; 1.0 refuses it
    with_domain = [{"local": [{"projects": [{"name": "p", "roles": [{"name": "member"}],
                                             "domain": {"name": "Default"}}]}],
                    "remote": [{"type": "REMOTE_USER"}]}]
    assert "Additional properties are not allowed" in error(call(admin, "PUT", f"{FED}/mappings/{uniq('m')}", {
        "mapping": {"rules": with_domain}}), 400)
    two = uniq("m")
    resp = call(admin, "PUT", f"{FED}/mappings/{two}", {"mapping": {"rules": with_domain, "schema_version": "2.0"}})
    assert resp.status_code == 201 and resp.json()["mapping"]["schema_version"] == "2.0"
    error(call(admin, "PUT", f"{FED}/mappings/{uniq('m')}", {"mapping": {"rules": RULES,
                                                                        "schema_version": "9.9"}}), 400)
    error(call(admin, "PUT", f"{FED}/mappings/{two}", {"mapping": {"rules": RULES}}), 409)
    cloud.cli("mapping", "delete", name, two, json_out=False)
    assert error(call(admin, "GET", f"{FED}/mappings/{name}"), 404) == f"Could not find mapping: {name}."


# --- protocols ----------------------------------------------------------------------------------


def test_protocols_through_the_cli_and_their_errors(cloud: RunningCloud, admin: Any) -> None:
    idp, mapping, other_mapping = _idp(admin, enabled=True)["id"], _mapping(admin), _mapping(admin)
    made = cloud.cli("federation", "protocol", "create", "--identity-provider", idp, "--mapping", mapping, "saml2")
    assert made["id"] == "saml2" and made["mapping"] == mapping
    one = call(admin, "GET", f"{FED}/identity_providers/{idp}/protocols/saml2").json()["protocol"]
    assert set(one) == {"id", "mapping_id", "links"}
    assert one["links"]["identity_provider"].endswith(f"{FED}/identity_providers/{idp}")
    assert one["links"]["self"] == one["links"]["identity_provider"] + "/protocols/saml2"
    listed = call(admin, "GET", f"{FED}/identity_providers/{idp}/protocols").json()["protocols"]
    assert [(p["id"], p["idp_id"], p["mapping_id"], p["remote_id_attribute"]) for p in listed] == [
        ("saml2", idp, mapping, None)]
    # python-openstackclient's "protocol set" returns its table as the exit status (1) against Keystone too
    cloud.cli("federation", "protocol", "set", "--identity-provider", idp, "--mapping", other_mapping, "saml2",
              json_out=False, check=False)
    shown = cloud.cli("federation", "protocol", "show", "--identity-provider", idp, "saml2")
    assert shown["mapping"] == other_mapping
    # the mapping must exist: 400 on create and update (Keystone's ValidationError)
    assert error(call(admin, "PUT", f"{FED}/identity_providers/{idp}/protocols/oidc", {
        "protocol": {"mapping_id": "nosuchmapping"}}), 400) == "Invalid mapping id: nosuchmapping"
    error(call(admin, "PATCH", f"{FED}/identity_providers/{idp}/protocols/saml2", {
        "protocol": {"mapping_id": "nosuchmapping"}}), 400)
    error(call(admin, "PATCH", f"{FED}/identity_providers/{idp}/protocols/saml2", {
        "protocol": {"remote_id_attribute": "x"}}), 400)  # mapping_id is required on update too
    error(call(admin, "PUT", f"{FED}/identity_providers/{idp}/protocols/saml2", {"protocol": {"mapping_id": mapping}}),
          409)
    assert "Could not find Identity Provider" in error(call(admin, "PUT", f"{FED}/identity_providers/nosuch/protocols/x", {
        "protocol": {"mapping_id": mapping}}), 404)
    assert error(call(admin, "GET", f"{FED}/identity_providers/{idp}/protocols/nope"), 404) == \
        f"Could not find federated protocol nope for Identity Provider: {idp}."
    # deleting the IdP deletes its protocols
    assert call(admin, "DELETE", f"{FED}/identity_providers/{idp}").status_code == 204
    assert call(admin, "GET", f"{FED}/identity_providers/{idp}/protocols").json()["protocols"] == []


def test_deleting_an_idp_removes_its_shadow_users(cloud: RunningCloud, admin: Any) -> None:
    """A shadow user (written as Keystone's mapped plugin would) goes with its IdP; a local user it also knew stays."""
    idp = _idp(admin, enabled=True)
    mapping = _mapping(admin)
    assert call(admin, "PUT", f"{FED}/identity_providers/{idp['id']}/protocols/mapped", {
        "protocol": {"mapping_id": mapping}}).status_code == 201
    local = call(admin, "POST", "/v3/users", {"user": {"name": uniq("local"), "password": "secret-pw"}}).json()["user"]
    shadow_id = uuid.uuid4().hex
    with cloud.engine() as engine, engine.begin() as conn:
        conn.execute(text('INSERT INTO "user" (id, name, domain_id, enabled, created_at, failed_auth_count, extra, '
                          "options) VALUES (:id, :name, :dom, true, :now, 0, '{}', '{}')"),
                     {"id": shadow_id, "name": uniq("shadow"), "dom": idp["domain_id"], "now": datetime.now(UTC).replace(tzinfo=None)})
        for user_id, unique in ((shadow_id, "alice"), (local["id"], "bob")):
            conn.execute(text("INSERT INTO federated_user (user_id, idp_id, protocol_id, unique_id) "
                              "VALUES (:u, :i, 'mapped', :q)"), {"u": user_id, "i": idp["id"], "q": unique})
    assert call(admin, "GET", f"/v3/users/{shadow_id}").status_code == 200
    assert call(admin, "DELETE", f"{FED}/identity_providers/{idp['id']}").status_code == 204
    assert call(admin, "GET", f"/v3/users/{shadow_id}").status_code == 404
    assert call(admin, "GET", f"/v3/users/{local['id']}").status_code == 200
    with cloud.engine() as engine, engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM federated_user WHERE idp_id = :i"), {"i": idp["id"]}).scalar()
    assert left == 0


# --- service providers --------------------------------------------------------------------------


def test_service_providers_and_the_token_list(cloud: RunningCloud, admin: Any) -> None:
    name = uniq("sp")
    auth_url = f"https://{name}.example/v3/OS-FEDERATION/identity_providers/acme/protocols/saml2/auth"
    sp_url = f"https://{name}.example/Shibboleth.sso/SAML2/ECP"
    made = cloud.cli("service", "provider", "create", "--auth-url", auth_url, "--service-provider-url", sp_url,
                     "--description", "remote cloud", name)
    assert made["id"] == name and made["enabled"] is True and made["relay_state_prefix"] == "ss:mem:"
    token = call(admin, "POST", "/v3/auth/tokens", {"auth": {"identity": {"methods": ["token"], "token": {
        "id": admin.session.get_token()}}}}).json()["token"]
    assert {"id": name, "auth_url": auth_url, "sp_url": sp_url} in token["service_providers"]
    cloud.cli("service", "provider", "set", "--disable", name, json_out=False)
    token = call(admin, "GET", "/v3/auth/tokens", headers={"X-Subject-Token": admin.session.get_token()}).json()
    assert name not in {sp["id"] for sp in token["token"].get("service_providers", [])}
    shown = cloud.cli("service", "provider", "show", name)
    assert shown["enabled"] is False and shown["sp_url"] == sp_url
    assert name in {row["ID"] for row in cloud.cli("service", "provider", "list")}
    raw = call(admin, "GET", f"{FED}/service_providers/{name}").json()["service_provider"]
    assert raw["links"]["self"].endswith(f"{FED}/service_providers/{name}")
    # URLs are checked (Keystone's lenient "scheme:rest"), both are required, and nothing unknown is taken
    bad = uniq("sp")
    assert "auth_url" in error(call(admin, "PUT", f"{FED}/service_providers/{bad}", {"service_provider": {
        "auth_url": "not a url", "sp_url": sp_url}}), 400)
    error(call(admin, "PUT", f"{FED}/service_providers/{bad}", {"service_provider": {"auth_url": auth_url}}), 400)
    error(call(admin, "PATCH", f"{FED}/service_providers/{name}", {"service_provider": {"id": "x"}}), 400)
    error(call(admin, "GET", f"{FED}/service_providers/{bad}"), 404)
    default_off = call(admin, "PUT", f"{FED}/service_providers/{bad}", {"service_provider": {
        "auth_url": auth_url, "sp_url": sp_url, "relay_state_prefix": "rs:"}}).json()["service_provider"]
    assert default_off["enabled"] is False and default_off["relay_state_prefix"] == "rs:"
    cloud.cli("service", "provider", "delete", name, bad, json_out=False)
    error(call(admin, "GET", f"{FED}/service_providers/{name}"), 404)


def test_only_admins_manage_federation(admin: Any, demo: Any) -> None:
    mapping = _mapping(admin)
    for method, path, body in (
        ("GET", f"{FED}/identity_providers", None),
        ("PUT", f"{FED}/identity_providers/{uniq('idp')}", {"identity_provider": {}}),
        ("GET", f"{FED}/mappings/{mapping}", None),
        ("PATCH", f"{FED}/mappings/{mapping}", {"mapping": {"rules": RULES}}),
        ("DELETE", f"{FED}/mappings/{mapping}", None),
        ("GET", f"{FED}/service_providers", None),
        ("PUT", f"{FED}/service_providers/{uniq('sp')}", {"service_provider": {
            "auth_url": "http://a", "sp_url": "http://b"}}),
    ):
        error(call(demo, method, path, body), 403)
    assert call(admin, "GET", f"{FED}/mappings/{mapping}").status_code == 200


# --- authentication paths -----------------------------------------------------------------------


def test_federated_authentication_finds_no_assertion(cloud: RunningCloud, admin: Any) -> None:
    base = cloud.identity_url
    enabled, disabled = _idp(admin, enabled=True)["id"], _idp(admin, enabled=False)["id"]
    mapping = _mapping(admin)
    for idp in (enabled, disabled):
        assert call(admin, "PUT", f"{FED}/identity_providers/{idp}/protocols/mapped", {
            "protocol": {"mapping_id": mapping}}).status_code == 201

    def auth(idp: str, protocol: str, method: str = "POST") -> Any:
        return requests.request(method, f"{base}{FED}/identity_providers/{idp}/protocols/{protocol}/auth", timeout=30)

    assert "Could not find Identity Provider" in error(auth("nosuchidp", "mapped"), 404)
    assert error(auth(disabled, "mapped"), 403) == GENERIC_403
    assert error(auth(enabled, "mapped"), 401) == GENERIC_401
    assert error(auth(enabled, "mapped", "GET"), 401) == GENERIC_401
    error(auth(enabled, "saml2"), 401)  # not an authentication method this cloud has
    # POST /v3/auth/tokens with the mapped method: the same checks, in the same order
    tokens = f"{base}/v3/auth/tokens"

    def mapped(payload: Any) -> Any:
        return requests.post(tokens, json={"auth": {"identity": {"methods": ["mapped"], "mapped": payload}}},
                             timeout=30)

    assert error(mapped({"protocol": "mapped"}), 400).startswith("Expecting to find identity_provider in mapped.")
    assert error(mapped({"identity_provider": enabled}), 400).startswith("Expecting to find protocol in mapped.")
    assert "Could not find federated protocol" in error(mapped({"identity_provider": enabled, "protocol": "x"}), 404)
    assert error(mapped({"identity_provider": enabled, "protocol": "mapped"}), 401) == GENERIC_401
    # rescoping a token that no IdP issued: Keystone looks for its (absent) IdP
    assert error(mapped({"id": admin.session.get_token()}), 404) == "Could not find Identity Provider: None."
    # a deleted mapping leaves the protocol pointing nowhere
    assert call(admin, "DELETE", f"{FED}/mappings/{mapping}").status_code == 204
    assert error(auth(enabled, "mapped"), 404) == f"Could not find mapping: {mapping}."


def test_websso_saml2_and_metadata_paths(cloud: RunningCloud, admin: Any, demo: Any) -> None:
    base = f"{cloud.identity_url}/v3"
    for method in ("GET", "POST"):
        assert error(requests.request(method, f"{base}/auth/OS-FEDERATION/websso/mapped", timeout=30),
                     401) == GENERIC_401
    websso = f"{base}/auth/OS-FEDERATION/identity_providers/acme/protocols/mapped/websso"
    assert error(requests.get(websso, timeout=30), 400) == "Request must have an origin query parameter"
    assert error(requests.get(websso, params={"origin": "https://dashboard.example/"}, timeout=30), 401) == \
        GENERIC_401
    assert error(requests.get(f"{base}/OS-FEDERATION/saml2/metadata", timeout=30), 400) == \
        "Ensure configuration option idp_entity_id is set."
    sp = uniq("sp")
    assert call(admin, "PUT", f"{FED}/service_providers/{sp}", {"service_provider": {
        "auth_url": "https://sp.example/auth", "sp_url": "https://sp.example/ecp", "enabled": True}}).status_code == 201
    project_token = demo.session.get_token()
    unscoped = requests.post(f"{base}/auth/tokens", json={"auth": {"identity": {"methods": ["token"], "token": {
        "id": project_token}}, "scope": "unscoped"}}, timeout=30)
    assert unscoped.status_code == 201 and "project" not in unscoped.json()["token"]

    def saml(path: str, token: str, sp_id: str) -> Any:
        body: dict[str, Any] = {"auth": {"identity": {"methods": ["token"], "token": {"id": token}},
                                         "scope": {"service_provider": {"id": sp_id}}}}
        return requests.post(f"{base}/auth/OS-FEDERATION/{path}", json=body, timeout=30)

    for path in ("saml2", "saml2/ecp"):
        assert requests.get(f"{base}/auth/OS-FEDERATION/{path}", timeout=30).status_code == 405
        error(requests.post(f"{base}/auth/OS-FEDERATION/{path}", json={"auth": {"identity": {}}}, timeout=30), 400)
        assert error(saml(path, project_token, "nosuchsp"), 404) == "Could not find Service Provider: nosuchsp."
        assert "Could not find token" in error(saml(path, "not-a-token", sp), 404)
        assert error(saml(path, unscoped.headers["X-Subject-Token"], sp), 403) == (
            f"{GENERIC_403[:-1]}: Use a project scoped token when attempting to create a SAML assertion.")
        assert error(saml(path, project_token, sp), 400) == "Ensure configuration option idp_entity_id is set."
    call(admin, "PATCH", f"{FED}/service_providers/{sp}", {"service_provider": {"enabled": False}})
    assert error(saml("saml2", project_token, sp), 403) == GENERIC_403
    call(admin, "DELETE", f"{FED}/service_providers/{sp}")


def test_os_federation_scope_listings_alias_auth_ones(demo: Any) -> None:
    for kind in ("projects", "domains"):
        old = call(demo, "GET", f"{FED}/{kind}").json()[kind]
        assert old == call(demo, "GET", f"/v3/auth/{kind}").json()[kind]
    assert call(demo, "GET", f"{FED}/projects").json()["projects"]
