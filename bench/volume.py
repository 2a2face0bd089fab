"""Block-storage benchmark: volume create/delete, create from image, backup/restore, attach/detach.

    python bench/volume.py                    # the full run (starts its own onestack, SQLite, temp data dir)
    python bench/volume.py --pairs 20 --size-gib 1 --skip backup
    python bench/volume.py --db postgresql --skip image --skip backup --skip attach

Rows, against a real ``onestack up`` with the in-process volume agent (file driver) and the
fake hypervisor:
- ``create blank`` / ``delete blank`` (issue 14's figures): ``--creates`` N volumes of ``--size-gib``
  GiB (thin, the default type) spread over the clients, each client POSTing its share one after
  the other; creates/s is N over the time from the first POST until all N are ``available``.
  Then the clients DELETE them the same way; deletes/s until all N are gone. How it polls: one
  poller thread lists ``GET /volumes?status=creating`` (``status=deleting`` for the deletes; the
  summary list, not N GETs) every 10 ms while any is outstanding; a volume counts as done at the
  first list, started after its POST/DELETE answered, that no longer shows it. One
  ``GET /volumes/detail`` at the end checks that all N are ``available`` (resp. gone), so a
  volume that went to ``error`` fails the row. p50/p99 are per-volume POST-to-available and
  DELETE-to-gone (each quantised by the 10 ms step). The bench raises the admin project's
  ``volumes``/``gigabytes`` quota first (N can pass Cinder's default of 10) to large finite
  limits, so every create still counts the project's usage. The note gives the cloud
  process's CPU time (user + system, /proc) over the phase per volume, polls included: on a
  shared machine it moves far less than the rates do;
- ``create+delete blank``: each client creates a blank thin volume of ``--size-gib`` GiB, waits
  until it is ``available``, deletes it and waits until it is gone; pairs per second and the
  p50/p99 of create-to-available and delete-to-gone, at 1 and 8 clients;
- ``create from image``: a ``--size-gib`` GiB raw image (random bytes in its first 256 MiB,
  zeros after: what a real OS image looks like to a thin volume) is uploaded once; time from
  the POST to ``available`` of a volume made from it, next to ``qemu-img convert`` of the same
  file into the format the driver keeps (``cp`` when qemu-img is missing) in the same run;
- ``backup`` / ``restore``: MB/s (of the volume's size) of a full backup of that volume (POST to
  ``available``, polled every 20 ms at most) and of restoring it into a new volume, with the CPU
  seconds of the cloud's process (its qemu-img children and the polls included) beside ``cp``'s. Beside them,
  the same MB/s of plain commands on the file the backup reads, the volume's own file in the
  driver's format (qcow2 keeps only the image's data), with the page cache as warm as the backup
  had it (the file was just written, then read by the backup): ``cp`` of it for the backup
  (neither syncs), ``cp`` then ``sync --data`` of the copy for the restore (a restore flushes the
  new volume, as ``qemu-img convert`` does);
- ``backup`` / ``restore`` ``, dense``: the same of a ``--backup-size`` GiB volume made from an
  image of as many random bytes (incompressible, no hole: the volume's file holds every byte), so
  the figure is the backup's data path, not the API's fixed cost (polled every 0.1 s at most);
- ``attach+detach``: one server of the fake hypervisor, one volume; attach through Nova's
  os-volume_attachments, wait ``in-use``, detach, wait ``available``: cycles per second.
A row whose API is missing (404/405/501) is reported as such; the others still run.
Results: docs/performance.md (block storage section).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.functional.cloud import RunningCloud, make_cloud

VOLUME_MV = {"OpenStack-API-Version": "volume 3.64"}
COMPUTE_MV = {"OpenStack-API-Version": "compute 2.79"}
GIB = 1024 ** 3
MIB = 1024 ** 2
ENV = {"ONESTACK_LOG__REQUESTS": "false"}


def _log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Missing(Exception):
    """The cloud does not serve what a row needs (404/405/501 on the call)."""


class Api:
    """A thin httpx client with an admin token (openstacksdk's own overhead would dominate)."""

    def __init__(self, cloud: Any) -> None:
        cfg = cloud.cloud_config("devstack-admin")["auth"]
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": cfg["username"], "domain": {"id": "default"}, "password": cfg["password"]}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
        self.base = cloud.base_url
        self.http = httpx.Client(timeout=300)
        # The longest pause between two polls. The single-client rows of one long operation
        # (create from image, backup, restore) lower it, so a sub-second result is not rounded
        # up to the next poll (0.02 s growing by half each poll to this cap).
        self.max_interval = 0.25
        resp = self.http.post(f"{self.base}/identity/v3/auth/tokens", json=body)
        resp.raise_for_status()
        self.token = resp.headers["X-Subject-Token"]
        self.project = resp.json()["token"]["project"]["id"]

    def req(self, method: str, path: str, body: Any = None, *, service: str = "volume",
            expect: tuple[int, ...] = (200, 201, 202, 204), **kw: Any) -> httpx.Response:
        prefix = {"volume": f"volume/v3/{self.project}", "compute": "compute/v2.1", "image": "image"}[service]
        headers = {"X-Auth-Token": self.token, **(VOLUME_MV if service == "volume" else COMPUTE_MV),
                   **kw.pop("headers", {})}
        resp = self.http.request(method, f"{self.base}/{prefix}{path}", json=body, headers=headers, **kw)
        if resp.status_code in (404, 405, 501) and resp.status_code not in expect:
            raise Missing(f"{method} /{prefix}{path} answered {resp.status_code}")
        if resp.status_code not in expect:
            raise RuntimeError(f"{method} /{prefix}{path} answered {resp.status_code}: {resp.text[:300]}")
        return resp

    def wait(self, what: str, get: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 600.0) -> Any:
        """Poll ``get`` until ``done``; an ``error*`` status fails at once. No sleeps as sync: a deadline."""
        deadline = time.monotonic() + timeout
        interval = 0.02
        while True:
            value = get()
            if done(value):
                return value
            status = value.get("status", "") if isinstance(value, dict) else ""
            if str(status).startswith("error"):
                raise RuntimeError(f"{what}: status {status}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: still {status or value!r} after {timeout:.0f}s")
            time.sleep(interval)  # poll interval, not synchronisation
            interval = min(interval * 1.5, self.max_interval)

    def volume(self, volume_id: str) -> dict[str, Any] | None:
        resp = self.req("GET", f"/volumes/{volume_id}", expect=(200, 404))
        return None if resp.status_code == 404 else dict(resp.json()["volume"])

    def wait_volume(self, volume_id: str, status: str) -> dict[str, Any]:
        result: dict[str, Any] = self.wait(f"volume {volume_id} → {status}", lambda: self.volume(volume_id) or {},
                                           lambda v: v.get("status") == status)
        return result

    def wait_gone(self, volume_id: str) -> None:
        self.wait(f"volume {volume_id} deleted", lambda: self.volume(volume_id), lambda v: v is None)

    def create_volume(self, size: int, **extra: Any) -> str:
        body = {"volume": {"size": size, "name": f"bench-{uuid.uuid4().hex[:8]}", **extra}}
        return str(self.req("POST", "/volumes", body).json()["volume"]["id"])


@dataclass
class Row:
    name: str
    clients: int = 1
    rate: str = ""  # the row's headline figure with its unit
    p50: str = ""
    p99: str = ""
    beside: str = ""  # the reference command's figure in the same run
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def create_delete(cloud: Any, size: int, clients: int, pairs: int) -> Row:
    """``pairs`` create→available→delete→gone cycles spread over ``clients`` threads."""
    apis = [Api(cloud) for _ in range(clients)]
    created: list[float] = []
    deleted: list[float] = []

    def work(k: int) -> None:
        api = apis[k % clients]
        t0 = time.perf_counter()
        vid = api.create_volume(size)
        api.wait_volume(vid, "available")
        t1 = time.perf_counter()
        api.req("DELETE", f"/volumes/{vid}")
        api.wait_gone(vid)
        created.append(t1 - t0)
        deleted.append(time.perf_counter() - t1)

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(work, range(pairs)))
    elapsed = time.perf_counter() - start
    return Row(f"create+delete blank {size} GiB", clients, f"{pairs / elapsed:.2f} pairs/s",
               f"{pct(created, 0.5) * 1000:.0f} / {pct(deleted, 0.5) * 1000:.0f} ms",
               f"{pct(created, 0.99) * 1000:.0f} / {pct(deleted, 0.99) * 1000:.0f} ms",
               note="p50/p99: create-to-available / delete-to-gone")


POLL_STEP = 0.01  # the list poller's fixed step (seconds)


class Settled:
    """Which issued volumes a status-filtered list no longer shows, and when (see the docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.issued: dict[str, float] = {}  # id → when its POST/DELETE answered (perf_counter)
        self.started: dict[str, float] = {}  # id → when its POST/DELETE was sent
        self.took: dict[str, float] = {}

    def issue(self, vid: str, sent: float) -> None:
        with self.lock:
            self.started[vid] = sent
            self.issued[vid] = time.perf_counter()

    def poll(self, api: Api, status: str, expected: int, stop: threading.Event, timeout: float = 600.0) -> None:
        """List ``status`` volumes every POLL_STEP until all ``expected`` issued ones left it."""
        deadline = time.monotonic() + timeout
        while len(self.took) < expected:
            if time.monotonic() > deadline or stop.is_set():
                raise TimeoutError(f"{expected - len(self.took)} volume(s) still {status} after {timeout:.0f}s")
            asked = time.perf_counter()
            listed = api.req("GET", f"/volumes?status={status}&limit=1000").json()["volumes"]
            seen = {v["id"] for v in listed}
            now = time.perf_counter()
            with self.lock:
                for vid, answered in self.issued.items():
                    if vid not in self.took and answered <= asked and vid not in seen:
                        self.took[vid] = now - self.started[vid]
            time.sleep(POLL_STEP)  # the poll step, not synchronisation: the loop ends on what it sees


def server_cpu(cloud: Any) -> float:
    """CPU seconds (user + system, all threads) the cloud's process has used so far: a figure
    per create that the machine's load does not move, unlike the rates."""
    fields = Path(f"/proc/{cloud.proc.pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lift_quota(api: Api) -> None:
    """Finite limits, not -1: the create's quota check then counts usage as a user's would."""
    api.req("PUT", f"/os-quota-sets/{api.project}",
            {"quota_set": {"volumes": 100000, "gigabytes": 10000000, "per_volume_gigabytes": 100000}})


def create_then_delete(cloud: Any, size: int, clients: int, count: int) -> list[Row]:
    """``count`` creates over ``clients`` threads until all available, then their deletes until all gone."""
    apis = [Api(cloud) for _ in range(clients + 1)]
    poller = apis[clients]
    lift_quota(poller)
    rows: list[Row] = []
    ids: list[str] = []

    def phase(name: str, status: str, issue: Callable[[Api, int, Settled], None]) -> Row:
        settled = Settled()
        stop = threading.Event()
        cpu0 = server_cpu(cloud)
        start = time.perf_counter()
        with ThreadPoolExecutor(clients + 1) as pool:
            polling = pool.submit(settled.poll, poller, status, count, stop)
            try:
                list(pool.map(lambda k: issue(apis[k], k, settled), range(clients)))
            except BaseException:
                stop.set()
                raise
            polling.result()
        elapsed = time.perf_counter() - start
        cpu = server_cpu(cloud) - cpu0
        took = list(settled.took.values())
        return Row(f"{name} blank {size} GiB", clients, f"{count / elapsed:.1f} {name}s/s",
                   f"{pct(took, 0.5) * 1000:.0f} ms", f"{pct(took, 0.99) * 1000:.0f} ms",
                   note=f"{count} volumes; server CPU {cpu / count * 1000:.1f} ms per {name} (polls included); "
                        f"p50/p99: {'POST-to-available' if name == 'create' else 'DELETE-to-gone'}")

    def creates(api: Api, k: int, settled: Settled) -> None:
        for _ in range(k, count, clients):
            sent = time.perf_counter()
            vid = api.create_volume(size)
            settled.issue(vid, sent)
            ids.append(vid)

    rows.append(phase("create", "creating", creates))
    detail = {v["id"]: v["status"] for v in poller.req("GET", "/volumes/detail?limit=1000").json()["volumes"]}
    wrong = {vid: detail.get(vid) for vid in ids if detail.get(vid) != "available"}
    if wrong:
        raise RuntimeError(f"not available after the creates: {wrong}")

    def deletes(api: Api, k: int, settled: Settled) -> None:
        for vid in ids[k::clients]:
            sent = time.perf_counter()
            api.req("DELETE", f"/volumes/{vid}")
            settled.issue(vid, sent)

    rows.append(phase("delete", "deleting", deletes))
    left = {v["id"] for v in poller.req("GET", "/volumes?limit=1000").json()["volumes"]} & set(ids)
    if left:
        raise RuntimeError(f"{len(left)} volume(s) not gone after the deletes")
    return rows


def make_image_file(path: Path, size: int, data_bytes: int) -> None:
    """``size`` bytes: random in the first ``data_bytes``, then zeros (written, not a hole)."""
    chunk = 8 * MIB
    with open(path, "wb") as fh:
        written = 0
        while written < size:
            n = min(chunk, size - written)
            fh.write(os.urandom(n) if written < data_bytes else bytes(n))
            written += n


def upload_image(api: Api, path: Path) -> str:
    resp = api.req("POST", "/v2/images", {"name": f"bench-{uuid.uuid4().hex[:8]}", "disk_format": "raw",
                                          "container_format": "bare"}, service="image")
    image_id = str(resp.json()["id"])
    with open(path, "rb") as fh:
        api.req("PUT", f"/v2/images/{image_id}/file", service="image", content=fh,
                headers={"Content-Type": "application/octet-stream"})
    api.wait(f"image {image_id} active", lambda: api.req("GET", f"/v2/images/{image_id}", service="image").json(),
             lambda i: i.get("status") == "active")
    return image_id


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def reference_convert(src: Path, out: Path) -> tuple[str, float]:
    """What the file driver does to an image, as a plain command on the same file."""
    if shutil.which("qemu-img"):
        return "qemu-img convert -O qcow2", timed(["qemu-img", "convert", "-f", "raw", "-O", "qcow2",
                                                   str(src), str(out)])
    return "cp", timed(["cp", str(src), str(out)])


def from_image(api: Api, image_id: str, size: int, src: Path, work: Path) -> tuple[Row, str]:
    t0 = time.perf_counter()
    vid = api.create_volume(size, imageRef=image_id)
    api.wait_volume(vid, "available")
    took = time.perf_counter() - t0
    what, ref = reference_convert(src, work / "converted")
    (work / "converted").unlink(missing_ok=True)
    return Row(f"create from a {size} GiB image", 1, f"{took:.2f} s", beside=f"{what}: {ref:.2f} s",
               note="POST to available: download from the image service + convert"), vid


def volume_file(cloud: RunningCloud, vid: str) -> Path:
    """The file driver's file of a volume (volumes/<host>/<backend>/volume-<id> in the data dir)."""
    found = list(cloud.data_dir.glob(f"volumes/*/*/volume-{vid}"))
    if len(found) != 1:
        raise RuntimeError(f"volume {vid}: {len(found)} files in {cloud.data_dir / 'volumes'}")
    return found[0]


def dense_volume(api: Api, work: Path, size: int) -> str:
    """A ``size`` GiB volume whose every byte is random (incompressible, nothing sparse): made
    from an image of that many random bytes, so the backup's figure is its data path's."""
    path = work / "dense.raw"
    make_image_file(path, size * GIB, size * GIB)
    try:
        image_id = upload_image(api, path)
    finally:
        path.unlink(missing_ok=True)
    vid = api.create_volume(size, imageRef=image_id)
    api.wait_volume(vid, "available")
    api.req("DELETE", f"/v2/images/{image_id}", service="image")
    return vid


def cloud_cpu(cloud: Any) -> float:
    """CPU seconds of the cloud's process and of the children it waited for (qemu-img)."""
    fields = Path(f"/proc/{cloud.proc.pid}/stat").read_text().rpartition(")")[2].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def backup_restore(api: Api, cloud: RunningCloud, vid: str, size: int, work: Path, label: str = "",
                   poll: float = 0.02) -> list[Row]:
    """Rows of a full backup and a restore of volume ``vid`` with, beside the rates, the CPU
    seconds each took in the cloud's process (with its qemu-img children; the bench's polls
    included, at most every ``poll`` s) and ``cp``'s own: on a loaded machine the CPU figures
    hold while the rates do not."""
    mb = size * GIB / MIB
    src = volume_file(cloud, vid)
    allocated = f"{src.stat().st_blocks * 512 / MIB:.0f} MiB allocated"
    api.max_interval = poll  # a sparse backup takes a fraction of a second: coarser polls would dominate
    c0 = cloud_cpu(cloud)
    t0 = time.perf_counter()
    bid = str(api.req("POST", "/backups", {"backup": {"volume_id": vid, "name": "bench"}}).json()["backup"]["id"])
    api.wait(f"backup {bid} available", lambda: api.req("GET", f"/backups/{bid}").json()["backup"],
             lambda b: b.get("status") == "available")
    backup_s = time.perf_counter() - t0
    backup_cpu = cloud_cpu(cloud) - c0
    k0 = children_cpu()
    cp_s = timed(["cp", str(src), str(work / "copy")])
    cp_cpu = children_cpu() - k0
    (work / "copy").unlink(missing_ok=True)
    k0 = children_cpu()
    start = time.perf_counter()
    subprocess.run(["cp", str(src), str(work / "copy")], check=True)
    subprocess.run(["sync", "--data", str(work / "copy")], check=True)
    cp_sync_s = time.perf_counter() - start
    cp_sync_cpu = children_cpu() - k0
    (work / "copy").unlink(missing_ok=True)
    c1 = cloud_cpu(cloud)
    t1 = time.perf_counter()
    restored = api.req("POST", f"/backups/{bid}/restore", {"restore": {"name": "bench-restored"}}).json()
    rid = str(restored["restore"]["volume_id"])
    api.wait(f"backup {bid} restored", lambda: api.req("GET", f"/backups/{bid}").json()["backup"],
             lambda b: b.get("status") == "available")
    api.wait_volume(rid, "available")
    restore_s = time.perf_counter() - t1
    restore_cpu = cloud_cpu(cloud) - c1
    for path in (f"/backups/{bid}", f"/volumes/{rid}"):
        api.req("DELETE", path)
    what = f"the volume's file ({allocated})"
    return [Row(f"backup (full{label})", 1, f"{mb / backup_s:.0f} MB/s", beside=f"cp: {mb / cp_s:.0f} MB/s",
                note=f"{backup_s:.3f} s = {cp_s / backup_s:.0%} of cp's rate; cp of {what}, warm cache; "
                     f"CPU {backup_cpu:.2f} s (cp {cp_cpu:.2f} s)"),
            Row(f"restore into a new volume{label}", 1, f"{mb / restore_s:.0f} MB/s",
                beside=f"cp + sync --data: {mb / cp_sync_s:.0f} MB/s",
                note=f"{restore_s:.3f} s = {cp_sync_s / restore_s:.0%} of cp + sync's rate; "
                     f"CPU {restore_cpu:.2f} s (cp + sync {cp_sync_cpu:.2f} s)")]


def attach_detach(api: Api, cycles: int) -> Row:
    server = api.req("POST", "/servers", {"server": {
        "name": "bench-attach", "imageRef": builtin_image(api), "flavorRef": "1", "networks": "none"}},
        service="compute").json()["server"]["id"]
    api.wait(f"server {server} ACTIVE", lambda: api.req("GET", f"/servers/{server}", service="compute").json()["server"],
             lambda s: s.get("status") == "ACTIVE")
    vid = api.create_volume(1)
    api.wait_volume(vid, "available")
    took: list[float] = []
    start = time.perf_counter()
    for _ in range(cycles):
        t0 = time.perf_counter()
        api.req("POST", f"/servers/{server}/os-volume_attachments", {"volumeAttachment": {"volumeId": vid}},
                service="compute")
        api.wait_volume(vid, "in-use")
        api.req("DELETE", f"/servers/{server}/os-volume_attachments/{vid}", service="compute")
        api.wait_volume(vid, "available")
        took.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    api.req("DELETE", f"/servers/{server}", service="compute")
    api.req("DELETE", f"/volumes/{vid}")
    return Row("attach+detach (fake hypervisor)", 1, f"{cycles / elapsed:.2f} cycles/s",
               f"{pct(took, 0.5) * 1000:.0f} ms", f"{pct(took, 0.99) * 1000:.0f} ms")


def builtin_image(api: Api) -> str:
    images = api.req("GET", "/v2/images?visibility=public&status=active", service="image").json()["images"]
    builtin = [i for i in images if str(i.get("onestack_builtin")).lower() == "true"] or images
    if not builtin:
        raise Missing("no public image to boot")
    return str(min(builtin, key=lambda i: (str(i.get("created_at")), str(i.get("name"))))["id"])


def render(rows: list[Row], header: str) -> str:
    cols = ("row", "clients", "result", "p50", "p99", "same run, plain command", "note")
    table = [cols] + [(r.name, str(r.clients), r.rate, r.p50, r.p99, r.beside, r.note) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(cols))]
    lines = [header, ""]
    for n, line in enumerate(table):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size-gib", type=int, default=1)
    p.add_argument("--creates", type=int, default=100, help="volumes created then deleted per client count")
    p.add_argument("--pairs", type=int, default=40, help="create+delete pairs per client count (0: no pair row)")
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite",
                   help="the cloud's database (postgresql: a fresh database on ONESTACK_TEST_PG_URL's server)")
    p.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    p.add_argument("--image-data-mib", type=int, default=256, help="random bytes at the head of the image")
    p.add_argument("--cycles", type=int, default=20, help="attach+detach cycles")
    p.add_argument("--backup-size", type=int, default=1,
                   help="GiB of random bytes in the dense volume backed up and restored (0: no dense row)")
    p.add_argument("--skip", action="append", default=[], choices=["create", "image", "backup", "attach"])
    args = p.parse_args(argv)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-volume-") as tmp:
        work = Path(tmp)
        os.environ["ONESTACK_TEST_DB"] = args.db  # make_cloud creates (and drops) the database
        cloud = make_cloud(work, extra_env=ENV)
        _log(f"starting onestack in {work}")
        cloud.start(timeout=120)
        try:
            api = Api(cloud)

            def attempt(name: str, fn: Callable[[], list[Row]]) -> None:
                try:
                    rows.extend(fn())
                except Missing as exc:
                    rows.append(Row(name, note=f"not served: {exc}"))
                except (RuntimeError, TimeoutError) as exc:
                    rows.append(Row(name, note=f"FAILED: {exc}"))
                    _log(f"{name}: {exc}")

            if "create" not in args.skip:
                for n in args.clients:
                    _log(f"{args.creates} creates then deletes, {n} client(s)")

                    def batch(n: int = n) -> list[Row]:
                        return create_then_delete(cloud, args.size_gib, n, max(args.creates, n))

                    attempt(f"create / delete blank ({n})", batch)
                for n in args.clients if args.pairs else []:
                    _log(f"create+delete pairs, {n} client(s)")
                    pairs = max(args.pairs, n)

                    def blank(n: int = n, pairs: int = pairs) -> list[Row]:
                        return [create_delete(cloud, args.size_gib, n, pairs)]

                    attempt(f"create+delete blank ({n})", blank)
            vid = ""
            image_file = work / "image.raw"
            if {"image", "backup"} - set(args.skip):
                _log(f"writing and uploading a {args.size_gib} GiB image")
                api.max_interval = 0.05
                make_image_file(image_file, args.size_gib * GIB, args.image_data_mib * MIB)

                def image_row() -> list[Row]:
                    nonlocal vid
                    image_id = upload_image(api, image_file)
                    row, vid = from_image(api, image_id, args.size_gib, image_file, work)
                    return [row]

                attempt("create from image", image_row)
            if "backup" not in args.skip and vid:
                _log("backup and restore")
                attempt("backup / restore", lambda: backup_restore(api, cloud, vid, args.size_gib, work))
            if "backup" not in args.skip and args.backup_size:
                _log(f"backup and restore of a dense {args.backup_size} GiB volume")

                def dense() -> list[Row]:
                    dense_vid = dense_volume(api, work, args.backup_size)
                    try:
                        # Seconds each: polls every 0.1 s at most cost less CPU than 0.02 s would.
                        return backup_restore(api, cloud, dense_vid, args.backup_size, work,
                                              f", dense {args.backup_size} GiB", poll=0.1)
                    finally:
                        api.req("DELETE", f"/volumes/{dense_vid}")

                attempt("backup / restore (dense)", dense)
            api.max_interval = 0.25
            if "attach" not in args.skip:
                _log("attach+detach")
                attempt("attach+detach", lambda: [attach_detach(api, args.cycles)])
        finally:
            cloud.close()
    header = (f"bench/volume.py, {args.db}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.2f} at the end")
    print(render(rows, header))
    return 1 if any(r.note.startswith("FAILED") for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
