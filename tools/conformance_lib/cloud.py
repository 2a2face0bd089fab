"""The onestack Tempest talks to: one this tool starts, or one already running."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conformance_lib.tempest_conf import SecurityCompliance

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Target:
    base_url: str
    data_dir: Path | None
    admin_password: str
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def identity_url(self) -> str:
        return f"{self.base_url}/identity"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_from_url(url: str) -> str:
    """Accept the server root, the identity endpoint or its /v3 and return the server root."""
    url = url.rstrip("/")
    for suffix in ("/v3", "/identity"):
        url = url.removesuffix(suffix)
    return url


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as resp:
            return bool(resp.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def start_onestack(workdir: Path, security: SecurityCompliance | None, timeout: float = 90.0) -> Target:
    """``onestack up`` on a free port with a fresh data dir under ``workdir``."""
    data_dir = workdir / "data"
    port = free_port()
    env = dict(os.environ)
    # Tempest creates hundreds of users; bcrypt's minimum cost keeps the run short.
    env["ONESTACK_IDENTITY__PASSWORD_HASH_ROUNDS"] = "4"
    cmd = [sys.executable, "-m", "onestack", "up", "--host", "127.0.0.1", "--port", str(port),
           "--data-dir", str(data_dir)]
    if security is not None:
        config = workdir / "onestack.toml"
        config.write_text(security.onestack_toml())
        cmd += ["--config", str(config)]
    log_path = workdir / "onestack.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while not _healthy(base_url):
        if proc.poll() is not None:
            raise SystemExit(f"conformance: onestack exited with {proc.returncode}; see {log_path}")
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"conformance: onestack did not answer /healthz in {timeout:.0f}s; see {log_path}")
        time.sleep(0.2)
    secrets = json.loads((data_dir / "secrets.json").read_text())
    return Target(base_url, data_dir, str(secrets["admin"]), proc=proc, log_path=log_path)


def attach(url: str | None, data_dir: Path | None, admin_password: str | None) -> Target:
    """A onestack that is already running; the URL and password default to its data dir's files."""
    if url is None:
        if data_dir is None:
            raise SystemExit("conformance: --url needs --data-dir or --admin-password")
        clouds = yaml.safe_load((data_dir / "clouds.yaml").read_text())
        url = str(clouds["clouds"]["devstack-admin"]["auth"]["auth_url"])
    if admin_password is None:
        if data_dir is None:
            raise SystemExit("conformance: give --data-dir (for secrets.json) or --admin-password")
        admin_password = str(json.loads((data_dir / "secrets.json").read_text())["admin"])
    base = base_from_url(url)
    if not _healthy(base):
        raise SystemExit(f"conformance: nothing healthy answers at {base}/healthz")
    return Target(base, data_dir, admin_password)


def _request(url: str, body: dict[str, Any] | None = None, token: str | None = None) -> tuple[dict[str, Any], Any]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return dict(resp.headers), json.loads(resp.read() or b"{}")


def catalog_types(target: Target) -> set[str]:
    """Service types in the admin's catalog (which services Tempest should expect)."""
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": target.admin_password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    try:
        _, doc = _request(f"{target.identity_url}/v3/auth/tokens", auth)
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"conformance: admin cannot authenticate at {target.identity_url}: {exc}") from None
    return {str(entry.get("type")) for entry in doc.get("token", {}).get("catalog", [])}
