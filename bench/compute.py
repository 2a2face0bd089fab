"""Compute control-plane benchmark with the fake driver (0 ms spawn).

    python bench/compute.py                       # the full run (~5 min on 2 cores)
    python bench/compute.py --latency 50 --sustained 300 --list-sizes 1000 2000
    python bench/compute.py --scale-out           # one process vs separate processes (~5 min)

Measures, against a real `onestack up` (its own data dir, SQLite, 4 simulated hosts):
- boot-to-ACTIVE latency: one client boots servers one at a time; each figure is from the
  client's clock before the POST to the server's ``launched_at`` (p50 / p99);
- sustained boots/s: 8 clients boot ``--sustained`` servers (default 1,000), time from the
  first POST until the last is ACTIVE, and the server process's CPU time per boot over that
  span (/proc; the process is GIL-bound, so this sets the ceiling); then the same servers
  deleted, time until all are gone;
- server list page time at N servers (``--list-sizes``, default 1k/5k/10k; servers added
  100 per request): median time of GET /servers/detail?limit=100 for the first page and for a
  page in the middle (by marker) — it must not grow with N;
- scheduler decision time at 1,000 hosts: the filter/weigh/claim function over 1,000 host
  states (bench/scheduler.py's hosts) and placement's GET /allocation_candidates over 1,000
  resource providers (created through the placement API in the same cloud).
With ``--scale-out`` it measures instead boot latency, boots/s and deletes/s with the control
plane in separate processes on PostgreSQL and RabbitMQ (tests/functional/multiprocess.py: an API
process, a conductor+scheduler process, 1, 2 and 4 agent processes), next to the one-process
figures (``onestack up``, SQLite and PostgreSQL) of the same run; ``--placement-beside N`` adds a
layout with placement in the scheduler's process. CPU per boot is summed over every process of
the cloud (and shown per process), and separately for the machine's PostgreSQL and RabbitMQ.
Needs the local PostgreSQL and RabbitMQ.
Both modes print the machine's busy and hypervisor-steal share over each sustained run and, at
the end, the CPU time of a fixed pure-Python reference workload: CPU per boot is comparable only
between runs whose reference is the same (two sessions' machines once differed by 1.5-1.8x).
Results: docs/performance.md (compute section).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.functional.cloud import make_cloud, wait_until

MV = {"OpenStack-API-Version": "compute 2.96"}
PLACEMENT_MV = {"OpenStack-API-Version": "placement 1.39"}
HOSTS = 4
ENV = {
    "ONESTACK_COMPUTE__HOSTS": str(HOSTS),
    "ONESTACK_COMPUTE__FAKE_HOST_VCPUS": "4096",
    "ONESTACK_COMPUTE__FAKE_HOST_MEMORY_MB": "8388608",
    "ONESTACK_COMPUTE__FAKE_HOST_DISK_GB": "1000000",
    "ONESTACK_LOG__REQUESTS": "false",
}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Api:
    """A thin httpx client with an admin token (openstacksdk's own overhead would dominate)."""

    def __init__(self, cloud: Any) -> None:
        cfg = cloud.cloud_config("devstack-admin")["auth"]
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": cfg["username"], "domain": {"id": "default"}, "password": cfg["password"]}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
        self.base = cloud.base_url
        self.http = httpx.Client(timeout=60)
        resp = self.http.post(f"{self.base}/identity/v3/auth/tokens", json=body)
        resp.raise_for_status()
        self.token = resp.headers["X-Subject-Token"]
        self.project = resp.json()["token"]["project"]["id"]

    def req(self, method: str, path: str, body: Any = None, service: str = "compute/v2.1",
            headers: dict[str, str] | None = None) -> httpx.Response:
        return self.http.request(method, f"{self.base}/{service}{path}", json=body,
                                 headers={"X-Auth-Token": self.token, **MV, **(headers or {})})


NETWORK: list[str] = []  # --network: the name of the network every boot gets a port on (none: no port)
NETWORKS: list[Any] = []  # the boot's "networks" (found by prepare)


def boot_body(image: str, flavor: str, count: int = 1) -> dict[str, Any]:
    return {"server": {"name": f"b-{uuid.uuid4().hex[:8]}", "imageRef": image, "flavorRef": flavor,
                       "networks": NETWORKS or "none", "min_count": count, "max_count": count}}


def building(api: Api) -> bool:
    """Whether any server is still building (one row asked for: the poll costs the same whatever
    the backlog, so polling does not load the cloud more as it falls behind)."""
    return bool(api.req("GET", "/servers?status=BUILD&all_tenants=1&limit=1").json()["servers"])


def latency(api: Api, image: str, flavor: str, n: int) -> list[float]:
    """POST-to-ACTIVE per boot: from the client's clock before the POST to the server's
    ``launched_at`` (same machine, same clock; microseconds). Polling only learns that the boot
    is over, so its rate does not distort the figure (a tight poll loop would steal the CPU)."""
    times = []
    ids = []
    for _ in range(n):
        started = time.time()
        resp = api.req("POST", "/servers", boot_body(image, flavor))
        uuid_ = resp.json()["server"]["id"]
        while (server := api.req("GET", f"/servers/{uuid_}").json()["server"])["status"] != "ACTIVE":
            time.sleep(0.01)
        launched = datetime.fromisoformat(server["OS-SRV-USG:launched_at"]).replace(tzinfo=UTC).timestamp()
        times.append((launched - started) * 1000)
        ids.append(uuid_)
    for uuid_ in ids:
        api.req("DELETE", f"/servers/{uuid_}")
    wait_until(lambda: not api.req("GET", "/servers").json()["servers"], timeout=120, what="cleanup")
    return times


def reference_ms() -> float:
    """CPU milliseconds of a fixed pure-Python workload (JSON, dicts, sorting: what a boot's CPU
    is made of), best of 5. CPU per boot is only comparable between runs whose reference is
    the same: the same code measured 1.5-1.8x apart in two sessions' VMs (docs/performance.md)."""
    import json

    doc = {f"key-{i}": {"id": i, "name": f"server-{i}", "tags": [str(j) for j in range(8)]} for i in range(200)}
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(200):
            back = json.loads(json.dumps(doc))
            sorted(back.items(), key=lambda kv: (kv[1]["name"], kv[0]))
        best = min(best, time.process_time() - start)
    return best * 1000


def steal_fraction(before: list[int], after: list[int]) -> float:
    """Share of the machine's CPU time the hypervisor took (/proc/stat's steal) between two reads."""
    total = sum(after) - sum(before)
    return (after[7] - before[7]) / total if total > 0 else 0.0


def cpu_times() -> list[int]:
    return [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backing_services() -> list[int]:
    """PostgreSQL's and RabbitMQ's processes on this machine (their CPU is the cloud's too)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if comm in ("postgres", "beam.smp"):
                found.append(int(entry.name))
    return found


def cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:  # a PostgreSQL backend that ended meanwhile
            continue
    return total


STATEMENT_LOG: list[tuple[Path, str]] = []  # (PostgreSQL's log, database) with --statements
LAST_STATEMENTS: dict[str, float] = {}  # statements per boot by kind, last sustained run


def log_offset() -> int:
    return STATEMENT_LOG[0][0].stat().st_size if STATEMENT_LOG else 0


def count_statements(start: int, n: int) -> None:
    """Statements the database ran since ``start`` (log_statement=all), per boot, by kind."""
    LAST_STATEMENTS.clear()
    if not STATEMENT_LOG:
        return
    path, database = STATEMENT_LOG[0]
    with path.open("rb") as fh:
        fh.seek(start)
        text = fh.read().decode(errors="replace")
    kinds = {"all": 0, "BEGIN": 0, "COMMIT/ROLLBACK": 0, "SELECT 1": 0, "SET": 0}
    for line in text.splitlines():
        if f"@{database} LOG:  statement: " not in line:
            continue
        sql = line.split("statement: ", 1)[1].strip()
        kinds["all"] += 1
        if sql.startswith("BEGIN"):
            kinds["BEGIN"] += 1
        elif sql in ("COMMIT", "ROLLBACK"):
            kinds["COMMIT/ROLLBACK"] += 1
        elif sql == "SELECT 1":
            kinds["SELECT 1"] += 1
        elif sql.startswith("SET "):
            kinds["SET"] += 1
    LAST_STATEMENTS.update({k: v / n for k, v in kinds.items()})


def log_statements(url: str) -> None:
    """Have PostgreSQL log every statement of this database (for --statements)."""
    import psycopg2

    database = url.rsplit("/", 1)[1].split("?", 1)[0]
    conn = psycopg2.connect(url.rsplit("/", 1)[0].replace("postgresql+psycopg2://", "postgresql://") + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{database}" SET log_statement = \'all\'')
    conn.close()
    STATEMENT_LOG[:] = [(STATEMENT_LOG[0][0], database)] if STATEMENT_LOG else []


LAST_BACKING_CPU: list[float] = []  # PostgreSQL + RabbitMQ ms per boot of the last sustained run
LAST_PER_PID: dict[int, float] = {}  # ms per boot of each of the cloud's processes, last sustained run
LAST_MACHINE: dict[str, float] = {}  # the machine over the last sustained run: busy and steal fractions


def sustained(cloud: Any, image: str, flavor: str, n: int, workers: int = 8,
              pids: list[int] | None = None) -> tuple[float, float, float]:
    """Boots/s, deletes/s and the cloud's CPU milliseconds per boot (its process, or ``pids``)."""
    apis = [Api(cloud) for _ in range(workers)]
    if pids is None:
        assert cloud.proc is not None
        pids = [cloud.proc.pid]
    each_before = {pid: cpu_seconds(pid) for pid in pids}
    cpu_before = sum(each_before.values())
    backing = backing_services()
    backing_before = cpu_of(backing)
    ids: list[str] = []
    lock = threading.Lock()
    log_start = log_offset()
    machine_before = cpu_times()

    def work(k: int) -> None:
        api = apis[k]
        for _ in range(k, n, workers):
            resp = api.req("POST", "/servers", boot_body(image, flavor))
            with lock:
                ids.append(resp.json()["server"]["id"])

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(work, range(workers)))
    # Counting statements, poll seldom: the polls' statements are counted with the boots'.
    wait_until(lambda: not building(apis[0]), timeout=600, interval=1.0 if STATEMENT_LOG else 0.05, what="boots")
    boot_s = time.perf_counter() - started
    cpu_ms = (sum(cpu_seconds(pid) for pid in pids) - cpu_before) * 1000 / n
    LAST_BACKING_CPU[:] = [(cpu_of(backing) - backing_before) * 1000 / n]
    machine_after = cpu_times()
    idle = (machine_after[3] + machine_after[4]) - (machine_before[3] + machine_before[4])
    LAST_MACHINE.update({"busy": 1 - idle / max(1, sum(machine_after) - sum(machine_before)),
                         "steal": steal_fraction(machine_before, machine_after)})
    count_statements(log_start, n)
    LAST_PER_PID.clear()
    LAST_PER_PID.update({pid: (cpu_seconds(pid) - before) * 1000 / n for pid, before in each_before.items()})
    errors = len(apis[0].req("GET", "/servers?status=ERROR").json()["servers"])
    assert errors == 0, f"{errors} servers in ERROR"

    def remove(k: int) -> None:
        for uuid_ in ids[k::workers]:
            apis[k].req("DELETE", f"/servers/{uuid_}")

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(remove, range(workers)))
    wait_until(lambda: not apis[0].req("GET", "/servers?limit=1").json()["servers"], timeout=600,
               interval=0.05, what="deletes")
    delete_s = time.perf_counter() - started
    return n / boot_s, n / delete_s, cpu_ms


def page_times(api: Api, samples: int = 20) -> tuple[float, float]:
    first, middle = [], []
    listing = api.req("GET", "/servers?limit=1000").json()["servers"]
    marker = listing[len(listing) // 4]["id"]  # a quarter in: a full page follows at any N >= 200
    for _ in range(samples):
        t = time.perf_counter()
        assert api.req("GET", "/servers/detail?limit=100").status_code == 200
        first.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        assert len(api.req("GET", f"/servers/detail?limit=100&marker={marker}").json()["servers"]) == 100
        middle.append((time.perf_counter() - t) * 1000)
    return statistics.median(first), statistics.median(middle)


def grow_to(api: Api, image: str, flavor: str, total: int, have: int) -> int:
    while have < total:
        batch = min(100, total - have)
        resp = api.req("POST", "/servers", boot_body(image, flavor, batch))
        assert resp.status_code == 202, resp.text
        have += batch
        if have % 1000 == 0:
            wait_until(lambda: not building(api), timeout=600, interval=0.1, what="batch boots")
    wait_until(lambda: not building(api), timeout=600, interval=0.1, what="boots")
    return have


def candidates_time(api: Api, providers: int, samples: int = 20) -> tuple[float, float]:
    """Placement's allocation candidates over ``providers`` compute-node-like providers."""
    for i in range(providers):
        rp = str(uuid.uuid4())
        api.req("POST", "/resource_providers", {"uuid": rp, "name": f"bench-node-{i}"}, "placement", PLACEMENT_MV)
        api.req("PUT", f"/resource_providers/{rp}/inventories", {"resource_provider_generation": 0, "inventories": {
            "VCPU": {"total": 64, "allocation_ratio": 4.0}, "MEMORY_MB": {"total": 262144},
            "DISK_GB": {"total": 2000}}}, "placement", PLACEMENT_MV)
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        resp = api.req("GET", "/allocation_candidates?resources=VCPU:1,MEMORY_MB:512,DISK_GB:1&limit=1000",
                       service="placement", headers=PLACEMENT_MV)
        assert resp.status_code == 200
        times.append((time.perf_counter() - t) * 1000)
    return pct(times, 0.5), pct(times, 0.99)


def prepare(api: Api) -> tuple[str, str]:
    """Unlimited quota for the admin project, a tiny flavor; returns (image, flavor)."""
    api.req("PUT", f"/os-quota-sets/{api.project}", {"quota_set": {"instances": -1, "cores": -1, "ram": -1}})
    flavor = api.req("POST", "/flavors", {"flavor": {"name": "bench.nano", "vcpus": 1, "ram": 64,
                                                     "disk": 1}}).json()["flavor"]["id"]
    images = api.req("GET", "/v2/images?name=onestack-tiny-x86_64-disk", service="image").json()["images"]
    if NETWORK:
        found = api.req("GET", f"/v2.0/networks?name={NETWORK[0]}", service="networking").json()["networks"]
        assert len(found) == 1, f"network {NETWORK[0]!r}: {len(found)} found"
        NETWORKS[:] = [{"uuid": found[0]["id"]}]
    return images[0]["id"], flavor


def measure(cloud: Any, n_latency: int, n_sustained: int, pids: list[int] | None = None) -> dict[str, float]:
    api = Api(cloud)
    image, flavor = prepare(api)
    t = latency(api, image, flavor, n_latency)
    boots, deletes, cpu_ms = sustained(cloud, image, flavor, n_sustained, pids=pids)
    return {"p50": pct(t, 0.5), "p99": pct(t, 0.99), "boots": boots, "deletes": deletes, "cpu": cpu_ms,
            "backing": LAST_BACKING_CPU[0], "busy": LAST_MACHINE["busy"], "steal": LAST_MACHINE["steal"]}


def scale_out(args: argparse.Namespace) -> list[tuple[str, dict[str, float]]]:
    from tests.databases import postgres_database
    from tests.functional.multiprocess import ScaleOutCloud
    from tests.services import rabbit_vhost

    results: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="bench-scaleout-") as tmp:
        for db in args.one_process:
            databases = postgres_database() if db == "postgresql" else None
            extra = ["--db-url", next(databases)] if databases is not None else []
            (Path(tmp) / f"one-{db}").mkdir()
            cloud = make_cloud(Path(tmp) / f"one-{db}", ENV, extra_args=extra)
            cloud.start()
            try:
                results.append((f"one process ({HOSTS} simulated hosts), {db}, memory bus",
                                measure(cloud, args.latency, args.sustained)))
                print(results[-1], flush=True)
            finally:
                cloud.stop()
                if databases is not None:
                    databases.close()
        layouts = [(agents, False) for agents in args.agents] + [(agents, True) for agents in args.placement_beside]
        for agents, beside in layouts:
            databases = postgres_database()
            with rabbit_vhost() as transport:
                env = {k: v for k, v in ENV.items() if k != "ONESTACK_COMPUTE__HOSTS"}
                url = next(databases)
                if STATEMENT_LOG:
                    log_statements(url)
                multi = ScaleOutCloud(Path(tmp) / f"multi-{agents}-{beside}", url, transport, env)
                try:
                    if beside:  # placement answers the scheduler in-process
                        multi.start_api(("identity", "image", "compute-api"))
                        multi.start_control("ctl-1", ("placement", "conductor", "scheduler"))
                    else:
                        multi.start_api()
                        multi.start_control("ctl-1")
                    for i in range(agents):
                        multi.start_agent(f"node-{i + 1}")
                    registered(Api(multi), agents)
                    procs = {p.popen.pid: p.name for p in multi.procs.values() if p.popen is not None}
                    control = "placement+conductor+scheduler" if beside else "conductor+scheduler"
                    name = f"separate processes: API, {control}, {agents} agent(s); PostgreSQL, RabbitMQ"
                    results.append((name, measure(multi, args.latency, args.sustained, list(procs))))
                    print("  CPU per boot by process: " + ", ".join(
                        f"{procs[pid]} {ms:.1f} ms" for pid, ms in LAST_PER_PID.items()), flush=True)
                    if LAST_STATEMENTS:
                        print("  statements per boot (boots and the clients' polling): " + ", ".join(
                            f"{kind} {count:.1f}" for kind, count in LAST_STATEMENTS.items()), flush=True)
                    print(results[-1], flush=True)
                finally:
                    multi.stop()
                    databases.close()
    return results


def registered(api: Api, agents: int) -> None:
    wait_until(lambda: len(api.req("GET", "/os-hypervisors").json()["hypervisors"]) == agents,
               timeout=120, what=f"{agents} agents registered")


def print_scale_out(results: list[tuple[str, dict[str, float]]]) -> None:
    width = max(len(name) for name, _ in results)
    print(f"\n{'setup'.ljust(width)} | boot p50 | boot p99 | boots/s | deletes/s | CPU/boot: onestack | "
          "PostgreSQL+RabbitMQ | machine busy / steal")
    print(f"{'-' * width}-|----------|----------|---------|-----------|--------------------|--------------------"
          "|---------------------")
    for name, r in results:
        print(f"{name.ljust(width)} | {r['p50']:6.1f} ms | {r['p99']:6.1f} ms | {r['boots']:7.1f} | "
              f"{r['deletes']:9.1f} | {r['cpu']:15.1f} ms | {r['backing']:.1f} ms | "
              f"{r['busy'] * 100:.0f} % / {r['steal'] * 100:.1f} %")
    print(f"\nmachine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, reference workload "
          f"{reference_ms():.1f} ms CPU (compare CPU per boot only between runs with the same reference)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=int, default=200, help="sequential boots for the latency figure")
    parser.add_argument("--sustained", type=int, default=1000, help="servers booted and deleted by 8 clients")
    parser.add_argument("--list-sizes", type=int, nargs="*", default=[1000, 5000, 10000])
    parser.add_argument("--providers", type=int, default=1000)
    parser.add_argument("--scale-out", action="store_true", help="one process vs separate processes (see above)")
    parser.add_argument("--one-process", nargs="*", default=["sqlite", "postgresql"],
                        choices=["sqlite", "postgresql"], help="one-process rows (--scale-out; none: skip them)")
    parser.add_argument("--statements", type=Path, metavar="POSTGRESQL_LOG",
                        help="count the statements per boot of the separate-process rows from PostgreSQL's log "
                             "(--scale-out; sets log_statement=all on the bench's database)")
    parser.add_argument("--agents", type=int, nargs="*", default=[1, 2, 4], help="agent processes (--scale-out)")
    parser.add_argument("--placement-beside", type=int, nargs="*", default=[],
                        help="agent processes with placement in the scheduler's process instead (--scale-out)")
    parser.add_argument("--network", metavar="NAME",
                        help="boot every server with a port on this network (e.g. shared: the port, its binding "
                             "and the vif-plugged wait are in each boot); default: networks none, no port")
    args = parser.parse_args()
    if args.network:
        NETWORK[:] = [args.network]
    if args.statements is not None:
        STATEMENT_LOG[:] = [(args.statements, "")]
    if args.scale_out:
        print_scale_out(scale_out(args))
        return 0
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-compute-") as tmp:
        cloud = make_cloud(Path(tmp), ENV)
        cloud.start()
        try:
            api = Api(cloud)
            image, flavor = prepare(api)
            t = latency(api, image, flavor, args.latency)
            rows += [("boot-to-ACTIVE p50 (1 client)", f"{pct(t, 0.5):.1f} ms"),
                     ("boot-to-ACTIVE p99 (1 client)", f"{pct(t, 0.99):.1f} ms")]
            print(rows[-2:], flush=True)
            boots, deletes, cpu_ms = sustained(cloud, image, flavor, args.sustained)
            rows += [(f"sustained boots/s ({args.sustained} servers, 8 clients)", f"{boots:.1f}"),
                     ("server CPU per boot while sustained (incl. the clients' polling)", f"{cpu_ms:.1f} ms"),
                     ("machine busy / hypervisor steal while sustained",
                      f"{LAST_MACHINE['busy'] * 100:.0f} % / {LAST_MACHINE['steal'] * 100:.1f} %"),
                     (f"sustained deletes/s ({args.sustained} servers, 8 clients)", f"{deletes:.1f}")]
            print(rows[-4:], flush=True)
            have = 0
            for size in args.list_sizes:
                have = grow_to(api, image, flavor, size, have)
                first, middle = page_times(api)
                rows += [(f"list detail page of 100 at {size} servers: first / middle", f"{first:.1f} / {middle:.1f} ms")]
                print(rows[-1], flush=True)
            p50, p99 = candidates_time(api, args.providers)
            rows.append((f"placement allocation candidates, {args.providers} providers p50 / p99",
                         f"{p50:.1f} / {p99:.1f} ms"))
        finally:
            cloud.stop()
    from bench import scheduler as sched_bench

    t = sched_bench.run(1000, 200, 1, False, 42)
    rows.append(("scheduler filter+weigh+claim at 1000 hosts p50 / p99", f"{pct(t, 0.5):.2f} / {pct(t, 0.99):.2f} ms"))
    width = max(len(name) for name, _ in rows)
    print(f"\n{'measure'.ljust(width)} | value")
    print(f"{'-' * width}-|------")
    for name, value in rows:
        print(f"{name.ljust(width)} | {value}")
    print(f"\nmachine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, reference workload "
          f"{reference_ms():.1f} ms CPU (compare CPU per boot only between runs with the same reference)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
