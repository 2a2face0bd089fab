"""Identity benchmark: token issue, token validation and project listing, onestack vs Keystone.

    python bench/identity.py                      # starts its own onestack in a temp dir
    python bench/identity.py --against-keystone   # same load, same run, against Keystone 30
    python bench/identity.py --url http://127.0.0.1:5000 --data-dir ~/.local/share/onestack

Each row runs for a fixed time (bounded by a request cap) with 1 and with 8 concurrent
clients (= connections). See bench/README.md and docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _keystone
import _reference
from _load import Response, RowResult, build_request, one, run_row, wait_quiet

REPO = Path(__file__).resolve().parent.parent
ROWS = [("token issue", "issue"), ("token validate", "validate"), ("GET /v3/projects", "projects")]


@dataclass
class Target:
    """A server under test, reachable at ``url`` (the identity root: ``url + /v3/...``)."""

    name: str
    url: str
    admin_password: str
    demo_password: str
    pids: list[int] = field(default_factory=list)
    stop: Callable[[], None] = lambda: None
    note: str = ""


def password_auth(user: str, password: str, project: str) -> dict[str, Any]:
    return {"auth": {
        "identity": {"methods": ["password"], "password": {
            "user": {"name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}},
    }}


async def get_token(url: str, user: str, password: str, project: str) -> str:
    resp = await one(url, "POST", "/v3/auth/tokens", body=password_auth(user, password, project))
    if resp.status != 201:
        raise RuntimeError(f"{url}: cannot get a token for {user}: {resp.status} {resp.body[:300]!r}")
    return resp.headers["x-subject-token"]


def _log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"onestack exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if asyncio.run(one(url, "GET", "/healthz")).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)  # polling a starting server; there is no event to wait on
    raise RuntimeError(f"onestack did not become healthy within {timeout:.0f}s; see {log}")


def start_onestack(data_dir: Path, rounds: int) -> Target:
    """``onestack up`` on a free 127.0.0.1 port with default settings except the bcrypt cost."""
    data_dir.mkdir(parents=True, exist_ok=True)
    secrets_file = data_dir / "secrets.json"
    password = json.loads(secrets_file.read_text())["admin"] if secrets_file.exists() else secrets.token_hex(12)
    port = _reference.free_port()
    log = data_dir / "onestack-bench.log"
    env = {**os.environ, "ONESTACK_IDENTITY__PASSWORD_HASH_ROUNDS": str(rounds)}
    cmd = [sys.executable, "-m", "onestack", "up", "--data-dir", str(data_dir), "--host", "127.0.0.1",
           "--port", str(port), "--admin-password", password]
    with open(log, "ab") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc, log)
    except BaseException:
        stop()
        raise
    pw = json.loads(secrets_file.read_text())
    return Target("onestack", f"{base}/identity", pw["admin"], pw.get("demo", pw["admin"]), [proc.pid], stop)


def attach_onestack(url: str, data_dir: Path | None, admin_password: str | None) -> Target:
    pw: dict[str, str] = {}
    if data_dir is not None and (data_dir / "secrets.json").exists():
        pw = json.loads((data_dir / "secrets.json").read_text())
    admin = admin_password or pw.get("admin")
    if not admin:
        raise SystemExit("--url needs --data-dir (for secrets.json) or --admin-password")
    ident = url.rstrip("/")
    ident = ident if ident.endswith("/identity") else ident + "/identity"
    return Target("onestack", ident, admin, pw.get("demo", admin), note="attached to a running server")


async def _keystone_demo(url: str, admin_password: str, demo_password: str) -> None:
    """Give Keystone the same cast onestack bootstraps: demo, alt_demo and service projects, demo user."""
    admin = {"X-Auth-Token": await get_token(url, "admin", admin_password, "admin")}
    roles = (await one(url, "GET", "/v3/roles?name=member", admin)).json()["roles"]
    for name in ("demo", "alt_demo", "service"):
        resp = await one(url, "POST", "/v3/projects", admin, {"project": {"name": name, "domain_id": "default"}})
        if resp.status != 201:
            raise RuntimeError(f"Keystone: creating project {name}: {resp.status} {resp.body[:300]!r}")
        if name == "demo":
            project_id = resp.json()["project"]["id"]
    resp = await one(url, "POST", "/v3/users", admin, {"user": {
        "name": "demo", "domain_id": "default", "password": demo_password, "default_project_id": project_id}})
    if resp.status != 201:
        raise RuntimeError(f"Keystone: creating user demo: {resp.status} {resp.body[:300]!r}")
    user_id = resp.json()["user"]["id"]
    resp = await one(url, "PUT", f"/v3/projects/{project_id}/users/{user_id}/roles/{roles[0]['id']}", admin)
    if resp.status != 204:
        raise RuntimeError(f"Keystone: granting member on demo: {resp.status} {resp.body[:300]!r}")


def start_keystone(venv: Path, workdir: Path, rounds: int) -> Target:
    password = secrets.token_hex(12)
    ks = _keystone.start(venv, workdir, rounds=rounds, admin_password=password)
    try:
        asyncio.run(_keystone_demo(ks.url, password, password))
    except BaseException:
        ks.stop()
        raise
    pids = [ks.pid] + [p.pid for p in ks.procs if p.pid != ks.pid]  # uWSGI tree + memcached

    def stop() -> None:
        stats = _keystone.memcached_stats(ks.memcached_port)
        _log(f"keystone's memcached: {stats.get('get_hits', '?')} hits, {stats.get('get_misses', '?')} misses, "
             f"{stats.get('cmd_set', '?')} sets")
        ks.stop()

    return Target(f"keystone {ks.version}", ks.url, password, password, pids, stop,
                  note=f"Keystone {ks.version}, uWSGI {_keystone.WORKERS} workers, memcached, SQLite")


async def prepare(t: Target) -> dict[str, bytes]:
    """The request bytes of each row, after checking each answers as a real client expects."""
    admin = await get_token(t.url, "admin", t.admin_password, "admin")
    demo = await get_token(t.url, "demo", t.demo_password, "demo")
    reqs = {
        "issue": build_request(t.url, "POST", "/v3/auth/tokens", body=password_auth("demo", t.demo_password, "demo")),
        "validate": build_request(t.url, "GET", "/v3/auth/tokens", {"X-Auth-Token": admin, "X-Subject-Token": demo}),
        "projects": build_request(t.url, "GET", "/v3/projects", {"X-Auth-Token": admin}),
    }
    checks: dict[str, Callable[[Response], bool]] = {
        "validate": lambda r: r.status == 200 and bool(r.json()["token"].get("catalog")),
        "projects": lambda r: r.status == 200 and len(r.json()["projects"]) >= 4,
    }
    for key, check in checks.items():
        resp = await one(t.url, "GET", "/v3/projects" if key == "projects" else "/v3/auth/tokens",
                         {"X-Auth-Token": admin} if key == "projects" else
                         {"X-Auth-Token": admin, "X-Subject-Token": demo})
        if key == "projects" and resp.status == 404:
            _log(f"{t.name}: GET /v3/projects is not implemented (404); skipping that row")
            del reqs[key]
        elif not check(resp):
            raise RuntimeError(f"{t.name}: {key} does not answer as expected: {resp.status} {resp.body[:300]!r}")
    return reqs


def measure(t: Target, args: argparse.Namespace) -> dict[tuple[str, int], RowResult]:
    async def go() -> dict[tuple[str, int], RowResult]:
        reqs = await prepare(t)
        out: dict[tuple[str, int], RowResult] = {}
        for label, key in ROWS:
            for clients in (1, args.clients):
                if key not in reqs or key not in args.rows:
                    continue
                duration = args.issue_duration if key == "issue" else args.duration
                expect = 201 if key == "issue" else 200
                if args.quiet_wait > 0:
                    busy = await wait_quiet(args.quiet_wait)
                    if busy >= 0.25:
                        _log(f"machine still busy ({busy * 100:.0f}% of a core) after {args.quiet_wait:g} s; measuring anyway")
                row = await run_row(label, t.url, reqs[key], clients=clients, duration=duration,
                                    max_requests=args.max_requests, expect=expect,
                                    server_pids=tuple(t.pids))
                out[(key, clients)] = row
                _log(f"{t.name}: {label} x{clients}: {row.rate:.1f}/s p50 {row.percentile(50):.1f} ms "
                     f"p99 {row.percentile(99):.1f} ms ({row.count} requests, {row.errors} errors; "
                     f"server {row.server_ms_per_request:.2f} / client {row.client_cpu / max(row.count, 1) * 1000:.2f} "
                     f"CPU ms per request; other load {row.other_cpu / row.elapsed * 100:.0f}% of a core; "
                     f"{row.reconnects} reconnects)")
                if row.errors:
                    _log(f"  first error: {row.first_error}")
        if args.profile and t.name == "onestack" and t.pids:
            await profile_rows(t, reqs, args)
        return out

    return asyncio.run(go())


async def profile_rows(t: Target, reqs: dict[str, bytes], args: argparse.Namespace) -> None:
    """Re-run the concurrent validate and list rows under py-spy --gil (not in the table: py-spy costs CPU).

    ``--gil`` samples only the thread holding the GIL: in one Python process that is the
    bottleneck, so the profile shows what limits throughput rather than threads waiting."""
    args.profile.mkdir(parents=True, exist_ok=True)
    for key in ("validate", "projects"):
        if key not in reqs:
            continue
        out = args.profile / f"onestack-{key}-x{args.clients}.collapsed"
        spy = await asyncio.create_subprocess_exec(
            "py-spy", "record", "-p", str(t.pids[0]), "-o", str(out), "-f", "raw",
            "-r", "250", "-d", str(int(args.duration) + 2), "--gil",
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        await asyncio.sleep(1.0)  # py-spy needs a moment to attach; nothing to poll for
        row = await run_row(key, t.url, reqs[key], clients=args.clients, duration=args.duration,
                            max_requests=args.max_requests, expect=200, server_pids=tuple(t.pids))
        _, err = await spy.communicate()
        _log(f"profiled {key} x{args.clients} under py-spy ({row.rate:.0f}/s): {out}"
             + (f" ({err.decode()[-300:]})" if spy.returncode else ""))


def render(results: list[tuple[Target, dict[tuple[str, int], RowResult]]], args: argparse.Namespace) -> str:
    head = f"{'row':<18}{'clients':>8}"
    for t, _ in results:
        head += f" | {t.name[:18]:<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'srv ms/req':>10} {'bg%':>4}"
    if len(results) == 2:
        head += f" | {'ratio req/s':>11}"
    lines = [head, "-" * len(head)]
    for label, key in ROWS:
        for clients in (1, args.clients):
            if key not in args.rows:
                continue
            line = f"{label:<18}{clients:>8}"
            for t, res in results:
                if (key, clients) not in res:
                    line += f" | {'':<18} {'n/a':>8} {'':>8} {'':>8} {'':>10} {'':>4}"
                    continue
                r = res[(key, clients)]
                err = f" ({r.errors} errors)" if r.errors else ""
                line += (f" | {'':<18} {r.rate:>8.1f} {r.percentile(50):>8.1f} {r.percentile(99):>8.1f}"
                         f" {r.server_ms_per_request:>10.2f} {r.other_cpu / r.elapsed * 100:>4.0f}{err}")
            if len(results) == 2 and all((key, clients) in res for _, res in results):
                a, b = (res[(key, clients)].rate for _, res in results)
                line += f" | {a / b if b else float('nan'):>10.1f}x"
            lines.append(line)
    return "\n".join(lines)


def machine_facts(args: argparse.Namespace) -> str:
    return (f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()} "
            f"{platform.release()}; bcrypt cost {args.rounds}; {args.duration:g} s per row "
            f"({args.issue_duration:g} s for issue rows), at most {args.max_requests} requests per row; "
            f"{time.strftime('%Y-%m-%d %H:%M %Z')}")


Results = list[tuple[Target, dict[tuple[str, int], RowResult]]]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="an already running onestack (base URL); default: start one")
    p.add_argument("--data-dir", type=Path, help="onestack data dir (its secrets.json gives the passwords)")
    p.add_argument("--admin-password", help="admin (and demo) password of the --url server")
    p.add_argument("--server-pid", type=int, help="pid of the --url server, to measure its CPU per request")
    p.add_argument("--against-keystone", action="store_true", help="run the same load against Keystone too")
    p.add_argument("--keystone-only", action="store_true", help="measure only Keystone (debugging the set-up)")
    p.add_argument("--keystone-venv", type=Path, default=REPO / ".onestack-cache" / "keystone-venv")
    p.add_argument("--rounds", type=int, default=12, help="bcrypt cost for both servers (default 12)")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients for the second row of each")
    p.add_argument("--duration", type=float, default=8.0, help="seconds per validation/list row")
    p.add_argument("--issue-duration", type=float, default=10.0, help="seconds per token issue row")
    p.add_argument("--max-requests", type=int, default=50000, help="request cap per row")
    p.add_argument("--quiet-wait", type=float, default=20.0,
                   help="before each row, wait up to this many seconds for other CPU load to settle (0: don't)")
    p.add_argument("--profile", type=Path, help="also profile onestack's validate/list rows with py-spy into DIR")
    p.add_argument("--keep", action="store_true", help="keep the temporary data dirs and logs")
    p.add_argument("--rows", default="issue,validate,projects",
                   help="which rows to run (comma-separated from: issue, validate, projects)")
    p.add_argument("--json", type=Path, help="also write the raw results here")
    return p


def _run_all(args: argparse.Namespace, tmp: Path) -> Results:
    results: Results = []
    if not args.keystone_only:
        if args.url:
            target = attach_onestack(args.url, args.data_dir, args.admin_password)
            target.pids = [args.server_pid] if args.server_pid else []
        else:
            target = start_onestack(args.data_dir or tmp / "onestack", args.rounds)
        try:
            results.append((target, measure(target, args)))
        finally:
            target.stop()
    if args.against_keystone:
        ks = start_keystone(args.keystone_venv, tmp / "keystone", args.rounds)
        try:
            results.append((ks, measure(ks, args)))
        finally:
            ks.stop()
    return results


def _report(results: Results, args: argparse.Namespace, facts: str, elapsed: float) -> None:
    print(f"\nidentity benchmark — {facts}")
    for t, _ in results:
        if t.note:
            print(f"  {t.name}: {t.note}")
    print()
    print(render(results, args))
    print(f"\n(total {elapsed:.0f} s; 'srv ms/req' = server CPU time per request, all its processes; "
          "'bg%' = CPU used by other programs during the row, in % of one core: should be near 0)")
    if args.json:
        args.json.write_text(json.dumps({"facts": facts, "results": {
            t.name: {f"{k}x{c}": {"rate": r.rate, "p50_ms": r.percentile(50), "p99_ms": r.percentile(99),
                                  "count": r.count, "errors": r.errors,
                                  "server_ms_per_request": r.server_ms_per_request, "bg_percent":
                                  r.other_cpu / r.elapsed * 100 if r.elapsed else None}
                     for (k, c), r in res.items()} for t, res in results}}, indent=2))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.rows = set(args.rows.split(","))
    args.against_keystone = args.against_keystone or args.keystone_only
    if args.profile and not shutil.which("py-spy"):
        raise SystemExit("--profile needs py-spy: pip install py-spy")
    if args.against_keystone:  # install first, so the install never competes with a measurement
        _keystone.ensure_venv(args.keystone_venv)
        _reference.ensure_memcached()
    facts = machine_facts(args)  # the date is the start of the run
    tmp = Path(tempfile.mkdtemp(prefix="onestack-bench-"))
    started = time.monotonic()
    try:
        results = _run_all(args, tmp)
    finally:
        if args.keep:
            _log(f"kept data dirs and logs in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    _report(results, args, facts, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
