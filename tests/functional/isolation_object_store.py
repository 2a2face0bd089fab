"""Object storage's rows of the isolation matrix (test_isolation.py).

Swift's keystoneauth owns an account by the token's project: demo reaches alt_demo's account
(``AUTH_<alt's project>``), its containers and objects only through ACLs, and alt_demo grants
none here — every method on every level is 403 for demo (Swift does not hide existence behind
404: the account is named by the project) and 401 without a token, in Swift's HTML error shape.
Only ``/info`` is public.
"""

from __future__ import annotations

import uuid

import httpx

from onestack.object_store.errors import reason
from tests.functional.isolation_support import Actors, Probe, Seeded, ServiceMatrix, ok, register

PREFIX = "/object-store"


def swift_shape(resp: httpx.Response, code: int) -> str:
    """swob's error page: ``<html><h1>Forbidden</h1><p>…</p></html>`` as text/html."""
    ok_shape = (resp.headers.get("content-type", "").startswith("text/html")
                and resp.text.startswith(f"<html><h1>{reason(code)}</h1>"))
    return "" if ok_shape else f"not a Swift error page: {resp.text[:200]}"


def seed(a: Actors) -> Seeded:
    ids = a.ids()
    tag = uuid.uuid4().hex[:10]
    account = "AUTH_" + ids["alt_project"]
    container, obj = f"iso-c-{tag}", f"iso-o-{tag}"
    base = f"{PREFIX}/v1/{account}"
    alt = a.alt_http
    ok(alt.put(f"{base}/{container}", headers={"X-Container-Meta-Owner": "alt"}), 201, 202)
    ok(alt.put(f"{base}/{container}/{obj}", content=b"alt's data", headers={"Content-Type": "text/plain"}), 201)
    ids.update(account=account, container=container, object=obj)

    def snapshot() -> object:
        head_account = alt.head(base)
        listing = alt.get(f"{base}/{container}", params={"format": "json"})
        got = alt.get(f"{base}/{container}/{obj}")
        return (head_account.status_code, head_account.headers.get("x-account-object-count"),
                {k: v for k, v in head_account.headers.items() if k.startswith("x-account-meta-")},
                listing.status_code, [(row["name"], row["hash"]) for row in listing.json()],
                {k: v for k, v in listing.headers.items() if k.startswith("x-container-meta-")},
                got.status_code, got.content)

    return Seeded(ids=ids, secrets={container, obj}, snapshot=snapshot,
                  cleanup=[(alt, "DELETE", f"{base}/{container}/{obj}"), (alt, "DELETE", f"{base}/{container}")])


ACCOUNT, CONTAINER, OBJECT = r"/v1/\{account\}", r"/v1/\{account\}/\{container\}", r"/v1/\{account\}/\{container\}/\{object\}"

ROWS = (
    Probe("GET", r"/info", 200, sweep=False),
    # alt's account: no reading, no metadata, no account management
    Probe("GET", ACCOUNT, 403),
    Probe("POST", ACCOUNT, 403, headers={"X-Account-Meta-Stolen": "1"}),
    Probe("PUT DELETE", ACCOUNT, 403),
    # alt's container: no listing, no metadata, no creating or deleting
    Probe("GET", CONTAINER, 403),
    Probe("PUT", CONTAINER, 403, headers={"X-Container-Read": "*:*"}),
    Probe("POST", CONTAINER, 403, headers={"X-Container-Read": ".r:*,.rlistings"}),
    Probe("DELETE", CONTAINER, 403),
    # alt's object: no reading, overwriting, metadata, deleting or copying
    Probe("GET DELETE", OBJECT, 403),
    Probe("PUT", OBJECT, 403, body={"stolen": True}),
    Probe("POST", OBJECT, 403, headers={"X-Object-Meta-Stolen": "1"}),
    Probe("COPY", OBJECT, 403, headers={"Destination": "{container}/iso-copy"}),
)

MATRIX = register(ServiceMatrix(
    service="object-store", prefix=PREFIX, error=swift_shape, seed=seed, probes=ROWS,
    params={"account": "account", "container": "container", "object": "object"},
    public=(Probe("GET", r"/info", 200, why="Swift's capabilities document, the same for every caller"),)))
