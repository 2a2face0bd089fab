"""Hostile input against every route of every service the cloud serves: no 5xx, errors in the
service's own shape, and a refused request leaves nothing behind (tests/functional/fuzz_cases.py
builds the cases from the services' own routers).

The cases are seeded (``ONESTACK_FUZZ_SEED``, default below) so a failure replays. The default
run tries a sample of each route's cases; ``ONESTACK_FUZZ=long`` tries them all.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from onestack.core.api.faults import ApiError, ErrorRenderer, keystone_error, nova_error
from tests.functional.cloud import RunningCloud, make_cloud, wait_until
from tests.functional.fuzz_cases import (
    MOUNTED_ROUTES,
    SEEDS,
    Case,
    Endpoint,
    cases_for,
    fill,
    mounted_services,
    sample,
    served_endpoints,
    served_services,
)

LONG = os.environ.get("ONESTACK_FUZZ", "") == "long"
SEED = int(os.environ.get("ONESTACK_FUZZ_SEED", "20261206"))
LATEST = {"compute": "compute latest", "placement": "placement latest"}
# Nova's deliberate answer for what the (simulated) hypervisor cannot do, e.g. setting a password:
# an answer in the service's shape, not a failure.
NOT_IMPLEMENTED = 501


# --- checking the answers -------------------------------------------------------------------------

# Error bodies a service sends besides its renderer's: Swift answers an error that carries a
# detail ("Invalid UTF8 or contains NULL", "Metadata value too long") as text/plain, and the
# others with its HTML page.
ALSO_ERROR_TYPES: dict[str, tuple[str, ...]] = {"object-store": ("text/plain",)}

def _shape(document: Any) -> Any:
    """Keys of an error document, one level down (values' own keys for objects and lists of objects)."""
    if isinstance(document, dict):
        return {k: sorted(v) if isinstance(v, dict) else
                sorted(v[0]) if isinstance(v, list) and v and isinstance(v[0], dict) else None
                for k, v in document.items()}
    return None


def shape_problem(endpoint: Endpoint, resp: httpx.Response) -> str | None:
    """Why an error answer is not in the service's own error shape, or None."""
    expected = endpoint.render_error(ApiError("x", status=resp.status_code))
    want_type = expected.media_type or ""
    got_type = resp.headers.get("content-type", "")
    if got_type.startswith(ALSO_ERROR_TYPES.get(endpoint.service, ())):
        return None
    if endpoint.service == "object-store" and resp.status_code == 412 and not resp.content:
        return None  # Swift's failed If-Match: the object's own headers, no body
    if not got_type.startswith(want_type):
        return f"content type {got_type!r}, the service answers errors as {want_type!r}"
    if want_type != "application/json":
        return None
    try:
        got = _shape(resp.json())
    except ValueError:
        return "error body is not JSON"
    want = _shape(json.loads(bytes(expected.body)))
    if got is None or set(got) != set(want):
        return f"error body keys {sorted(got or [])}, expected {sorted(want)}"
    for key, inner in want.items():
        if inner is not None and not set(inner) <= set(got[key] or []):
            return f"error {key!r} has {got[key]}, expected at least {inner}"
    return None


@dataclass
class Tally:
    tried: int = 0
    dropped: int = 0
    stores_checked: int = 0
    shows_checked: int = 0
    server_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _counts(client: httpx.Client, urls: list[str]) -> dict[str, Any]:
    """How many of each listed thing there are: what a refused request must not change."""
    counts: dict[str, Any] = {}
    for url in urls:
        resp = client.get(url)
        if resp.status_code == 200 and resp.headers.get("content-type", "").startswith("application/json"):
            doc = resp.json()
            if isinstance(doc, dict):
                counts[url] = {k: len(v) for k, v in doc.items() if isinstance(v, list | dict)}
    return counts


def _relevant_lists(endpoint: Endpoint, endpoints: tuple[Endpoint, ...]) -> list[str]:
    """The parameterless GET routes of the same service under the same leading segments."""
    head = endpoint.literal_head[:2]
    return sorted({e.prefix + e.path for e in endpoints if e.service == endpoint.service and e.method == "GET"
                   and not e.params and len(head) >= 1 and e.literal_head[:len(head)] == head})


def _show(client: httpx.Client, endpoint: Endpoint, real: dict[tuple[str, str], str]) -> str | None:
    """The resource a write to ``endpoint`` would change, as its GET on the same path answers, if any."""
    if endpoint.method == "GET" or not endpoint.params or \
            not all((endpoint.service, p) in real for p in endpoint.params):
        return None
    for other in served_endpoints():
        if other.method == "GET" and other.service == endpoint.service and other.path == endpoint.path:
            headers = {"OpenStack-API-Version": LATEST[other.service]} if other.service in LATEST else {}
            resp = client.get(fill(other, real, random.Random(0)), headers=headers)
            # An error body carries a request id of its own each time: only a resource compares.
            if resp.status_code != 200:
                return None
            if other.service == "object-store":
                # Swift keeps metadata, ACLs, expiry and manifests in headers, not in the body.
                kept = sorted((k, v) for k, v in resp.headers.items()
                              if k in SWIFT_SHOWN or "-meta-" in k and not k.startswith("x-account-meta-temp"))
                return resp.text + json.dumps(kept)
            return resp.text
    return None


# Headers of a Swift GET that say what a write changed (besides ``x-*-meta-*``).
SWIFT_SHOWN = {"content-type", "etag", "content-length", "x-container-read", "x-container-write", "x-delete-at",
               "x-versions-location", "x-history-location", "x-object-manifest", "x-static-large-object",
               "x-symlink-target", "x-container-object-count", "x-account-container-count", "x-storage-policy"}


def send(client: httpx.Client, case: Case, tally: Tally) -> httpx.Response:
    headers = {"Content-Type": "application/json", **case.headers} if case.body is not None else dict(case.headers)
    if case.endpoint.service in LATEST and "OpenStack-API-Version" not in headers:
        headers["OpenStack-API-Version"] = LATEST[case.endpoint.service]
    url = f"{case.url}?{case.query}" if case.query else case.url
    try:
        return client.request(case.endpoint.method, url, content=case.body, headers=headers)
    except httpx.TransportError:
        # The server may close a connection after a 413 it answered before reading the body: the
        # answer is what counts, so ask again on a new connection once.
        tally.dropped += 1
    try:
        return client.request(case.endpoint.method, url, content=case.body, headers=headers)
    except httpx.TransportError as exc:
        # No answer at all (the server failed while sending it): as much a server error as a 5xx.
        return httpx.Response(599, text=f"no response: {exc!r}")


def readable(client: httpx.Client, real: dict[tuple[str, str], str]) -> dict[str, int]:
    """The status of every read the cloud serves that needs no id or only the fuzz's own ids."""
    statuses: dict[str, int] = {}
    for endpoint in served_endpoints():
        if endpoint.method == "GET" and all((endpoint.service, p) in real for p in endpoint.params):
            url = fill(endpoint, real, random.Random(0))
            headers = {"OpenStack-API-Version": LATEST[endpoint.service]} if endpoint.service in LATEST else {}
            statuses[url] = client.get(url, headers=headers).status_code
    return statuses


def fuzz_service(name: str, client: httpx.Client, real: dict[tuple[str, str], str], tally: Tally) -> None:
    endpoints = served_endpoints()
    rng = random.Random(f"{SEED}-{name}")
    for endpoint in (e for e in endpoints if e.service == name):
        cases = cases_for(endpoint, real, rng)
        if not LONG:
            cases = sample(cases, rng)
        mutating = endpoint.method != "GET"
        lists = _relevant_lists(endpoint, endpoints) if mutating else []
        before = _counts(client, lists) if lists else {}
        shown = _show(client, endpoint, real)
        accepted = False
        for case in cases:
            resp = send(client, case, tally)
            tally.tried += 1
            where = f"{endpoint.method} {endpoint.prefix}{endpoint.path} [{case.label}] -> {resp.status_code}"
            if resp.status_code >= 500 and resp.status_code != NOT_IMPLEMENTED:
                tally.server_errors.append(f"{where}: {resp.text[:200]}")
            elif resp.status_code >= 400:
                problem = shape_problem(endpoint, resp)
                if problem:
                    tally.problems.append(f"{where}: {problem}")
            else:
                accepted = True
        # A refused request stores nothing: the resource it addressed and the collections it could
        # have touched are as they were.
        if shown is not None and not accepted:
            tally.shows_checked += 1
        if shown is not None and not accepted and _show(client, endpoint, real) != shown:
            tally.problems.append(f"{endpoint.method} {endpoint.prefix}{endpoint.path}: refused requests changed "
                                  f"what GET {endpoint.path} shows")
        if lists and not accepted:
            tally.stores_checked += 1
            after = _counts(client, lists)
            if after != before:
                tally.problems.append(f"{endpoint.method} {endpoint.prefix}{endpoint.path}: refused requests changed "
                                      f"{ {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v} }")


# --- the cloud and what the cases can point at ----------------------------------------------------

@pytest.fixture(scope="module")
def fuzz_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    running = make_cloud(Path(tmp_path_factory.mktemp("fuzz")))
    running.start()
    yield running
    running.close()


def _session(cloud: RunningCloud, user: str) -> httpx.Client:
    """An HTTP client holding a token of ``user`` scoped to the project of the same name."""
    with httpx.Client(base_url=cloud.base_url, timeout=60) as anon:
        resp = anon.post("/identity/v3/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": cloud.password(user)}}},
            "scope": {"project": {"name": user, "domain": {"id": "default"}}}}})
        assert resp.status_code == 201, resp.text
        token = resp.headers["x-subject-token"]
    return httpx.Client(base_url=cloud.base_url, headers={"X-Auth-Token": token}, timeout=60)


@pytest.fixture(scope="module")
def client(fuzz_cloud: RunningCloud) -> Iterator[httpx.Client]:
    with _session(fuzz_cloud, "admin") as http:
        yield http


@pytest.fixture(scope="module")
def demo_client(fuzz_cloud: RunningCloud) -> Iterator[httpx.Client]:
    with _session(fuzz_cloud, "demo") as http:
        yield http


def _whoami(client: httpx.Client) -> tuple[str, str]:
    token = client.headers["X-Auth-Token"]
    me = client.get("/identity/v3/auth/tokens", headers={"X-Subject-Token": token}).json()["token"]
    return str(me["user"]["id"]), str(me["project"]["id"])


def _boot(client: httpx.Client, name: str, image: str, flavor: str) -> str:
    booted = client.post("/compute/v2.1/servers", headers={"OpenStack-API-Version": "compute 2.37"}, json={
        "server": {"name": name, "imageRef": image, "flavorRef": flavor, "networks": "none"}})
    server_id = _created(booted, "server", "id")

    def built() -> dict[str, Any] | None:
        doc: dict[str, Any] = client.get(f"/compute/v2.1/servers/{server_id}").json()["server"]
        return doc if doc["status"] in ("ACTIVE", "ERROR") else None

    shown = wait_until(built, timeout=60, what=f"server {name} built")
    assert shown["status"] == "ACTIVE", shown.get("fault", shown)
    return server_id


def _created(resp: httpx.Response, *keys: str) -> str:
    assert resp.status_code in (200, 201, 202), resp.text
    doc: Any = resp.json()
    for key in keys:
        doc = doc[key]
    return str(doc)


@pytest.fixture(scope="module")
def real_ids(client: httpx.Client) -> dict[tuple[str, str], str]:
    """Resources of the fuzz's own whose ids fill path parameters (the others get unknown ids)."""
    tag = uuid.uuid4().hex[:8]
    ident = "/identity/v3"
    project = _created(client.post(f"{ident}/projects", json={"project": {"name": f"fuzz-{tag}"}}), "project", "id")
    domain = _created(client.post(f"{ident}/domains", json={"domain": {"name": f"fuzz-{tag}"}}), "domain", "id")
    ids = {
        "project_id": project, "domain_id": domain,
        "user_id": _created(client.post(f"{ident}/users", json={"user": {"name": f"fuzz-{tag}"}}), "user", "id"),
        "group_id": _created(client.post(f"{ident}/groups", json={"group": {"name": f"fuzz-{tag}"}}), "group", "id"),
        "role_id": _created(client.post(f"{ident}/roles", json={"role": {"name": f"fuzz-{tag}"}}), "role", "id"),
        "region_id": _created(client.post(f"{ident}/regions", json={"region": {"id": f"fuzz-{tag}"}}), "region", "id"),
        "service_id": _created(client.post(f"{ident}/services", json={"service": {"type": f"fuzz-{tag}"}}),
                               "service", "id"),
    }
    real = {("identity", k): v for k, v in ids.items()}
    real[("identity", "_me")], real[("identity", "_my_project")] = _whoami(client)
    image = _created(client.post("/image/v2/images", json={"name": f"fuzz-{tag}"}), "id")
    real[("image", "image_id")] = image
    rp = _created(client.post("/placement/resource_providers", headers={"OpenStack-API-Version": "placement 1.20"},
                              json={"name": f"fuzz-{tag}"}), "uuid")
    real[("placement", "uuid")] = rp
    inventory = client.put(f"/placement/resource_providers/{rp}/inventories/VCPU",
                           json={"resource_provider_generation": 0, "total": 8})
    assert inventory.status_code == 200, inventory.text
    real[("placement", "resource_class")] = "CUSTOM_FUZZ"
    real[("placement", "name")] = "CUSTOM_FUZZ"
    flavor = _created(client.post("/compute/v2.1/flavors", json={"flavor": {
        "name": f"fuzz-{tag}", "ram": 64, "vcpus": 1, "disk": 1}}), "flavor", "id")
    aggregate = _created(client.post("/compute/v2.1/os-aggregates", json={"aggregate": {"name": f"fuzz-{tag}"}}),
                         "aggregate", "id")
    builtin = client.get("/image/v2/images?status=active").json()["images"]
    server_id = _boot(client, f"fuzz-{tag}", builtin[0]["id"], flavor)
    real.update({("compute", "flavor_id"): flavor, ("compute", "aggregate_id"): aggregate,
                 ("compute", "server_id"): server_id, ("compute", "image_id"): builtin[0]["id"],
                 ("compute", "project_id"): project, ("compute", "tenant_id"): project,
                 ("compute", "key"): "fuzzkey"})
    real.update(_network_ids(client, tag, project, admin=True))
    real.update(_volume_ids(client, tag, project, admin=None))
    real.update(_object_ids(client, tag, real[("identity", "_my_project")]))
    return real


def _network_ids(client: httpx.Client, tag: str, project: str, admin: bool) -> dict[tuple[str, str], str]:
    """The caller's own network, subnet, port, group and rule (an admin's also an external network,
    a router on it, a floating IP with a port forwarding, a pool, a scope, an RBAC policy)."""
    q = "/networking/v2.0"

    def make(collection: str, member: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = client.post(f"{q}/{collection}", json={member: body})
        assert resp.status_code == 201, resp.text
        made: dict[str, Any] = resp.json()[member]
        return made

    network = make("networks", "network", {"name": f"fuzz-{tag}"})["id"]
    subnet = make("subnets", "subnet", {"network_id": network, "cidr": "10.90.0.0/24", "ip_version": 4})["id"]
    group = make("security-groups", "security_group", {"name": f"fuzz-{tag}"})["id"]
    rule = make("security-group-rules", "security_group_rule", {"security_group_id": group, "direction": "ingress",
                                                                 "protocol": "tcp", "port_range_min": 22, "port_range_max": 22})["id"]
    port = make("ports", "port", {"network_id": network, "security_groups": [group]})
    ids = {"network_id": network, "resource_id": network, "subnet_id": subnet, "port_id": port["id"],
           "security_group_id": group, "rule_id": rule, "_port_ip": port["fixed_ips"][0]["ip_address"], "tag": "t"}
    if admin:
        ext = make("networks", "network", {"name": f"fuzz-ext-{tag}", "router:external": True})["id"]
        ext_subnet = make("subnets", "subnet", {"network_id": ext, "cidr": "198.18.0.0/24", "ip_version": 4})["id"]
        router = make("routers", "router", {"name": f"fuzz-{tag}", "external_gateway_info": {"network_id": ext}})["id"]
        added = client.put(f"{q}/routers/{router}/add_router_interface", json={"subnet_id": subnet})
        assert added.status_code == 200, added.text
        fip = make("floatingips", "floatingip", {"floating_network_id": ext})["id"]
        pf = client.post(f"{q}/floatingips/{fip}/port_forwardings", json={"port_forwarding": {
            "protocol": "tcp", "internal_port_id": port["id"], "internal_ip_address": ids["_port_ip"],
            "internal_port": 22, "external_port": 2222}})
        assert pf.status_code == 201, pf.text
        scope = make("address-scopes", "address_scope", {"name": f"fuzz-{tag}", "ip_version": 4})["id"]
        pool = make("subnetpools", "subnetpool", {"name": f"fuzz-{tag}", "prefixes": ["10.91.0.0/16"],
                                                  "default_prefixlen": 24, "address_scope_id": scope})["id"]
        rbac = make("rbac-policies", "rbac_policy", {"object_type": "network", "object_id": network,
                                                     "action": "access_as_shared", "target_tenant": project})["id"]
        ids.update({"_ext": ext, "_ext_subnet": ext_subnet, "router_id": router, "floatingip_id": fip,
                    "pf_id": pf.json()["port_forwarding"]["id"], "address_scope_id": scope, "subnetpool_id": pool,
                    "policy_id": rbac, "project_id": project, "alias": "router"})
        agents = client.get(f"{q}/agents").json()["agents"]
        ids.update({"agent_id": agents[0]["id"]} if agents else {})
    return {("network", k): v for k, v in ids.items()}


_CINDER = "/volume/v3"
_CINDER_LATEST = {"OpenStack-API-Version": "volume 3.71"}


def _volume_ids(client: httpx.Client, tag: str, project: str,
                admin: dict[tuple[str, str], str] | None) -> dict[tuple[str, str], str]:
    """The caller's own volume, snapshot, backup, attachment, transfer, group (of the admin's group
    type), group snapshot and user message (a volume of a type no backend serves fails and leaves
    one); an admin (``admin`` None) also makes the type, QoS spec, group type and that type."""
    def post(path: str, body: dict[str, Any], member: str, key: str = "id") -> str:
        return _created(client.post(f"{_CINDER}/{path}", json=body, headers=_CINDER_LATEST), member, key)

    def status(path: str, member: str, wanted: str) -> None:
        def reached() -> dict[str, Any] | None:
            shown: dict[str, Any] = client.get(f"{_CINDER}/{path}", headers=_CINDER_LATEST).json()[member]
            return shown if shown["status"] == wanted or shown["status"].startswith("error") else None
        found = wait_until(reached, timeout=90, what=f"{path} {wanted}")
        assert found["status"] == wanted, found

    if admin is None:
        vtype = post("types", {"volume_type": {"name": f"fuzz-{tag}", "extra_specs": {"fuzz:key": "v"}}},
                     "volume_type")
        nowhere = post("types", {"volume_type": {"name": f"fuzz-nowhere-{tag}", "extra_specs": {
            "volume_backend_name": f"fuzz-nowhere-{tag}"}}}, "volume_type")
        ids = {"type_id": vtype, "_nowhere": nowhere, "project_id": project, "class_name": f"fuzz-{tag}",
               "specs_id": post("qos-specs", {"qos_specs": {"name": f"fuzz-{tag}", "read_iops_sec": "100"}},
                                "qos_specs"),
               "_group_type": post("group_types", {"group_type": {"name": f"fuzz-{tag}"}}, "group_type")}
        services = client.get(f"{_CINDER}/os-services").json()["services"]
        ids["host"] = next(s["host"] for s in services if s["binary"] == "cinder-volume")
    else:
        ids = {k: admin[("volume", k)] for k in ("type_id", "_nowhere", "specs_id", "_group_type", "class_name",
                                                          "host")
               if ("volume", k) in admin}
        ids["project_id"] = project
    volume = post("volumes", {"volume": {"size": 1, "name": f"fuzz-{tag}", "volume_type": ids["type_id"],
                                         "metadata": {"fuzz:key": "v"}}}, "volume")
    spare = post("volumes", {"volume": {"size": 1, "name": f"fuzz-spare-{tag}"}}, "volume")
    failed = post("volumes", {"volume": {"size": 1, "name": f"fuzz-failed-{tag}", "volume_type": ids["_nowhere"]}},
                  "volume")
    for made in (volume, spare):
        status(f"volumes/{made}", "volume", "available")
    snapshot = post("snapshots", {"snapshot": {"volume_id": volume, "metadata": {"fuzz:key": "v"}}}, "snapshot")
    status(f"snapshots/{snapshot}", "snapshot", "available")
    backup = post("backups", {"backup": {"volume_id": volume}}, "backup")
    status(f"backups/{backup}", "backup", "available")
    status(f"volumes/{volume}", "volume", "available")
    group = post("groups", {"group": {"name": f"fuzz-{tag}", "group_type": ids["_group_type"],
                                      "volume_types": [ids["type_id"]]}}, "group")
    status(f"groups/{group}", "group", "available")
    group_snapshot = post("group_snapshots", {"group_snapshot": {"group_id": group}}, "group_snapshot")
    status(f"group_snapshots/{group_snapshot}", "group_snapshot", "available")
    ids.update({"volume_id": volume, "snapshot_id": snapshot, "backup_id": backup, "group_id": group,
                "gs_id": group_snapshot, "key": "fuzz:key",
                "attachment_id": post("attachments", {"attachment": {"volume_uuid": volume}}, "attachment"),
                "transfer_id": post("volume-transfers", {"transfer": {"volume_id": spare}}, "transfer")})

    def message() -> str | None:
        found = client.get(f"{_CINDER}/messages", headers=_CINDER_LATEST).json()["messages"]
        return next((str(m["id"]) for m in found if m["resource_uuid"] == failed), None)

    ids["message_id"] = wait_until(message, timeout=60, what="a user message")
    return {("volume", k): v for k, v in ids.items()}


def _object_ids(client: httpx.Client, tag: str, project: str) -> dict[tuple[str, str], str]:
    """The caller's own account (keystoneauth's AUTH_<project>), a container in it and an object."""
    account = f"AUTH_{project}"
    container, obj = f"fuzz-{tag}", "fuzz-object"
    for path, body in ((f"{account}/{container}", None), (f"{account}/{container}/{obj}", b"fuzz")):
        made = client.put(f"/object-store/v1/{path}", content=body)
        if made.status_code == 501:  # a controller still a stub: its paths get unknown names
            return {("object-store", "account"): account}
        assert made.status_code in (201, 202), made.text
    return {("object-store", "account"): account, ("object-store", "container"): container,
            ("object-store", "object"): obj}


def test_routes_come_from_every_served_service() -> None:
    """The fuzz covers what ``onestack up`` serves, read from its routers (not a hand-kept list)."""
    assert {"identity", "image", "placement", "compute", "network"} <= set(served_services())
    paths = {(e.service, e.method, e.path) for e in served_endpoints()}
    assert ("identity", "POST", "/v3/auth/tokens") in paths
    assert ("compute", "DELETE", "/v2.1/servers/{server_id}") in paths
    assert ("placement", "PUT", "/resource_providers/{uuid}/inventories/{resource_class}") in paths
    assert ("network", "PUT", "/v2.0/floatingips/{floatingip_id}/port_forwardings/{pf_id}") in paths
    # Swift's proxy parses its own paths: its shapes are listed, and so must any other mounted API's.
    assert ("object-store", "COPY", "/v1/{account}/{container}/{object:path}") in paths
    assert set(mounted_services()) <= set(MOUNTED_ROUTES), mounted_services()
    # every network route taking a body has a seed body to mutate (Neutron's handlers have no JSON schema)
    unseeded = {(e.method, e.prefix + e.path) for e in served_endpoints() if e.service == "network"
                and e.method in ("POST", "PUT") and not e.path.endswith("/{tag}")} - set(SEEDS)
    assert not unseeded, sorted(unseeded)


@pytest.fixture(scope="module")
def demo_ids(demo_client: httpx.Client, real_ids: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    """As ``real_ids`` for a non-admin: its own server, image and project where it has them."""
    ids = dict(real_ids)
    me, project = _whoami(demo_client)
    ids[("identity", "_me")], ids[("identity", "_my_project")] = me, project
    ids[("image", "image_id")] = _created(demo_client.post("/image/v2/images", json={"name": "fuzz-demo"}), "id")
    ids[("compute", "server_id")] = _boot(demo_client, "fuzz-demo", real_ids[("compute", "image_id")],
                                          real_ids[("compute", "flavor_id")])
    ids[("compute", "project_id")] = ids[("compute", "tenant_id")] = project
    ids.update(_network_ids(demo_client, "demo", project, admin=False))
    ids[("network", "project_id")] = project
    ids.update(_volume_ids(demo_client, "demo", project, admin=real_ids))
    ids.update(_object_ids(demo_client, "demo", project))
    return ids


@pytest.mark.parametrize("service", served_services())
def test_fuzz_as_admin(service: str, client: httpx.Client, real_ids: dict[tuple[str, str], str],
                       demo_ids: dict[tuple[str, str], str], fuzz_cloud: RunningCloud) -> None:
    # demo_ids is built first: the admin's cases may, as Nova allows, give the shared flavor an
    # extra spec no host satisfies (an unscoped key), after which it would not boot demo's server.
    run_fuzz(service, "admin", client, real_ids, fuzz_cloud)


@pytest.mark.parametrize("service", served_services())
def test_fuzz_as_demo(service: str, demo_client: httpx.Client, demo_ids: dict[tuple[str, str], str],
                      fuzz_cloud: RunningCloud) -> None:
    """A project member reaches other paths than the admin (its own resources, policy refusals)."""
    run_fuzz(service, "demo", demo_client, demo_ids, fuzz_cloud)


def run_fuzz(service: str, caller: str, client: httpx.Client, real_ids: dict[tuple[str, str], str],
             fuzz_cloud: RunningCloud) -> None:
    assert fuzz_cloud.log_path is not None
    log_start = fuzz_cloud.log_path.stat().st_size
    tally = Tally()
    reads_before = readable(client, real_ids)
    fuzz_service(service, client, real_ids, tally)
    # What could be read before still can: nothing stored since breaks a list, a show or the catalog.
    reads_after = readable(client, real_ids)
    broken = {url: (status, reads_after.get(url)) for url, status in reads_before.items()
              if status == 200 and reads_after.get(url) != 200}
    with open(fuzz_cloud.log_path, "rb") as log:
        log.seek(log_start)
        tracebacks = log.read().count(b"Traceback (most recent call last)")
    assert {owner for owner, _param in real_ids} <= set(served_services())
    report = {"service": service, "caller": caller, "tried": tally.tried, "5xx": len(tally.server_errors),
              "shape problems": len(tally.problems), "connections dropped": tally.dropped,
              "tracebacks logged": tracebacks, "reads checked": len(reads_before),
              "routes checked for stored leftovers": tally.stores_checked,
              "routes checked for changed resources": tally.shows_checked,
              "long": LONG, "seed": SEED}
    print(json.dumps(report))
    assert not tally.server_errors, "\n".join([json.dumps(report), *tally.server_errors[:60]])
    assert not tally.problems, "\n".join([json.dumps(report), *tally.problems[:60]])
    assert not broken, broken
    # A client error logs no traceback (and no 5xx happened that could).
    assert tracebacks == 0, report


def test_the_reported_inputs_are_refused_before_anything_is_written(
        client: httpx.Client, real_ids: dict[tuple[str, str], str]) -> None:
    """The hardening issue's own examples, each a 4xx in its service's shape that changes nothing."""
    def refused(resp: httpx.Response, status: int, shape: ErrorRenderer) -> None:
        assert resp.status_code == status, resp.text
        want = json.loads(bytes(shape(ApiError("x", status=status)).body))
        assert _shape(resp.json()).keys() == _shape(want).keys(), resp.text

    services = len(client.get("/identity/v3/services").json()["services"])
    raw = {"Content-Type": "application/json"}
    refused(client.post("/identity/v3/services", headers=raw,
                        content=b'{"service": {"type": "sgs", "name": "\\ud800"}}'), 400, keystone_error)
    refused(client.post("/identity/v3/services", json={"service": {"type": "sgs", "name": "a\x00b"}}),
            400, keystone_error)
    assert len(client.get("/identity/v3/services").json()["services"]) == services
    # Parser limits, without a token.
    with httpx.Client(base_url=str(client.base_url), timeout=60) as anon:
        for body in (b'{"auth": ' + b"9" * 5000 + b"}", b"[" * 20000 + b"]" * 20000):
            refused(anon.post("/identity/v3/auth/tokens", content=body, headers=raw), 400, keystone_error)
    # Numbers beyond the columns that would store them.
    images = len(client.get("/image/v2/images").json()["images"])
    for min_ram in (2**63, 2**31):
        resp = client.post("/image/v2/images", json={"name": "big", "min_ram": min_ram})
        assert resp.status_code == 400 and resp.headers["content-type"].startswith("text/plain"), resp.text
    assert len(client.get("/image/v2/images").json()["images"]) == images
    trust = {"trustor_user_id": real_ids[("identity", "_me")], "trustee_user_id": real_ids[("identity", "user_id")],
             "project_id": real_ids[("identity", "_my_project")], "impersonation": False,
             "roles": [{"name": "admin"}]}
    for uses in (2**63, 2**31):
        refused(client.post("/identity/v3/OS-TRUST/trusts", json={"trust": {**trust, "remaining_uses": uses}}),
                400, keystone_error)
    refused(client.get("/compute/v2.1/os-aggregates/99999999999999999999999"), 404, nova_error)
    flavor = b'{"flavor": {"name": "rx", "ram": 64, "vcpus": 1, "disk": 1, "rxtx_factor": ' + b"9" * 400 + b"}}"
    refused(client.post("/compute/v2.1/flavors", content=flavor, headers=raw), 400, nova_error)
    # A NUL in a stored string or a path is refused too (PostgreSQL cannot store it).
    server = real_ids[("compute", "server_id")]
    refused(client.put(f"/compute/v2.1/servers/{server}/metadata/k", json={"meta": {"k": "a\x00b"}}), 400, nova_error)
    refused(client.get("/identity/v3/users/a%00b"), 400, keystone_error)
    assert client.get("/compute/v2.1/servers/detail?all_tenants=1").status_code == 200
    issued = client.post("/identity/v3/auth/tokens", json={"auth": {"identity": {"methods": ["token"], "token": {
        "id": client.headers["X-Auth-Token"]}}}})
    assert issued.status_code == 201 and issued.json()["token"]["catalog"]
