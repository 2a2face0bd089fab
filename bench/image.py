"""Image data-path benchmark: 1 GiB upload/download throughput, small images per second, peak RSS.

    python bench/image.py                 # starts its own onestack in a temp dir
    python bench/image.py --size-mib 256 --small 200

The same run measures this machine's raw disk read speed (dd with O_DIRECT over a file as
large as the image, in the same file system as the image store) so download throughput can
be compared with what the disk gives. Results go to docs/performance.md (image section).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.functional.cloud import RunningCloud, make_cloud

MIB = 1024 * 1024


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def stream(total: int, chunk: int = 4 * MIB) -> Any:
    block = os.urandom(chunk)
    sent = 0
    while sent < total:
        piece = block[: min(chunk, total - sent)]
        sent += len(piece)
        yield piece


def raw_disk_read_mbps(directory: Path, size: int) -> float:
    """MB/s of dd reading a ``size``-byte file with O_DIRECT (bypassing the page cache)."""
    path = directory / f"dd-probe-{uuid.uuid4().hex}"
    try:
        subprocess.run(["dd", "if=/dev/urandom", f"of={path}", "bs=4M", f"count={size // (4 * MIB)}",
                        "oflag=direct", "status=none"], check=True)
        out = subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=4M", "iflag=direct"],
                             check=True, capture_output=True, text=True).stderr
    finally:
        path.unlink(missing_ok=True)
    match = re.search(r"(\d+) bytes .* copied, ([\d.]+) s", out)
    assert match, out
    return int(match.group(1)) / float(match.group(2)) / 1e6


def drop_page_cache() -> bool:
    """Make the next read come from the disk (root only); False when not allowed."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


class Client:
    def __init__(self, cloud: RunningCloud) -> None:
        token = cloud.sdk("devstack").session.get_token()
        self.http = httpx.Client(base_url=f"{cloud.base_url}/image", headers={"X-Auth-Token": token}, timeout=600)

    def create(self) -> str:
        resp = self.http.post("/v2/images", json={"name": f"bench-{uuid.uuid4().hex[:8]}",
                                                   "disk_format": "raw", "container_format": "bare"})
        resp.raise_for_status()
        return str(resp.json()["id"])

    def upload(self, image_id: str, data: Any) -> None:
        resp = self.http.put(f"/v2/images/{image_id}/file", content=data,
                             headers={"Content-Type": "application/octet-stream"})
        assert resp.status_code == 204, resp.text

    def curl(self, *args: str) -> float:
        """Run curl (a C client, so the client is not the bottleneck); returns seconds taken."""
        token = self.http.headers["X-Auth-Token"]
        started = time.perf_counter()
        out = subprocess.run(["curl", "-s", "-f", "-o", "/dev/null", "-w", "%{http_code}",
                              "-H", f"X-Auth-Token: {token}", *args], check=True, capture_output=True, text=True)
        assert out.stdout in ("200", "204"), out.stdout
        return time.perf_counter() - started


def small_images(client: Client, count: int, workers: int) -> float:
    payload = os.urandom(4096)

    def one(_: int) -> None:
        client.upload(client.create(), payload)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(count)))
    return count / (time.perf_counter() - started)


def run(args: argparse.Namespace) -> list[tuple[str, str]]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-image-"))
    cloud = make_cloud(tmp, extra_env={"ONESTACK_LOG__REQUESTS": "false"})
    cloud.start()
    rows: list[tuple[str, str]] = []
    try:
        assert cloud.proc is not None
        pid, size = cloud.proc.pid, args.size_mib * MIB
        client = Client(cloud)
        rss_idle = status_kib(pid, "VmRSS")
        source = tmp / "source.img"
        with source.open("wb") as fh:
            for piece in stream(size):
                fh.write(piece)
        image_id = client.create()
        url = f"{cloud.base_url}/image/v2/images/{image_id}/file"
        up = size / client.curl("-X", "PUT", "-H", "Content-Type: application/octet-stream", "-T", str(source),
                                url) / 1e6
        rss_after_up = status_kib(pid, "VmHWM")
        down = size / client.curl(url) / 1e6
        # The download above is served from the page cache the upload just filled; this one
        # reads the disk, which is what the 70 %-of-raw-disk target is about.
        cold = size / client.curl(url) / 1e6 if drop_page_cache() else None
        source.unlink()
        disk = raw_disk_read_mbps(cloud.data_dir, size)
        per_sec = small_images(client, args.small, args.workers)
        rows += [
            (f"upload {args.size_mib} MiB (MB/s)", f"{up:.0f}"),
            (f"download {args.size_mib} MiB, page cache warm (MB/s)", f"{down:.0f}"),
            (f"download {args.size_mib} MiB, page cache dropped (MB/s)", "n/a (needs root)" if cold is None
             else f"{cold:.0f}"),
            ("raw disk read, dd iflag=direct (MB/s)", f"{disk:.0f}"),
            ("cold download / raw disk read", "n/a" if cold is None else f"{cold / disk * 100:.0f} %"),
            (f"small images (4 KiB create+upload, {args.workers} clients) per s", f"{per_sec:.0f}"),
            ("server RSS idle (MiB)", f"{rss_idle / 1024:.0f}"),
            ("server peak RSS after the big upload, VmHWM (MiB)", f"{rss_after_up / 1024:.0f}"),
            ("server peak RSS at the end, VmHWM (MiB)", f"{status_kib(pid, 'VmHWM') / 1024:.0f}"),
        ]
    finally:
        cloud.stop()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--small", type=int, default=300, help="number of small images")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    rows = run(args)
    width = max(len(name) for name, _ in rows)
    print(f"{'measure'.ljust(width)} | value")
    print(f"{'-' * width}-|------")
    for name, value in rows:
        print(f"{name.ljust(width)} | {value}")
    print(f"\nmachine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
