"""Stopping, restarting, resetting and rotating keys on a real cloud's data dir."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import yaml
from cryptography.fernet import Fernet

from tests.functional.cloud import REPO, RunningCloud

CLOUDS = {"onestack", "onestack-admin", "onestack-alt", "devstack", "devstack-alt", "devstack-admin",
          "devstack-system-admin"}


def issue(cloud: RunningCloud, user: str = "admin", project: str = "admin") -> str:
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": cloud.password(user)}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}},
    }}
    resp = httpx.post(f"{cloud.identity_url}/v3/auth/tokens", json=body, timeout=30)
    assert resp.status_code == 201, resp.text
    return resp.headers["X-Subject-Token"]


def validates(cloud: RunningCloud, token: str) -> bool:
    """The token authenticates a request and validates as a subject."""
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    resp = httpx.get(f"{cloud.identity_url}/v3/auth/tokens", headers=headers, timeout=30)
    assert resp.status_code in (200, 401, 404), resp.text
    return resp.status_code == 200


def onestack(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "onestack", *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO, env=env, check=False)


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def port_is_free(port: int) -> bool:
    """Could a new server listen here? (SO_REUSEADDR as servers set it: TIME_WAIT is no obstacle.)"""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def create_project(cloud: RunningCloud, token: str) -> dict[str, Any]:
    name = f"keep-{uuid.uuid4().hex[:8]}"
    resp = httpx.post(f"{cloud.identity_url}/v3/projects", json={"project": {"name": name}},
                      headers={"X-Auth-Token": token}, timeout=30)
    assert resp.status_code == 201, resp.text
    return dict(resp.json()["project"])


def test_files_written_on_first_start(fresh_cloud: RunningCloud) -> None:
    fresh_cloud.start()
    data = fresh_cloud.data_dir
    for name in ("clouds.yaml", "openrc", "secrets.json"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    doc = yaml.safe_load(fresh_cloud.clouds_yaml.read_text())
    assert set(doc["clouds"]) == CLOUDS
    for name in CLOUDS:  # every entry in clouds.yaml authenticates
        assert fresh_cloud.sdk(name).session.get_token()
    openrc = (data / "openrc").read_text()
    assert f"OS_AUTH_URL={fresh_cloud.identity_url}" in openrc
    assert fresh_cloud.password("admin") in openrc
    health = httpx.get(f"{fresh_cloud.base_url}/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert "identity" in health.json()["services"]


def test_stop_restart_keeps_data_and_tokens(fresh_cloud: RunningCloud) -> None:
    fresh_cloud.start()
    admin_token = issue(fresh_cloud)
    demo_token = issue(fresh_cloud, "demo", "demo")
    project = create_project(fresh_cloud, admin_token)
    password = fresh_cloud.password("admin")
    assert fresh_cloud.proc is not None
    pid = fresh_cloud.proc.pid
    helpers = children_of(pid)

    started = time.monotonic()
    assert fresh_cloud.stop() == 0  # SIGTERM is a clean stop
    assert time.monotonic() - started < 15
    assert all(not Path(f"/proc/{child}").exists() for child in helpers), "orphan processes left behind"
    assert port_is_free(fresh_cloud.port)

    began = time.monotonic()
    fresh_cloud.start()
    print(f"\nreadiness on restart (existing data dir): {time.monotonic() - began:.2f}s")
    assert fresh_cloud.password("admin") == password  # no second bootstrap
    assert validates(fresh_cloud, admin_token) and validates(fresh_cloud, demo_token)
    shown = httpx.get(f"{fresh_cloud.identity_url}/v3/projects/{project['id']}",
                      headers={"X-Auth-Token": admin_token}, timeout=30)
    assert shown.status_code == 200 and shown.json()["project"]["name"] == project["name"]
    assert validates(fresh_cloud, issue(fresh_cloud))


def test_status_command(fresh_cloud: RunningCloud) -> None:
    fresh_cloud.start()
    args = ("status", "--port", str(fresh_cloud.port), "--data-dir", str(fresh_cloud.data_dir))
    up = onestack(*args)
    assert up.returncode == 0, up.stderr
    assert "ok" in up.stdout and "identity" in up.stdout
    fresh_cloud.stop()
    down = onestack(*args)
    assert down.returncode == 1
    assert "not answering" in down.stdout


def test_key_rotation(fresh_cloud: RunningCloud) -> None:
    # No validation cache, so each request sees the key repository as it is on disk.
    fresh_cloud.env["ONESTACK_IDENTITY__CACHE_TTL"] = "0"
    fresh_cloud.start()
    keys = fresh_cloud.data_dir / "fernet-keys"
    before = issue(fresh_cloud)

    def rotate() -> None:
        result = onestack("admin", "rotate-keys", "--data-dir", str(fresh_cloud.data_dir), env=fresh_cloud.env)
        assert result.returncode == 0, result.stderr

    rotate()  # the running server picks the new primary up
    after = issue(fresh_cloud)
    assert validates(fresh_cloud, before) and validates(fresh_cloud, after)
    Fernet((keys / "2").read_bytes()).decrypt(after.encode())  # sealed with the promoted key
    assert sorted(os.listdir(keys)) == ["0", "1", "2"]

    rotate()  # max_active_keys=3: the key that sealed `before` is gone now
    assert not validates(fresh_cloud, before)
    assert validates(fresh_cloud, after)
    rotate()
    assert not validates(fresh_cloud, after)
    newest = issue(fresh_cloud)
    assert validates(fresh_cloud, newest)

    fresh_cloud.stop()  # and the rotated repository survives a restart
    fresh_cloud.start()
    assert validates(fresh_cloud, newest)
    assert not validates(fresh_cloud, before)


def test_reset_wipes_the_data_dir(fresh_cloud: RunningCloud) -> None:
    fresh_cloud.start()
    token = issue(fresh_cloud)
    project = create_project(fresh_cloud, token)
    old_password = fresh_cloud.password("admin")
    fresh_cloud.stop()
    fresh_cloud.extra_args = ["--reset"]
    fresh_cloud.start()
    assert fresh_cloud.password("admin") != old_password  # a new bootstrap
    assert not validates(fresh_cloud, token)  # new keys
    new_token = issue(fresh_cloud)
    gone = httpx.get(f"{fresh_cloud.identity_url}/v3/projects/{project['id']}",
                     headers={"X-Auth-Token": new_token}, timeout=30)
    assert gone.status_code == 404
