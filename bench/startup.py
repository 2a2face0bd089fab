"""Readiness: seconds from process start until ``/healthz`` answers 200, and clean-stop time.

    python bench/startup.py [--runs 3]

Measures a first start (empty data dir: migrations, keys, bootstrap with bcrypt cost 12,
built-in images) and restarts on the same data dir; prints a table.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_start(data_dir: Path, port: int) -> tuple[float, float]:
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "onestack", "up", "--data-dir", str(data_dir), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = started + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"onestack exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError("not ready within 60 s")
        time.sleep(0.01)
    ready = time.monotonic() - started
    stopping = time.monotonic()
    proc.terminate()
    code = proc.wait(timeout=30)
    if code != 0:
        raise RuntimeError(f"stop exited with {code}")
    return ready, time.monotonic() - stopping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="restarts to measure (and first starts)")
    args = parser.parse_args()
    first: list[tuple[float, float]] = []
    again: list[tuple[float, float]] = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            port = free_port()
            first.append(one_start(data, port))
            again.append(one_start(data, port))
    print(f"{'start':28} {'ready s (median)':>18} {'ready s (max)':>14} {'stop s (median)':>16}")
    for name, rows in (("first start (empty data dir)", first), ("restart (existing data)", again)):
        ready = [r for r, _ in rows]
        stop = [s for _, s in rows]
        print(f"{name:28} {statistics.median(ready):18.2f} {max(ready):14.2f} {statistics.median(stop):16.2f}")


if __name__ == "__main__":
    main()
