"""A cloud of several processes on PostgreSQL and RabbitMQ, as it runs on several hosts.

One API process (``onestack serve identity image placement compute-api``), control processes
(``onestack serve conductor scheduler``) and compute agents (``onestack agent compute --host``,
no database), each a real subprocess with a data dir of its own. Used by
``tests/functional/test_multiprocess.py`` and ``bench/compute.py --scale-out``.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.functional.cloud import REPO, free_port, wait_until


@dataclass
class Proc:
    name: str
    cmd: list[str]
    log_path: Path
    env: dict[str, str]
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(self.cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def check(self) -> None:
        if self.popen is not None and self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}; see {self.log_path}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.popen = None


@dataclass
class ScaleOutCloud:
    root: Path
    db_url: str
    transport_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    procs: dict[str, Proc] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ)
        self.env.update({
            "ONESTACK_IDENTITY__PASSWORD_HASH_ROUNDS": "4",
            "ONESTACK_LOG__LEVEL": "INFO",
            "ONESTACK_BOOTSTRAP__ADMIN_PASSWORD": secrets.token_urlsafe(12),
            # Every process authenticates as the service user; the API process creates it.
            "ONESTACK_AUTH__SERVICE_PASSWORD": secrets.token_urlsafe(12),
            "ONESTACK_AUTH__IDENTITY_URL": f"{self.base_url}/identity",
            "ONESTACK_MESSAGING__TRANSPORT_URL": self.transport_url,
        })
        self.env.update(self.extra_env)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _proc(self, name: str, args: list[str]) -> Proc:
        data = self.root / name
        cmd = [sys.executable, "-m", "onestack", *args, "--data-dir", str(data)]
        proc = Proc(name, cmd, self.root / f"{name}.log", self.env)
        self.procs[name] = proc
        proc.start()
        return proc

    # --- the processes --------------------------------------------------------------------------

    def start_api(self, services: tuple[str, ...] = ("identity", "image", "placement", "compute-api"),
                  timeout: float = 90.0, extra_args: tuple[str, ...] | list[str] = ()) -> None:
        proc = self._proc("api", ["serve", *services, "--port", str(self.port), "--db-url", self.db_url, *extra_args])

        def healthy() -> bool:
            proc.check()
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as resp:
                return bool(resp.status == 200)

        wait_until(healthy, timeout=timeout, what="the API process")

    def start_identity(self, name: str, data_dir: Path, timeout: float = 90.0) -> str:
        """Another identity API process on the same database (and the keys in ``data_dir``); its URL.
        It advertises the cloud's URL, as a second API process behind one load balancer would."""
        port = free_port()
        proc = Proc(name, [sys.executable, "-m", "onestack", "serve", "identity", "--port", str(port), "--db-url",
                           self.db_url, "--data-dir", str(data_dir), "--public-url", self.base_url],
                    self.root / f"{name}.log", self.env)
        self.procs[name] = proc
        proc.start()
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            proc.check()
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as resp:
                return bool(resp.status == 200)

        wait_until(healthy, timeout=timeout, what=name)
        return url

    def start_control(self, name: str, services: tuple[str, ...] = ("conductor", "scheduler")) -> Proc:
        """A control process; one that serves an API too (placement, say) listens on a port of its own."""
        port = ["--port", str(free_port())] if "placement" in services else []
        return self._proc(name, ["serve", *services, "--db-url", self.db_url, "--host-name", name, *port])

    def start_agent(self, host: str) -> Proc:
        return self._proc(host, ["agent", "compute", "--host", host, "--api-url", self.base_url])

    def start_network_agent(self, host: str) -> Proc:
        return self._proc(f"{host}-network", ["agent", "network", "--host", host, "--api-url", self.base_url])

    def kill(self, name: str) -> None:
        self.procs[name].stop(signal.SIGKILL)

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop()

    # --- clients --------------------------------------------------------------------------------

    @property
    def clouds_yaml(self) -> Path:
        return self.root / "api" / "clouds.yaml"

    def cloud_config(self, name: str) -> dict[str, Any]:
        doc: dict[str, Any] = yaml.safe_load(self.clouds_yaml.read_text())
        return dict(doc["clouds"][name])

    def sdk(self, cloud: str = "devstack-admin") -> Any:
        import openstack

        return openstack.connect(**self.cloud_config(cloud))

    def services_up(self, admin: Any) -> dict[tuple[str, str], bool]:
        """(binary, host) → up, as ``openstack compute service list`` shows them."""
        return {(s.binary, s.host): s.state == "up" for s in admin.compute.services()}

    def wait_services(self, admin: Any, wanted: dict[tuple[str, str], bool], timeout: float = 90.0) -> None:
        def settled() -> bool:
            for proc in self.procs.values():
                if proc.popen is not None:
                    proc.check()
            now = self.services_up(admin)
            return all(now.get(key) == up for key, up in wanted.items())

        wait_until(settled, timeout=timeout, interval=0.25, what=f"compute services {wanted}")

    def wait_schedulable(self, admin: Any, hosts: int, timeout: float = 90.0) -> None:
        """Until ``hosts`` resource providers have room for a VCPU in placement: an agent's service
        is up (its first heartbeat) before its inventory is reported, and boots in between would
        all land on the hosts that had reported."""
        def count() -> int:
            resp = admin.placement.get("/resource_providers", params={"resources": "VCPU:1"},
                                       microversion="1.4")
            return len(resp.json()["resource_providers"]) if resp.status_code == 200 else 0

        wait_until(lambda: count() >= hosts, timeout=timeout, interval=0.25,
                   what=f"{hosts} resource providers with room for a VCPU")


@contextmanager
def scale_out_cloud(root: Path, env: dict[str, str] | None = None) -> Iterator[ScaleOutCloud]:
    """A ScaleOutCloud (none of its processes started) on a PostgreSQL database and a RabbitMQ vhost
    of its own; every process it started is stopped after, and the database dropped."""
    from tests.databases import postgres_database
    from tests.services import rabbit_vhost, reachable, require_or_skip

    if not reachable("127.0.0.1", 5432):
        require_or_skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    databases = postgres_database()
    try:
        db_url = next(databases)
        with rabbit_vhost() as transport_url:
            running = ScaleOutCloud(root, db_url, transport_url, env or {})
            try:
                yield running
            finally:
                running.stop()
    finally:
        databases.close()


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc), in pid order."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                found.append(int(entry))
    return sorted(found)
