"""Several API worker processes on one listening socket: ``onestack serve SERVICE… --api-workers N``.

OpenStack's services run their WSGI APIs in several processes (Neutron's ``api_workers``, Nova's
``osapi_compute_workers``): one Python process is bound by its GIL to about one core. Here the
parent binds the port, upgrades the schema and bootstraps once (cli.py), closes its database
connections and forks N children before any thread, event loop, bus connection or pooled
database connection exists in it (``run`` refuses to fork otherwise). Fork rather than spawn: a
child starts with every module already imported (the services cost ~1.5 s of CPU to import) and
inherits the listening socket as it is. Each child opens its own database and bus, builds its
own cloud (``server.build_cloud``) and serves the socket with uvicorn; the kernel hands each new
connection to whichever child accepts it first.

Which services run where (``services_of``):

- every worker: the services with an API, with the work each builds beside it — the same things a
  second ``serve`` process of those services would run, and for the same reasons safe in several
  instances (docs/design.md, "Several API workers"): the agents' RPC endpoints of the network,
  volume and object services consume one shared queue (one worker answers each call) and fan out
  the nudges of their own worker's writes; image recovery and object expiry act only on what
  their conditional writes still find; caches are per process and kept fresh across processes
  (identity's generation row, read at most once a second; token validation over HTTP for
  ``auth.cache_ttl``); IPAM's cursor is a per-process hint, the primary key decides.
- worker 0 only: services without an API (conductor, scheduler, compute-hosts, network-agents,
  volume-scheduler, volume-agents, object-agents). An agent is one per host name; conductors and
  schedulers are safe in numbers but scale with ``serve conductor scheduler`` processes, not with
  the HTTP workers. The other workers reach them over the bus, so they need a real transport.

A child that exits while the parent is not stopping is logged and the parent stops the others
and exits 1: no restarts (a crash loop would be hidden; a supervisor — systemd, a container
runtime — restarts the whole service). SIGTERM or SIGINT to the parent is passed on as SIGTERM;
each child stops gracefully, and one still running after ``STOP_GRACE_S`` is killed.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, NoReturn

log = logging.getLogger("onestack.workers")

STOP_GRACE_S = 30  # uvicorn's graceful shutdown (10 s) plus the services' stop, with room
_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGALRM}


def usage_error(database_url: str, transport_url: str, definitions: Sequence[Any], workers: int) -> str | None:
    """Why ``serve`` cannot run these services in ``workers`` processes, or None when it can."""
    if workers < 1:
        return f"--api-workers (server.api_workers) must be at least 1, not {workers}"
    if workers == 1:
        return None
    if database_url.startswith("sqlite"):
        return (f"--api-workers {workers} needs a server database (--db-url postgresql://… or mysql://…): "
                "SQLite has one writer, which several processes would queue on")
    if not any(d.catalog for d in definitions):
        return f"--api-workers {workers}: none of {', '.join(d.name for d in definitions)} serves an API"
    first_only = [d.name for d in definitions if not d.catalog]
    if first_only and transport_url.startswith("memory"):
        return (f"--api-workers {workers} with {', '.join(first_only)}: those run in worker 0 only and the "
                "other workers reach them over the bus; give --transport-url rabbit://…")
    return None


def services_of(definitions: Sequence[Any], index: int) -> list[str]:
    """The names of the services worker ``index`` runs: every API service; the rest in worker 0."""
    return [d.name for d in definitions if index == 0 or d.catalog]


def listening_sockets(claimed: socket.socket, workers: int) -> list[socket.socket]:
    """One socket per worker on the address ``claimed`` holds, in one SO_REUSEPORT group.

    ``claimed`` (bound without SO_REUSEPORT) proved the port free and is closed here; the others
    are bound with it at once. A process can join the group only with SO_REUSEPORT set and this
    process's user, so a second onestack on the port is still refused."""
    address = claimed.getsockname()
    family = claimed.family
    claimed.close()
    socks: list[socket.socket] = []
    try:
        for _ in range(workers):
            sock = socket.socket(family, socket.SOCK_STREAM)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(address)
            sock.set_inheritable(True)
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


def run(socks: Sequence[socket.socket], child: Callable[[int, socket.socket], int]) -> int:
    """Fork one child per socket, each running ``child(index, its socket)``, and wait for them.

    0 when every child stopped cleanly after SIGTERM/SIGINT to this process; 1 when one exited on
    its own (the others are stopped) or did not stop cleanly."""
    others = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
    if others:  # a forked child would inherit locks those threads hold, and not the threads
        raise RuntimeError(f"API workers must be forked before any thread starts; running: {', '.join(others)}")
    sys.stdout.flush()
    sys.stderr.flush()
    pids: dict[int, int] = {}
    state = {"stopping": False, "failed": False}
    # Blocked while forking: a signal now would otherwise find the children half made.
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    for index, sock in enumerate(socks):
        pid = os.fork()
        if pid == 0:
            for other in socks:
                if other is not sock:
                    other.close()
            _child(index, functools.partial(child, index, sock), previous_mask)  # never returns
        pids[pid] = index
    for sock in socks:  # each child holds its own; a dead child's leaves the group with it
        sock.close()
    log.info("API workers: %s", ", ".join(f"{i} (pid {p})" for p, i in sorted(pids.items(), key=lambda x: x[1])))

    def stop_all(why: str) -> None:
        if state["stopping"]:
            return
        state["stopping"] = True
        log.info("stopping the API workers (%s)", why)
        _send(pids, signal.SIGTERM)
        signal.alarm(STOP_GRACE_S)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop_all(signal.Signals(signum).name)

    def on_alarm(_signum: int, _frame: FrameType | None) -> None:
        log.error("API workers %s still running %d s after SIGTERM: killing them",
                  ", ".join(str(p) for p in pids), STOP_GRACE_S)
        state["failed"] = True
        _send(pids, signal.SIGKILL)

    handlers = {signal.SIGTERM: on_signal, signal.SIGINT: on_signal, signal.SIGALRM: on_alarm}
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
    try:
        while pids:
            try:
                pid, status = os.waitpid(-1, 0)  # a signal runs its handler; the wait goes on (PEP 475)
            except ChildProcessError:
                break
            if pid not in pids:
                continue
            index = pids.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            if not state["stopping"]:
                log.error("API worker %d (pid %d) exited with %s; stopping the others", index, pid, _how(code))
                state["failed"] = True
                stop_all(f"worker {index} exited")
            elif code != 0:
                log.warning("API worker %d (pid %d) stopped with %s", index, pid, _how(code))
                state["failed"] = True
    finally:
        signal.alarm(0)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 1 if state["failed"] else 0


def _child(index: int, child: Callable[[], int], mask: set[int | signal.Signals]) -> NoReturn:
    """In a forked child: default signal handling back, run the worker, exit with its status.

    SIGTERM and SIGINT stay blocked until the worker's HTTP server has its graceful handlers in
    place (cli's GracefulServer unblocks them): one sent during start-up waits for them, so a
    worker told to stop while starting still stops cleanly."""
    code = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set(mask) | {signal.SIGTERM, signal.SIGINT})
        code = child()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # the child's last word; the parent sees the exit status
        log.exception("API worker %d failed", index)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _send(pids: dict[int, int], sig: int) -> None:
    for pid in list(pids):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _how(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"status {code}"
