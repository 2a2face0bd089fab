"""What running a reference implementation (Keystone, Neutron, Swift) for a benchmark takes,
whichever it is: a free port, commands that must succeed, its own virtualenv from PyPI (cached
behind a marker file), memcached, waiting for its HTTP to answer, and stopping what was started."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

INSTALL_TIMEOUT = 1800  # uWSGI compiles from source: minutes on two cores


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def note(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], *, ok: tuple[int, ...] = (0,), **kwargs: object) -> str:
    """The command's output; its end in the error when it exits with a code not in ``ok``."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if proc.returncode not in ok:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}")
    return str(proc.stdout)


def ensure_venv(venv: Path, package: str, *, series: str | None = None, extras: tuple[str, ...] = ()) -> str:
    """``package`` (its ``series``.x if given and on the index, else the newest release) and
    ``extras`` in ``venv``; returns the version installed. A marker file skips later installs."""
    marker = venv / ".onestack-bench-installed"
    if marker.exists():
        return marker.read_text().strip()
    note(f"installing {package} {' '.join(extras)} into {venv} (once; uWSGI compiles for minutes)"
         if "uwsgi" in extras else f"installing {package} into {venv} (once)")
    if not (venv / "bin" / "python").exists():
        run([sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    try:
        run([*pip, f"{package}=={series}.*" if series else package, *extras], timeout=INSTALL_TIMEOUT)
    except RuntimeError as exc:
        if not series or f"satisfies the requirement {package}" not in str(exc):
            raise  # some other failure (e.g. uWSGI did not compile): say so, do not paper over it
        note(f"no {package} {series}.x on the index; installing the newest release instead")
        run([*pip, package, *extras], timeout=INSTALL_TIMEOUT)
    version = run([str(venv / "bin" / "python"), "-c",
                   f"import importlib.metadata as m; print(m.version({package!r}))"]).strip()
    marker.write_text(version + "\n")
    return version


def ensure_memcached() -> str:
    """The memcached binary; installs Debian's package when missing and we are root."""
    found = shutil.which("memcached")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError("memcached is not installed; install it (apt-get install memcached) and retry")
    note("installing memcached with apt-get")
    run(["apt-get", "update", "-qq"], timeout=600)
    run(["apt-get", "install", "-y", "-qq", "memcached"], timeout=600,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    found = shutil.which("memcached")
    if not found:
        raise RuntimeError("memcached still missing after apt-get install")
    return found


def start_memcached(binary: str, port: int) -> subprocess.Popen[bytes]:
    cmd = [binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "64"]
    if os.geteuid() == 0:
        cmd += ["-u", "nobody"]  # memcached refuses to run as root
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, *, what: str, deadline_s: float,
              interval: float = 0.2, request_timeout: float = 2.0, app_log: Path | None = None,
              fatal: str | None = None) -> None:
    """Until ``url`` answers below 500; raises with the end of the log when ``proc`` exits (or
    ``fatal`` shows in ``app_log``) or the deadline passes."""
    shown = app_log or log
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None or (fatal is not None and shown.exists() and fatal in shown.read_text()):
            text = shown.read_text()[-3000:] if shown.exists() else ""
            why = f"exit status {proc.returncode}" if proc.returncode is not None else f"{fatal!r} in its log"
            if proc.returncode is None:
                proc.terminate()
            raise RuntimeError(f"{what} did not start ({why}); see {log}"
                               f"{f' and {app_log}' if app_log else ''}:\n{text}")
        try:
            with urllib.request.urlopen(url, timeout=request_timeout) as resp:
                if resp.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        time.sleep(interval)  # polling a starting server; there is no event to wait on
    raise RuntimeError(f"{what} did not answer at {url} within {deadline_s:.0f}s; see {log}")


def stop_all(procs: list[subprocess.Popen[bytes]], timeout: float) -> None:
    """Terminate, newest first; kill what has not ended within ``timeout``."""
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
