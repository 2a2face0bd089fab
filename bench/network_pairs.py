"""Port create+delete pairs against a fresh onestack: server CPU and SQL statements per pair.

    python bench/network_pairs.py [--pairs 100] [--clients 1] [--profile out.txt]

Starts onestack as bench/network.py does (PostgreSQL, a database of its own), makes a network
with a /16, runs 20 warm-up pairs, then ``--pairs`` pairs split over ``--clients`` connections,
and prints pairs/s, the server's CPU per pair, the SQL statements it ran per pair (counted by
bench/_count_statements) and the create/delete p50. ``--profile`` records the pairs with py-spy
(collapsed stacks). Run it from two checkouts one after the other to compare them under the same
machine load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import network as nb
from _load import Connection, build_request, host_port, process_tree_cpu
from _onestack_net import Target, start_onestack


def _count(path: Path) -> int:
    time.sleep(0.5)  # the counter is written every 0.2 s
    try:
        return int(path.read_text() or 0)
    except (OSError, ValueError):
        return 0


def _py_spy(pid: int, out: Path, gil: bool) -> subprocess.Popen[bytes]:
    return subprocess.Popen([shutil.which("py-spy") or "py-spy", "record", "--pid", str(pid), "-r", "200",
                             "-f", "raw", "-o", str(out), "--nonblocking", *(["--gil"] if gil else [])],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _pairs(t: Target, args: argparse.Namespace, counter: Path) -> None:
    project = "b" * 32
    net, _ = await nb.make_network(t, project, "10.0.0.0/16")
    body = {"port": {"network_id": net, "project_id": project}}
    for _ in range(20):
        port = await t.call("POST", "/v2.0/ports", body, 201)
        await t.call("DELETE", f"/v2.0/ports/{port['port']['id']}", None, 204)
    spy = _py_spy(t.pids[0], args.profile, args.gil) if args.profile else None
    creates: list[float] = []
    deletes: list[float] = []

    async def worker(n: int) -> None:
        conn = Connection(*host_port(t.url))
        for _ in range(n):
            start = time.perf_counter()
            resp = await conn.send(build_request(t.url, "POST", "/v2.0/ports", t.headers, body))
            if resp.status != 201:
                raise RuntimeError(f"create answered {resp.status}: {resp.body[:200]!r}")
            mid = time.perf_counter()
            resp = await conn.send(build_request(t.url, "DELETE", f"/v2.0/ports/{resp.json()['port']['id']}",
                                                 t.headers))
            if resp.status != 204:
                raise RuntimeError(f"delete answered {resp.status}: {resp.body[:200]!r}")
            creates.append(mid - start)
            deletes.append(time.perf_counter() - mid)
        conn.close()

    statements0, cpu0, start = _count(counter), process_tree_cpu(t.pids[0]), time.perf_counter()
    await asyncio.gather(*(worker(args.pairs // args.clients) for _ in range(args.clients)))
    elapsed, cpu = time.perf_counter() - start, process_tree_cpu(t.pids[0]) - cpu0
    statements = _count(counter) - statements0
    if spy is not None:
        spy.send_signal(2)
        spy.wait()
    n = len(creates)
    creates.sort()
    deletes.sort()
    print(f"{n} pairs, {args.clients} client(s): {n / elapsed:.1f} pairs/s, server CPU {cpu / n * 1000:.1f} ms "
          f"and {statements / n if not args.api_workers else float('nan'):.1f} SQL statements per pair, create p50 {creates[n // 2] * 1000:.1f} ms, "
          f"delete p50 {deletes[n // 2] * 1000:.1f} ms")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", type=int, default=100)
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--profile", type=Path, help="py-spy collapsed stacks of the server during the pairs")
    p.add_argument("--gil", action="store_true", help="with --profile: only samples holding the GIL (CPU in Python)")
    p.add_argument("--api-workers", type=int, default=0,
                   help="onestack as `serve identity network --api-workers N` (default 0: `onestack up`)")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="onestack-pairs-"))
    counter = tmp / "statements"
    here = str(Path(__file__).resolve().parent / "_count_statements")
    if not args.api_workers:  # its counting thread would stop `serve --api-workers` from forking
        os.environ["ONESTACK_BENCH_COUNT_FILE"] = str(counter)
        os.environ["PYTHONPATH"] = os.pathsep.join(x for x in (here, os.environ.get("PYTHONPATH", "")) if x)
    t = start_onestack(tmp, "postgresql", api_workers=args.api_workers)
    try:
        asyncio.run(_pairs(t, args, counter))
    finally:
        t.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
