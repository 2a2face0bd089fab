"""Install, configure and run a real OpenStack Neutron (neutron-server's API) to benchmark against.

Everything is generated at run time: Neutron comes from PyPI into its own virtualenv (cached),
its configuration is written into a temporary directory, and its API is served the way
DevStack serves it since Neutron dropped its eventlet server — uWSGI running
``neutron.wsgi.api:application`` with 2 worker processes behind uWSGI's HTTP router
(keep-alive). The plugin is ML2 with the flat and vxlan type drivers, no mechanism driver
(no agents: ports stay unbound, as onestack's without an agent) and the noop firewall; the
internal IPAM driver; a MariaDB database of its own on the local server (Neutron's migrations are
MySQL-only: its ``tags`` table migration says ``ALTER TABLE ... CONVERT TO CHARACTER SET utf8mb4``,
which PostgreSQL refuses, Neutron having dropped PostgreSQL support), so onestack runs on a MariaDB
database of its own in the same run, for the same kind of database on both sides; the RPC transport
is the local RabbitMQ (Neutron casts its agent notifications there even with no agent
listening, as a real deployment does). Authentication is ``noauth`` (the request runs as an
admin context): Neutron pays no token validation, which favours it slightly. Nothing listens
beyond 127.0.0.1.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from _reference import ensure_venv as ensure_venv_of
from _reference import free_port, note, run, stop_all, wait_http

NEUTRON_SERIES = "29"
WORKERS = 2
# The local MariaDB as DevStack configures it (root, no password on 127.0.0.1).
MYSQL_HOST = os.environ.get("ONESTACK_BENCH_MYSQL_HOST", "127.0.0.1")
MYSQL_USER = os.environ.get("ONESTACK_BENCH_MYSQL_USER", "root")
RABBIT_URL = os.environ.get("ONESTACK_BENCH_RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")


def ensure_venv(venv: Path) -> str:
    """Neutron 29.x (or the newest release, if there is no 29.x), uWSGI and PyMySQL in ``venv``."""
    return ensure_venv_of(venv, "neutron", series=NEUTRON_SERIES, extras=("uwsgi", "pymysql"))


NEUTRON_CONF = """\
[DEFAULT]
core_plugin = ml2
service_plugins =
auth_strategy = noauth
allow_overlapping_ips = true
transport_url = {rabbit}
log_file = {workdir}/neutron.log
use_stderr = false
debug = false
api_workers = {workers}
rpc_workers = 0
rpc_state_report_workers = 0
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
api_paste_config = {venv}/etc/neutron/api-paste.ini

[database]
connection = {db_url}
max_pool_size = 10

[oslo_concurrency]
lock_path = {workdir}/lock

[quotas]
# The benchmark grows one project to 10,000 ports; onestack's limits are lifted the same way.
quota_network = -1
quota_subnet = -1
quota_port = -1

[agent]
report_interval = 0
"""

ML2_CONF = """\
[ml2]
type_drivers = flat,vxlan
tenant_network_types = vxlan
mechanism_drivers =
extension_drivers = port_security

[ml2_type_flat]
flat_networks = public

[ml2_type_vxlan]
vni_ranges = 1:10000

[securitygroup]
firewall_driver = noop
enable_security_group = true
"""


def _mysql(sql: str) -> None:
    """One statement on the local MariaDB as its admin (the ``mariadb`` client, as DevStack uses)."""
    run(["mariadb", "-h", MYSQL_HOST, "-u", MYSQL_USER, "-e", sql], timeout=120)


def create_database(prefix: str) -> str:
    """A fresh MariaDB database for one server; returns its URL (``mysql+pymysql://``)."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    _mysql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    return f"mysql+pymysql://{MYSQL_USER}@{MYSQL_HOST}/{name}?charset=utf8mb4"


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1].split("?")[0]
    try:
        _mysql(f"DROP DATABASE IF EXISTS `{name}`")
    except RuntimeError as exc:
        note(f"could not drop {url}: {exc}")


@dataclass
class Neutron:
    """A running neutron API; ``stop()`` ends the uWSGI tree and drops its database."""

    url: str
    version: str
    pid: int  # the uWSGI master: the process tree holds router and workers
    db_url: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workdir: Path = Path()

    def stop(self) -> None:
        stop_all(self.procs, 20)
        if self.db_url:
            drop_database(self.db_url)


def start(venv: Path, workdir: Path) -> Neutron:
    """Configure Neutron from ``venv`` in ``workdir``, migrate its database and serve its API."""
    version = ensure_venv(venv)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "lock").mkdir(exist_ok=True)
    db_url = create_database("neutron_bench")
    procs: list[subprocess.Popen[bytes]] = []
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    try:
        neutron_conf, ml2_conf = workdir / "neutron.conf", workdir / "ml2_conf.ini"
        neutron_conf.write_text(NEUTRON_CONF.format(
            rabbit=RABBIT_URL, workdir=workdir, workers=WORKERS, venv=venv,
            db_url=db_url))
        ml2_conf.write_text(ML2_CONF)
        note("migrating Neutron's database (neutron-db-manage upgrade heads)")
        run([str(venv / "bin" / "neutron-db-manage"), "--config-file", str(neutron_conf),
              "--config-file", str(ml2_conf), "upgrade", "heads"], timeout=900)
        log = workdir / "uwsgi.log"
        uwsgi = [
            str(venv / "bin" / "uwsgi"), "--master", "--processes", str(WORKERS), "--threads", "1",
            "--http", f"127.0.0.1:{port}", "--http-keepalive",
            "--module", "neutron.wsgi.api:application", "--virtualenv", str(venv),
            "--env", f"OS_NEUTRON_CONFIG_DIR={workdir}",
            "--env", "OS_NEUTRON_CONFIG_FILES=neutron.conf;ml2_conf.ini",
            "--lazy-apps", "--enable-threads", "--thunder-lock", "--buffer-size", "65535",
            "--die-on-term", "--logto", str(log),
        ]
        procs.append(subprocess.Popen(uwsgi, stdin=subprocess.DEVNULL, start_new_session=True))
        wait_http(f"{url}/v2.0/networks", procs[-1], log, what="Neutron", deadline_s=180, interval=0.5,
                  request_timeout=5, app_log=workdir / "neutron.log", fatal="CRITICAL neutron")
    except BaseException:
        Neutron(url, version, 0, db_url, procs).stop()
        raise
    return Neutron(url=url, version=version, pid=procs[-1].pid, db_url=db_url, procs=procs, workdir=workdir)
