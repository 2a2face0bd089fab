"""Object-storage benchmark: PUT and GET of small and large objects, onestack beside real Swift.

    python bench/object_store.py                     # onestack only (starts its own, temp data dir)
    python bench/object_store.py --against-swift     # the same load against Swift from PyPI, same run
    python bench/object_store.py --replicas 1 --clients 1 --sizes-mib 16 --quick

Rows, for each replica count (``--replicas``, default 1 and 3) and client count (``--clients``,
default 1 and 8):
- ``PUT 4 KiB`` / ``GET 4 KiB``: objects per second, each client writing (then reading back)
  its own objects for ``--duration`` seconds (at most ``--max-small`` objects per row);
- ``PUT/GET 16 MiB`` and ``256 MiB`` (``--sizes-mib``): MB/s over the row's wall time, each
  client moving ``--big-count`` objects (at least one) of that size.
Each row is measured through the Swift API and, beside it, the S3 API (presigned SigV4 URLs, so
both paths use the same HTTP client and signing costs nothing per request); an S3 column says
``not run`` while the cloud serves no S3. The same run measures the disk's own sequential
write (dd, O_DIRECT + fsync) and read (dd, O_DIRECT) rate on the file system of the data dirs.

The load generator is one asyncio loop speaking raw HTTP/1.1 over one keep-alive connection per
client, streaming bodies in 1 MiB pieces from one random buffer: identical for both servers.
``--against-swift``: see bench/_swift.py (all-in-one Swift, tempauth + memcached, one worker
per server; onestack is one process). Results: docs/performance.md (object storage section).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import _swift

from tests.functional.cloud import make_cloud

KIB, MIB = 1024, 1024 * 1024
PIECE = MIB
BUFFER = os.urandom(4 * MIB)
ENV = {"ONESTACK_LOG__REQUESTS": "false", "ONESTACK_LOG__LEVEL": "WARNING"}


def _log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# --- the HTTP client ------------------------------------------------------------------------------

class Conn:
    """One keep-alive HTTP/1.1 connection that streams bodies both ways without holding them."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, target: str, headers: dict[str, str], size: int = 0) -> tuple[int, int]:
        """Send ``size`` body bytes, read the answer; returns (status, body bytes read)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=4 * MIB)
        assert self.reader is not None and self.writer is not None
        head = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        if method in ("PUT", "POST"):
            head.append(f"Content-Length: {size}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        sent = 0
        while sent < size:
            piece = min(PIECE, size - sent)
            start = sent % len(BUFFER) if sent % len(BUFFER) + piece <= len(BUFFER) else 0
            self.writer.write(BUFFER[start:start + piece])
            sent += piece
            await self.writer.drain()
        await self.writer.drain()
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw[:-4].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(fields.get("content-length", "0")) if method != "HEAD" and status not in (204, 304) else 0
        got = 0
        while got < length:
            chunk = await self.reader.read(min(PIECE, length - got))
            if not chunk:
                raise ConnectionError("connection closed mid-body")
            got += len(chunk)
        if fields.get("connection", "").lower() == "close":
            self.writer.close()
            self.reader = self.writer = None
        return status, got

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass
class Target:
    """One API of one system: how to address an object and which headers authorise a request."""

    name: str
    base: str  # scheme://host:port
    # (method, container, object) -> request target (path + query) and headers
    address: Callable[[str, str, str], tuple[str, dict[str, str]]]


def swift_target(name: str, storage_url: str, token: str) -> Target:
    parts = urlsplit(storage_url)

    def address(method: str, container: str, obj: str) -> tuple[str, dict[str, str]]:
        return f"{parts.path}/{container}/{obj}", {"X-Auth-Token": token}

    return Target(name, f"{parts.scheme}://{parts.netloc}", address)


def s3_target(name: str, endpoint: str, access: str, secret: str, region: str = "RegionOne") -> Target:
    """Presigned (query-string SigV4) URLs: signing happens here, the request is plain HTTP."""
    import botocore.session
    from botocore.config import Config

    client = botocore.session.get_session().create_client(
        "s3", endpoint_url=endpoint, aws_access_key_id=access, aws_secret_access_key=secret, region_name=region,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    parts = urlsplit(endpoint)

    def address(method: str, container: str, obj: str) -> tuple[str, dict[str, str]]:
        op = {"PUT": "put_object", "GET": "get_object", "DELETE": "delete_object"}[method]
        url = client.generate_presigned_url(op, Params={"Bucket": container, "Key": obj}, ExpiresIn=3600)
        split = urlsplit(url)
        return f"{split.path}?{split.query}", {}

    return Target(name, f"{parts.scheme}://{parts.netloc}", address)


# --- the rows -------------------------------------------------------------------------------------

@dataclass
class Measured:
    done: int = 0
    bytes: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    per_client: dict[int, int] = field(default_factory=dict)  # requests each client completed


async def _run(target: Target, clients: int, work: Callable[[Conn, int], Awaitable[tuple[int, int]]],
               until: Callable[[int, int, float], bool]) -> Measured:
    """``clients`` connections each calling ``work(conn, n)`` for n = 0, 1, … while
    ``until(client, n, seconds)`` allows."""
    parts = urlsplit(target.base)
    result = Measured()
    started = time.perf_counter()

    async def client(index: int) -> None:
        conn = Conn(parts.hostname or "127.0.0.1", parts.port or 80)
        n = 0
        try:
            while until(index, n, time.perf_counter() - started) and not result.errors:
                try:
                    status, size = await work(conn, index * 1_000_000 + n)
                except (OSError, asyncio.IncompleteReadError) as exc:  # ConnectionError is an OSError
                    result.errors.append(f"{type(exc).__name__}: {exc}"[:80])
                    return
                if status >= 300:
                    result.errors.append(f"HTTP {status}")
                    return
                result.done += 1
                result.bytes += size
                n += 1
                result.per_client[index] = n
        finally:
            conn.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    result.seconds = time.perf_counter() - started
    return result


def put_get(target: Target, container: str, size: int, clients: int, *, duration: float, max_count: int,
            per_client: int | None) -> tuple[Measured, Measured]:
    """PUT then GET of ``size``-byte objects: a fixed count per client, or as many as ``duration`` allows."""
    tag = uuid.uuid4().hex[:8]

    async def put(conn: Conn, n: int) -> tuple[int, int]:
        path, headers = target.address("PUT", container, f"{tag}-{n}")
        status, _ = await conn.request("PUT", path, headers, size)
        return status, size

    async def get(conn: Conn, n: int) -> tuple[int, int]:
        path, headers = target.address("GET", container, f"{tag}-{n}")
        return await conn.request("GET", path, headers)

    if per_client is not None:
        count = per_client
        wrote = asyncio.run(_run(target, clients, put, lambda _c, n, _t: n < count))
    else:
        limit = max(1, max_count // clients)
        wrote = asyncio.run(_run(target, clients, put, lambda _c, n, t: n < limit and t < duration))
    # Read back what each client wrote: its own objects, as many as it wrote.
    read = asyncio.run(_run(target, clients, get, lambda c, n, _t: n < wrote.per_client.get(c, 0)))
    if read.bytes != read.done * size and not read.errors:
        read.errors.append(f"GET returned {read.bytes} bytes for {read.done} objects of {size}")
    return wrote, read


def disk_rates(directory: Path, size: int = 1024 * MIB) -> tuple[float, float]:
    """MB/s of dd writing (O_DIRECT, fsync) and then reading (O_DIRECT) a ``size``-byte file."""
    path = directory / f"dd-probe-{uuid.uuid4().hex}"

    def rate(stderr: str) -> float:
        match = re.search(r"(\d+) bytes.*copied, ([\d.]+) s", stderr)
        return int(match.group(1)) / float(match.group(2)) / 1e6 if match else float("nan")

    try:
        w = subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=4M", f"count={size // (4 * MIB)}",
                            "oflag=direct", "conv=fsync"], check=True, capture_output=True, text=True).stderr
        r = subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=4M", "iflag=direct"],
                           check=True, capture_output=True, text=True).stderr
    finally:
        path.unlink(missing_ok=True)
    return rate(w), rate(r)


# --- the systems ----------------------------------------------------------------------------------

def _onestack_targets(cloud: object) -> tuple[list[Target], str]:
    """The Swift target (admin's account) and, when the cloud serves S3, the S3 one; and a note."""
    cfg = cloud.cloud_config("devstack-admin")["auth"]  # type: ignore[attr-defined]
    base = cloud.base_url  # type: ignore[attr-defined]
    with httpx.Client(base_url=base, timeout=60) as http:
        resp = http.post("/identity/v3/auth/tokens", json={"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": cfg["username"], "domain": {"id": "default"}, "password": cfg["password"]}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
        resp.raise_for_status()
        token = resp.headers["x-subject-token"]
        doc = resp.json()["token"]
        url = next(e["url"] for s in doc["catalog"] if s["type"] == "object-store"
                   for e in s["endpoints"] if e["interface"] == "public")
        targets = [swift_target("onestack", url, token)]
        s3 = url.split("/v1/")[0] + "/s3"
        probe = http.get(s3 + "/", headers={"X-Auth-Token": token})
        if probe.status_code in (404, 405, 501):
            return targets, f"onestack serves no S3 at {s3} ({probe.status_code})"
        made = http.post(f"/identity/v3/users/{doc['user']['id']}/credentials/OS-EC2",
                         json={"tenant_id": doc["project"]["id"]}, headers={"X-Auth-Token": token})
        if made.status_code != 201:
            return targets, f"no EC2 credential ({made.status_code})"
        cred = made.json()["credential"]
        targets.append(s3_target("onestack s3", s3, cred["access"], cred["secret"]))
    return targets, ""


def _ensure_container(target: Target, container: str) -> None:
    """PUT the container through the Swift API (an S3 target shares its account: the bucket)."""
    path, headers = target.address("PUT", container, "x")

    async def make(conn: Conn, _n: int) -> tuple[int, int]:
        status, _ = await conn.request("PUT", path.rsplit("/", 1)[0], headers, 0)
        return (201 if status == 202 else status), 0

    done = asyncio.run(_run(target, 1, make, lambda _c, n, _t: n < 1))
    if done.errors:
        raise RuntimeError(f"{target.name}: container PUT failed: {done.errors}")


@dataclass
class Row:
    op: str
    clients: int
    replicas: int
    cells: dict[str, str] = field(default_factory=dict)


def _cell(m: Measured, size: int) -> str:
    if m.errors:
        return f"FAILED ({m.errors[0]})"
    if not m.done:
        return "none done"
    if size <= 64 * KIB:
        return f"{m.done / m.seconds:.0f} obj/s"
    return f"{m.bytes / m.seconds / 1e6:.0f} MB/s"


def measure(targets: list[Target], column: dict[str, str], replicas: int, args: argparse.Namespace,
            rows: dict[tuple[str, int, int], Row]) -> None:
    container = f"bench-{uuid.uuid4().hex[:6]}"
    _ensure_container(targets[0], container)
    sizes = [(4 * KIB, "4 KiB")] + [(m * MIB, f"{m} MiB") for m in args.sizes_mib]
    for size, label in sizes:
        for clients in args.clients:
            for target in targets:
                _log(f"{target.name}, {replicas} replica(s): {label} x {clients} client(s)")
                small = size <= 64 * KIB
                per_client = None if small else max(1, args.big_count if clients == 1 else 1)
                wrote, read = put_get(target, container, size, clients, duration=args.duration,
                                      max_count=args.max_small, per_client=per_client)
                for op, m in (("PUT", wrote), ("GET", read)):
                    row = rows.setdefault((f"{op} {label}", clients, replicas),
                                          Row(f"{op} {label}", clients, replicas))
                    row.cells[column[target.name]] = _cell(m, size)


def render(rows: list[Row], columns: list[str], header: str, notes: list[str]) -> str:
    cols = ["row", "clients", "replicas", *columns]
    table = [cols] + [[r.op, str(r.clients), str(r.replicas), *(r.cells.get(c, "not run") for c in columns)]
                      for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(cols))]
    lines = [header, ""]
    for n, line in enumerate(table):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines + [""] + [f"- {n}" for n in notes])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--against-swift", action="store_true", help="also run the load against Swift from PyPI")
    p.add_argument("--replicas", type=int, nargs="+", default=[1, 3])
    p.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    p.add_argument("--sizes-mib", type=int, nargs="*", default=[16, 256], help="large object sizes")
    p.add_argument("--big-count", type=int, default=4, help="large objects per client at 1 client (1 each at more)")
    p.add_argument("--duration", type=float, default=6.0, help="seconds of each 4 KiB PUT row")
    p.add_argument("--max-small", type=int, default=3000, help="4 KiB objects per row at most")
    p.add_argument("--swift-workers", type=int, default=1, help="workers of each Swift server")
    p.add_argument("--quick", action="store_true", help="short rows, one large object per client")
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.big_count, args.max_small = 2.0, 1, 500
    cache = Path(os.environ.get("ONESTACK_CACHE") or REPO / ".onestack-cache")
    rows: dict[tuple[str, int, int], Row] = {}
    notes: list[str] = []
    columns = ["onestack swift", "onestack s3"] + (["Swift", "Swift s3api"] if args.against_swift else [])
    disk = (float("nan"), float("nan"))
    with tempfile.TemporaryDirectory(prefix="bench-object-", dir=os.environ.get("TMPDIR")) as tmp:
        work = Path(tmp)
        disk = disk_rates(work)
        for replicas in args.replicas:
            (work / f"onestack-{replicas}").mkdir()
            cloud = make_cloud(work / f"onestack-{replicas}", extra_env={
                **ENV, "ONESTACK_OBJECT_STORE__REPLICAS": str(replicas)})
            _log(f"starting onestack ({replicas} replica(s)) in {work}")
            cloud.start(timeout=120)
            try:
                targets, note = _onestack_targets(cloud)
                if note:
                    notes.append(f"onestack s3 not run: {note}")
                measure(targets, {"onestack": "onestack swift", "onestack s3": "onestack s3"}, replicas, args, rows)
            except (RuntimeError, ConnectionError, OSError, httpx.HTTPError) as exc:
                notes.append(f"onestack, {replicas} replica(s): FAILED: {exc}")
                _log(f"onestack failed: {exc}")
            finally:
                cloud.close()
            if not args.against_swift:
                continue
            _log(f"starting Swift ({replicas} replica(s))")
            swift = _swift.start(cache / "swift-venv", work / f"swift-{replicas}", replicas=replicas,
                                 workers=args.swift_workers)
            try:
                swift_targets = [swift_target("Swift", swift.storage_url, swift.token),
                                 s3_target("Swift s3api", swift.url, _swift.USER, _swift.KEY, "us-east-1")]
                measure(swift_targets, {"Swift": "Swift", "Swift s3api": "Swift s3api"}, replicas, args, rows)
                notes.append(f"Swift {swift.version}: {args.swift_workers} worker(s) per server, tempauth + memcached")
            except (RuntimeError, ConnectionError, OSError) as exc:
                notes.append(f"Swift, {replicas} replica(s): FAILED: {exc}")
                _log(f"Swift failed: {exc}")
            finally:
                swift.stop()
    notes.append(f"disk (same file system, dd 1 GiB): write {disk[0]:.0f} MB/s (O_DIRECT + fsync), "
                 f"read {disk[1]:.0f} MB/s (O_DIRECT)")
    header = (f"bench/object_store.py, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.2f} at the end")
    print(render(list(rows.values()), columns, header, sorted(set(notes), key=notes.index)))
    failed = any("FAILED" in c for r in rows.values() for c in r.cells.values()) or any("FAILED" in n for n in notes)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
