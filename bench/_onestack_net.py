"""The onestack side of bench/network.py: its own database (and RabbitMQ vhost), started and stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _neutron
import _reference
from _load import one, process_tree_cpu

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # the tests' helpers below (a vhost of its own, a process's children)
    sys.path.insert(0, str(REPO))

from tests.functional.multiprocess import child_pids
from tests.services import rabbit_vhost


@dataclass
class Target:
    """A network API under test: ``url`` is the root that ``/v2.0/...`` hangs off."""

    name: str
    url: str
    headers: dict[str, str]
    pids: list[int] = field(default_factory=list)
    stop: Callable[[], None] = lambda: None
    note: str = ""
    resource: str = "ports"  # "networks" while onestack has no ports API

    async def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        resp = await one(self.url, method, path, self.headers, body)
        if resp.status != expect:
            raise RuntimeError(f"{self.name}: {method} {path} answered {resp.status}: {resp.body[:300]!r}")
        return resp.json() if resp.body else None


PG_ADMIN_URL = os.environ.get("ONESTACK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _psql(sql: str) -> None:
    proc = subprocess.run(["psql", PG_ADMIN_URL, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
                          capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"psql: {sql}: {proc.stderr[-2000:]}")


def create_database(kind: str) -> str:
    """A fresh database for onestack on the local server of ``kind``; its URL."""
    if kind == "mariadb":
        return _neutron.create_database("onestack_bench")
    name = f"onestack_bench_{os.getpid()}_{secrets.token_hex(4)}"
    _psql(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        _neutron.drop_database(url)
        return
    try:
        _psql(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    except RuntimeError as exc:
        print(f"bench: could not drop {url}: {exc}", file=sys.stderr, flush=True)


def start_onestack(tmp: Path, db_kind: str, write_threads: int = 0, api_workers: int = 0) -> Target:
    """onestack on a free port, on a database of its own, without DevStack's networks.

    ``api_workers`` 0: ``onestack up`` (one process: the API and every service). ``api_workers`` N:
    ``onestack serve identity network --api-workers N`` (what the port path needs; N API processes
    on one port) on a RabbitMQ vhost of its own. ``write_threads`` > 0 sets
    ``database.write_threads`` (else the default); server CPU is the whole process tree's."""
    db_url = create_database(db_kind)
    data_dir = tmp / "onestack"
    data_dir.mkdir(parents=True)
    port = _reference.free_port()
    log = data_dir / "onestack-bench.log"
    env = {**os.environ, "ONESTACK_DATABASE__URL": db_url, "ONESTACK_NETWORK__BOOTSTRAP_NETWORKS": "false",
           "ONESTACK_IDENTITY__PASSWORD_HASH_ROUNDS": "4"}
    if write_threads > 0:
        env["ONESTACK_DATABASE__WRITE_THREADS"] = str(write_threads)
    password = secrets.token_hex(12)
    common = ["--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port), "--admin-password", password]
    vhost = contextlib.ExitStack()
    if api_workers > 0:
        transport_url = vhost.enter_context(rabbit_vhost())
        cmd = [sys.executable, "-m", "onestack", "serve", "identity", "network", "--api-workers", str(api_workers),
               "--transport-url", transport_url, *common]
    else:
        cmd = [sys.executable, "-m", "onestack", "up", *common]
    with open(log, "ab") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=REPO)

    def stop() -> None:
        if api_workers > 1 and proc.poll() is None:  # how evenly the kernel spread the connections
            split = ", ".join(f"pid {pid} {process_tree_cpu(pid):.1f}" for pid in child_pids(proc.pid))
            print(f"bench: onestack API workers' CPU seconds over the whole run: {split}", file=sys.stderr, flush=True)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        drop_database(db_url)
        vhost.close()

    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"onestack exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if asyncio.run(one(base, "GET", "/healthz")).status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"onestack did not answer /healthz; see {log}")
            time.sleep(0.2)  # polling a starting server; there is no event to wait on
        if api_workers > 1:  # every worker up, not just the first to answer
            while log.read_text().count(" serving identity, network at ") < api_workers:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"onestack's {api_workers} workers did not all start; see {log}")
                time.sleep(0.2)
        token = asyncio.run(_token(base, password))
    except BaseException:
        stop()
        raise
    threads = (f"{write_threads if write_threads > 0 else _default_write_threads()} write threads"
               + ("" if write_threads > 0 else " (the default)"))
    if api_workers > 0:
        note = (f"onestack {_onestack_version()}, `serve identity network --api-workers {api_workers}` "
                f"({api_workers} API processes on one port), {db_kind}, RabbitMQ, {threads} per process")
    else:
        note = f"onestack {_onestack_version()}, one process (the API and every service), {db_kind}, {threads}"
    return Target("onestack", f"{base}/networking", {"X-Auth-Token": token}, [proc.pid], stop, note=note)


def _default_write_threads() -> int:
    from onestack.core.config import DatabaseConfig
    return int(DatabaseConfig().write_threads)


def _onestack_version() -> str:
    try:
        from importlib.metadata import version
        return version("onestack")
    except Exception:  # noqa: BLE001 - a checkout that is not installed
        return "(checkout)"


async def _token(base: str, password: str) -> str:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    resp = await one(base, "POST", "/identity/v3/auth/tokens", body=body)
    if resp.status != 201:
        raise RuntimeError(f"onestack: no admin token: {resp.status} {resp.body[:300]!r}")
    return resp.headers["x-subject-token"]
