"""One Tempest pass: a workspace, its tempest.conf, ``tempest run``, and the parsed results."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from conformance_lib import tempest_conf
from conformance_lib.cloud import Target
from conformance_lib.results import PassResult, TestResult, from_dump
from conformance_lib.venv import venv_python

DUMP_SCRIPT = Path(__file__).resolve().parent / "subunit_dump.py"


@dataclass
class PassSpec:
    name: str
    regex: str
    security: tempest_conf.SecurityCompliance | None
    # (regex, reason): tests Tempest cannot be told to skip; reported as skipped with the reason.
    excludes: list[tuple[str, str]] = field(default_factory=list)
    use_system_token: bool = False
    services: tuple[str, ...] = ("identity",)  # service areas this pass covers


def _env(venv: Path, workspace: Path, test_timeout: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "TEMPEST_", "PYTHON"))}
    env.update({
        "PATH": f"{venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
        "VIRTUAL_ENV": str(venv),
        # stestr starts its workers with $PYTHON; it must be the venv's.
        "PYTHON": str(venv_python(venv)),
        "TEMPEST_CONFIG_DIR": str(workspace / "etc"),
        "TEMPEST_CONFIG": "tempest.conf",
        # Per-test wall clock; the lockout test alone sleeps lockout_duration + 1 seconds.
        "OS_TEST_TIMEOUT": str(test_timeout),
    })
    return env


def _tempest(venv: Path, *args: str) -> list[str]:
    return [str(venv_python(venv)), "-m", "tempest.cmd.main", *args]


def _stream(cmd: list[str], cwd: Path, env: dict[str, str], log: Path, timeout: float, verbose: bool) -> int:
    """Run ``cmd``, copy its output to ``log``; echo failures (or everything when verbose)."""
    deadline = time.monotonic() + timeout
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if verbose or "... FAILED" in line or line.startswith(("Totals", " - ", "Sum of", "======")):
                print(line, end="", flush=True)
            if time.monotonic() > deadline:
                print(f"conformance: tempest run exceeded {timeout:.0f}s; stopping it", flush=True)
                os.killpg(proc.pid, signal.SIGTERM)
                break
        try:
            return proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            return proc.wait()


def prepare_workspace(venv: Path, workspace: Path, target: Target, spec: PassSpec, catalog: set[str],
                      image: tempest_conf.ImageFacts, compute: tempest_conf.ComputeFacts | None = None,
                      network: tempest_conf.NetworkFacts | None = None,
                      volume: tempest_conf.VolumeFacts | None = None,
                      object_store: tempest_conf.ObjectStoreFacts | None = None) -> None:
    subprocess.run(_tempest(venv, "init", "--workspace-path", str(workspace.parent / "workspace.yaml"),
                            str(workspace)),
                   check=True, capture_output=True, timeout=300)
    inputs = tempest_conf.ConfInputs(
        identity_url=target.identity_url, admin_password=target.admin_password, workspace=workspace,
        available_services=catalog, security_compliance=spec.security,
        use_system_token=spec.use_system_token, image=image, compute=compute or tempest_conf.ComputeFacts(),
        network=network or tempest_conf.NetworkFacts(), volume=volume or tempest_conf.VolumeFacts(),
        object_store=object_store or tempest_conf.ObjectStoreFacts(),
    )
    (workspace / "etc" / "tempest.conf").write_text(tempest_conf.render(inputs))


def collect(venv: Path, workspace: Path, env: dict[str, str]) -> PassResult:
    """Parse the last stestr run of ``workspace`` (empty when nothing ran)."""
    subunit = workspace / "results.subunit"
    with open(subunit, "wb") as out:
        last = subprocess.run([str(venv_python(venv)), "-m", "stestr", "last", "--subunit"], check=False, cwd=workspace,
                              env=env, stdout=out, stderr=subprocess.DEVNULL, timeout=300)
    result = PassResult(name="", regex="", workspace=str(workspace))
    if last.returncode not in (0, 1) or subunit.stat().st_size == 0:
        return result
    dumped = subprocess.run([str(venv_python(venv)), str(DUMP_SCRIPT), str(subunit)], env=env,
                            capture_output=True, text=True, timeout=300, check=True)
    (workspace / "results.json").write_text(dumped.stdout)
    result.tests = from_dump(json.loads(dumped.stdout))
    return result


def excluded_tests(venv: Path, workspace: Path, env: dict[str, str], spec: PassSpec) -> list[TestResult]:
    """The pass's tests that the exclude list kept out, as skips carrying the list's reason."""
    listed = subprocess.run([str(venv_python(venv)), "-m", "stestr", "list", spec.regex], check=False,
                            cwd=workspace, env=env, capture_output=True, text=True, timeout=300)
    skipped = []
    for test_id in (t for t in listed.stdout.split() if t.startswith("tempest.")):
        reason = next((why for regex, why in spec.excludes if re.search(regex, test_id)), None)
        if reason is not None:
            skipped.append(TestResult(id=test_id, status="skip", reason=f"Excluded by onestack: {reason}"))
    return skipped


def run_pass(venv: Path, target: Target, spec: PassSpec, workspace: Path, catalog: set[str],
             image: tempest_conf.ImageFacts, concurrency: int, timeout: float, test_timeout: int,
             verbose: bool, compute: tempest_conf.ComputeFacts | None = None,
             network: tempest_conf.NetworkFacts | None = None,
             volume: tempest_conf.VolumeFacts | None = None,
             object_store: tempest_conf.ObjectStoreFacts | None = None) -> PassResult:
    started = time.monotonic()
    prepare_workspace(venv, workspace, target, spec, catalog, image, compute, network, volume, object_store)
    env = _env(venv, workspace, test_timeout)
    cmd = _tempest(venv, "run", "--regex", spec.regex, "--concurrency", str(concurrency))
    if spec.excludes:
        exclude_list = workspace / "exclude-list.txt"
        exclude_list.write_text("".join(f"{regex}\n" for regex, _ in spec.excludes))
        cmd += ["--exclude-list", str(exclude_list)]
    print(f"conformance: [{spec.name}] {' '.join(cmd[2:])} (workspace {workspace})", flush=True)
    code = _stream(cmd, workspace, env, workspace / "tempest-run.log", timeout, verbose)
    result = collect(venv, workspace, env)
    result.name, result.regex, result.services = spec.name, spec.regex, list(spec.services)
    if spec.excludes:
        result.tests += excluded_tests(venv, workspace, env, spec)
    result.seconds, result.tempest_exit = time.monotonic() - started, code
    return result
