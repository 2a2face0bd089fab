"""``kill -9`` of the whole cloud at random points of a storm of network work, repeated.

Several client threads create and delete networks, subnets and ports, routers and their
interfaces, floating IPs (associated and disassociated), security groups and rules, and boot and
delete servers on a network (their ports bound by compute). After each restart, within a deadline:
no port in a transitional status, every port's addresses its own (no address held twice, none
held without a port), no port of a deleted server or router, router interfaces and their ports
agreeing both ways, every floating IP on a live port or none, quota ``used`` equal to the real
counts, each host's data plane as the server wants it (the network agent's reconcile), and every
server ACTIVE with an ACTIVE port bound to its host. The database is read, never written.
The kill points come from a seeded RNG (``ONESTACK_CRASH_SEED``, printed on failure).
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.agent.fake import FakeNetworkDriver
from onestack.network.service import agent_scheduler, host_state
from tests.functional.cloud import RunningCloud, make_cloud, wait_until
from tests.functional.compute_support import call
from tests.functional.crash_support import kill_after, storm

SEED = int(os.environ.get("ONESTACK_CRASH_SEED", "20261207"))
ROUNDS = int(os.environ.get("ONESTACK_CRASH_ROUNDS", "4"))
THREADS = 4
JOBS = 16  # per round, spread over the threads
MV = "2.96"
ENV = {
    "ONESTACK_COMPUTE__HOSTS": "2",
    "ONESTACK_COMPUTE__FAKE_SPAWN_LATENCY": "0.3",
    "ONESTACK_COMPUTE__TASK_GRACE": "1",
    "ONESTACK_COMPUTE__RECONCILE_INTERVAL": "0.3",
    "ONESTACK_COMPUTE__RPC_TIMEOUT": "5",
    # Agents repair quickly after a restart; the old heartbeats must not make a dead agent look alive long.
    "ONESTACK_NETWORK__RECONCILE_INTERVAL": "0.5",
    "ONESTACK_NETWORK__REPORT_INTERVAL": "0.5",
    "ONESTACK_NETWORK__AGENT_DOWN_TIME": "5",
}
CONVERGE = 60.0
QUOTA = {"network": 1000, "subnet": 1000, "port": 5000, "router": 1000, "floatingip": 1000,
         "security_group": 1000, "security_group_rule": 10000}
COUNTED = {"network": "networks", "subnet": "subnets", "port": "ports", "router": "routers",
           "floatingip": "floatingips", "security_group": "security_groups",
           "security_group_rule": "security_group_rules"}


class Killed(Exception):
    """The cloud went away under a client (its connection failed): the thread stops."""


@pytest.fixture(scope="module")
def crash_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    running = make_cloud(Path(tmp_path_factory.mktemp("crash-network")), ENV)
    running.start()
    yield running
    running.close()


class Client:
    """Raw HTTP through the sdk's session; a 5xx is recorded (always a bug), a dead connection is Killed."""

    def __init__(self, conn: Any, bugs: list[str]) -> None:
        self.conn = conn
        self.bugs = bugs

    def req(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201, 202, 204),
            service: str = "network") -> Any:
        try:
            resp = call(self.conn, method, path, MV if service == "compute" else None, body, service=service)
        except Exception as exc:  # the connection died with the cloud
            raise Killed(str(exc)) from exc
        if resp.status_code >= 500:
            self.bugs.append(f"{method} {path}: {resp.status_code} {resp.text[:300]}")
            raise Killed(resp.text)
        if resp.status_code not in ok:
            raise Killed(f"{method} {path}: {resp.status_code} {resp.text[:300]}")
        return resp.json() if resp.content else None

    def net(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201, 202, 204)) -> Any:
        return self.req(method, "/v2.0" + path, body, ok)


# --- the storm's jobs: each a short life of some resources ------------------------------------------


def _network_job(c: Client, tag: str, rng: random.Random, ctx: dict[str, Any]) -> None:
    net = c.net("POST", "/networks", {"network": {"name": tag}})["network"]
    c.net("POST", "/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4, "name": tag,
                                          "cidr": f"10.{rng.randrange(100, 250)}.{rng.randrange(256)}.0/24"}})
    ports = [c.net("POST", "/ports", {"port": {"network_id": net["id"], "name": f"{tag}-{i}"}})["port"]
             for i in range(3)]
    for port in ports[:2]:
        c.net("DELETE", f"/ports/{port['id']}", ok=(204, 404))
    if rng.random() < 0.5:  # the rest goes with its network
        c.net("DELETE", f"/ports/{ports[2]['id']}", ok=(204, 404))
        c.net("DELETE", f"/networks/{net['id']}", ok=(204, 404))


def _router_job(c: Client, tag: str, rng: random.Random, ctx: dict[str, Any]) -> None:
    net = c.net("POST", "/networks", {"network": {"name": tag}})["network"]
    sub = c.net("POST", "/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4, "name": tag,
                                                "cidr": f"10.{rng.randrange(1, 99)}.{rng.randrange(256)}.0/24"}})
    router = c.net("POST", "/routers", {"router": {"name": tag, "external_gateway_info":
                                                   {"network_id": ctx["public"]}}})["router"]
    rid = router["id"]
    c.net("PUT", f"/routers/{rid}/add_router_interface", {"subnet_id": sub["subnet"]["id"]})
    port = c.net("POST", "/ports", {"port": {"network_id": net["id"], "name": tag}})["port"]
    c.net("PUT", f"/routers/{rid}/add_router_interface", {"port_id": port["id"]}, ok=(200, 400, 409))
    c.net("PUT", f"/routers/{rid}/remove_router_interface", {"subnet_id": sub["subnet"]["id"]}, ok=(200, 404))
    if rng.random() < 0.5:
        c.net("PUT", f"/routers/{rid}/remove_router_interface", {"port_id": port["id"]}, ok=(200, 404))
        c.net("PUT", f"/routers/{rid}", {"router": {"external_gateway_info": {}}})
        c.net("DELETE", f"/routers/{rid}", ok=(204, 404))


def _fip_job(c: Client, tag: str, rng: random.Random, ctx: dict[str, Any]) -> None:
    port = c.net("POST", "/ports", {"port": {"network_id": ctx["private"], "name": tag}})["port"]
    fip = c.net("POST", "/floatingips", {"floatingip": {"floating_network_id": ctx["public"]}})["floatingip"]
    c.net("PUT", f"/floatingips/{fip['id']}", {"floatingip": {"port_id": port["id"]}})
    if rng.random() < 0.5:
        c.net("PUT", f"/floatingips/{fip['id']}", {"floatingip": {"port_id": None}})
        c.net("DELETE", f"/floatingips/{fip['id']}", ok=(204, 404))
    if rng.random() < 0.5:  # a port with a floating IP on it: the association goes with the port
        c.net("DELETE", f"/ports/{port['id']}", ok=(204, 404))


def _sg_job(c: Client, tag: str, rng: random.Random, ctx: dict[str, Any]) -> None:
    sg = c.net("POST", "/security-groups", {"security-group": {"name": tag}})["security_group"]
    rules = [c.net("POST", "/security-group-rules", {"security_group_rule": {
        "security_group_id": sg["id"], "direction": "ingress", "protocol": "tcp", "ethertype": "IPv4",
        "port_range_min": p, "port_range_max": p}})["security_group_rule"] for p in (22, 80, 443)]
    c.net("DELETE", f"/security-group-rules/{rules[0]['id']}", ok=(204, 404))
    port = c.net("POST", "/ports", {"port": {"network_id": ctx["private"], "name": tag,
                                             "security_groups": [sg["id"]]}})["port"]
    if rng.random() < 0.5:
        c.net("DELETE", f"/ports/{port['id']}", ok=(204, 404))
        c.net("DELETE", f"/security-groups/{sg['id']}", ok=(204, 404, 409))


def _server_job(c: Client, tag: str, rng: random.Random, ctx: dict[str, Any]) -> None:
    srv = c.req("POST", "/servers", {"server": {"name": tag, "imageRef": ctx["image"], "flavorRef": "1",
                                                "networks": [{"uuid": ctx["private"]}]}},
                service="compute")["server"]
    if rng.random() < 0.4:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # poll: delete it once it is up (or let the kill find it booting)
            got = c.req("GET", f"/servers/{srv['id']}", ok=(200,), service="compute")["server"]
            if got["status"] != "BUILD":
                break
        c.req("DELETE", f"/servers/{srv['id']}", ok=(204, 404), service="compute")


JOB_KINDS: list[Callable[[Client, str, random.Random, dict[str, Any]], None]] = [
    _network_job, _router_job, _fip_job, _sg_job, _server_job, _server_job]


def _run_job(client: Client, ctx: dict[str, Any], job: tuple[str, int], started: threading.Event,
             done: list[str]) -> None:
    tag, seed = job
    rng = random.Random(seed)
    started.set()
    rng.choice(JOB_KINDS)(client, tag, rng, ctx)
    done.append(tag)


# --- what must hold once the reconcile loops have run -------------------------------------------------


def _list(c: Client, what: str, query: str = "") -> list[dict[str, Any]]:
    return list(c.net("GET", f"/{what.replace('_', '-')}{query}", ok=(200,))[what])


def _problems(cloud: RunningCloud, c: Client, project: str) -> list[str]:
    found: list[str] = []
    servers = c.req("GET", "/servers/detail?all_tenants=1", ok=(200,), service="compute")["servers"]
    live_servers = {s["id"]: s for s in servers}
    ports = _list(c, "ports")
    routers = {r["id"]: r for r in _list(c, "routers")}
    by_id = {p["id"]: p for p in ports}
    held: dict[tuple[str, str], str] = {}
    for p in ports:
        if p["status"] not in ("ACTIVE", "DOWN"):
            found.append(f"port {p['id']} {p['device_owner']} in status {p['status']}")
        if p["binding:vif_type"] == "binding_failed":
            found.append(f"port {p['id']} binding failed on {p['binding:host_id']}")
        for ip in p["fixed_ips"]:
            key = (ip["subnet_id"], ip["ip_address"])
            if key in held:
                found.append(f"{key} held by ports {held[key]} and {p['id']}")
            held[key] = p["id"]
        owner, device = p["device_owner"], p["device_id"]
        if owner.startswith("compute:") and device not in live_servers:
            found.append(f"port {p['id']} of server {device}, which is gone")
        if owner in ("network:router_interface", "network:router_gateway") and device not in routers:
            found.append(f"port {p['id']} {owner} of router {device}, which is gone")
    for r in routers.values():
        gw = r.get("external_gateway_info") or {}
        gw_ports = [p for p in ports if p["device_id"] == r["id"] and p["device_owner"] == "network:router_gateway"]
        if bool(gw) != bool(gw_ports) or len(gw_ports) > 1:
            found.append(f"router {r['id']} gateway {gw} with gateway ports {[p['id'] for p in gw_ports]}")
    for fip in _list(c, "floatingips"):
        if fip["port_id"] is not None:
            port = by_id.get(fip["port_id"])
            if port is None:
                found.append(f"floating IP {fip['id']} on port {fip['port_id']}, which is gone")
            elif fip["fixed_ip_address"] not in [ip["ip_address"] for ip in port["fixed_ips"]]:
                found.append(f"floating IP {fip['id']} on {fip['fixed_ip_address']}, not an address of its port")
            if fip["router_id"] is None:
                found.append(f"floating IP {fip['id']} associated without a router")
        elif fip["router_id"] is not None or fip["fixed_ip_address"] is not None:
            found.append(f"floating IP {fip['id']} unassociated but with router {fip['router_id']}")
    for srv in servers:
        if srv["status"] != "ACTIVE" or srv["OS-EXT-STS:task_state"] is not None:
            found.append(f"server {srv['id']} {srv['status']}/{srv['OS-EXT-STS:task_state']} {srv.get('fault')}")
            continue
        mine = [p for p in ports if p["device_id"] == srv["id"]]
        host = srv["OS-EXT-SRV-ATTR:host"]
        if len(mine) != 1 or mine[0]["binding:host_id"] != host or mine[0]["status"] != "ACTIVE":
            found.append(f"server {srv['id']} on {host} with ports "
                         f"{[(p['id'], p['binding:host_id'], p['status']) for p in mine]}")
        shown = sorted(a["addr"] for addrs in srv["addresses"].values() for a in addrs)
        if shown != sorted(ip["ip_address"] for p in mine for ip in p["fixed_ips"]):
            found.append(f"server {srv['id']} shows addresses {shown}, its ports hold others")
    used = c.net("GET", f"/quotas/{project}/details", ok=(200,))["quota"]
    for resource, collection in COUNTED.items():
        real = len(_list(c, collection, f"?project_id={project}"))
        if used[resource]["used"] != real:
            found.append(f"quota used {resource} {used[resource]['used']} for {real}")
    found += _database_problems(cloud, by_id)
    return found


def _database_problems(cloud: RunningCloud, by_id: dict[str, dict[str, Any]]) -> list[str]:
    """What only the rows show: allocations without a port, router ports both ways, the hosts' data planes."""
    found: list[str] = []
    with cloud.engine() as engine, Session(engine) as s:
        for a in s.scalars(select(models.IPAllocation)):
            port = by_id.get(a.port_id)
            if port is None or {"subnet_id": a.subnet_id, "ip_address": a.ip_address} not in port["fixed_ips"]:
                found.append(f"allocation {a.subnet_id} {a.ip_address} of port {a.port_id}, not among its fixed_ips")
        router_ports = {(rp.router_id, rp.port_id): rp.port_type for rp in s.scalars(select(models.RouterPort))}
        for (rid, pid), kind in router_ports.items():
            port = by_id.get(pid)
            if port is None or port["device_id"] != rid or port["device_owner"] != kind:
                found.append(f"router {rid} holds port {pid} ({kind}) that is not its own")
        for p in by_id.values():
            if p["device_owner"].startswith("network:router_") and (p["device_id"], p["id"]) not in router_ports:
                found.append(f"port {p['id']} {p['device_owner']} of router {p['device_id']} not in the router")
        hosts = sorted({str(a.host) for a in s.scalars(select(models.Agent))})
        down = float(ENV["ONESTACK_NETWORK__AGENT_DOWN_TIME"])
        for host in hosts:
            desired = host_state.desired_state(s, host, *agent_scheduler.routers_of(s, host, down))
            observed = asyncio.run(FakeNetworkDriver(cloud.data_dir / "network" / host / "datapath").observed())
            for kind in ("ports", "filters", "dhcp", "routers"):
                want: dict[str, Any] = desired[kind]  # type: ignore[literal-required]
                have: dict[str, Any] = observed[kind]  # type: ignore[literal-required]
                if want != have:
                    diff = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
                    found.append(f"host {host}: {kind} {diff[:5]} not as desired")
            for pid, spec in desired["ports"].items():
                if spec["admin_state_up"] and by_id.get(pid, {}).get("status") != "ACTIVE":
                    found.append(f"port {pid} wired on {host} but not ACTIVE")
    return found


def _restart_and_converge(cloud: RunningCloud, project: str, bugs: list[str], what: str,
                          repaired: list[int]) -> Client:
    """Restart and wait for every check to pass; appends to ``repaired`` how many problems the first
    check after the restart saw (what the repair loops then fixed)."""
    cloud.start()
    client = Client(cloud.sdk("devstack-admin"), bugs)
    last: list[str] = []
    first: list[int] = []

    def settled() -> bool:
        last[:] = _problems(cloud, client, project)
        if not first:
            first.append(len(last))
            print(f"{what}, right after the restart: {last}")
        return not last

    try:
        wait_until(settled, timeout=CONVERGE, interval=0.5, what=what)
    except TimeoutError as exc:
        pytest.fail(f"{what} (seed {SEED}): still wrong after {CONVERGE}s: {last or exc}")
    repaired.append(first[0] if first else 0)
    return client


def test_kill_during_network_storm_leaves_everything_consistent(crash_cloud: RunningCloud) -> None:
    rng = random.Random(SEED)
    bugs: list[str] = []
    client = Client(crash_cloud.sdk("devstack-admin"), bugs)
    project = client.conn.current_project_id
    client.net("PUT", f"/quotas/{project}", {"quota": QUOTA})
    client.req("PUT", f"/os-quota-sets/{project}", {"quota_set": {"instances": 1000, "cores": 1000,
                                                                 "ram": 1024000}}, service="compute")
    nets = {n["name"]: n["id"] for n in _list(client, "networks")}
    ctx = {"public": nets["public"], "private": nets["shared"],
           "image": client.conn.image.find_image("onestack-tiny-x86_64-disk").id}
    start = time.monotonic()
    finished: list[int] = []
    repaired: list[int] = []
    for round_no in range(ROUNDS):
        jobs = [(f"crash-{round_no}-{i}", rng.randrange(1 << 30)) for i in range(JOBS)]
        started, done = threading.Event(), list[str]()
        threads = storm(jobs, lambda job, c=client, d=done, s=started: _run_job(c, ctx, job, s, d), THREADS)
        assert started.wait(timeout=30)
        kill_after(crash_cloud, rng.uniform(0.2, 4.0), threads)
        client = _restart_and_converge(crash_cloud, project, bugs, f"round {round_no}: network storm to settle",
                                       repaired)
        finished.append(len(done))
    # The servers the kills left, deleted: their ports go with them (none left on a host).
    for srv in client.req("GET", "/servers?all_tenants=1", ok=(200,), service="compute")["servers"]:
        client.req("DELETE", f"/servers/{srv['id']}", ok=(204, 404), service="compute")
    wait_until(lambda: not client.req("GET", "/servers?all_tenants=1", ok=(200,), service="compute")["servers"]
               and not [p for p in _list(client, "ports") if p["device_owner"].startswith("compute:")]
               and not _problems(crash_cloud, client, project), timeout=CONVERGE, interval=0.5,
               what="the servers' deletes after the last restart")
    assert not bugs, bugs
    assert crash_cloud.log_path is not None
    counts = {what: len(_list(client, what)) for what in ("ports", "routers", "floatingips")}
    print(f"kills survived: {ROUNDS} (seed {SEED}) in {time.monotonic() - start:.0f}s; jobs finished before "
          f"each kill {finished} of {JOBS}; problems repaired after each restart {repaired}; left: {counts}")
