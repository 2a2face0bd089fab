"""The `onestack` command around a running cloud: `status` and `env` find it from its data dir,
and a second `up` (or `serve`, or `agent`) that would share its data dir or port refuses before
it touches anything."""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.functional.cloud import REPO, RunningCloud, free_port, make_cloud, wait_until
from tests.functional.test_cli import onestack


def exports(stdout: str) -> dict[str, str]:
    """The ``export NAME=value`` lines of ``onestack env``, as a shell would read them."""
    found: dict[str, str] = {}
    for line in stdout.splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            found[name] = shlex.split(value)[0]
    return found


def refused_in_one_line(result: subprocess.CompletedProcess[str], phrase: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == "", result.stdout  # no "ready", no passwords: nothing was started
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and phrase in lines[0], result.stderr


def db_args(cloud: RunningCloud) -> list[str]:
    return ["--db-url", cloud.external_db_url] if cloud.external_db_url else []


def test_status_and_env_find_the_cloud_from_its_data_dir(tmp_path: Path) -> None:
    cloud = make_cloud(tmp_path)  # a free port, not 5000, and a data dir of its own
    data = str(cloud.data_dir)
    try:
        cloud.start()
        assert cloud.proc is not None
        status = onestack("status", "--data-dir", data)  # no --port: the run record says where
        assert status.returncode == 0, status.stdout + status.stderr
        assert f"onestack at {cloud.base_url} (pid {cloud.proc.pid}): ok" in status.stdout
        assert oct((cloud.data_dir / "run.json").stat().st_mode & 0o777) == "0o600"

        env = onestack("env", "--data-dir", data)
        assert env.returncode == 0, env.stderr
        assert exports(env.stdout) == {"OS_CLIENT_CONFIG_FILE": str(cloud.clouds_yaml), "OS_CLOUD": "devstack"}
        admin_env = exports(onestack("env", "devstack-admin", "--data-dir", data).stdout)
        assert admin_env["OS_CLOUD"] == "devstack-admin"
        # The exports alone drive the CLI: no --os-cloud, no --os-auth-url.
        shell_env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")} | admin_env
        project = subprocess.run(["openstack", "project", "show", "admin", "-f", "json"], env=shell_env,
                                 capture_output=True, text=True, timeout=120, check=False)
        assert project.returncode == 0, project.stderr
        assert json.loads(project.stdout)["name"] == "admin"
        unknown = onestack("env", "no-such-cloud", "--data-dir", data)
        assert unknown.returncode == 2 and "devstack-admin" in unknown.stderr

        # Killed: the record stays but its pid is gone and nobody holds the lock: stale.
        killed_pid = cloud.proc.pid
        cloud.stop(signal.SIGKILL)
        stale = onestack("status", "--data-dir", data)
        assert stale.returncode == 1
        assert f"stale record: pid {killed_pid} is gone" in stale.stdout
        assert onestack("env", "--data-dir", data).returncode == 1

        # The kernel dropped the killed one's lock: the same data dir starts again and is found.
        cloud.start()
        assert cloud.proc is not None
        again = onestack("status", "--data-dir", data)
        assert again.returncode == 0 and f"(pid {cloud.proc.pid})" in again.stdout, again.stdout

        assert cloud.stop() == 0  # a clean stop removes the record
        assert not (cloud.data_dir / "run.json").exists()
        gone = onestack("env", "--data-dir", data)
        assert gone.returncode == 1 and "no onestack has recorded a run" in gone.stderr
    finally:
        cloud.close()


def test_second_up_on_the_same_data_dir_refuses_and_changes_nothing(tmp_path: Path) -> None:
    cloud = make_cloud(tmp_path)
    data = str(cloud.data_dir)
    try:
        cloud.start()
        assert cloud.proc is not None
        cloud.cli("project", "create", "kept-project")
        # Even with --reset (which would wipe the data dir and the database) and another port.
        for port in (free_port(), cloud.port):
            second = onestack("up", "--data-dir", data, "--port", str(port), "--reset", *db_args(cloud))
            refused_in_one_line(second, f"data dir {data} is in use by another onestack "
                                        f"(pid {cloud.proc.pid}, serving {cloud.base_url})")
        # The first keeps serving with its data and keys (tokens still validate), and is still the
        # one the run record names.
        assert cloud.cli("project", "show", "kept-project")["name"] == "kept-project"
        assert cloud.cli("token", "issue")["id"]
        status = onestack("status", "--data-dir", data)
        assert status.returncode == 0 and f"(pid {cloud.proc.pid})" in status.stdout, status.stdout
    finally:
        cloud.close()


def test_up_and_serve_on_a_busy_port_refuse_before_making_their_data_dir(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        for args in (["up"], ["up", "--reset"], ["serve", "identity", "image"]):
            data = tmp_path / f"data-{'-'.join(args)}"
            result = onestack(*args, "--data-dir", str(data), "--port", port)
            refused_in_one_line(result, f"cannot listen on 127.0.0.1:{port}")
            assert not data.exists(), f"{args} created {sorted(os.listdir(data))}"


def test_agent_refuses_a_host_whose_agent_runs_on_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "agent-data"
    data.mkdir(mode=0o700)
    # Another process holds that host's agent lock (as a running agent does for its lifetime).
    fd = os.open(data / "agent-node-1.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = onestack("agent", "compute", "--host", "node-1", "--data-dir", str(data),
                          "--transport-url", "rabbit://guest:guest@127.0.0.1:5672/", "--api-url", "http://127.0.0.1:9")
        refused_in_one_line(result, f"data dir {data} is in use by another onestack")
    finally:
        os.close(fd)


def readme_walkthrough() -> str:
    """The README's quick-start block that starts with ``eval "$(onestack env)"``, verbatim."""
    text = (REPO / "README.md").read_text()
    start = text.index('```sh\neval "$(onestack env)"')
    return text[start + len("```sh\n"):text.index("```", start + 5)]


def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    """What a newcomer types in the second shell: `onestack env`, then the CLI with no flags of
    ours, an image made from the built-in one, and a server booted from it."""
    cloud = make_cloud(tmp_path)
    work = tmp_path / "shell"
    work.mkdir()
    try:
        cloud.start()
        env = {k: v for k, v in cloud.env.items() if not k.startswith("OS_")}
        env.update({"ONESTACK_SERVER__DATA_DIR": str(cloud.data_dir),  # what `up` used, as its default would be
                    "PYTHONPATH": str(REPO),  # the `onestack` script runs this tree's code
                    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"})
        script = "set -eux\n" + readme_walkthrough()
        run = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True,
                             timeout=300, check=False)
        assert run.returncode == 0, run.stderr[-3000:]
        assert (work / "disk.qcow2").read_bytes()[:4] == b"QFI\xfb"
        assert (work / "copy.qcow2").read_bytes() == (work / "disk.qcow2").read_bytes()  # via the object store
        assert [o["Name"] for o in cloud.cli("object", "list", "c1", cloud="devstack")] == ["disk.qcow2"]
        def servers() -> list[tuple[str, str, str]]:
            found = cloud.cli("server", "list", "--all-projects", "--long")
            return [(s["Name"], s["Status"], s["Image Name"]) for s in found]

        # `server stop` returns on acceptance; the stop itself follows.
        wait_until(lambda: servers() == [("vm1", "SHUTOFF", "my-image")], timeout=60, what="vm1 SHUTOFF")
        assert cloud.cli("user", "show", "u1")["name"] == "u1"
    finally:
        cloud.close()
