"""Command line of tools/conformance: which passes to run, against which onestack, what to write."""

from __future__ import annotations

import argparse
import datetime
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from conformance_lib import TEMPEST_VERSION, cloud, report, runner, tempest_conf
from conformance_lib.image_server import PATH, image_server
from conformance_lib.results import PassResult
from conformance_lib.venv import REPO, cache_dir, ensure_tempest

PASSES = ("normal", "security-compliance", "image-multistore")
# The service each non-default pass re-runs (with the settings of ``_pass_config``).
PASS_SERVICE = {"security-compliance": "identity", "image-multistore": "image"}
KEEP_RUNS = 6
EXCLUDE_FILE = REPO / "conformance" / "exclude.txt"


def parse_excludes(text: str) -> list[tuple[str, str]]:
    """``regex  # reason`` lines; a line starting with ``#`` is a comment. A reason is required."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        regex, sep, reason = line.partition(" #")
        if not sep or not reason.strip():
            raise SystemExit(f"conformance: {EXCLUDE_FILE}:{number}: an exclusion needs '  # reason'")
        entries.append((regex.strip(), reason.strip()))
    return entries


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tools/conformance",
        description=f"Run Tempest {TEMPEST_VERSION} against onestack and rewrite docs/conformance.md.")
    p.add_argument("--service", action="append", choices=[*sorted(tempest_conf.SERVICES), "all"],
                   help="service area to test (repeatable); 'all' (the default) is every service the "
                        "cloud's catalog lists")
    p.add_argument("--regex", help="only tests whose id matches this regex (narrows --service)")
    p.add_argument("--passes",
                   help="comma list of passes: normal, security-compliance, image-multistore (default: all "
                        "three, each for the services it covers; with --url only "
                        "normal unless given)")
    p.add_argument("--url", help="use this running onestack (server root or identity URL) instead of starting one")
    p.add_argument("--data-dir", type=Path, help="data dir of the running onestack (clouds.yaml, secrets.json)")
    p.add_argument("--admin-password", help="admin password of the running onestack (default: secrets.json)")
    p.add_argument("--tempest-venv", type=Path, help=f"existing virtualenv with tempest=={TEMPEST_VERSION}")
    p.add_argument("--system-scope", action="store_true",
                   help="Tempest drives admin APIs with system-scoped tokens ([identity] use_system_token, "
                        "[enforce_scope] keystone = True) instead of project-scoped admin tokens")
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed for each pass")
    p.add_argument("--test-timeout", type=int, default=300, help="seconds allowed for each test")
    p.add_argument("--docs", type=Path, default=REPO / "docs" / "conformance.md")
    p.add_argument("--write-docs", action="store_true",
                   help="rewrite --docs after any run (by default only a run without --regex, --url, "
                        "--data-dir, --passes or --system-scope does)")
    p.add_argument("--no-docs", action="store_true", help="never rewrite --docs")
    p.add_argument("--failures-file", type=Path, help="also write failing tests, grouped by module, here")
    p.add_argument("--summary-file", type=Path,
                   help="also write one line per service, '<service>\\t<verdict>', for CI to read")
    p.add_argument("-v", "--verbose", action="store_true", help="echo every Tempest output line")
    return p


def pass_regex(services: list[str], user_regex: str | None, extra: str | None = None) -> str:
    """One regex for ``tempest run``: the service prefixes, AND ``user_regex``, AND ``extra``."""
    prefixes = "|".join(tempest_conf.SERVICES[s].test_prefix.replace(".", r"\.") + r"\." for s in services)
    looks = "".join(f"(?=.*(?:{r}))" for r in (user_regex, extra) if r)
    return f"^{looks}(?:{prefixes})"


def _commit() -> str:
    def git(*args: str) -> str:
        try:
            proc = subprocess.run(["git", *args], check=False, cwd=REPO, capture_output=True, text=True)
        except OSError:  # no git on this machine
            return ""
        return proc.stdout.strip() if proc.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+local changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def _run_dir() -> Path:
    """A fresh directory for this run's workspaces and logs; older runs beyond a few are pruned."""
    runs = cache_dir() / "conformance-runs"
    runs.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    old = sorted(runs.iterdir(), key=lambda p: p.stat().st_mtime)
    for stale in old[: max(0, len(old) - KEEP_RUNS)]:
        shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{stamp}-", dir=runs))


def _passes(args: argparse.Namespace) -> list[str]:
    if args.passes is None:
        # A running cloud's settings are its own, so the SC pass against one is opt-in.
        return ["normal"] if args.url or args.data_dir else list(PASSES)
    wanted = [p.strip() for p in args.passes.split(",") if p.strip()]
    unknown = set(wanted) - set(PASSES)
    if unknown:
        raise SystemExit(f"conformance: unknown pass {', '.join(sorted(unknown))}; choose from {', '.join(PASSES)}")
    return wanted


def _explicit(args: argparse.Namespace) -> set[str] | None:
    """The services named with --service, or None for "whatever the catalog offers"."""
    if not args.service or "all" in args.service:
        return None
    return set(args.service)


def _selected(args: argparse.Namespace, offered: list[str]) -> list[str]:
    explicit = _explicit(args)
    if explicit is None:
        return offered or ["identity"]
    missing = sorted(explicit - set(offered))
    if missing:
        # Tempest will skip them ([service_available] is False); say so rather than look green.
        print(f"conformance: not in the catalog, so Tempest will skip: {', '.join(missing)}", flush=True)
    return sorted(explicit)


def _spec(args: argparse.Namespace, name: str, offered: list[str]) -> runner.PassSpec | None:
    """The pass's tests: --service (default: what the catalog offers), narrowed by --regex.

    The non-default passes re-run one service's whole suite against a cloud with other
    settings: everything must still pass there, not only the tests that look at them.
    """
    services = _selected(args, offered)
    excludes = parse_excludes(EXCLUDE_FILE.read_text()) if EXCLUDE_FILE.exists() else []
    if name == "normal":
        return runner.PassSpec(name, pass_regex(services, args.regex), None, excludes, args.system_scope,
                               tuple(services))
    service = PASS_SERVICE[name]
    if service not in services:
        return None
    security = tempest_conf.SecurityCompliance() if name == "security-compliance" else None
    return runner.PassSpec(name, pass_regex([service], args.regex), security, excludes, args.system_scope,
                           (service,))


def _pass_config(name: str) -> str | None:
    """The ``onestack up --config`` file of a pass (None: defaults)."""
    if name == "security-compliance":
        return tempest_conf.SecurityCompliance().onestack_toml()
    if name == "image-multistore":
        return tempest_conf.ImageOptions().onestack_toml()
    return tempest_conf.ComputeOptions().onestack_toml()


def _one_pass(args: argparse.Namespace, venv: Path, name: str, run_dir: Path) -> PassResult | None:
    explicit = _explicit(args)
    if name in PASS_SERVICE and explicit is not None and PASS_SERVICE[name] not in explicit:
        return None  # that pass only re-runs another service; no cloud needed
    workdir = run_dir / name
    workdir.mkdir()
    # Tempest's http_image (web-download); an attached cloud must allow its port itself.
    web = image_server()
    if args.url or args.data_dir:
        target = cloud.attach(args.url, args.data_dir, args.admin_password)
    else:
        target = cloud.start_onestack(workdir, _pass_config(name), extra_env=web.cloud_env())
        print(f"conformance: [{name}] onestack at {target.base_url} (log {target.log_path})", flush=True)
    try:
        admin = cloud.admin_session(target)
        catalog = set(admin.endpoints)
        offered = [s.name for s in tempest_conf.services_in_catalog(catalog)]
        spec = _spec(args, name, offered)
        if spec is None:
            return None
        # Compute's tests boot the built-in images and volume tests make volumes from them,
        # so they need the image facts too.
        wants_image = bool({"image", "compute", "volume"} & set(spec.services))
        image = cloud.image_facts(target, admin, web.url(PATH)) if wants_image else tempest_conf.ImageFacts()
        if wants_image:
            print(f"conformance: [{name}] image facts: {image}", flush=True)
        compute = cloud.compute_facts(admin) if "compute" in offered else tempest_conf.ComputeFacts()
        if "compute" in offered:
            print(f"conformance: [{name}] compute facts: {compute}", flush=True)
        # Compute's tests boot on the network service's networks too, when the cloud has one.
        network = cloud.network_facts(admin) if "network" in offered else tempest_conf.NetworkFacts()
        if "network" in offered:
            print(f"conformance: [{name}] network facts: {network}", flush=True)
        volume = cloud.volume_facts(admin) if "volume" in offered else tempest_conf.VolumeFacts()
        if "volume" in offered:
            print(f"conformance: [{name}] volume facts: {volume}", flush=True)
        objects = cloud.object_store_facts(admin) if "object-storage" in offered else tempest_conf.ObjectStoreFacts()
        if "object-storage" in offered:
            print(f"conformance: [{name}] object-store facts: {objects}", flush=True)
        result = runner.run_pass(venv, target, spec, workdir / "tempest", catalog, image, args.concurrency,
                                 args.timeout, args.test_timeout, args.verbose, compute, network, volume, objects)
        result.offered = offered
        _print_failures(result, target.log_path)
        return result
    finally:
        target.stop()
        web.close()


def _print_failures(result: PassResult, log_path: Path | None, tail: int = 40) -> None:
    """Each failing test's traceback (its last lines) and the cloud's ERROR records, into the run's
    output: CI keeps only that output, not the run directory. The ERROR records are printed even
    when every test passed (an ERROR in the cloud is a bug a test may not have seen)."""
    for t in result.failures():
        lines = t.traceback.rstrip().splitlines()[-tail:]
        print(f"conformance: [{result.name}] FAILED {t.id}:", flush=True)
        print("".join(f"    {line}\n" for line in lines), end="", flush=True)
    if log_path is not None and log_path.exists():
        with open(log_path, errors="replace") as f:
            errors = error_records(f)
        if errors:
            print(f"conformance: [{result.name}] the cloud's log ({log_path}) has {len(errors)} ERROR records; "
                  f"the last {min(len(errors), tail)}, each with the exceptions its traceback names:", flush=True)
            print("".join(f"    {line}\n" for record in errors[-tail:] for line in record), end="", flush=True)


_RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
_NOT_EXCEPTION = ("Traceback", "The above exception", "During handling", "future:", "task:")


def error_records(lines: Iterable[str]) -> list[list[str]]:
    """The log's ERROR records, each as its first line and the exception lines of its traceback
    (``module.Error: message``; a traceback's frames and source lines are left out)."""
    records: list[list[str]] = []
    current: list[str] | None = None
    for raw in lines:
        line = raw.rstrip()
        if _RECORD_START.match(line):
            current = [line] if " ERROR " in line else None
            if current is not None:
                records.append(current)
        elif current is not None and line and not line[0].isspace() and not line.startswith(_NOT_EXCEPTION):
            current.append("  " + line)
    return records


def _public_args(argv: list[str] | None) -> list[str]:
    """The command line as worth recording: without the local --failures-file / --summary-file paths."""
    args = list(argv if argv is not None else sys.argv[1:])
    for option in ("--failures-file", "--summary-file"):
        if option in args:
            i = args.index(option)
            del args[i: i + 2]
        args = [a for a in args if not a.startswith(f"{option}=")]
    return args


def _summary_line(results: list[PassResult]) -> str:
    parts = []
    for r in results:
        c = r.counts()
        parts.append(f"{r.name}: {sum(c.values())} tests, {c['pass']} passed, {c['fail']} failed, "
                     f"{c['skip']} skipped ({r.seconds / 60:.1f} min)")
    return "; ".join(parts)


def service_verdicts(results: list[PassResult]) -> dict[str, str]:
    """Per service: "passed", or "FAILED (why)" over every pass that ran it."""
    verdicts = {}
    for service in sorted({s for r in results for s in r.covered()}):
        ran = [r for r in results if service in r.covered()]
        failed = sum(r.counts(service)["fail"] for r in ran)
        total = sum(sum(r.counts(service).values()) for r in ran)
        if failed:
            verdicts[service] = f"FAILED ({failed} of {total} tests failed)"
        elif any(not r.counts(service) for r in ran):
            verdicts[service] = "FAILED (no test results)"
        elif any(r.tempest_exit != 0 and not r.counts()["fail"] for r in ran):
            # A non-zero exit is explained by a failing test of any service in the same pass.
            verdicts[service] = "FAILED (tempest run broke; see its log)"
        else:
            c = Counter[str]()
            for r in ran:
                c.update(r.counts(service))
            verdicts[service] = f"passed ({c['pass']} passed, {c['skip']} skipped)"
    return verdicts


def _canonical(args: argparse.Namespace, results: list[PassResult]) -> bool:
    """Own clouds, every test of every offered service, both passes: may rewrite the page."""
    if args.regex or args.url or args.data_dir or args.system_scope or args.passes:
        return False
    return all(set(r.services) >= set(r.offered) for r in results if r.name == "normal")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    venv = ensure_tempest(args.tempest_venv)
    run_dir = _run_dir()
    print(f"conformance: Tempest {TEMPEST_VERSION} from {venv}; run files in {run_dir}", flush=True)
    results = [r for r in (_one_pass(args, venv, name, run_dir) for name in _passes(args)) if r is not None]
    info = report.RunInfo(
        command=shlex.join(["python", "tools/conformance", *_public_args(argv)]),
        commit=_commit(), when=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"))
    if not args.no_docs and (args.write_docs or _canonical(args, results)):
        report.write_doc(args.docs, results, info)
        print(f"conformance: wrote {args.docs}", flush=True)
    if args.failures_file:
        args.failures_file.write_text(report.render_failures(results, info))
        print(f"conformance: wrote {args.failures_file}", flush=True)
    empty = [r.name for r in results if not r.tests]
    # A non-zero exit without a failing test means Tempest itself broke (or timed out).
    broken = [r.name for r in results if r.tempest_exit != 0 and not r.counts()["fail"]]
    failed = sum(r.counts()["fail"] for r in results)
    verdict = "FAILED" if failed or empty or broken else "OK"
    for what, names in (("no test results from", empty), ("tempest run failed without a failing test in", broken)):
        if names:
            print(f"conformance: {what} pass(es) {', '.join(names)}; see {run_dir}", flush=True)
    verdicts = service_verdicts(results)
    for service, text in verdicts.items():
        print(f"conformance: {service}: {text}", flush=True)
    if args.summary_file:
        args.summary_file.write_text("".join(f"{svc}\t{text}\n" for svc, text in verdicts.items()))
    print(f"conformance: {verdict}: {_summary_line(results)}", flush=True)
    return 1 if verdict == "FAILED" else 0
