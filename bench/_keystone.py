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
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

KEYSTONE_SERIES = "30"
INSTALL_TIMEOUT = 1800  # uWSGI compiles from source: minutes on two cores
WORKERS = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def _run(cmd: list[str], **kwargs: object) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}")


def ensure_venv(venv: Path) -> str:
    """Keystone 30.x (or the newest release, if there is no 30.x) plus uWSGI and pymemcache in ``venv``.

    Returns the Keystone version installed. A marker file makes later runs skip the install.
    """
    marker = venv / ".onestack-bench-installed"
    if marker.exists():
        return marker.read_text().strip()
    _log(f"installing Keystone into {venv} (uWSGI compiles; this takes a few minutes, once)")
    if not (venv / "bin" / "python").exists():
        _run([sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    try:
        _run([*pip, f"keystone=={KEYSTONE_SERIES}.*", "uwsgi", "pymemcache"], timeout=INSTALL_TIMEOUT)
    except RuntimeError as exc:
        if "satisfies the requirement keystone" not in str(exc):
            raise  # some other failure (e.g. uWSGI did not compile): say so, do not paper over it
        _log(f"no Keystone {KEYSTONE_SERIES}.x on the index; installing the newest release instead")
        _run([*pip, "keystone", "uwsgi", "pymemcache"], timeout=INSTALL_TIMEOUT)
    out = subprocess.run([str(venv / "bin" / "python"), "-c",
                          "import importlib.metadata as m; print(m.version('keystone'))"],
                         capture_output=True, text=True, check=True)
    version = out.stdout.strip()
    marker.write_text(version + "\n")
    return version


def ensure_memcached() -> str:
    """The memcached binary; installs Debian's package when missing and we are root."""
    found = shutil.which("memcached")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError("memcached is not installed; install it (apt-get install memcached) and retry")
    _log("installing memcached with apt-get")
    _run(["apt-get", "update", "-qq"], timeout=600)
    _run(["apt-get", "install", "-y", "-qq", "memcached"], timeout=600,
         env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    found = shutil.which("memcached")
    if not found:
        raise RuntimeError("memcached still missing after apt-get install")
    return found


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
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, deadline_s: float = 90.0) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log.read_text()[-3000:] if log.exists() else ""
            raise RuntimeError(f"Keystone exited with {proc.returncode}; see {log}:\n{text}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)  # polling a starting server; there is no event to wait on
    raise RuntimeError(f"Keystone did not answer at {url} within {deadline_s:.0f}s; see {log}")


def start(venv: Path, workdir: Path, *, rounds: int, admin_password: str) -> Keystone:
    """Configure, bootstrap and serve Keystone from ``venv`` in ``workdir``."""
    version = ensure_venv(venv)
    memcached = ensure_memcached()
    workdir.mkdir(parents=True, exist_ok=True)
    mc_port, port = free_port(), free_port()
    procs: list[subprocess.Popen[bytes]] = []
    mc_cmd = [memcached, "-l", "127.0.0.1", "-p", str(mc_port), "-U", "0", "-m", "64"]
    if os.geteuid() == 0:
        mc_cmd += ["-u", "nobody"]  # memcached refuses to run as root
    procs.append(subprocess.Popen(mc_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    conf = workdir / "keystone.conf"
    conf.write_text(CONFIG_TEMPLATE.format(workdir=workdir, rounds=rounds, memcached_port=mc_port))
    manage = [str(venv / "bin" / "keystone-manage"), "--config-file", str(conf)]
    user, group = getpass.getuser(), grp.getgrgid(os.getegid()).gr_name
    url = f"http://127.0.0.1:{port}"
    try:
        _run([*manage, "db_sync"], timeout=600)
        _run([*manage, "fernet_setup", "--keystone-user", user, "--keystone-group", group])
        _run([*manage, "credential_setup", "--keystone-user", user, "--keystone-group", group])
        _run([*manage, "bootstrap", "--bootstrap-password", admin_password,
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
        _wait_http(f"{url}/v3", procs[-1], log)
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
