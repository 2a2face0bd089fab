"""Install, configure and run a real OpenStack Swift to benchmark against.

Swift comes from PyPI into its own virtualenv (cached; PyECLib's wheel carries liberasurecode),
its configuration and rings are written into a temporary directory at run time, and it runs as
Swift's all-in-one layout: a proxy, an account, a container and an object server (each its own
process, ``--workers`` workers each), every device a directory on the same file system as the
onestack under test, rings made with ``swift-ring-builder`` (part power 10, one zone per device,
as many devices as replicas), tempauth with memcached (Swift's own auth and token cache), and
the proxy pipeline of Swift's sample config less what onestack does not run either. No
background daemon (replicator, updater, auditor) runs: neither side does any during a row.
Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import getpass
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from _reference import ensure_memcached, free_port, run, start_memcached, stop_all, wait_http
from _reference import ensure_venv as ensure_venv_of

PART_POWER = 10
USER, KEY = "bench:tester", "testing"
SERVERS = ("account", "container", "object")
RING_BUILDER_OK = (0, 1)  # swift-ring-builder answers 1 for "done, with warnings"


def ensure_venv(venv: Path) -> str:
    """The newest Swift from PyPI in ``venv``; returns its version."""
    return ensure_venv_of(venv, "swift")


SWIFT_CONF = """\
[swift-hash]
swift_hash_path_suffix = onestack-bench
swift_hash_path_prefix = onestack-bench

[storage-policy:0]
name = gold
default = yes
"""

SERVER_CONF = """\
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = {workers}
# Swift drops privileges to this user (default "swift", which this machine lacks).
user = {user}
devices = {devices}
mount_check = false
swift_dir = {swift_dir}
log_level = WARNING
log_name = {name}-server
log_address = {workdir}/no-syslog

[pipeline:main]
pipeline = {name}-server

[app:{name}-server]
use = egg:swift#{name}
{extra}
"""

PROXY_CONF = """\
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = {workers}
# Swift drops privileges to this user (default "swift", which this machine lacks).
user = {user}
swift_dir = {swift_dir}
log_level = WARNING
log_name = proxy-server
log_address = {workdir}/no-syslog

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl s3api tempauth copy \
container-quotas account-quotas slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
# Swift's defaults (10 s, 60 s) are for idle backends; eight 256 MiB transfers through one worker
# per server on two shared cores stall a backend read longer than that, and Swift then answers
# 503 or cuts the body. onestack's object server is in-process and has no such timeout.
node_timeout = 60
client_timeout = 120

[filter:tempauth]
use = egg:swift#tempauth
user_bench_tester = testing .admin

[filter:s3api]
use = egg:swift#s3api

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:{memcached_port}

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:tempurl]
use = egg:swift#tempurl
[filter:copy]
use = egg:swift#copy
[filter:container-quotas]
use = egg:swift#container_quotas
[filter:account-quotas]
use = egg:swift#account_quotas
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
"""


@dataclass
class Swift:
    """A running Swift; ``stop()`` ends everything it started."""

    url: str  # the proxy's root
    version: str
    replicas: int
    storage_url: str = ""
    token: str = ""
    pids: list[int] = field(default_factory=list)  # proxy, account, container, object servers
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workdir: Path = Path()

    def stop(self) -> None:
        stop_all(self.procs, 15)


def _rings(venv: Path, swift_dir: Path, ports: dict[str, int], replicas: int) -> None:
    builder = str(venv / "bin" / "swift-ring-builder")
    for name in SERVERS:
        path = str(swift_dir / f"{name}.builder")
        run([builder, path, "create", str(PART_POWER), str(replicas), "1"], ok=RING_BUILDER_OK)
        for n in range(1, replicas + 1):
            run([builder, path, "add", f"r1z{n}-127.0.0.1:{ports[name]}/d{n}", "100"], ok=RING_BUILDER_OK)
        run([builder, path, "rebalance"], ok=RING_BUILDER_OK)
        if not (swift_dir / f"{name}.ring.gz").exists():
            raise RuntimeError(f"swift-ring-builder made no {name}.ring.gz")


def start(venv: Path, workdir: Path, *, replicas: int, workers: int = 1) -> Swift:
    """Configure and serve Swift from ``venv`` with its data under ``workdir``."""
    version = ensure_venv(venv)
    memcached = ensure_memcached()
    swift_dir, devices = workdir / "etc", workdir / "srv"
    swift_dir.mkdir(parents=True, exist_ok=True)
    for n in range(1, replicas + 1):
        (devices / f"d{n}").mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in (*SERVERS, "proxy", "memcached")}
    (swift_dir / "swift.conf").write_text(SWIFT_CONF)
    _rings(venv, swift_dir, ports, replicas)
    procs: list[subprocess.Popen[bytes]] = []
    procs.append(start_memcached(memcached, ports["memcached"]))
    common = {"workers": workers, "user": getpass.getuser(), "swift_dir": swift_dir, "devices": devices, "workdir": workdir}
    extras = {"account": "", "container": "", "object": ""}
    pids: list[int] = []
    try:
        for name in (*SERVERS, "proxy"):
            conf = swift_dir / f"{name}-server.conf"
            if name == "proxy":
                conf.write_text(PROXY_CONF.format(port=ports["proxy"], memcached_port=ports["memcached"], **common))
            else:
                conf.write_text(SERVER_CONF.format(name=name, port=ports[name], extra=extras[name], **common))
            log = workdir / f"{name}-server.log"
            with open(log, "ab") as out:
                proc = subprocess.Popen([str(venv / "bin" / f"swift-{name}-server"), str(conf)],
                                        stdout=out, stderr=subprocess.STDOUT)
            procs.append(proc)
            pids.append(proc.pid)
            probe = "healthcheck" if name == "proxy" else "recon/version"
            wait_http(f"http://127.0.0.1:{ports[name]}/{probe}", proc, log, what=f"Swift's {name} server",
                      deadline_s=60)
        url = f"http://127.0.0.1:{ports['proxy']}"
        req = urllib.request.Request(f"{url}/auth/v1.0", headers={"X-Auth-User": USER, "X-Auth-Key": KEY})
        with urllib.request.urlopen(req, timeout=30) as resp:
            storage_url, token = resp.headers["X-Storage-Url"], resp.headers["X-Auth-Token"]
    except BaseException:
        for proc in reversed(procs):
            proc.kill()
        raise
    return Swift(url, version, replicas, storage_url, token, pids, procs, workdir)
