"""One cloud as separate processes on PostgreSQL and RabbitMQ, as on several hosts.

An API process, control processes (conductor + scheduler) and three compute agents with
distinct host names and no database. Boots spread over the hosts; two conductors at once build
each server exactly once; a conductor killed mid-build leaves no server stuck; an agent killed
with SIGKILL shows down after ``service_down_time`` and evacuation rebuilds its servers on the
others (and the agent, back, reaps the guests that moved away).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional.cloud import wait_until
from tests.functional.compute_support import console_url, open_console, rfb_handshake, websocket_url
from tests.functional.multiprocess import ScaleOutCloud, scale_out_cloud

HOSTS = ("node-1", "node-2", "node-3")
DOWN_AFTER = 6
ENV = {
    "ONESTACK_COMPUTE__REPORT_INTERVAL": "1",
    "ONESTACK_COMPUTE__SERVICE_DOWN_TIME": str(DOWN_AFTER),
    "ONESTACK_COMPUTE__RECONCILE_INTERVAL": "1",
    "ONESTACK_COMPUTE__TASK_GRACE": "2",
    "ONESTACK_COMPUTE__RPC_TIMEOUT": "10",
    # Slow enough that a conductor killed right after the boot request has builds in flight.
    "ONESTACK_COMPUTE__FAKE_SPAWN_LATENCY": "0.5",
}
COMPUTE = "nova-compute"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleOutCloud]:
    with scale_out_cloud(Path(tmp_path_factory.mktemp("scaleout")), ENV) as running:
        running.start_api()
        running.start_control("ctl-1")
        for host in HOSTS:
            running.start_agent(host)
        yield running


@pytest.fixture(scope="module")
def admin(cloud: ScaleOutCloud) -> Any:
    conn = cloud.sdk("devstack-admin")
    wanted = {("nova-conductor", "ctl-1"): True, ("nova-scheduler", "ctl-1"): True}
    wanted.update({(COMPUTE, h): True for h in HOSTS})
    cloud.wait_services(conn, wanted)
    cloud.wait_schedulable(conn, len(HOSTS))
    project = conn.current_project_id
    conn.compute.update_quota_set(project, instances=-1, cores=-1, ram=-1)  # the tests boot dozens
    return conn


def boot(admin: Any, prefix: str, count: int) -> list[Any]:
    image = next(admin.image.images(name="onestack-tiny-x86_64-disk"))
    flavor = admin.compute.find_flavor("m1.tiny")
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    admin.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id, networks="none",
                                min_count=count, max_count=count)
    servers: list[Any] = wait_until(lambda: _named(admin, name, count), timeout=30, what=f"{count} servers named {name}")
    return servers


def _named(admin: Any, name: str, count: int) -> list[Any] | None:
    found = [s for s in admin.compute.servers(all_projects=True) if s.name.startswith(name)]
    return found if len(found) == count else None


def settle(admin: Any, servers: list[Any], timeout: float = 90.0) -> list[Any]:
    """Every server ACTIVE or ERROR (never left building); returns them fresh."""
    def done() -> list[Any] | None:
        fresh = [admin.compute.get_server(s.id) for s in servers]
        return fresh if all(s.status in ("ACTIVE", "ERROR") for s in fresh) else None

    found: list[Any] = wait_until(done, timeout=timeout, interval=0.5, what="servers to settle")
    return found


def built_once(admin: Any, server: Any) -> None:
    """One allocation (on the server's own node) and one build recorded."""
    placement = admin.placement
    allocations = placement.get(f"/allocations/{server.id}", microversion="1.28").json()["allocations"]
    assert len(allocations) == 1, f"{server.name}: {allocations}"
    actions = admin.compute.get(f"/servers/{server.id}/os-instance-actions",
                                microversion="2.62").json()["instanceActions"]
    create = next(a for a in actions if a["action"] == "create")
    events = admin.compute.get(f"/servers/{server.id}/os-instance-actions/{create['request_id']}",
                               microversion="2.62").json()["instanceAction"]["events"]
    builds = [e for e in events if e["event"] == "compute__do_build_and_run_instance"]
    assert len(builds) == 1, f"{server.name} was built {len(builds)} times: {events}"
    assert builds[0]["host"] == server.compute_host


def test_boots_spread_over_the_agents(cloud: ScaleOutCloud, admin: Any) -> None:
    servers = settle(admin, boot(admin, "spread", 6))
    assert {s.status for s in servers} == {"ACTIVE"}
    hosts = {s.compute_host for s in servers}
    assert len(hosts) >= 2 and hosts <= set(HOSTS), hosts
    for server in servers:
        built_once(admin, server)


def test_console_of_a_guest_on_an_agent_process(cloud: ScaleOutCloud, admin: Any) -> None:
    """The API process's noVNC proxy reaches the guest's VNC server in the agent's process over TCP."""
    server = settle(admin, boot(admin, "console", 1))[0]
    assert server.status == "ACTIVE"
    with open_console(websocket_url(console_url(admin, server.id))) as ws:
        assert rfb_handshake(ws)[2] == server.name.encode()


def test_two_conductors_build_each_server_exactly_once(cloud: ScaleOutCloud, admin: Any) -> None:
    cloud.start_control("ctl-2")
    cloud.wait_services(admin, {("nova-conductor", "ctl-2"): True, ("nova-scheduler", "ctl-2"): True})
    servers = settle(admin, boot(admin, "twins", 4) + boot(admin, "twins", 4))
    assert {s.status for s in servers} == {"ACTIVE"}
    for server in servers:
        built_once(admin, server)


def test_a_conductor_killed_mid_build_leaves_nothing_stuck(cloud: ScaleOutCloud, admin: Any) -> None:
    cloud.procs["ctl-2"].stop()  # ctl-1 alone takes the boot request...
    image = next(admin.image.images(name="onestack-tiny-x86_64-disk"))
    flavor = admin.compute.find_flavor("m1.tiny")
    name = f"orphaned-{uuid.uuid4().hex[:6]}"
    admin.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id, networks="none",
                                min_count=6, max_count=6)
    cloud.kill("ctl-1")  # ...and dies right after the 202, with the builds in flight
    cloud.start_control("ctl-2")  # another conductor takes over what ctl-1 held
    servers = settle(admin, wait_until(lambda: _named(admin, name, 6), timeout=30, what="servers"), timeout=120)
    for server in servers:
        if server.status == "ACTIVE":
            built_once(admin, server)
        else:
            assert server.fault and server.fault.get("message"), f"{server.name} in ERROR without a fault"


def test_a_killed_agent_shows_down_and_evacuation_rebuilds_elsewhere(cloud: ScaleOutCloud, admin: Any) -> None:
    servers = settle(admin, boot(admin, "evac", 6))
    victims = [s for s in servers if s.compute_host == "node-1"]
    if not victims:  # the weighers spread by free RAM; make sure node-1 hosts one
        victims = [s for s in settle(admin, boot(admin, "evac", 3)) if s.compute_host == "node-1"]
    assert victims, "nothing landed on node-1"
    cloud.kill("node-1")
    killed_at = time.monotonic()
    cloud.wait_services(admin, {(COMPUTE, "node-1"): False}, timeout=DOWN_AFTER + 30)
    assert time.monotonic() - killed_at >= DOWN_AFTER - 2  # down because it went quiet, not sooner
    for server in victims:  # before 2.95 an evacuated server comes back ACTIVE (from 2.95, stopped)
        resp = admin.compute.post(f"/servers/{server.id}/action", json={"evacuate": {}}, microversion="2.94")
        assert resp.status_code == 200, resp.text
    moved = settle(admin, victims, timeout=120)
    for server in moved:
        assert server.status == "ACTIVE", f"{server.name}: {server.status} {server.fault}"
        assert server.compute_host in ("node-2", "node-3")
        allocations = admin.placement.get(f"/allocations/{server.id}", microversion="1.28").json()["allocations"]
        assert len(allocations) == 1, allocations  # the source's claim went with the move
    # node-1 comes back with its guests on disk (the fake keeps them), and reaps the moved ones.
    cloud.start_agent("node-1")
    cloud.wait_services(admin, {(COMPUTE, "node-1"): True})
    guests = cloud.root / "node-1" / "compute" / "node-1" / "guests"
    wait_until(lambda: not any((guests / f"{s.id}.json").exists() for s in victims), timeout=60,
               what="node-1 to remove the evacuated guests")


def test_identity_caches_follow_writes_of_another_identity_process(cloud: ScaleOutCloud, admin: Any) -> None:
    """Two identity processes on one database: a write through one shows through the other within
    about a second (identity_generation), though the other serves project lists from its cache."""
    import httpx

    other = cloud.start_identity("identity-2", data_dir=cloud.root / "api")  # same keys: tokens work on both
    token = admin.session.get_token()
    headers = {"X-Auth-Token": token}
    first = f"{cloud.base_url}/identity/v3/projects"
    second = f"{other}/identity/v3/projects"
    names = {p["name"] for p in httpx.get(first, headers=headers).json()["projects"]}  # cached now
    created = httpx.post(second, headers=headers, json={"project": {"name": f"seen-{uuid.uuid4().hex[:6]}"}})
    assert created.status_code == 201, created.text
    name = created.json()["project"]["name"]
    assert name not in names
    started = time.monotonic()
    wait_until(lambda: name in {p["name"] for p in httpx.get(first, headers=headers).json()["projects"]},
               timeout=10, what="the first process to list the project the second created")
    assert time.monotonic() - started < 5
    # A role taken away through one process stops a token working through the other.
    user = httpx.post(f"{other}/identity/v3/users", headers=headers, json={"user": {
        "name": f"u-{uuid.uuid4().hex[:6]}", "password": "s3cret-pass", "default_project_id":
            created.json()["project"]["id"]}}).json()["user"]
    member = next(r for r in httpx.get(f"{cloud.base_url}/identity/v3/roles", headers=headers).json()["roles"]
                  if r["name"] == "member")
    grant = f"/v3/projects/{user['default_project_id']}/users/{user['id']}/roles/{member['id']}"
    assert httpx.put(f"{other}/identity{grant}", headers=headers).status_code == 204
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": user["id"],
            "password": "s3cret-pass"}}}, "scope": {"project": {"id": user["default_project_id"]}}}}
    user_token = httpx.post(f"{cloud.base_url}/identity/v3/auth/tokens", json=body).headers["X-Subject-Token"]
    check = {**headers, "X-Subject-Token": user_token}
    assert httpx.get(f"{cloud.base_url}/identity/v3/auth/tokens", headers=check).status_code == 200  # cached
    assert httpx.delete(f"{other}/identity{grant}", headers=headers).status_code == 204
    wait_until(lambda: httpx.get(f"{cloud.base_url}/identity/v3/auth/tokens", headers=check).status_code == 404,
               timeout=10, what="the first process to stop validating the token")
    # Tokens list the enabled service providers from a cache: one made (then disabled) through the
    # other process shows in (then leaves) the tokens the first process issues.
    sp = f"sp-{uuid.uuid4().hex[:6]}"
    sp_body = {"service_provider": {"auth_url": f"https://{sp}.example/v3/auth", "sp_url": f"https://{sp}.example/ecp",
                                    "enabled": True}}
    listed = f"{cloud.base_url}/identity/v3/auth/tokens"
    rescope = {"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}}

    def issued_lists_sp() -> bool:
        issued = httpx.post(listed, json=rescope)
        assert issued.status_code == 201, issued.text
        return sp in {s["id"] for s in issued.json()["token"].get("service_providers", [])}

    assert not issued_lists_sp()  # the cache holds the list without it now
    sp_url = f"{other}/identity/v3/OS-FEDERATION/service_providers/{sp}"
    assert httpx.put(sp_url, headers=headers, json=sp_body).status_code == 201
    wait_until(issued_lists_sp, timeout=10, what="the first process's tokens to list the new service provider")
    disable = {"service_provider": {"enabled": False}}
    assert httpx.patch(sp_url, headers=headers, json=disable).status_code == 200
    wait_until(lambda: not issued_lists_sp(), timeout=10, what="the first process's tokens to drop it")
    # What an EC2 access key proved (its secret, its token) is cached by the first process too: the
    # credential deleted through the other stops s3tokens there within about a second, not the
    # cache's lifetime (identity.cache_ttl, 300 s).
    me = admin.current_user_id
    made = httpx.post(f"{other}/identity/v3/users/{me}/credentials/OS-EC2", headers=headers,
                      json={"tenant_id": admin.current_project_id})
    assert made.status_code == 201, made.text
    access, secret = made.json()["credential"]["access"], made.json()["credential"]["secret"]
    signed = b"GET\n\n\n" + time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()).encode() + b"\n/"
    signature = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha1).digest()).decode()
    s3body = {"credentials": {"access": access, "signature": signature,
                              "token": base64.urlsafe_b64encode(signed).decode()}}
    s3tokens = f"{cloud.base_url}/identity/v3/s3tokens?nocatalog"
    assert httpx.post(s3tokens, json=s3body).status_code == 200
    assert httpx.post(s3tokens, json=s3body).status_code == 200  # from the cache
    gone = httpx.delete(f"{other}/identity/v3/users/{me}/credentials/OS-EC2/{access}", headers=headers)
    assert gone.status_code == 204, gone.text
    started = time.monotonic()
    wait_until(lambda: httpx.post(s3tokens, json=s3body).status_code == 401, timeout=10,
               what="the first process to refuse the deleted EC2 credential")
    assert time.monotonic() - started < 5
