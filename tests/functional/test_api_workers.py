"""``onestack serve identity network --api-workers 2`` on PostgreSQL and RabbitMQ (onestack/workers.py).

One real ``serve`` process with two forked API workers on one port. Which worker holds a TCP
connection is read from /proc (the connection's socket inode among a worker's open files), so a
test can send one request to each worker on purpose: a token issued by one validates on the
other, a port created through one is visible through the other. Concurrent port creates through
both workers on one subnet get distinct addresses. SIGTERM to the parent stops both workers and
exits 0; a worker killed makes the parent stop the other and exit 1; SQLite is refused (exit 2).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional.cloud import REPO, free_port, wait_until
from tests.functional.multiprocess import Proc, ScaleOutCloud, child_pids, scale_out_cloud

SERVICES = ("identity", "network")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleOutCloud]:
    with scale_out_cloud(Path(tmp_path_factory.mktemp("apiworkers"))) as running:
        running.start_api(SERVICES, extra_args=["--api-workers", "2"])
        yield running


# --- which worker holds a connection (/proc) ----------------------------------------------------


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    return inodes


def server_side(port: int) -> dict[int, str]:
    """Established connections to ``port``: the client's port → the server-side socket's inode."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            if int(local.split(":")[1], 16) == port and state == "01":
                found[int(remote.split(":")[1], 16)] = inode
    return found


def worker_of(conn: http.client.HTTPConnection, port: int, workers: list[int]) -> int | None:
    assert conn.sock is not None
    inode = server_side(port).get(conn.sock.getsockname()[1])
    return next((pid for pid in workers if inode in _socket_inodes(pid)), None)


def connections_to_each(cloud: ScaleOutCloud, workers: list[int]) -> dict[int, http.client.HTTPConnection]:
    """An open keep-alive connection held by each worker (new connections until each has one)."""
    pinned: dict[int, http.client.HTTPConnection] = {}
    spare: list[http.client.HTTPConnection] = []

    def one_more() -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", cloud.port, timeout=60)
        conn.request("GET", "/healthz")
        assert conn.getresponse().read()
        pid = worker_of(conn, cloud.port, workers)
        if pid is not None and pid not in pinned:
            pinned[pid] = conn
        else:
            spare.append(conn)
        return len(pinned) == len(workers)

    try:
        wait_until(one_more, timeout=30, interval=0, what=f"a connection to each of the workers {workers}")
    finally:
        for conn in spare:
            conn.close()
    return pinned


def connection_to(cloud: ScaleOutCloud, workers: list[int], pid: int) -> http.client.HTTPConnection:
    pinned = connections_to_each(cloud, workers)
    for other, conn in pinned.items():
        if other != pid:
            conn.close()
    return pinned[pid]


def call(conn: http.client.HTTPConnection, method: str, path: str, token: str | None = None,
         body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any, http.client.HTTPMessage]:
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token:
        sent["X-Auth-Token"] = token
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=sent)
    resp = conn.getresponse()
    raw = resp.read()
    return resp.status, json.loads(raw) if raw else None, resp.headers


def password_token(conn: http.client.HTTPConnection, cloud: ScaleOutCloud) -> str:
    auth = cloud.cloud_config("devstack-admin")["auth"]
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": auth["username"], "domain": {"id": "default"}, "password": auth["password"]}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    status, _, headers = call(conn, "POST", "/identity/v3/auth/tokens", body=body)
    assert status == 201
    return str(headers["X-Subject-Token"])


@pytest.fixture(scope="module")
def workers(cloud: ScaleOutCloud) -> list[int]:
    api = cloud.procs["api"].popen
    assert api is not None
    pids = child_pids(api.pid)
    assert len(pids) == 2, f"serve --api-workers 2 runs two worker processes, found {pids}"
    log = cloud.procs["api"].log_path
    # /healthz answered once one worker was up; each says when it is ready.
    wait_until(lambda: all(f"(pid {pid}) serving" in log.read_text() for pid in pids), timeout=60,
               what="both workers' ready lines")
    return pids


# --- the tests ----------------------------------------------------------------------------------


def test_two_workers_serve_the_one_port_and_say_so(cloud: ScaleOutCloud, workers: list[int]) -> None:
    log = cloud.procs["api"].log_path.read_text()
    for index in (0, 1):  # each worker's ready line names its pid: what an operator sees
        assert any(f"API worker {index} of 2 (pid {pid}) serving identity, network" in log for pid in workers), log
    pinned = connections_to_each(cloud, workers)
    assert sorted(pinned) == workers
    for conn in pinned.values():
        status, doc, _ = call(conn, "GET", "/healthz")
        assert status == 200 and doc["status"] == "ok"
        conn.close()


def test_a_token_issued_by_one_worker_validates_on_the_other(cloud: ScaleOutCloud, workers: list[int]) -> None:
    first, second = (connections_to_each(cloud, workers)[pid] for pid in workers)
    try:
        token = password_token(first, cloud)
        status, doc, _ = call(second, "GET", "/identity/v3/auth/tokens", token=token,
                              headers={"X-Subject-Token": token})
        assert status == 200 and doc["token"]["project"]["name"] == "admin"
        status, _, _ = call(second, "GET", "/networking/v2.0/networks", token=token)
        assert status == 200
        # Revoked on the second worker: the first refuses it (identity's generation, within a second).
        assert call(second, "DELETE", "/identity/v3/auth/tokens", token=token, headers={"X-Subject-Token": token})[0] == 204
        wait_until(lambda: call(first, "GET", "/networking/v2.0/networks", token=token)[0] == 401, timeout=10,
                   what="the revoked token refused by the other worker")
    finally:
        first.close()
        second.close()


def test_a_port_made_through_one_worker_is_seen_through_the_other(cloud: ScaleOutCloud,
                                                                  workers: list[int]) -> None:
    first, second = (connections_to_each(cloud, workers)[pid] for pid in workers)
    try:
        token = password_token(first, cloud)
        status, doc, _ = call(first, "POST", "/networking/v2.0/networks", token, {"network": {"name": "apiw-seen"}})
        assert status == 201
        net = doc["network"]["id"]
        status, doc, _ = call(first, "POST", "/networking/v2.0/ports", token, {"port": {"network_id": net}})
        assert status == 201
        port = doc["port"]["id"]
        status, doc, _ = call(second, "GET", f"/networking/v2.0/ports/{port}", token)
        assert status == 200 and doc["port"]["network_id"] == net
        assert call(second, "DELETE", f"/networking/v2.0/ports/{port}", token)[0] == 204
        assert call(first, "GET", f"/networking/v2.0/ports/{port}", token)[0] == 404
        assert call(second, "DELETE", f"/networking/v2.0/networks/{net}", token)[0] == 204
    finally:
        first.close()
        second.close()


def test_concurrent_port_creates_through_both_workers_get_distinct_addresses(cloud: ScaleOutCloud,
                                                                             workers: list[int]) -> None:
    pinned = connections_to_each(cloud, workers)
    any_conn = next(iter(pinned.values()))
    token = password_token(any_conn, cloud)
    status, doc, _ = call(any_conn, "POST", "/networking/v2.0/networks", token, {"network": {"name": "apiw-ipam"}})
    assert status == 201
    net = doc["network"]["id"]
    # 61 addresses in the pool; 4 clients per worker, 12 creates each: 96 asked, 61 given.
    status, doc, _ = call(any_conn, "POST", "/networking/v2.0/subnets", token, {"subnet": {
        "network_id": net, "ip_version": 4, "cidr": "10.77.0.0/26", "gateway_ip": "10.77.0.1",
        "enable_dhcp": False}})
    assert status == 201
    for conn in pinned.values():
        conn.close()
    created: dict[int, list[str]] = {pid: [] for pid in workers}
    refused: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client(pid: int) -> None:
        conn = connection_to(cloud, workers, pid)
        try:
            for _ in range(12):
                status, doc, _ = call(conn, "POST", "/networking/v2.0/ports", token, {"port": {"network_id": net}})
                with lock:
                    if status == 201:
                        created[pid].extend(ip["ip_address"] for ip in doc["port"]["fixed_ips"])
                    elif status == 409 and doc["NeutronError"]["type"] == "IpAddressGenerationFailure":
                        refused.append(pid)
                    else:
                        failures.append(f"{status} {doc}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(pid,)) for pid in workers for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not failures
    assert all(created[pid] for pid in workers), "both workers created ports"
    addresses = [a for pid in workers for a in created[pid]]
    assert len(addresses) == len(set(addresses)) == 61, sorted(addresses, key=ipaddress.ip_address)
    assert len(refused) == 96 - 61
    conn = http.client.HTTPConnection("127.0.0.1", cloud.port, timeout=30)
    try:
        status, doc, _ = call(conn, "GET", f"/networking/v2.0/ports?network_id={net}", token)
        listed = [ip["ip_address"] for p in doc["ports"] for ip in p["fixed_ips"]]
        assert sorted(listed) == sorted(addresses)
    finally:
        conn.close()


def _serve(cloud: ScaleOutCloud, name: str) -> tuple[Proc, int, list[int]]:
    """Another ``serve identity --api-workers 2`` on the cloud's database, on a port of its own."""
    port = free_port()
    proc = Proc(name, [sys.executable, "-m", "onestack", "serve", "identity", "--api-workers", "2", "--port", str(port),
                       "--db-url", cloud.db_url, "--data-dir", str(cloud.root / "api")],
                cloud.root / f"{name}.log", cloud.env)
    cloud.procs[name] = proc
    proc.start()
    assert proc.popen is not None
    popen = proc.popen

    def ready() -> list[int]:
        proc.check()
        pids = child_pids(popen.pid)
        log = proc.log_path.read_text()
        return pids if len(pids) == 2 and all(f"(pid {p}) serving" in log for p in pids) else []

    return proc, port, wait_until(ready, timeout=90, what=f"{name}'s two workers")


def test_sigterm_to_the_parent_stops_every_worker(cloud: ScaleOutCloud) -> None:
    proc, port, pids = _serve(cloud, "api-sigterm")
    assert proc.popen is not None
    popen = proc.popen
    proc.popen.send_signal(signal.SIGTERM)
    assert popen.wait(timeout=60) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    with pytest.raises(OSError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=5).request("GET", "/healthz")


def test_a_worker_that_dies_stops_the_parent_with_an_error(cloud: ScaleOutCloud) -> None:
    proc, _, pids = _serve(cloud, "api-killed")
    assert proc.popen is not None
    popen = proc.popen
    os.kill(pids[1], signal.SIGKILL)
    assert popen.wait(timeout=60) == 1
    assert not Path(f"/proc/{pids[0]}").exists()  # stopped, and reaped by the parent
    log = proc.log_path.read_text()
    assert f"(pid {pids[1]}) exited with signal SIGKILL; stopping the others" in log


def test_several_workers_on_sqlite_are_refused(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "onestack", "serve", "identity", "network", "--api-workers", "2",
                             "--port", str(free_port()), "--data-dir", str(tmp_path / "data")],
                            capture_output=True, text=True, cwd=REPO, timeout=120, check=False)
    assert result.returncode == 2
    assert "--api-workers 2 needs a server database" in result.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was made
