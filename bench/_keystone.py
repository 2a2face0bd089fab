"""Install, configure and run a real OpenStack Keystone to benchmark against.

Everything is generated at run time: Keystone comes from PyPI into its own virtualenv
(cached), its configuration is written into a temporary directory, and it is served the
way a production deployment serves it — uWSGI with 2 worker processes behind uWSGI's HTTP
router (which keeps client connections alive, as Apache does in front of DevStack's
uWSGI), SQLite, Fernet tokens, and a memcached cache. Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import getpass
import grp
import os
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from _reference import ensure_memcached, free_port, run, start_memcached, stop_all, wait_http
from _reference import ensure_venv as ensure_venv_of

KEYSTONE_SERIES = "30"
WORKERS = 2


def ensure_venv(venv: Path) -> str:
    """Keystone 30.x (or the newest release, if there is no 30.x) plus uWSGI and pymemcache in ``venv``."""
    return ensure_venv_of(venv, "keystone", series=KEYSTONE_SERIES, extras=("uwsgi", "pymemcache"))


CONFIG_TEMPLATE = """\
[DEFAULT]
log_file = {workdir}/keystone.log
use_stderr = false

[database]
connection = sqlite:///{workdir}/keystone.db

[token]
provider = fernet
expiration = 3600

[fernet_tokens]
key_repository = {workdir}/fernet-keys

[fernet_receipts]
key_repository = {workdir}/fernet-keys

[credential]
key_repository = {workdir}/credential-keys

[identity]
password_hash_algorithm = bcrypt
password_hash_rounds = {rounds}

[cache]
enabled = true
backend = dogpile.cache.pymemcache
memcache_servers = 127.0.0.1:{memcached_port}
"""


@dataclass
class Keystone:
    """A running Keystone; ``stop()`` ends everything it started."""

    url: str
    version: str
    admin_password: str
    pid: int  # the uWSGI master: the process tree holds router and workers
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workdir: Path = Path()
    memcached_port: int = 0

    def stop(self) -> None:
        stop_all(self.procs, 15)


def start(venv: Path, workdir: Path, *, rounds: int, admin_password: str) -> Keystone:
    """Configure, bootstrap and serve Keystone from ``venv`` in ``workdir``."""
    version = ensure_venv(venv)
    memcached = ensure_memcached()
    workdir.mkdir(parents=True, exist_ok=True)
    mc_port, port = free_port(), free_port()
    procs: list[subprocess.Popen[bytes]] = []
    procs.append(start_memcached(memcached, mc_port))
    conf = workdir / "keystone.conf"
    conf.write_text(CONFIG_TEMPLATE.format(workdir=workdir, rounds=rounds, memcached_port=mc_port))
    manage = [str(venv / "bin" / "keystone-manage"), "--config-file", str(conf)]
    user, group = getpass.getuser(), grp.getgrgid(os.getegid()).gr_name
    url = f"http://127.0.0.1:{port}"
    try:
        run([*manage, "db_sync"], timeout=600)
        run([*manage, "fernet_setup", "--keystone-user", user, "--keystone-group", group])
        run([*manage, "credential_setup", "--keystone-user", user, "--keystone-group", group])
        run([*manage, "bootstrap", "--bootstrap-password", admin_password,
              "--bootstrap-admin-url", f"{url}/v3", "--bootstrap-internal-url", f"{url}/v3",
              "--bootstrap-public-url", f"{url}/v3", "--bootstrap-region-id", "RegionOne"], timeout=300)
        log = workdir / "uwsgi.log"
        uwsgi = [
            str(venv / "bin" / "uwsgi"), "--master", "--processes", str(WORKERS), "--threads", "1",
            "--http", f"127.0.0.1:{port}", "--http-keepalive",
            "--module", "keystone.wsgi.api:application", "--virtualenv", str(venv),
            "--env", f"OS_KEYSTONE_CONFIG_FILES={conf}", "--lazy-apps", "--enable-threads",
            "--thunder-lock", "--buffer-size", "65535", "--die-on-term", "--logto", str(log),
        ]
        procs.append(subprocess.Popen(uwsgi, stdin=subprocess.DEVNULL, start_new_session=True))
        wait_http(f"{url}/v3", procs[-1], log, what="Keystone", deadline_s=90)
    except BaseException:
        Keystone(url, version, admin_password, 0, procs).stop()
        raise
    return Keystone(url=url, version=version, admin_password=admin_password, pid=procs[-1].pid,
                    procs=procs, workdir=workdir, memcached_port=mc_port)


def memcached_stats(port: int) -> dict[str, str]:
    """memcached's counters: proof that Keystone's cache is really in use."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"stats\r\n")
            data = b""
            while not data.endswith(b"END\r\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
    except OSError:
        return {}
    out = {}
    for line in data.decode().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "STAT":
            out[parts[1]] = parts[2]
    return out
