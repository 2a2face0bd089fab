"""A real ``onestack up`` in a subprocess, on a free port, with a temporary data dir."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


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

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def identity_url(self) -> str:
        return f"{self.base_url}/identity"

    @property
    def clouds_yaml(self) -> Path:
        return self.data_dir / "clouds.yaml"

    def start(self, timeout: float = 60.0) -> None:
        self.log_path = self.data_dir.parent / f"onestack-{self.port}.log"
        cmd = [sys.executable, "-m", "onestack", "up", "--data-dir", str(self.data_dir), "--port", str(self.port),
               *self.extra_args]
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)

        def healthy() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"onestack exited with {self.proc.returncode}; see {self.log_path}")
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as resp:
                return bool(resp.status == 200)

        wait_until(healthy, timeout=timeout, what="onestack /healthz")

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


def make_cloud(tmp: Path, extra_env: dict[str, str] | None = None, extra_args: list[str] | None = None) -> RunningCloud:
    data_dir = tmp / "data"
    env = dict(os.environ)
    env.update({
        # Tests issue many tokens; cost 4 is bcrypt's floor and Keystone's minimum.
        "ONESTACK_IDENTITY__PASSWORD_HASH_ROUNDS": "4",
        "ONESTACK_LOG__LEVEL": "INFO",
    })
    env.update(extra_env or {})
    return RunningCloud(data_dir=data_dir, port=free_port(), env=env, extra_args=extra_args or [])
