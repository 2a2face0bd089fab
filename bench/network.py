"""Network benchmark: port create/delete, port list pages, IPAM under contention — onestack vs Neutron.

    python bench/network.py                     # starts its own onestack (a PostgreSQL database of its own)
    python bench/network.py --against-neutron   # same load, same run, against neutron-server 29 (ML2)

Rows (each with the same requests on both servers):
- ``port create+delete``: each client creates a port on a network with one subnet (one fixed IP
  allocated) and deletes it again; pairs per second and p50/p99 of each call, 1 and 8 clients.
- ``GET /v2.0/ports`` page (limit=100, as admin) with 1,000 and 10,000 ports: the first page and a
  page deep in the list (marker near the end) — a keyset page should cost the same at any N.
- ``IPAM allocations``: 8 clients creating ports on one subnet at once; allocations per second,
  and every address checked unique afterwards.
- ``--boot N`` (onestack only; needs compute's network wiring and the network agent): boot-to-ACTIVE
  p50/p99 of N sequential boots with a port on DevStack's ``shared`` network, next to N without a
  network (bench/compute.py's measure: client clock before the POST to the server's launched_at).

When the onestack under test has no ports API yet the rows fall back to networks (create+delete,
list pages) and say so. Each server has a database of its own on the local servers: onestack on
PostgreSQL (``--onestack-db mariadb`` for MariaDB), Neutron on MariaDB, the only kind its
migrations accept. See bench/_neutron.py for how Neutron is set up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _neutron
from _load import (
    Connection,
    RowResult,
    build_request,
    host_port,
    machine_busy_cpu,
    one,
    process_tree_cpu,
    run_row,
    wait_quiet,
)
from _onestack_net import Target, start_onestack

REPO = Path(__file__).resolve().parent.parent
# Items per project while growing: under both servers' default quotas (500 ports, 100 networks).
PER_PROJECT = {"ports": 400, "networks": 90}


@dataclass
class PairResult(RowResult):
    """A create+delete row: the pair's latencies, and each call's p50/p99 in ``extra`` (ms)."""

    extra: dict[str, float] = field(default_factory=dict)


def _log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def start_neutron(venv: Path, tmp: Path) -> Target:
    n = _neutron.start(venv, tmp / "neutron")
    return Target("neutron", n.url, {}, [n.pid], n.stop,
                  note=f"neutron {n.version}, ML2 (flat/vxlan, no mechanism driver), uWSGI {_neutron.WORKERS} "
                       "workers, noauth, MariaDB")


async def _has_ports(t: Target) -> bool:
    resp = await one(t.url, "GET", "/v2.0/ports?limit=1", t.headers)
    return resp.status == 200


async def make_network(t: Target, project: str, cidr: str | None) -> tuple[str, str | None]:
    net = (await t.call("POST", "/v2.0/networks", {"network": {"name": "bench", "project_id": project}},
                        201))["network"]
    if cidr is None:
        return net["id"], None
    sub = (await t.call("POST", "/v2.0/subnets", {"subnet": {
        "network_id": net["id"], "cidr": cidr, "ip_version": 4, "project_id": project,
        "enable_dhcp": False}}, 201))["subnet"]
    return net["id"], sub["id"]


def _create_body(t: Target, project: str, network_id: str, n: int) -> dict[str, Any]:
    if t.resource == "ports":
        return {"port": {"network_id": network_id, "project_id": project, "name": f"b{n}"}}
    return {"network": {"name": f"b{n}", "project_id": project}}


async def create_delete(t: Target, project: str, network_id: str, clients: int, duration: float) -> PairResult:
    """Each client: POST a port (or network), then DELETE it; one count per pair."""
    res = t.resource
    conns = [Connection(*host_port(t.url)) for _ in range(clients)]
    result = PairResult(f"{res[:-1]} create+delete", clients)
    creates: list[float] = []
    deletes: list[float] = []
    counter = [0]
    deadline = 0.0

    async def worker(conn: Connection) -> None:
        while time.perf_counter() < deadline:
            counter[0] += 1
            start = time.perf_counter()
            resp = await conn.send(build_request(t.url, "POST", f"/v2.0/{res}", t.headers,
                                                 _create_body(t, project, network_id, counter[0])))
            mid = time.perf_counter()
            if resp.status != 201:
                result.errors += 1
                result.first_error = result.first_error or f"{resp.status} {resp.body[:200]!r}"
                continue
            item_id = resp.json()[res[:-1]]["id"]
            resp = await conn.send(build_request(t.url, "DELETE", f"/v2.0/{res}/{item_id}", t.headers))
            end = time.perf_counter()
            if resp.status != 204:
                result.errors += 1
                result.first_error = result.first_error or f"{resp.status} {resp.body[:200]!r}"
            creates.append(mid - start)
            deletes.append(end - mid)
            result.latencies.append(end - start)

    cpu0 = sum(process_tree_cpu(pid) for pid in t.pids)
    own0, busy0 = time.process_time(), machine_busy_cpu()
    start = time.perf_counter()
    deadline = start + duration
    await asyncio.gather(*(worker(c) for c in conns))
    result.elapsed = time.perf_counter() - start
    result.client_cpu = time.process_time() - own0
    result.machine_busy = machine_busy_cpu() - busy0
    result.server_cpu = sum(process_tree_cpu(pid) for pid in t.pids) - cpu0
    result.count = len(result.latencies)
    for conn in conns:
        conn.close()
    result.extra = {"create_p50": _pct(creates, 50), "create_p99": _pct(creates, 99),
                    "delete_p50": _pct(deletes, 50), "delete_p99": _pct(deletes, 99)}
    return result


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))] * 1000


async def grow(t: Target, network_id: str, have: int, total: int, workers: int = 8) -> tuple[int, float]:
    """Create ports (networks) until ``total`` exist in the benchmark's projects; returns (count, rate)."""
    res = t.resource
    todo = list(range(have, total))
    conns = [Connection(*host_port(t.url)) for _ in range(workers)]
    failures: list[str] = []

    async def worker(conn: Connection) -> None:
        while todo and not failures:
            n = todo.pop()
            project = f"bench{n // PER_PROJECT[res]:04d}"
            resp = await conn.send(build_request(t.url, "POST", f"/v2.0/{res}", t.headers,
                                                 _create_body(t, project, network_id, n)))
            if resp.status != 201:
                failures.append(f"{resp.status} {resp.body[:300]!r}")

    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - start
    for conn in conns:
        conn.close()
    if failures:
        raise RuntimeError(f"{t.name}: growing {res} failed: {failures[0]}")
    return total, (total - have) / elapsed if elapsed else 0.0


async def page_rows(t: Target, n: int, args: argparse.Namespace) -> dict[str, RowResult]:
    """First page and a deep page of GET /v2.0/<resource>?limit=100 with ``n`` items."""
    res = t.resource
    path = f"/v2.0/{res}?limit=100&sort_key=id&sort_dir=asc"
    # A marker ~100 before the end: a keyset page costs the same, an OFFSET page costs O(N).
    ids = [i["id"] for i in (await t.call("GET", f"/v2.0/{res}?fields=id&sort_key=id&sort_dir=asc"))[res]]
    if len(ids) < n:
        raise RuntimeError(f"{t.name}: {len(ids)} {res} listed, expected at least {n}")
    deep = f"{path}&marker={ids[-101]}"

    def full_page(resp: Any) -> bool:
        return len(resp.json()[res]) == 100

    out = {}
    for label, p in (("first", path), ("deep", deep)):
        if args.quiet_wait > 0:
            await wait_quiet(args.quiet_wait)
        out[label] = await run_row(f"GET page ({label}) N={n}", t.url, build_request(t.url, "GET", p, t.headers),
                                   clients=1, duration=args.duration, max_requests=args.max_requests, expect=200,
                                   server_pids=tuple(t.pids), check=full_page)
    return out


async def ipam_row(t: Target, args: argparse.Namespace) -> tuple[RowResult, int]:
    """8 clients allocating from one subnet at once; every address must come out unique."""
    project = "benchipam"
    network_id, _ = await make_network(t, project, "10.200.0.0/16")
    # No port quota for this project on either server: with the default 500 a fast server ran into
    # it within the row and its rate was capped at 500 / duration (the 409s counted as errors).
    await t.call("PUT", f"/v2.0/quotas/{project}", {"quota": {"port": -1}})
    conns = [Connection(*host_port(t.url)) for _ in range(args.clients)]
    result = RowResult("IPAM allocations", args.clients)
    addresses: list[str] = []
    deadline = 0.0

    async def worker(conn: Connection) -> None:
        while time.perf_counter() < deadline and len(addresses) < args.max_requests:
            start = time.perf_counter()
            resp = await conn.send(build_request(t.url, "POST", "/v2.0/ports", t.headers, {
                "port": {"network_id": network_id, "project_id": project}}))
            result.latencies.append(time.perf_counter() - start)
            if resp.status != 201:
                result.errors += 1
                result.first_error = result.first_error or f"{resp.status} {resp.body[:200]!r}"
                continue
            addresses.extend(ip["ip_address"] for ip in resp.json()["port"]["fixed_ips"])

    if args.quiet_wait > 0:
        await wait_quiet(args.quiet_wait)
    cpu0 = sum(process_tree_cpu(pid) for pid in t.pids)
    busy0 = machine_busy_cpu()
    start = time.perf_counter()
    deadline = start + args.duration
    await asyncio.gather(*(worker(c) for c in conns))
    result.elapsed = time.perf_counter() - start
    result.machine_busy = machine_busy_cpu() - busy0
    result.server_cpu = sum(process_tree_cpu(pid) for pid in t.pids) - cpu0
    result.count = len(addresses)
    for conn in conns:
        conn.close()
    return result, len(addresses) - len(set(addresses))


Measured = dict[str, Any]


def measure(t: Target, args: argparse.Namespace) -> Measured:
    async def go() -> Measured:
        out: Measured = {"rows": {}, "resource": t.resource}
        project = "bench0000"
        with_subnet = t.resource == "ports"
        network_id, _ = (await make_network(t, project, "10.10.0.0/16") if with_subnet else ("", None))
        # Warm-up outside the measurement: uWSGI workers (and onestack's caches) do their first-request work.
        await create_delete(t, project, network_id, args.clients, 2.0)
        await one(t.url, "GET", f"/v2.0/{t.resource}?limit=100", t.headers)
        for clients in (1, args.clients):
            if args.quiet_wait > 0:
                await wait_quiet(args.quiet_wait)
            pair = await create_delete(t, project, network_id, clients, args.duration)
            out["rows"][f"create_delete x{clients}"] = pair
            _log(f"{t.name}: {pair.name} x{clients}: {pair.rate:.1f} pairs/s ({pair.errors} errors) {pair.extra}")
            if pair.errors:
                _log(f"  first error: {pair.first_error}")
        have = 0
        for n in args.sizes:
            have, rate = await grow(t, network_id, have, n)
            _log(f"{t.name}: grew to {n} {t.resource} at {rate:.0f}/s (8 clients)")
            out[f"grow_rate {n}"] = rate
            for label, page in (await page_rows(t, n, args)).items():
                out["rows"][f"page {label} N={n}"] = page
                _log(f"{t.name}: page {label} N={n}: p50 {page.percentile(50):.1f} ms "
                     f"p99 {page.percentile(99):.1f} ms ({page.errors} errors)")
        if t.resource == "ports":
            row, dupes = await ipam_row(t, args)
            out["rows"]["ipam"] = row
            out["ipam_duplicates"] = dupes
            _log(f"{t.name}: IPAM x{args.clients}: {row.rate:.1f} allocations/s, {dupes} duplicate addresses, "
                 f"{row.errors} errors")
        return out

    return asyncio.run(go())


def _fmt(value: float, unit: str = "") -> str:
    return "-" if math.isnan(value) else f"{value:.1f}{unit}"  # NaN: not measured


def render(results: list[tuple[Target, Measured]], args: argparse.Namespace) -> str:
    names = [t.name for t, _ in results]
    head = f"{'row':<34}" + "".join(f" | {n:>22}" for n in names) + (" | ratio" if len(results) == 2 else "")
    lines = [head, "-" * len(head)]

    def line(label: str, values: list[float], fmt: Callable[[float], str], higher_better: bool) -> None:
        text = f"{label:<34}" + "".join(f" | {fmt(v):>22}" for v in values)
        if len(values) == 2 and all(not math.isnan(v) and v > 0 for v in values):
            ratio = values[0] / values[1] if higher_better else values[1] / values[0]
            text += f" | {ratio:.2f}x"
        lines.append(text)

    res = results[0][1]["resource"]
    for clients in (1, args.clients):
        key = f"create_delete x{clients}"
        rows = [m["rows"].get(key) for _, m in results]
        line(f"{res[:-1]} create+delete/s x{clients}", [r.rate if r else float("nan") for r in rows],
             lambda v: _fmt(v, "/s"), True)
        line("  create p50 ms", [r.extra["create_p50"] if r else float("nan") for r in rows],
             _fmt, False)
        line("  delete p50 ms", [r.extra["delete_p50"] if r else float("nan") for r in rows],
             _fmt, False)
    for n in args.sizes:
        line(f"grow to {n} {res} (8 clients)", [m.get(f"grow_rate {n}", float("nan")) for _, m in results],
             lambda v: _fmt(v, "/s"), True)
        for label in ("first", "deep"):
            rows = [m["rows"].get(f"page {label} N={n}") for _, m in results]
            line(f"GET {res} limit=100 {label} N={n}", [r.percentile(50) if r else float("nan") for r in rows],
                 lambda v: _fmt(v, " ms p50"), False)
            line("  p99", [r.percentile(99) if r else float("nan") for r in rows], lambda v: _fmt(v, " ms"), False)
    ipam = [m["rows"].get("ipam") for _, m in results]
    if any(ipam):
        line(f"IPAM allocations/s x{args.clients}", [r.rate if r else float("nan") for r in ipam],
             lambda v: _fmt(v, "/s"), True)
        line("  duplicate addresses", [float(m.get("ipam_duplicates", float("nan"))) for _, m in results],
             lambda v: "-" if math.isnan(v) else f"{v:.0f}", True)
    line(f"other CPU x{args.clients} (DB, other programs) %",
         [m["rows"][f"create_delete x{args.clients}"].other_cpu / m["rows"][f"create_delete x{args.clients}"].elapsed
          * 100 for _, m in results], _fmt, False)
    line("server CPU ms per create+delete x1",
         [(m["rows"]["create_delete x1"].server_cpu / max(m["rows"]["create_delete x1"].count, 1) * 1000)
          for _, m in results], _fmt, False)
    return "\n".join(lines)


def boot_rows(n: int) -> dict[str, float]:
    """Boot-to-ACTIVE without a network and with a port (the vif-plugged wait included), one cloud."""
    sys.path.insert(0, str(REPO))
    from bench import compute as compute_bench
    from tests.functional.cloud import make_cloud

    def boots(api: Any, image: str, flavor: str, networks: Any) -> list[float]:
        times, ids = [], []
        for _ in range(n):
            body = compute_bench.boot_body(image, flavor)
            body["server"]["networks"] = networks
            started = time.time()
            server_id = api.req("POST", "/servers", body).json()["server"]["id"]
            deadline = time.monotonic() + 120
            while (server := api.req("GET", f"/servers/{server_id}").json()["server"])["status"] != "ACTIVE":
                if server["status"] == "ERROR" or time.monotonic() > deadline:
                    raise RuntimeError(f"boot with networks={networks!r} ended {server['status']}: {server.get('fault')}")
                time.sleep(0.01)  # polling only learns that the boot is over; launched_at is the figure
            launched = datetime.fromisoformat(server["OS-SRV-USG:launched_at"]).replace(tzinfo=UTC)
            times.append((launched.timestamp() - started) * 1000)
            ids.append(server_id)
        for server_id in ids:
            api.req("DELETE", f"/servers/{server_id}")
        return times

    with tempfile.TemporaryDirectory(prefix="bench-network-boot-") as tmp:
        cloud = make_cloud(Path(tmp), compute_bench.ENV)
        cloud.start()
        try:
            api = compute_bench.Api(cloud)
            image, flavor = compute_bench.prepare(api)
            nets = api.req("GET", "/v2.0/networks?name=shared", service="networking").json()["networks"]
            if not nets:
                raise RuntimeError("no 'shared' network: the cloud did not bootstrap DevStack's networks")
            bare = boots(api, image, flavor, "none")
            wired = boots(api, image, flavor, [{"uuid": nets[0]["id"]}])
        finally:
            cloud.stop()
    pct = compute_bench.pct
    return {"bare_p50": pct(bare, 0.5), "bare_p99": pct(bare, 0.99),
            "port_p50": pct(wired, 0.5), "port_p99": pct(wired, 0.99)}


def machine_facts() -> str:
    cpu = platform.processor() or platform.machine()
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores ({cpu}), "
            f"Python {platform.python_version()}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cache = Path(os.environ.get("ONESTACK_CACHE") or REPO / ".onestack-cache")
    p.add_argument("--against-neutron", action="store_true", help="run the same load against Neutron too")
    p.add_argument("--neutron-only", action="store_true", help="measure only Neutron (debugging the set-up)")
    p.add_argument("--neutron-venv", type=Path, default=cache / "neutron-venv")
    p.add_argument("--onestack-db", choices=("postgresql", "mariadb"), default="postgresql",
                   help="onestack's database on the local server (Neutron always uses MariaDB: its "
                        "migrations are MySQL-only)")
    p.add_argument("--write-threads", type=int, default=0,
                   help="onestack's database.write_threads (default: the server's default, 1)")
    p.add_argument("--api-workers", type=int, default=0,
                   help="run onestack as `serve identity network --api-workers N` on RabbitMQ (default 0: "
                        "`onestack up`, one process)")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients of the second row of each")
    p.add_argument("--duration", type=float, default=8.0, help="seconds per row")
    p.add_argument("--max-requests", type=int, default=50000, help="request cap per row")
    p.add_argument("--sizes", default="1000,10000", help="list sizes at which to time pages (comma-separated)")
    p.add_argument("--quiet-wait", type=float, default=10.0,
                   help="before each row, wait up to this many seconds for other CPU load to settle (0: don't)")
    p.add_argument("--boot", type=int, default=0,
                   help="also N boots with and without a port on onestack (needs the network agent)")
    p.add_argument("--skip-rows", action="store_true", help="only the --boot figures")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dirs and logs")
    p.add_argument("--json", type=Path, help="also write the raw results here")
    return p


def _run_all(args: argparse.Namespace, tmp: Path) -> list[tuple[Target, Measured]]:
    results: list[tuple[Target, Measured]] = []
    resource = "ports"
    if not args.neutron_only:
        target = start_onestack(tmp, args.onestack_db, args.write_threads, args.api_workers)
        try:
            if not asyncio.run(_has_ports(target)):
                resource = target.resource = "networks"
                target.note += "; no ports API yet: networks measured instead of ports"
                _log("onestack has no /v2.0/ports yet: measuring networks on both servers")
            results.append((target, measure(target, args)))
        finally:
            target.stop()
    if args.against_neutron:
        neutron = start_neutron(args.neutron_venv, tmp)
        neutron.resource = resource
        try:
            results.append((neutron, measure(neutron, args)))
        finally:
            neutron.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.against_neutron = args.against_neutron or args.neutron_only
    if args.against_neutron:  # install first, so the install never competes with a measurement
        _neutron.ensure_venv(args.neutron_venv)
    facts = machine_facts()
    tmp = Path(tempfile.mkdtemp(prefix="onestack-bench-net-"))
    started = time.monotonic()
    try:
        results = [] if args.skip_rows else _run_all(args, tmp)
        boot = boot_rows(args.boot) if args.boot else {}
    finally:
        if args.keep:
            _log(f"kept data dirs and logs in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nnetwork benchmark — {facts}")
    for t, _ in results:
        print(f"  {t.name}: {t.note}")
    if results:
        print()
        print(render(results, args))
    if boot:
        print(f"\nonestack boot-to-ACTIVE, {args.boot} sequential boots each (fake driver):")
        print(f"  without a network: p50 {boot['bare_p50']:.1f} ms, p99 {boot['bare_p99']:.1f} ms")
        print(f"  with a port:       p50 {boot['port_p50']:.1f} ms, p99 {boot['port_p99']:.1f} ms "
              "(port create + bind + agent wiring + network-vif-plugged)")
    print(f"\n(total {time.monotonic() - started:.0f} s; ratio = onestack over Neutron, >1 is onestack better)")
    if args.json:
        raw: dict[str, Any] = {t.name: {k: (v.rate if isinstance(v, RowResult) else v) for k, v in m["rows"].items()}
                               for t, m in results}
        args.json.write_text(json.dumps({**raw, "boot": boot}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
