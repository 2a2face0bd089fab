"""4 KiB PUT or GET storms against onestack: objects/s and the server's CPU time per request, optional py-spy.

    python bench/object_put_cpu.py                                    # 1 replica, 1 and 8 clients
    python bench/object_put_cpu.py --op GET --clients 1               # GETs of 200 objects written first
    python bench/object_put_cpu.py --replicas 3 --rounds 2 --spy /tmp/put   # + py-spy raw profiles
    python bench/object_put_cpu.py --tree /tmp/base-checkout          # another checkout's code

Starts its own ``onestack up`` (temp data dir; ``ONESTACK_TEST_DB`` as the tests), PUTs 4 KiB
objects for ``--duration`` seconds per row with bench/object_store.py's HTTP client, and prints
per row: objects/s, the server process's CPU (user + system, all threads) per PUT, and the load
average. ``--op GET`` writes ``--objects`` 4 KiB objects first, then GETs them round robin. On a shared machine throughput swings with the load and CPU per PUT much less: compare
CPU per PUT, and only between trees run one after the other. ``--spy PREFIX`` records each row
with py-spy (``--threads --nonblocking``, raw format: ``PREFIX-<op>-r<replicas>-c<clients>.txt``).
``--tree`` runs another checkout's onestack (e.g. ``git archive`` of the base commit) with this
load, so before and after run minutes apart. Results: docs/performance.md (object storage).
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


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tree", default=str(Path(__file__).resolve().parent.parent), help="onestack checkout to run")
    p.add_argument("--replicas", type=int, default=1)
    p.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    p.add_argument("--duration", type=float, default=8.0, help="seconds per row")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--op", choices=("PUT", "GET"), default="PUT")
    p.add_argument("--objects", type=int, default=200, help="objects written before a GET storm")
    p.add_argument("--spy", default="", help="py-spy raw profiles to PREFIX-r<replicas>-c<clients>.txt")
    args = p.parse_args()
    tree = Path(args.tree).resolve()
    sys.path[:0] = [str(tree), str(tree / "bench")]
    os.chdir(tree)
    import object_store as bench  # the other tree's bench module and test helpers

    from tests.functional import cloud as cloudmod

    cloudmod.REPO = tree  # the cloud process runs from that tree (``python -m onestack`` in its dir)
    spy_bin = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    with tempfile.TemporaryDirectory(prefix="object-put-cpu-") as tmp:
        cloud = cloudmod.make_cloud(Path(tmp), extra_env={
            **bench.ENV, "ONESTACK_OBJECT_STORE__REPLICAS": str(args.replicas), "PYTHONPATH": str(tree)})
        cloud.start(timeout=180)
        try:
            target = bench._onestack_targets(cloud)[0][0]
            bench._ensure_container(target, "storm")
            assert cloud.proc is not None
            pid = cloud.proc.pid

            def putter(tag: str):  # type: ignore[no-untyped-def]
                async def put(conn, n):  # type: ignore[no-untyped-def]
                    path, headers = target.address("PUT", "storm", f"{tag}-{n}")
                    status, _ = await conn.request("PUT", path, headers, 4096)
                    return status, 4096
                return put

            async def get(conn, n):  # type: ignore[no-untyped-def]
                path, headers = target.address("GET", "storm", f"warm-{n % args.objects}")
                return await conn.request("GET", path, headers)

            asyncio.run(bench._run(target, 1, putter("warm"),
                                   lambda _c, n, _t: n < (args.objects if args.op == "GET" else 30)))
            for rnd in range(args.rounds):
                for clients in args.clients:
                    spy = None
                    if args.spy:
                        out = f"{args.spy}-{args.op.lower()}-r{args.replicas}-c{clients}.txt"
                        spy = subprocess.Popen([spy_bin, "record", "--pid", str(pid), "--rate", "250", "--format",
                                                "raw", "--threads", "--nonblocking", "--duration",
                                                str(int(args.duration) + 2), "-o", out],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        time.sleep(1.0)  # py-spy attaches
                    load, before = os.getloadavg()[0], cpu_seconds(pid)
                    work = get if args.op == "GET" else putter(f"r{rnd}c{clients}-{time.time_ns()}")
                    m = asyncio.run(bench._run(target, clients, work, lambda _c, _n, t: t < args.duration))
                    used = cpu_seconds(pid) - before
                    if spy is not None:
                        spy.wait()
                    print(f"{tree.name}: {args.replicas} replica(s), {clients} client(s), round {rnd}: "
                          f"{m.done / m.seconds:.0f} obj/s, {used / max(1, m.done) * 1000:.2f} ms server CPU "
                          f"per {args.op}, load average {load:.1f}" + (f", FAILED: {m.errors[0]}" if m.errors else ""),
                          flush=True)
        finally:
            cloud.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
