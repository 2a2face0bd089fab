"""OS-OAUTH1 delegation: consumers, request and access tokens, and tokens from them.

The flow runs through the ``openstack`` CLI (consumer, request token, access token commands)
and keystoneauth's ``V3OAuth1`` plugin; the refusals through requests signed with oauthlib's
client, the library keystoneauth and keystoneclient sign with.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl

import requests
import sqlalchemy as sa
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.extras.oauth1 import V3OAuth1
from oauthlib import oauth1

from tests.functional.cloud import RunningCloud

IDENTITY = {"service_type": "identity"}


def _call(conn: Any, method: str, path: str, **kw: Any) -> Any:
    return conn.session.request(path, method, endpoint_filter=IDENTITY, raise_exc=False, **kw)


def _consumer(admin: Any) -> tuple[str, str]:
    resp = _call(admin, "POST", "/v3/OS-OAUTH1/consumers", json={"consumer": {"description": "test"}})
    assert resp.status_code == 201, resp.text
    doc = resp.json()["consumer"]
    return doc["id"], doc["secret"]


def _signed_post(cloud: RunningCloud, path: str, client: Any, headers: dict[str, str] | None = None,
                 **kw: Any) -> requests.Response:
    url = f"{cloud.identity_url}/v3/{path}"
    _u, signed, _b = client.sign(url, http_method="POST")
    return requests.post(url, headers={**signed, **(headers or {})}, timeout=30, **kw)


def _request_token(cloud: RunningCloud, key: str, secret: str, project_id: str) -> requests.Response:
    client = oauth1.Client(key, client_secret=secret, signature_method=oauth1.SIGNATURE_HMAC, callback_uri="oob")
    return _signed_post(cloud, "OS-OAUTH1/request_token", client, {"Requested-Project-Id": project_id})


def _access_token(cloud: RunningCloud, key: str, secret: str, rkey: str, rsecret: str,
                  verifier: str) -> requests.Response:
    client = oauth1.Client(key, client_secret=secret, resource_owner_key=rkey, resource_owner_secret=rsecret,
                           verifier=verifier, signature_method=oauth1.SIGNATURE_HMAC)
    return _signed_post(cloud, "OS-OAUTH1/access_token", client)


def _form(resp: requests.Response) -> dict[str, str]:
    assert resp.status_code == 201, resp.text
    assert resp.headers["content-type"].startswith("application/x-www-form-urlencoded")
    return dict(parse_qsl(resp.text))


def _authorize(admin: Any, token_id: str, roles: list[dict[str, str]]) -> Any:
    return _call(admin, "PUT", f"/v3/OS-OAUTH1/authorize/{token_id}", json={"roles": roles})


def _delegation(cloud: RunningCloud, admin: Any, roles: list[dict[str, str]]) -> dict[str, str]:
    """A consumer with an access token on admin's project, authorized by admin with ``roles``."""
    key, secret = _consumer(admin)
    req = _form(_request_token(cloud, key, secret, admin.current_project_id))
    verifier = _authorize(admin, req["oauth_token"], roles).json()["token"]["oauth_verifier"]
    acc = _form(_access_token(cloud, key, secret, req["oauth_token"], req["oauth_token_secret"], verifier))
    return {"consumer": key, "consumer_secret": secret, "access": acc["oauth_token"],
            "access_secret": acc["oauth_token_secret"]}


def _oauth_session(cloud: RunningCloud, d: dict[str, str]) -> ks_session.Session:
    auth = V3OAuth1(f"{cloud.identity_url}/v3", consumer_key=d["consumer"], consumer_secret=d["consumer_secret"],
                    access_key=d["access"], access_secret=d["access_secret"])
    return ks_session.Session(auth=auth)


def _token(sess: ks_session.Session) -> str:
    token = sess.get_token()
    assert token is not None
    return token


def _validate(admin: Any, token: str) -> Any:
    return _call(admin, "GET", "/v3/auth/tokens", headers={"X-Subject-Token": token})


def test_consumers_through_the_cli(cloud: RunningCloud, admin: Any) -> None:
    made = cloud.cli("consumer", "create", "--description", "cli consumer")
    assert made["description"] == "cli consumer" and len(made["secret"]) == 32
    listed = cloud.cli("consumer", "list")
    assert made["id"] in {c["ID"] for c in listed}
    shown = cloud.cli("consumer", "show", made["id"])
    assert shown["description"] == "cli consumer" and "secret" not in shown
    cloud.cli("consumer", "set", "--description", "renamed", made["id"], json_out=False)
    assert cloud.cli("consumer", "show", made["id"])["description"] == "renamed"
    # The secret cannot be changed, nor the id; an empty update is refused too.
    for body in ({"secret": "mine"}, {"id": uuid.uuid4().hex}, {}):
        resp = _call(admin, "PATCH", f"/v3/OS-OAUTH1/consumers/{made['id']}", json={"consumer": body})
        assert resp.status_code == 400, (body, resp.text)
    assert _call(admin, "GET", f"/v3/OS-OAUTH1/consumers/{made['id']}").json()["consumer"]["description"] == "renamed"
    cloud.cli("consumer", "delete", made["id"], json_out=False)
    assert _call(admin, "GET", f"/v3/OS-OAUTH1/consumers/{made['id']}").status_code == 404


def test_consumers_are_an_admins(demo: Any, admin: Any) -> None:
    key, _secret = _consumer(admin)
    assert _call(demo, "POST", "/v3/OS-OAUTH1/consumers", json={"consumer": {}}).status_code == 403
    assert _call(demo, "GET", "/v3/OS-OAUTH1/consumers").status_code == 403
    for method in ("GET", "DELETE"):
        assert _call(demo, method, f"/v3/OS-OAUTH1/consumers/{key}").status_code == 403
    resp = _call(demo, "PATCH", f"/v3/OS-OAUTH1/consumers/{key}", json={"consumer": {"description": "x"}})
    assert resp.status_code == 403
    assert _call(admin, "GET", f"/v3/OS-OAUTH1/consumers/{key}").json()["consumer"]["description"] == "test"


def test_the_whole_flow_through_the_cli_and_keystoneauth(cloud: RunningCloud, admin: Any) -> None:
    project = admin.current_project_id
    consumer = cloud.cli("consumer", "create")
    key, secret = consumer["id"], consumer["secret"]
    req = cloud.cli("request", "token", "create", "--consumer-key", key, "--consumer-secret", secret,
                    "--project", project)
    assert req["expires"] and len(req["key"]) == 32
    authorized = cloud.cli("request", "token", "authorize", "--request-key", req["key"], "--role", "member")
    acc = cloud.cli("access", "token", "create", "--consumer-key", key, "--consumer-secret", secret,
                    "--request-key", req["key"], "--request-secret", req["secret"],
                    "--verifier", authorized["oauth_verifier"])
    d = {"consumer": key, "consumer_secret": secret, "access": acc["key"], "access_secret": acc["secret"]}
    sess = _oauth_session(cloud, d)
    token = _token(sess)
    plugin = sess.auth
    assert isinstance(plugin, V3OAuth1)  # the plugin _oauth_session gave it
    access = plugin.get_access(sess)
    assert access.project_id == project and access.user_id == admin.current_user_id
    # Only the delegated role (and what it implies), not the authorizer's admin role.
    assert set(access.role_names or ()) == {"member", "reader"}
    body = _validate(admin, token).json()["token"]
    assert body["OS-OAUTH1"] == {"access_token_id": acc["key"], "consumer_id": key}
    assert body["methods"] == ["oauth1"] and body["project"]["id"] == project
    # The token works against identity (a user may read its own user record).
    me = sess.get(f"{cloud.identity_url}/v3/users/{admin.current_user_id}", raise_exc=False)
    assert me.status_code == 200, me.text
    # The request token was used up.
    again = _access_token(cloud, key, secret, req["key"], req["secret"], authorized["oauth_verifier"])
    assert again.status_code == 404


def test_access_tokens_of_a_user(cloud: RunningCloud, admin: Any, demo: Any) -> None:
    d = _delegation(cloud, admin, [{"name": "member"}])
    user = admin.current_user_id
    base = f"/v3/users/{user}/OS-OAUTH1/access_tokens"
    listed = _call(admin, "GET", base).json()["access_tokens"]
    mine = next(t for t in listed if t["id"] == d["access"])
    assert mine["consumer_id"] == d["consumer"] and mine["project_id"] == admin.current_project_id
    assert mine["expires_at"] and "access_secret" not in mine and mine["links"]["roles"].endswith("/roles")
    assert _call(admin, "GET", f"{base}/{d['access']}").json()["access_token"]["authorizing_user_id"] == user
    roles = _call(admin, "GET", f"{base}/{d['access']}/roles").json()["roles"]
    assert [r["name"] for r in roles] == ["member"]
    role = _call(admin, "GET", f"{base}/{d['access']}/roles/{roles[0]['id']}")
    assert role.status_code == 200 and role.json()["role"]["name"] == "member"
    assert _call(admin, "GET", f"{base}/{d['access']}/roles/{uuid.uuid4().hex}").status_code == 404
    # Another user's path: the token is not found there; demo may not look at all (Keystone: admin only).
    other = f"/v3/users/{demo.current_user_id}/OS-OAUTH1/access_tokens/{d['access']}"
    assert _call(admin, "GET", other).status_code == 404
    assert _call(admin, "DELETE", other).status_code == 401
    assert _call(demo, "GET", base).status_code == 403
    assert _call(demo, "GET", f"{base}/{d['access']}").status_code == 403
    assert _call(demo, "DELETE", f"{base}/{d['access']}").status_code == 403
    # Deleting the access token ends the tokens issued from it, and no new one is issued.
    token = _token(_oauth_session(cloud, d))
    assert _validate(admin, token).status_code == 200
    assert _call(admin, "DELETE", f"{base}/{d['access']}").status_code == 204
    assert _validate(admin, token).status_code == 404
    assert _call(admin, "GET", f"{base}/{d['access']}").status_code == 404
    try:
        _oauth_session(cloud, d).get_token()
        raise AssertionError("a deleted access token still gave a token")
    except ks_exc.NotFound:
        pass


def test_a_delegated_token_delegates_no_further(cloud: RunningCloud, admin: Any) -> None:
    d = _delegation(cloud, admin, [{"name": "admin"}])
    token = _token(_oauth_session(cloud, d))
    user, project = admin.current_user_id, admin.current_project_id
    headers = {"X-Auth-Token": token}
    v3 = f"{cloud.identity_url}/v3"
    trust = requests.post(f"{v3}/OS-TRUST/trusts", headers=headers, timeout=30, json={"trust": {
        "trustor_user_id": user, "trustee_user_id": user, "project_id": project, "impersonation": False,
        "roles": [{"name": "member"}]}})
    assert trust.status_code == 403, trust.text
    app = requests.post(f"{v3}/users/{user}/application_credentials", headers=headers, timeout=30,
                        json={"application_credential": {"name": f"oauth-{uuid.uuid4().hex[:8]}"}})
    assert app.status_code == 403, app.text
    key, secret = _consumer(admin)
    req = _form(_request_token(cloud, key, secret, project))
    auth = requests.put(f"{v3}/OS-OAUTH1/authorize/{req['oauth_token']}", headers=headers, timeout=30,
                        json={"roles": [{"name": "member"}]})
    assert auth.status_code == 403, auth.text
    assert requests.get(f"{v3}/users/{user}/OS-OAUTH1/access_tokens", headers=headers, timeout=30).status_code == 403
    rescope = requests.post(f"{v3}/auth/tokens", timeout=30, json={"auth": {"identity": {
        "methods": ["token"], "token": {"id": token}}}})
    assert rescope.status_code == 403, rescope.text


def test_deleting_the_consumer_ends_its_tokens(cloud: RunningCloud, admin: Any) -> None:
    d = _delegation(cloud, admin, [{"name": "member"}])
    token = _token(_oauth_session(cloud, d))
    assert _validate(admin, token).status_code == 200
    assert _call(admin, "DELETE", f"/v3/OS-OAUTH1/consumers/{d['consumer']}").status_code == 204
    assert _validate(admin, token).status_code == 404
    base = f"/v3/users/{admin.current_user_id}/OS-OAUTH1/access_tokens"
    assert _call(admin, "GET", f"{base}/{d['access']}").status_code == 404


def test_request_token_refusals(cloud: RunningCloud, admin: Any) -> None:
    key, secret = _consumer(admin)
    project = admin.current_project_id
    assert _request_token(cloud, key, "0" * 32, project).status_code == 401  # wrong secret: bad signature
    assert _request_token(cloud, uuid.uuid4().hex, secret, project).status_code == 404  # unknown consumer
    assert _request_token(cloud, key, secret, uuid.uuid4().hex).status_code == 404  # unknown project
    client = oauth1.Client(key, client_secret=secret, signature_method=oauth1.SIGNATURE_HMAC, callback_uri="oob")
    assert _signed_post(cloud, "OS-OAUTH1/request_token", client).status_code == 400  # no Requested-Project-Id
    unsigned = requests.post(f"{cloud.identity_url}/v3/OS-OAUTH1/request_token", timeout=30,
                             headers={"Requested-Project-Id": project})
    assert unsigned.status_code == 400
    got = _form(_request_token(cloud, key, secret, project))
    assert set(got) == {"oauth_token", "oauth_token_secret", "oauth_expires_at"}


def test_authorize_and_access_token_refusals(cloud: RunningCloud, admin: Any) -> None:
    key, secret = _consumer(admin)
    project = admin.current_project_id
    assert _authorize(admin, uuid.uuid4().hex, [{"name": "member"}]).status_code == 404
    req = _form(_request_token(cloud, key, secret, project))
    rkey, rsecret = req["oauth_token"], req["oauth_token_secret"]
    # A role the authorizing user does not hold on the project; a malformed role list.
    role = _call(admin, "POST", "/v3/roles", json={"role": {"name": f"unheld-{uuid.uuid4().hex[:8]}"}}).json()["role"]
    assert _authorize(admin, rkey, [{"id": role["id"]}]).status_code == 401
    assert _authorize(admin, rkey, [{"id": "x", "name": "y"}]).status_code == 400
    # Not authorized yet: there is no verifier to match.
    assert _access_token(cloud, key, secret, rkey, rsecret, "abcdefgh").status_code == 401
    verifier = _authorize(admin, rkey, [{"name": "member"}]).json()["token"]["oauth_verifier"]
    wrong = "".join("a" if c != "a" else "b" for c in verifier)
    assert _access_token(cloud, key, secret, rkey, rsecret, wrong).status_code == 401
    assert _access_token(cloud, key, secret, rkey, "0" * 32, verifier).status_code == 401  # bad signature
    other_key, other_secret = _consumer(admin)
    assert _access_token(cloud, other_key, other_secret, rkey, rsecret, verifier).status_code == 401
    assert _access_token(cloud, key, secret, uuid.uuid4().hex, rsecret, verifier).status_code == 404
    # An expired request token is refused, by authorize and by the exchange.
    with cloud.engine() as engine, engine.begin() as conn:
        conn.execute(sa.text("UPDATE request_token SET expires_at = :past WHERE id = :id"),
                     {"past": "2000-01-01 00:00:00", "id": rkey})
    assert _authorize(admin, rkey, [{"name": "member"}]).status_code == 401
    assert _access_token(cloud, key, secret, rkey, rsecret, verifier).status_code == 401


def test_oauth1_method_refusals(cloud: RunningCloud, admin: Any) -> None:
    d = _delegation(cloud, admin, [{"name": "member"}])
    url = f"{cloud.identity_url}/v3/auth/tokens"
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["oauth1"], "oauth1": {}}}}
    assert requests.post(url, json=body, timeout=30).status_code == 400  # no OAuth header
    bad = oauth1.Client(d["consumer"], client_secret=d["consumer_secret"], resource_owner_key=d["access"],
                        resource_owner_secret="0" * 32, signature_method=oauth1.SIGNATURE_HMAC)
    _u, headers, _b = bad.sign(url, http_method="POST")
    assert requests.post(url, json=body, headers=headers, timeout=30).status_code == 401
    good = oauth1.Client(d["consumer"], client_secret=d["consumer_secret"], resource_owner_key=d["access"],
                         resource_owner_secret=d["access_secret"], signature_method=oauth1.SIGNATURE_HMAC)
    _u, headers, _b = good.sign(url, http_method="POST")
    ok = requests.post(url, json=body, headers=headers, timeout=30)
    assert ok.status_code == 201 and "OS-OAUTH1" in ok.json()["token"], ok.text
    with cloud.engine() as engine, engine.begin() as conn:
        conn.execute(sa.text("UPDATE access_token SET expires_at = :past WHERE id = :id"),
                     {"past": "2000-01-01 00:00:00", "id": d["access"]})
    _u, headers, _b = good.sign(url, http_method="POST")
    assert requests.post(url, json=body, headers=headers, timeout=30).status_code == 401
