"""Identity's rows of the isolation matrix (test_isolation.py).

Keystone looks the target up and then enforces a policy naming its owner, so another user's
credentials, application credentials, EC2 keys and trusts, and another project, answer 403
(404 only when the id does not exist for that path). Managing users, groups, roles, grants,
domains, the catalog, policies, limits and domain configuration is an admin's: 403.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl

from oauthlib import oauth1

from tests.functional.isolation_support import (
    Actors,
    Probe,
    Seeded,
    ServiceMatrix,
    keystone_shape,
    ok,
    register,
    view,
)

V3 = "/identity/v3"
FED_RULES = [{"local": [{"user": {"name": "{0}"}}], "remote": [{"type": "REMOTE_USER"}]}]


def _seed_alt(a: Actors, ids: dict[str, str], tag: str) -> None:
    """alt_demo's own: a credential, an application credential with an access rule, an EC2 key, a trust."""
    alt, user = a.alt_http, ids["alt_user"]
    ids["credential"] = ok(alt.post(f"{V3}/credentials", json={"credential": {
        "user_id": user, "type": "cert", "blob": f"iso-blob-{tag}"}}))["credential"]["id"]
    app = ok(alt.post(f"{V3}/users/{user}/application_credentials", json={"application_credential": {
        "name": f"iso-ac-{tag}", "access_rules": [{"service": "compute", "method": "GET", "path": "/v2.1/servers"}]}}))
    ids["app_cred"] = app["application_credential"]["id"]
    ids["access_rule"] = app["application_credential"]["access_rules"][0]["id"]
    # application credential names are per user: demo may use alt_demo's
    mine = ok(a.demo_http.post(f"{V3}/users/{ids['demo_user']}/application_credentials", json={
        "application_credential": {"name": f"iso-ac-{tag}"}}))["application_credential"]["id"]
    ok(a.demo_http.delete(f"{V3}/users/{ids['demo_user']}/application_credentials/{mine}"))
    ids["ec2"] = ok(alt.post(f"{V3}/users/{user}/credentials/OS-EC2", json={
        "tenant_id": ids["alt_project"]}))["credential"]["access"]
    ids["trust"] = ok(alt.post(f"{V3}/OS-TRUST/trusts", json={"trust": {
        "trustor_user_id": user, "trustee_user_id": ids["admin_user"], "project_id": ids["alt_project"],
        "impersonation": False, "roles": [{"name": "member"}]}}))["trust"]["id"]
    ids["alt_token"] = a.alt.session.get_token()
    ids["demo_token"] = a.demo.session.get_token()


def _seed_admin(a: Actors, ids: dict[str, str], tag: str) -> None:
    """An admin's objects for the admin-only routes, and alt_demo's project tag and limit."""
    admin = a.admin_http
    ids["group"] = ok(admin.post(f"{V3}/groups", json={"group": {"name": f"iso-group-{tag}"}}))["group"]["id"]
    # alt_demo is not made a member: deleting the group afterwards would revoke alt_demo's tokens
    ids["domain"] = ok(admin.post(f"{V3}/domains", json={"domain": {"name": f"iso-dom-{tag}"}}))["domain"]["id"]
    ids["ptag"] = f"iso-ptag-{tag}"
    ok(admin.put(f"{V3}/projects/{ids['alt_project']}/tags/{ids['ptag']}"))
    roles = {r["name"]: r["id"] for r in ok(admin.get(f"{V3}/roles"))["roles"]}
    ids.update(role=roles["member"], role_prior=roles["admin"], role_implied=roles["member"])
    services = ok(admin.get(f"{V3}/services"))["services"]
    ids["service"] = next(s["id"] for s in services if s["type"] == "compute")
    ids["endpoint"] = ok(admin.get(f"{V3}/endpoints", params={"service_id": ids["service"]}))["endpoints"][0]["id"]
    ids["region"] = ok(admin.get(f"{V3}/regions"))["regions"][0]["id"]
    ids["policy"] = ok(admin.post(f"{V3}/policies", json={"policy": {
        "blob": "{}", "type": "application/json"}}))["policy"]["id"]
    ids["endpoint_group"] = ok(admin.post(f"{V3}/OS-EP-FILTER/endpoint_groups", json={"endpoint_group": {
        "name": f"iso-eg-{tag}", "filters": {"interface": "admin"}}}))["endpoint_group"]["id"]
    ids["registered_limit"] = ok(admin.post(f"{V3}/registered_limits", json={"registered_limits": [{
        "service_id": ids["service"], "resource_name": f"iso-res-{tag}", "default_limit": 5}]}))[
        "registered_limits"][0]["id"]
    ids["limit"] = ok(admin.post(f"{V3}/limits", json={"limits": [{
        "service_id": ids["service"], "project_id": ids["alt_project"], "resource_name": f"iso-res-{tag}",
        "resource_limit": 7}]}))["limits"][0]["id"]
    # OS-FEDERATION: an enabled IdP with a "mapped" protocol, its mapping, a disabled SP (tokens stay as they were)
    ids["idp"], ids["mapping"], ids["protocol"], ids["sp"] = f"iso-idp-{tag}", f"iso-map-{tag}", "mapped", f"iso-sp-{tag}"
    ok(admin.put(f"{V3}/OS-FEDERATION/mappings/{ids['mapping']}", json={"mapping": {"rules": FED_RULES}}))
    ok(admin.put(f"{V3}/OS-FEDERATION/identity_providers/{ids['idp']}", json={"identity_provider": {
        "enabled": True, "domain_id": ids["domain"]}}))
    ok(admin.put(f"{V3}/OS-FEDERATION/identity_providers/{ids['idp']}/protocols/mapped", json={
        "protocol": {"mapping_id": ids["mapping"]}}))
    ok(admin.put(f"{V3}/OS-FEDERATION/service_providers/{ids['sp']}", json={"service_provider": {
        "auth_url": "https://sp.example/auth", "sp_url": "https://sp.example/ecp", "enabled": False}}))
    ids.update(cfg_group="ldap", cfg_option="url", compliance="security_compliance",
               compliance_option="password_regex", default_domain="default", missing=uuid.uuid4().hex)


def _seed_oauth(a: Actors, ids: dict[str, str]) -> None:
    """An admin's OAuth1 consumer and an access token admin authorized on its own project."""
    admin = a.admin_http
    consumer = ok(admin.post(f"{V3}/OS-OAUTH1/consumers", json={"consumer": {"description": "iso"}}))["consumer"]
    ids["consumer"] = consumer["id"]
    base = str(admin.base_url).rstrip("/") + V3
    client = oauth1.Client(consumer["id"], client_secret=consumer["secret"], callback_uri="oob")
    _u, headers, _b = client.sign(f"{base}/OS-OAUTH1/request_token", http_method="POST")
    req = dict(parse_qsl(admin.post(f"{V3}/OS-OAUTH1/request_token", headers={
        **headers, "Requested-Project-Id": ids["admin_project"]}).text))
    verifier = ok(admin.put(f"{V3}/OS-OAUTH1/authorize/{req['oauth_token']}", json={
        "roles": [{"name": "member"}]}))["token"]["oauth_verifier"]
    client = oauth1.Client(consumer["id"], client_secret=consumer["secret"], resource_owner_key=req["oauth_token"],
                           resource_owner_secret=req["oauth_token_secret"], verifier=verifier)
    _u, headers, _b = client.sign(f"{base}/OS-OAUTH1/access_token", http_method="POST")
    ids["oauth_access"] = dict(parse_qsl(admin.post(f"{V3}/OS-OAUTH1/access_token", headers=headers).text))[
        "oauth_token"]


def seed(a: Actors) -> Seeded:
    ids = a.ids()
    tag = uuid.uuid4().hex[:10]
    _seed_alt(a, ids, tag)
    _seed_admin(a, ids, tag)
    _seed_oauth(a, ids)
    secrets = {ids[k] for k in ("credential", "app_cred", "access_rule", "ec2", "trust", "limit", "group",
                                "domain", "policy", "endpoint_group", "alt_token", "consumer", "oauth_access")} | {
        f"iso-blob-{tag}"}
    alt, admin, user = a.alt_http, a.admin_http, ids["alt_user"]

    def snapshot() -> Any:
        # alt_demo's token still valid (a demo that could revoke it would turn this into a 404)
        token = view(alt.get(f"{V3}/auth/tokens", headers={"X-Subject-Token": ids["alt_token"]}))
        return [view(alt.get(f"{V3}/credentials/{ids['credential']}")),
                view(alt.get(f"{V3}/users/{user}/application_credentials/{ids['app_cred']}")),
                view(alt.get(f"{V3}/users/{user}/access_rules/{ids['access_rule']}")),
                view(alt.get(f"{V3}/users/{user}/credentials/OS-EC2/{ids['ec2']}")),
                view(alt.get(f"{V3}/OS-TRUST/trusts/{ids['trust']}")),
                view(admin.get(f"{V3}/users/{user}")), view(admin.get(f"{V3}/projects/{ids['alt_project']}")),
                view(admin.get(f"{V3}/groups/{ids['group']}/users")), view(admin.get(f"{V3}/limits/{ids['limit']}")),
                view(admin.get(f"{V3}/role_assignments", params={"user.id": user})),
                view(admin.get(f"{V3}/OS-OAUTH1/consumers/{ids['consumer']}")),
                view(admin.get(f"{V3}/users/{ids['admin_user']}/OS-OAUTH1/access_tokens/{ids['oauth_access']}")),
                token]

    cleanup = [(alt, "DELETE", f"{V3}/credentials/{ids['credential']}"),
               (alt, "DELETE", f"{V3}/users/{user}/application_credentials/{ids['app_cred']}"),
               (alt, "DELETE", f"{V3}/users/{user}/credentials/OS-EC2/{ids['ec2']}"),
               (alt, "DELETE", f"{V3}/OS-TRUST/trusts/{ids['trust']}"),
               (admin, "DELETE", f"{V3}/projects/{ids['alt_project']}/tags/{ids['ptag']}"),
               (admin, "DELETE", f"{V3}/limits/{ids['limit']}"),
               (admin, "DELETE", f"{V3}/registered_limits/{ids['registered_limit']}"),
               (admin, "DELETE", f"{V3}/OS-EP-FILTER/endpoint_groups/{ids['endpoint_group']}"),
               (admin, "DELETE", f"{V3}/policies/{ids['policy']}"),
               (admin, "DELETE", f"{V3}/OS-FEDERATION/identity_providers/{ids['idp']}"),
               (admin, "DELETE", f"{V3}/OS-FEDERATION/mappings/{ids['mapping']}"),
               (admin, "DELETE", f"{V3}/OS-FEDERATION/service_providers/{ids['sp']}"),
               (admin, "DELETE", f"{V3}/groups/{ids['group']}"),
               (admin, "DELETE", f"{V3}/OS-OAUTH1/consumers/{ids['consumer']}"),
               (admin, "PATCH", f"{V3}/domains/{ids['domain']}", {"domain": {"enabled": False}}),
               (admin, "DELETE", f"{V3}/domains/{ids['domain']}")]
    return Seeded(ids, secrets, snapshot, cleanup)


def _rescope(ids: dict[str, str], scope: dict[str, Any]) -> dict[str, Any]:
    return {"auth": {"identity": {"methods": ["token"], "token": {"id": ids["demo_token"]}}, "scope": scope}}


PARAMS = {"project_id": "alt_project", "user_id": "alt_user", "domain_id": "domain", "group_id": "group",
          "role_id": "role", "prior_id": "role_prior", "implied_id": "role_implied", "cred_id": "app_cred",
          "rule_id": "access_rule", "credential_id": "credential", "access": "ec2", "trust_id": "trust",
          "region_id": "region", "service_id": "service", "endpoint_id": "endpoint", "policy_id": "policy",
          "consumer_id": "consumer", "access_token_id": "oauth_access",
          "tag": "ptag", "group": "cfg_group", "option": "cfg_option", "limit_id": "limit", "idp_id": "idp",
          "protocol_id": "protocol", "mapping_id": "mapping", "sp_id": "sp"}
ALT_TOKEN = {"X-Subject-Token": "{alt_token}"}
OWN = {"user_id": "demo_user"}  # demo's own path, alt_demo's id under it
ADMIN_GROUP = {"group_id": "group"}
EG = {"group_id": "endpoint_group"}
ROWS: tuple[Probe, ...] = (
    Probe("GET", r"/|/v3/?", None, "version documents: the same for every caller"),
    # demo's own token rescoped to alt_demo's project, to alt_demo's trust, to the system or a domain: refused
    Probe("POST", r"/v3/auth/tokens", 401, body=lambda ids: _rescope(ids, {"project": {"id": ids["alt_project"]}})),
    Probe("POST", r"/v3/auth/tokens", 403, body=lambda ids: _rescope(ids, {"OS-TRUST:trust": {"id": ids["trust"]}})),
    Probe("POST", r"/v3/auth/tokens", 401, body=lambda ids: _rescope(ids, {"system": {"all": True}})),
    Probe("POST", r"/v3/auth/tokens", 401, body=lambda ids: _rescope(ids, {"domain": {"id": "default"}})),
    Probe("POST", r"/v3/auth/tokens", 401, body=lambda ids: {"auth": {"identity": {  # alt's app cred, a guess
        "methods": ["application_credential"], "application_credential": {"id": ids["app_cred"], "secret": "guess"}}}}),
    Probe("GET DELETE", r"/v3/auth/tokens", 403, headers=ALT_TOKEN),
    Probe("GET", r"/v3/auth/(catalog|projects|domains|system)", 200),
    # projects and alt_demo's project tag
    Probe("GET", r"/v3/projects", 403),
    Probe("POST", r"/v3/projects", 403, body={"project": {"name": "stolen"}}),
    Probe("GET DELETE", r"/v3/projects/\{project_id\}(/tags(/\{tag\})?)?", 403),
    Probe("PATCH", r"/v3/projects/\{project_id\}", 403, body={"project": {"description": "stolen"}}),
    Probe("PUT", r"/v3/projects/\{project_id\}/tags(/\{tag\})?", 403, body={"tags": ["stolen"]}),
    # domains (demo reads its own project's domain only)
    Probe("GET", r"/v3/domains", 403),
    Probe("POST", r"/v3/domains", 403, body={"domain": {"name": "stolen"}}),
    Probe("GET DELETE", r"/v3/domains/\{domain_id\}", 403),
    Probe("PATCH", r"/v3/domains/\{domain_id\}", 403, body={"domain": {"description": "stolen"}}),
    # users and groups
    Probe("GET", r"/v3/(users|groups)", 403),
    Probe("POST", r"/v3/users", 403, body={"user": {"name": "stolen"}}),
    Probe("POST", r"/v3/groups", 403, body={"group": {"name": "stolen"}}),
    Probe("GET DELETE", r"/v3/users/\{user_id\}(/projects|/groups)?", 403),
    Probe("PATCH", r"/v3/users/\{user_id\}", 403, body={"user": {"enabled": False}}),
    Probe("PATCH", r"/v3/users/\{user_id\}", 403, params=OWN, body=lambda ids: {  # even demo itself
        "user": {"default_project_id": ids["alt_project"]}}),
    Probe("POST", r"/v3/users/\{user_id\}/password", 401,
          body={"user": {"original_password": "not-alt-demos", "password": "stolen-password"}}),
    Probe("GET DELETE", r"/v3/groups/\{group_id\}(/users)?", 403),
    Probe("PATCH", r"/v3/groups/\{group_id\}", 403, body={"group": {"description": "stolen"}}),
    Probe("GET PUT DELETE", r"/v3/groups/\{group_id\}/users/\{user_id\}", 403),
    # roles, implied roles, grants, assignments
    Probe("GET", r"/v3/(roles|role_inferences|role_assignments)", 403),
    Probe("GET", r"/v3/role_assignments", 403, query="user.id={alt_user}"),
    Probe("POST", r"/v3/roles", 403, body={"role": {"name": "stolen"}}),
    Probe("GET DELETE", r"/v3/roles/\{role_id\}", 403),
    Probe("PATCH", r"/v3/roles/\{role_id\}", 403, body={"role": {"description": "stolen"}}),
    Probe("GET", r"/v3/roles/\{prior_id\}/implies(/\{implied_id\})?", 403),
    Probe("PUT DELETE", r"/v3/roles/\{prior_id\}/implies/\{implied_id\}", 403),
    Probe("GET PUT DELETE", r"/v3/(OS-INHERIT/)?projects/\{target_id\}/users/\{actor_id\}/roles.*", 403,
          params={"target_id": "alt_project", "actor_id": "alt_user"}),
    Probe("GET PUT DELETE", r"/v3/(OS-INHERIT/)?projects/\{target_id\}/groups/\{actor_id\}/roles.*", 403,
          params={"target_id": "alt_project", "actor_id": "group"}),
    Probe("GET PUT DELETE", r"/v3/(OS-INHERIT/)?domains/\{target_id\}/users/\{actor_id\}/roles.*", 403,
          params={"target_id": "domain", "actor_id": "alt_user"}),
    Probe("GET PUT DELETE", r"/v3/(OS-INHERIT/)?domains/\{target_id\}/groups/\{actor_id\}/roles.*", 403,
          params={"target_id": "domain", "actor_id": "group"}),
    Probe("GET PUT DELETE", r"/v3/system/users/\{actor_id\}/roles.*", 403, params={"actor_id": "alt_user"}),
    Probe("GET PUT DELETE", r"/v3/system/groups/\{actor_id\}/roles.*", 403, params={"actor_id": "group"}),
    # alt_demo's application credentials and access rules
    Probe("GET", r"/v3/users/\{user_id\}/(application_credentials|access_rules)(/\{cred_id\}|/\{rule_id\})?", 403),
    Probe("POST", r"/v3/users/\{user_id\}/application_credentials", 403,
          body={"application_credential": {"name": "stolen"}}),
    Probe("POST", r"/v3/users/\{user_id\}/application_credentials", 404, params=OWN, body=lambda ids: {
        "application_credential": {"name": "by-id", "access_rules": [{"id": ids["access_rule"]}]}}),
    Probe("POST", r"/v3/users/\{user_id\}/application_credentials", 404, params=OWN, body=lambda ids: {
        "application_credential": {"name": "by-id-and-rule", "access_rules": [{
            "id": ids["access_rule"], "service": "image", "method": "GET", "path": "/v2/images"}]}}),
    Probe("DELETE", r"/v3/users/\{user_id\}/(application_credentials/\{cred_id\}|access_rules/\{rule_id\})", 403),
    Probe("GET DELETE", r"/v3/users/\{user_id\}/(application_credentials/\{cred_id\}|access_rules/\{rule_id\})",
          404, params=OWN),
    Probe("GET", r"/v3/users/\{user_id\}/(application_credentials|access_rules|credentials/OS-EC2|projects)", 200,
          params=OWN),
    # credentials and EC2 keys
    Probe("GET", r"/v3/credentials", 200),
    Probe("POST", r"/v3/credentials", 403, body=lambda ids: {"credential": {
        "user_id": ids["alt_user"], "type": "cert", "blob": "stolen"}}),
    Probe("GET DELETE", r"/v3/credentials/\{credential_id\}", 403),
    Probe("PATCH", r"/v3/credentials/\{credential_id\}", 403, body={"credential": {"blob": "stolen"}}),
    Probe("GET", r"/v3/users/\{user_id\}/credentials/OS-EC2(/\{access\})?", 403),
    Probe("POST", r"/v3/users/\{user_id\}/credentials/OS-EC2", 403, body=lambda ids: {"tenant_id": ids["alt_project"]}),
    Probe("DELETE", r"/v3/users/\{user_id\}/credentials/OS-EC2/\{access\}", 403),
    Probe("GET DELETE", r"/v3/users/\{user_id\}/credentials/OS-EC2/\{access\}", 404, params=OWN),
    # trusts: only the trustor and the trustee see one
    Probe("GET", r"/v3/OS-TRUST/trusts/?", 403),
    Probe("GET", r"/v3/OS-TRUST/trusts", 403, query="trustor_user_id={alt_user}"),
    Probe("GET", r"/v3/OS-TRUST/trusts", 403, query="trustee_user_id={admin_user}"),
    Probe("GET", r"/v3/OS-TRUST/trusts", 200, query="trustor_user_id={demo_user}"),
    Probe("POST", r"/v3/OS-TRUST/trusts", 403, body=lambda ids: {"trust": {
        "trustor_user_id": ids["alt_user"], "trustee_user_id": ids["demo_user"], "project_id": ids["alt_project"],
        "impersonation": False, "roles": [{"name": "member"}]}}),
    Probe("POST", r"/v3/OS-TRUST/trusts", 403, body=lambda ids: {"trust": {  # delegating a role demo lacks
        "trustor_user_id": ids["demo_user"], "trustee_user_id": ids["demo_user"], "project_id": ids["alt_project"],
        "impersonation": False, "roles": [{"name": "member"}]}}),
    Probe("GET DELETE", r"/v3/OS-TRUST/trusts/\{trust_id\}", 403),
    Probe("GET", r"/v3/OS-TRUST/trusts/\{trust_id\}/roles(/\{role_id\})?", 403),
    # the catalog: regions are public, the rest is admin's
    Probe("GET", r"/v3/regions(/\{region_id\})?", 200),
    Probe("POST", r"/v3/regions", 403, body={"region": {"id": "stolen"}}),
    Probe("PUT PATCH", r"/v3/regions/\{region_id\}", 403, body={"region": {"description": "stolen"}}),
    Probe("DELETE", r"/v3/regions/\{region_id\}", 403),
    Probe("GET", r"/v3/(services|endpoints)(/\{service_id\}|/\{endpoint_id\})?", 403),
    Probe("POST", r"/v3/services", 403, body={"service": {"type": "stolen"}}),
    Probe("POST", r"/v3/endpoints", 403, body=lambda ids: {"endpoint": {
        "service_id": ids["service"], "interface": "public", "url": "http://127.0.0.1:1/"}}),
    Probe("PATCH", r"/v3/services/\{service_id\}", 403, body={"service": {"enabled": False}}),
    Probe("PATCH", r"/v3/endpoints/\{endpoint_id\}", 403, body={"endpoint": {"url": "http://127.0.0.1:1/"}}),
    Probe("DELETE", r"/v3/(services/\{service_id\}|endpoints/\{endpoint_id\})", 403),
    Probe("GET PUT DELETE", r"/v3/OS-EP-FILTER/projects/\{project_id\}/endpoints(/\{endpoint_id\})?", 403),
    Probe("GET", r"/v3/OS-EP-FILTER/(projects/\{project_id\}/endpoint_groups|endpoints/\{endpoint_id\}/projects)",
          403),
    Probe("GET", r"/v3/OS-EP-FILTER/endpoint_groups", 403),
    Probe("POST", r"/v3/OS-EP-FILTER/endpoint_groups", 403, body={"endpoint_group": {"name": "stolen", "filters": {}}}),
    Probe("GET DELETE", r"/v3/OS-EP-FILTER/endpoint_groups/\{group_id\}(/endpoints|/projects)?", 403, params=EG),
    Probe("PATCH", r"/v3/OS-EP-FILTER/endpoint_groups/\{group_id\}", 403, params=EG,
          body={"endpoint_group": {"name": "stolen"}}),
    Probe("GET PUT DELETE", r"/v3/OS-EP-FILTER/endpoint_groups/\{group_id\}/projects/\{project_id\}", 403, params=EG),
    # limits: registered ones and the model are public; a project's limit is its own
    Probe("GET", r"/v3/(registered_limits|limits|limits/model)", 200),
    Probe("GET", r"/v3/registered_limits/\{limit_id\}", 200, params={"limit_id": "registered_limit"}),
    Probe("GET", r"/v3/limits/\{limit_id\}", 403),
    Probe("POST", r"/v3/(registered_limits|limits)", 403, body=lambda ids: {"limits": [{
        "service_id": ids["service"], "project_id": ids["demo_project"], "resource_name": "stolen",
        "resource_limit": 99}]}),
    Probe("PATCH", r"/v3/registered_limits/\{limit_id\}", 403, params={"limit_id": "registered_limit"},
          body={"registered_limit": {"default_limit": 99}}),
    Probe("PATCH", r"/v3/limits/\{limit_id\}", 403, body={"limit": {"resource_limit": 99}}),
    Probe("DELETE", r"/v3/registered_limits/\{limit_id\}", 403, params={"limit_id": "registered_limit"}),
    Probe("DELETE", r"/v3/limits/\{limit_id\}", 403),
    # domain configuration: an admin's, but anyone may read the default domain's security compliance options
    Probe("GET", r"/v3/domains/config(/\{group\}(/\{option\})?)?/default", 403),
    Probe("GET PATCH PUT DELETE", r"/v3/domains/\{domain_id\}/config(/\{group\}(/\{option\})?)?", 403,
          body={"config": {"ldap": {"url": "ldap://stolen"}}}),
    Probe("GET", r"/v3/domains/\{domain_id\}/config/\{group\}(/\{option\})?", 200,
          params={"domain_id": "default_domain", "group": "compliance", "option": "compliance_option"}),
    # policies and endpoint policy associations
    Probe("GET", r"/v3/policies(/\{policy_id\})?", 403),
    Probe("POST", r"/v3/policies", 403, body={"policy": {"blob": "{}", "type": "application/json"}}),
    Probe("PATCH", r"/v3/policies/\{policy_id\}", 403, body={"policy": {"blob": "{\"stolen\": 1}"}}),
    Probe("DELETE", r"/v3/policies/\{policy_id\}", 403),
    Probe("GET PUT DELETE", r"/v3/policies/\{policy_id\}/OS-ENDPOINT-POLICY/.*", 403),
    Probe("GET", r"/v3/endpoints/\{endpoint_id\}/OS-ENDPOINT-POLICY/policy", 403),
    Probe("GET", r"/v3/OS-REVOKE/events", 403),
    # OAuth1: consumers and access tokens are an admin's; the token dance is signed, not token-authenticated
    Probe("GET POST", r"/v3/OS-OAUTH1/consumers", 403, body={"consumer": {"description": "stolen"}}),
    Probe("GET DELETE", r"/v3/OS-OAUTH1/consumers/\{consumer_id\}", 403),
    Probe("PATCH", r"/v3/OS-OAUTH1/consumers/\{consumer_id\}", 403, body={"consumer": {"description": "stolen"}}),
    Probe("POST", r"/v3/OS-OAUTH1/request_token", 400, headers={"Requested-Project-Id": "{alt_project}"}),
    Probe("POST", r"/v3/OS-OAUTH1/access_token", 400),
    Probe("PUT", r"/v3/OS-OAUTH1/authorize/\{request_token_id\}", 403, params={"request_token_id": "missing"},
          body={"roles": [{"name": "member"}]}),
    Probe("GET DELETE", r"/v3/users/\{user_id\}/OS-OAUTH1/access_tokens(/\{access_token_id\}(/roles(/\{role_id\})?)?)?",
          403, params={"user_id": "admin_user"}),
    # OS-FEDERATION: an admin's to manage; the scope listings are the caller's own
    Probe("GET", r"/v3/OS-FEDERATION/(identity_providers|mappings|service_providers)", 403),
    Probe("GET DELETE", r"/v3/OS-FEDERATION/identity_providers/\{idp_id\}(/protocols(/\{protocol_id\})?)?", 403),
    Probe("PUT PATCH", r"/v3/OS-FEDERATION/identity_providers/\{idp_id\}", 403,
          body={"identity_provider": {"description": "stolen"}}),
    Probe("PUT PATCH", r"/v3/OS-FEDERATION/identity_providers/\{idp_id\}/protocols/\{protocol_id\}", 403,
          body=lambda ids: {"protocol": {"mapping_id": ids["mapping"]}}),
    Probe("GET DELETE", r"/v3/OS-FEDERATION/(mappings/\{mapping_id\}|service_providers/\{sp_id\})", 403),
    Probe("PUT PATCH", r"/v3/OS-FEDERATION/mappings/\{mapping_id\}", 403, body={"mapping": {"rules": FED_RULES}}),
    Probe("PUT PATCH", r"/v3/OS-FEDERATION/service_providers/\{sp_id\}", 403, body={"service_provider": {
        "auth_url": "https://stolen.example/", "sp_url": "https://stolen.example/"}}),
    Probe("GET", r"/v3/OS-FEDERATION/(projects|domains)", 200),
    # federated authentication takes no caller token and finds no assertion: 401 for everyone
    Probe("GET POST", r"/v3/OS-FEDERATION/identity_providers/\{idp_id\}/protocols/\{protocol_id\}/auth", 401),
    Probe("GET POST", r"/v3/auth/OS-FEDERATION/websso/\{protocol_id\}", 401),
    Probe("GET POST", r"/v3/auth/OS-FEDERATION/identity_providers/\{idp_id\}/protocols/\{protocol_id\}/websso",
          401, query="origin=https://dashboard.example/"),
    # an assertion for the (disabled) SP from demo's own token
    Probe("POST", r"/v3/auth/OS-FEDERATION/saml2(/ecp)?", 403, body=lambda ids: {"auth": {
        "identity": {"methods": ["token"], "token": {"id": ids["demo_token"]}},
        "scope": {"service_provider": {"id": ids["sp"]}}}}),
    Probe("GET", r"/v3/OS-FEDERATION/saml2/metadata", None, "the same 400 for everyone: no SAML2 IdP is configured"),
    # alt_demo's EC2 key with a signature demo made up: identity recomputes it with the secret and refuses
    Probe("POST", r"/v3/ec2tokens", 401, body=lambda ids: {"credentials": {
        "access": ids["ec2"], "signature": "bm90LWFsdHMtc2lnbmF0dXJl", "host": "127.0.0.1", "verb": "GET",
        "path": "/", "params": {"SignatureVersion": "2", "SignatureMethod": "HmacSHA256",
                                "AWSAccessKeyId": ids["ec2"]}}}),
    Probe("POST", r"/v3/s3tokens", 401, body=lambda ids: {"credentials": {
        "access": ids["ec2"], "signature": "bm90LWFsdHMtc2lnbmF0dXJl", "token": "R0VUCgoKCi8="}}),
)

MATRIX = register(ServiceMatrix(
    service="identity", prefix="/identity", error=keystone_shape, seed=seed, probes=ROWS, params=PARAMS,
    public=(Probe("POST", r"/v3/auth/tokens", None, "authenticates by what the body holds (demo's token here)"),
            Probe("POST", r"/v3/OS-OAUTH1/(request|access)_token", None,
                  "authenticated by the consumer's OAuth1 signature, not by a token (400 without one)"),
            Probe("POST", r"/v3/auth/OS-FEDERATION/saml2(/ecp)?", None, "authenticates by the token in the body")),
    filters=("user_id={alt_user}", "project_id={alt_project}", "type=ec2", "type=cert", "trustor_user_id={alt_user}")))
