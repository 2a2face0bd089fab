"""A real ``onestack up`` in a subprocess, on a free port, with a temporary data dir.

``ONESTACK_TEST_DB`` picks the database every cloud runs on: ``sqlite`` (unset; the file in the
data dir) or ``postgresql`` (a fresh database of the cloud's own on the server named by
``ONESTACK_TEST_PG_URL``, default ``postgresql://postgres@127.0.0.1:5432/postgres``, created at
the first start, in UTF-8 with C.UTF-8 collation, and dropped by ``close``) or ``mariadb`` (the
same on ``ONESTACK_TEST_MARIADB_URL``, default ``mysql://root@127.0.0.1:3306``, in utf8mb4 with
binary collation). An unreachable server fails the run loudly.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

REPO = Path(__file__).resolve().parents[2]
TEST_DB_KINDS = ("sqlite", "postgresql", "mariadb")
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_MARIADB_URL = "mysql://root@127.0.0.1:3306"


def configured_db_kind() -> str:
    """The database the functional tests run their clouds on (``ONESTACK_TEST_DB``)."""
    kind = os.environ.get("ONESTACK_TEST_DB", "") or "sqlite"
    if kind not in TEST_DB_KINDS:
        raise RuntimeError(f"ONESTACK_TEST_DB={kind!r}: expected one of {', '.join(TEST_DB_KINDS)}")
    return kind


def _pg_admin_url() -> str:
    return os.environ.get("ONESTACK_TEST_PG_URL", "") or DEFAULT_PG_URL


def _pg_admin(sql: str | None = None) -> None:
    """Run ``sql`` (or only connect) on the server's maintenance database, autocommit; fails loudly."""
    import psycopg2

    url = _pg_admin_url()
    try:
        conn = psycopg2.connect(url, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        raise RuntimeError(f"PostgreSQL at {url} is not reachable: {exc}") from exc
    try:
        conn.autocommit = True
        if sql:
            with conn.cursor() as cur:
                cur.execute(sql)
    finally:
        conn.close()


def _mariadb_admin_url() -> str:
    return (os.environ.get("ONESTACK_TEST_MARIADB_URL", "") or DEFAULT_MARIADB_URL).rstrip("/")


def _mariadb_admin(sql: str | None = None) -> None:
    """As ``_pg_admin``, on the MariaDB server (no database selected)."""
    import pymysql
    from sqlalchemy import make_url

    url = make_url(_mariadb_admin_url())
    try:
        conn = pymysql.connect(host=url.host or "127.0.0.1", port=url.port or 3306, user=url.username or "root",
                               password=url.password or "", connect_timeout=5, autocommit=True)
    except pymysql.err.MySQLError as exc:
        raise RuntimeError(f"MariaDB at {url.render_as_string()} is not reachable: {exc}") from exc
    try:
        if sql:
            with conn.cursor() as cur:
                cur.execute(sql)
    finally:
        conn.close()


def check_test_database() -> str:
    """What the clouds will run on (``ONESTACK_TEST_DB``); raises if that server does not answer."""
    kind = configured_db_kind()
    if kind == "postgresql":
        try:
            _pg_admin()
        except RuntimeError as exc:
            raise RuntimeError(f"ONESTACK_TEST_DB=postgresql but {exc}") from exc
        return f"postgresql ({_pg_admin_url()})"
    if kind == "mariadb":
        try:
            _mariadb_admin()
        except RuntimeError as exc:
            raise RuntimeError(f"ONESTACK_TEST_DB=mariadb but {exc}") from exc
        return f"mariadb ({_mariadb_admin_url()})"
    return kind


_created_databases: set[str] = set()


def create_test_database(kind: str = "") -> str:
    """A new empty database of ``kind`` (default: ``ONESTACK_TEST_DB``'s); its URL, or "" for SQLite's file."""
    kind = kind or configured_db_kind()
    if kind == "sqlite":
        return ""
    name = f"onestack_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    if kind == "mariadb":
        _mariadb_admin(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        url = f"{_mariadb_admin_url()}/{name}"
        _created_databases.add(url)
        return url
    # Code-point collation, as SQLite's BINARY: what the tests see must not hang on the cluster's locale.
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\' '
              f"LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    url = f"{_pg_admin_url().rsplit('/', 1)[0]}/{name}"
    _created_databases.add(url)
    return url


def drop_test_database(url: str) -> None:
    """Drop a database made by ``create_test_database``, closing whatever still holds it open."""
    if url.startswith("mysql"):
        _mariadb_admin(f"DROP DATABASE IF EXISTS `{url.rsplit('/', 1)[1]}`")
        _created_databases.discard(url)
    elif url:
        _pg_admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        _created_databases.discard(url)


@atexit.register
def _drop_leftover_databases() -> None:
    """A cloud a test forgot to close must not leave its database on a shared server."""
    for url in list(_created_databases):
        with contextlib.suppress(Exception):
            drop_test_database(url)


@contextlib.contextmanager
def db_engine(url: str) -> Iterator[Engine]:
    """A SQLAlchemy engine on a cloud's database (``RunningCloud.db_url``), disposed afterwards."""
    from onestack.core.db import create_db_engine

    engine = create_db_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Any, timeout: float = 30.0, interval: float = 0.05, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - keep polling, report the last failure
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}" + (f": {last_exc}" if last_exc else ""))


@dataclass
class RunningCloud:
    data_dir: Path
    port: int
    env: dict[str, str]
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    # The cloud's database on a server (``--db-url``): its own one made at the first start when
    # ONESTACK_TEST_DB asks for it (owned: ``close`` drops it), or one the test passed to make_cloud.
    external_db_url: str = ""
    owns_db: bool = False

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL of the cloud's database: the SQLite file in the data dir, or its own one."""
        return self.external_db_url or f"sqlite:///{self.data_dir / 'onestack.db'}"

    def engine(self) -> contextlib.AbstractContextManager[Engine]:
        """``with cloud.engine() as engine:`` a SQLAlchemy engine on the cloud's database."""
        return db_engine(self.db_url)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def identity_url(self) -> str:
        return f"{self.base_url}/identity"

    @property
    def clouds_yaml(self) -> Path:
        return self.data_dir / "clouds.yaml"

    def start(self, timeout: float = 120.0) -> None:  # a loaded 2-core machine took over 60 s
        self.log_path = self.data_dir.parent / f"onestack-{self.port}.log"
        if not self.external_db_url:  # a restart keeps the database
            self.external_db_url = create_test_database()
            self.owns_db = bool(self.external_db_url)
        db_args = ["--db-url", self.external_db_url] if self.external_db_url else []
        cmd = [sys.executable, "-m", "onestack", "up", "--data-dir", str(self.data_dir), "--port", str(self.port),
               *db_args, *self.extra_args]
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)

        def healthy() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"onestack exited with {self.proc.returncode}; see {self.log_path}")
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as resp:
                return bool(resp.status == 200)

        try:
            wait_until(healthy, timeout=timeout, what="onestack /healthz")
        except BaseException:
            # A fixture whose start fails never reaches its close(): do not leave a cloud running.
            self.stop(signal.SIGKILL)
            raise

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc is None:
            return 0
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        return code

    def close(self) -> None:
        """Stop for good: also drop the cloud's own database (a ``stop`` alone keeps it for a restart)."""
        try:
            self.stop()
        finally:
            if self.owns_db:
                drop_test_database(self.external_db_url)
                self.external_db_url, self.owns_db = "", False

    def cloud_config(self, name: str) -> dict[str, Any]:
        doc: dict[str, Any] = yaml.safe_load(self.clouds_yaml.read_text())
        return dict(doc["clouds"][name])

    def password(self, user: str = "admin") -> str:
        secrets = json.loads((self.data_dir / "secrets.json").read_text())
        return str(secrets[user])

    def sdk(self, cloud: str = "devstack-admin", **overrides: Any) -> Any:
        import openstack

        cfg = self.cloud_config(cloud)
        cfg["auth"].update(overrides.pop("auth", {}))
        cfg.update(overrides)
        return openstack.connect(**cfg)

    def compute_host(self) -> str:
        """The name of a one-host cloud's compute host (the machine's, unless configured), as
        os-services lists it."""
        conn = self.sdk()
        try:
            hosts = [s.host for s in conn.compute.services(binary="nova-compute")]
        finally:
            conn.close()
        assert len(hosts) == 1, f"expected one compute host, found {hosts}"
        return str(hosts[0])

    def cli(self, *args: str, cloud: str = "devstack-admin", check: bool = True, json_out: bool = True) -> Any:
        """Run the ``openstack`` CLI; returns parsed JSON (``-f json``) or the CompletedProcess."""
        cmd = ["openstack", "--os-cloud", cloud, *args]
        if json_out:
            cmd += ["-f", "json"]
        env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(self.clouds_yaml))
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
        if not json_out or not check:
            return proc
        return json.loads(proc.stdout) if proc.stdout.strip() else None


def make_cloud(tmp: Path, extra_env: dict[str, str] | None = None, extra_args: list[str] | None = None,
               db_url: str = "") -> RunningCloud:
    """A cloud (not started yet); ``db_url`` puts it on that database instead of the ONESTACK_TEST_DB one."""
    data_dir = tmp / "data"
    env = dict(os.environ)
    env.update({
        # Tests issue many tokens; cost 4 is bcrypt's floor and Keystone's minimum.
        "ONESTACK_IDENTITY__PASSWORD_HASH_ROUNDS": "4",
        "ONESTACK_LOG__LEVEL": "INFO",
    })
    env.update(extra_env or {})
    return RunningCloud(data_dir=data_dir, port=free_port(), env=env, extra_args=extra_args or [],
                        external_db_url=db_url)
