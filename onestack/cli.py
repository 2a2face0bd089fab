"""The ``onestack`` command: ``up``, ``serve``, ``agent``, ``status``, ``env``,
``admin bootstrap | rotate-keys | db-upgrade``, ``ring list | show | set-weight | remove | add | rebalance``."""

from __future__ import annotations

import argparse
import json
import shlex
import socket
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from onestack.core.config import Config, ConfigError, load_config
from onestack.core.files import DataDirError, private_umask, secure_data_dir
from onestack.runfile import (
    LOCK_FILE,
    RUN_FILE,
    DataDirLock,
    Refused,
    bind_port,
    live_record,
    remove_record,
    write_record,
)

_SERVER_FLAGS = {"host": "server.host", "port": "server.port", "data_dir": "server.data_dir",
                 "db_url": "database.url", "admin_password": "bootstrap.admin_password",
                 "public_url": "server.public_url", "compute_hosts": "compute.hosts",
                 "transport_url": "messaging.transport_url", "host_name": "server.host_name",
                 "object_replicas": "object_store.replicas", "api_workers": "server.api_workers"}

# What `serve` accepts, for its help: written out because server.SERVICES imports every service
# (~1.5 s of CPU) and every command builds this parser. tests/unit/test_cli.py keeps it equal.
SERVICE_NAMES = ("identity", "image", "placement", "network", "compute-api", "conductor", "scheduler",
                 "compute-hosts", "network-agents", "volume-api", "volume-scheduler", "volume-agents",
                 "object-store", "object-agents")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML configuration file")
    parser.add_argument("--data-dir", help="where the database, keys and clouds.yaml live")
    parser.add_argument("--db-url", help="SQLAlchemy URL: sqlite:///…, postgresql://…, mysql://…")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onestack", description="A one-command OpenStack-compatible cloud.")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run every service in this process")
    _common(up)
    up.add_argument("--host", help="address to bind (default 127.0.0.1)")
    up.add_argument("--port", type=int, help="port to bind (default 5000)")
    up.add_argument("--public-url", help="base URL to advertise in the catalog")
    up.add_argument("--admin-password", help="admin password on first start (default: generated)")
    up.add_argument("--reset", action="store_true",
                    help="wipe the data dir first (and onestack's tables in a --db-url database)")
    up.add_argument("--compute-hosts", type=int, help="simulated compute hosts to run (default 1, named after the machine; more: compute-1 …)")
    up.add_argument("--object-replicas", type=int,
                    help="replicas of every object: one device per replica, each its own zone (default 1)")
    up.add_argument("--transport-url", help="the bus: memory:// (default) or rabbit://user:pass@host:port/vhost")
    serve = sub.add_parser("serve", help="run the named services in this process (APIs and central workers)")
    _common(serve)
    serve.add_argument("services", nargs="+", metavar="SERVICE",
                       help="services to run here: " + ", ".join(SERVICE_NAMES))
    serve.add_argument("--host", help="address to bind the APIs to (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 5000; without APIs, no port unless given)")
    serve.add_argument("--public-url", help="base URL to advertise in the catalog")
    serve.add_argument("--admin-password", help="admin password on first start (with identity)")
    serve.add_argument("--transport-url", help="the bus shared by every process of the cloud")
    serve.add_argument("--host-name", help="the name this process's services report in os-services (default: the machine's)")
    serve.add_argument("--api-workers", type=int,
                       help="processes serving the APIs on the one port (default 1; more need a server "
                            "database; services without an API run in the first only)")
    agent = sub.add_parser("agent", help="run one host's agent (no database: the bus and the APIs only)")
    agent.add_argument("kind", choices=["compute", "network", "volume", "object"], help="which agent")
    agent.add_argument("--host", required=True, dest="agent_host", help="this host's name in the cloud")
    agent.add_argument("--transport-url", help="the bus shared by every process of the cloud")
    agent.add_argument("--api-url", help="the cloud's base URL (identity at <URL>/identity)")
    agent.add_argument("--config", help="TOML configuration file")
    agent.add_argument("--data-dir", help="where this host keeps its guests and image cache")
    agent.add_argument("--devices", help="object: this host's devices, comma-separated (under <data dir>/objects/<host>)")
    agent.add_argument("--bind", help="object: HOST:PORT the object server listens on (recorded in the ring)")
    agent.add_argument("--zone", type=int, help="object: the ring zone of every device (default: one zone per device)")
    agent.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    status = sub.add_parser("status", help="is the cloud up, and where")
    _common(status)
    status.add_argument("--host")
    status.add_argument("--port", type=int)
    env = sub.add_parser("env", help="print the shell exports for the running cloud: eval \"$(onestack env)\"")
    _common(env)
    env.add_argument("cloud", nargs="?", default="devstack",
                     help="the clouds.yaml entry for OS_CLOUD (default devstack; devstack-admin, devstack-alt, …)")
    from onestack.object_store.ring import command as ring_command

    ring_command.add_parser(sub, _common)
    admin = sub.add_parser("admin", help="maintenance commands")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    for name, text in (("bootstrap", "create the initial domain, projects, users, roles and catalog"),
                       ("rotate-keys", "rotate the token and credential encryption keys"),
                       ("db-upgrade", "apply database migrations")):
        p = admin_sub.add_parser(name, help=text)
        _common(p)
        if name == "bootstrap":
            p.add_argument("--admin-password")
            p.add_argument("--host")
            p.add_argument("--port", type=int)
    return parser


def _config(args: argparse.Namespace) -> Config:
    overrides: dict[str, Any] = {}
    for attr, dotted in _SERVER_FLAGS.items():
        if getattr(args, attr, None) is not None:
            overrides[dotted] = getattr(args, attr)
    api_url = getattr(args, "api_url", None)
    if api_url:
        base = api_url.rstrip("/")
        overrides["auth.identity_url"] = base if base.endswith("/identity") else f"{base}/identity"
    return load_config(args.config, overrides=overrides)


def cmd_up(args: argparse.Namespace, config: Config) -> int:
    started = time.monotonic()
    from onestack import server
    from onestack.core.db import open_database
    from onestack.core.log import setup_logging

    setup_logging(config.log.level, json_lines=config.log.json, verbose=args.verbose)
    if config.server.api_workers != 1:
        print("onestack: `up` runs one process (server.api_workers applies to `onestack serve`: "
              "serve SERVICE… --api-workers N on a server database)", file=sys.stderr)
        return 2
    lock, sock = _claim(config, listen=True)
    try:
        if args.reset:
            server.reset_data_dir(config)  # keeps the lock file: the flock stays on the file others open
        db = open_database(config)
        server.upgrade_schema(db)
        passwords = server.bootstrap(config, db)
        clouds = server.write_client_config(config)
        cloud = server.build_cloud(config, db)
        print(f"onestack: serving {config.base_url} (identity at {config.base_url}/identity)", flush=True)
        print(f"onestack: data dir {config.data_dir}", flush=True)
        if passwords:
            print(f"onestack: admin password: {passwords['admin']}", flush=True)
            print(f"onestack: demo password:  {passwords['demo']}", flush=True)
        print(f"onestack: export OS_CLIENT_CONFIG_FILE={clouds}", flush=True)
        uv_server = _graceful_server_class()(_uvicorn_config(cloud.app, config))
        write_record(config.data_dir, config.base_url, clouds, "up")
        print(f"onestack: ready in {time.monotonic() - started:.2f}s of set-up", flush=True)
        uv_server.run(sockets=[sock] if sock else None)
    finally:
        remove_record(config.data_dir)
        _let_go(lock, sock)
    return 0


def _claim(config: Config, listen: bool, lock_name: str | None = LOCK_FILE) \
        -> tuple[DataDirLock | None, socket.socket | None]:
    """The data dir's lock and the bound port, or ``Refused`` before anything is changed.

    An existing data dir is locked first, so a second ``up`` with the same defaults says the data
    dir is in use (with the other's pid and URL) rather than that the port is; a new one is made
    only once the port is known to be free."""
    lock = DataDirLock(config.data_dir, lock_name) if lock_name else None
    sock = None
    try:
        if lock and config.data_dir.exists():
            secure_data_dir(config.data_dir)
            lock.acquire()
        if listen:
            sock = bind_port(config.server.host, config.server.port)
        if lock and not lock.held:
            secure_data_dir(config.data_dir)
            lock.acquire()
    except BaseException:
        _let_go(lock, sock)
        raise
    return lock, sock


def _let_go(lock: DataDirLock | None, sock: socket.socket | None) -> None:
    if lock is not None:
        lock.release()
    if sock is not None:
        sock.close()


def cmd_serve(args: argparse.Namespace, config: Config) -> int:
    """Some services of a cloud whose other services run in other processes (same database and bus)."""
    started = time.monotonic()
    from onestack import server
    from onestack.core.log import setup_logging

    setup_logging(config.log.level, json_lines=config.log.json, verbose=args.verbose)
    try:
        definitions = server.enabled_services(config, args.services)
    except ValueError as exc:  # an unknown name: a usage error, before anything is opened
        print(f"onestack: {exc}", file=sys.stderr)
        return 2
    from onestack import workers

    refused = workers.usage_error(config.database_url, config.messaging.transport_url, definitions,
                                  config.server.api_workers)
    if refused:
        print(f"onestack: {refused}", file=sys.stderr)
        return 2
    # No data-dir lock: several ``serve`` processes (and one beside an ``up``) share a data dir by
    # design, e.g. API processes behind one balancer reading the same token keys. The port is
    # still claimed before start-up.
    _, sock = _claim(config, listen=args.port is not None or bool(server.catalog_for(config, definitions)),
                     lock_name=None)
    try:
        return _serve(args, config, definitions, sock, started)
    finally:
        _let_go(None, sock)


def _serve(args: argparse.Namespace, config: Config, definitions: list[Any], sock: socket.socket | None,
           started: float) -> int:
    from onestack import server
    from onestack.core.db import open_database

    db = open_database(config)
    server.upgrade_schema(db, definitions)
    passwords = server.bootstrap(config, db, definitions)
    names = [d.name for d in definitions]
    if "identity" in names:
        print(f"onestack: export OS_CLIENT_CONFIG_FILE={server.write_client_config(config)}", flush=True)
    if passwords:
        print(f"onestack: admin password: {passwords['admin']}", flush=True)
    n = config.server.api_workers
    if n > 1:
        from onestack import workers

        db.dispose()  # each worker opens its own connections; none may be shared across a fork
        print(f"onestack: serving {', '.join(names)} in {n} API workers "
              f"(bus {_redacted(config.messaging.transport_url)})", flush=True)
        assert sock is not None  # usage_error: some service serves an API, so the port was claimed
        socks = workers.listening_sockets(sock, n)
        return workers.run(socks, lambda index, own: _serve_worker(
            config, workers.services_of(definitions, index), own, started, index, n))
    cloud = server.build_cloud(config, db, names)
    print(f"onestack: serving {', '.join(names)} (bus {_redacted(config.messaging.transport_url)})", flush=True)
    if not cloud.services and args.port is None:
        print(f"onestack: ready in {time.monotonic() - started:.2f}s of set-up (no HTTP: no API here)", flush=True)
        return _run_headless(cloud)
    print(f"onestack: APIs at {config.base_url}; ready in {time.monotonic() - started:.2f}s of set-up", flush=True)
    _graceful_server_class()(_uvicorn_config(cloud.app, config)).run(sockets=[sock] if sock else None)
    return 0


def _serve_worker(config: Config, names: list[str], sock: socket.socket, started: float, index: int,
                  count: int) -> int:
    """One API worker of ``serve --api-workers`` (a forked child, onestack/workers.py): its own
    database connections, bus and cloud, serving the parent's socket."""
    import os

    from onestack import server
    from onestack.core.db import open_database

    cloud = server.build_cloud(config, open_database(config), names)
    print(f"onestack: API worker {index} of {count} (pid {os.getpid()}) serving {', '.join(names)} at "
          f"{config.base_url}; ready in {time.monotonic() - started:.2f}s of set-up", flush=True)
    _graceful_server_class()(_uvicorn_config(cloud.app, config)).run(sockets=[sock])
    return 0


def cmd_agent(args: argparse.Namespace, config: Config) -> int:
    """One host's agent. ``compute``: its driver and agent, talking to the conductor over the bus
    and to the other services over HTTP (found through identity's catalog). ``network``: its data
    plane and network agent, talking to the network server over the bus only. ``volume``: its
    disk backends and volume agent, over the bus (and the image service over HTTP). ``object``: its
    devices' object server over HTTP, its replicator, auditor and updater, its device reports and
    container updates over the bus. None holds database credentials."""
    import asyncio
    import signal

    from onestack.compute.agent.worker import ComputeHosts
    from onestack.core.bus import Bus, transport_from_url
    from onestack.core.log import setup_logging
    from onestack.network.agent.worker import NetworkAgents
    from onestack.object_store.obj.agent import ObjectAgent
    from onestack.process import Process
    from onestack.volume.agent.host import VolumeAgent
    from onestack.volume.agent.worker import make_agent

    setup_logging(config.log.level, json_lines=config.log.json, verbose=args.verbose)
    messaging = config.messaging
    if messaging.transport_url.startswith("memory"):
        print("onestack: an agent needs the cloud's bus: give --transport-url rabbit://…", file=sys.stderr)
        return 2
    # One agent per host name per data dir (its guests and image cache); held until exit.
    lock_name = f"agent-{args.agent_host}.lock" if args.kind == "compute" else f"{args.kind}-agent-{args.agent_host}.lock"
    lock, _ = _claim(config, listen=False, lock_name=lock_name)

    async def main() -> None:
        bus = Bus(transport_from_url(messaging.transport_url, messaging.prefetch),
                  default_timeout=config.compute.rpc_timeout)
        process = Process(config, None, bus)
        hosts: ComputeHosts | NetworkAgents | VolumeAgent | ObjectAgent
        if args.kind == "object":
            hosts = _object_agent(args, config, bus)
        elif args.kind == "network":
            hosts = NetworkAgents(config, [args.agent_host], bus)
        elif args.kind == "volume":
            hosts = make_agent(config, args.agent_host, bus, process.images)
        else:
            hosts = ComputeHosts(config, [args.agent_host], bus, process.placement, process.images,
                                 process.network)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await hosts.start()
        print(f"onestack: {args.kind} agent {args.agent_host} ready (identity at {process.identity_url}, "
              f"bus {_redacted(messaging.transport_url)})", flush=True)
        try:
            await stop.wait()
        finally:
            await hosts.stop()
            await bus.close()
            await process.close()

    try:
        asyncio.run(main())
    finally:
        _let_go(lock, None)
    return 0


def _object_agent(args: argparse.Namespace, config: Config, bus: Any) -> Any:
    """``agent object``: the host's devices served over HTTP, reported on the bus (no database)."""
    from onestack.object_store.app import devices_root
    from onestack.object_store.obj.agent import Bind, make_agent

    oc = config.object_store
    names = [n.strip() for n in (args.devices or oc.devices).split(",") if n.strip()] or ["d1"]
    bind = Bind(oc.bind_host, oc.bind_port)
    if args.bind:
        host, _, port = args.bind.rpartition(":")
        bind = Bind(host or oc.bind_host, int(port))
    return make_agent(config, args.agent_host, devices_root(config, args.agent_host), bus, None,
                      devices=names, bind=bind, zone=args.zone)


def _redacted(url: str) -> str:
    """A transport URL without its password, for logs."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"


def _run_headless(cloud: Any) -> int:
    """Run the workers of a process that serves no HTTP until SIGINT or SIGTERM."""
    import asyncio
    import signal

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await cloud.lifecycle.start()
        try:
            await stop.wait()
        finally:
            await cloud.lifecycle.stop()
            await cloud.process.bus.close()
            await cloud.process.close()

    asyncio.run(main())
    return 0


def _uvicorn_config(app: Any, config: Config) -> Any:
    """The one HTTP server set-up of `up` and `serve`."""
    import uvicorn

    return uvicorn.Config(app, host=config.server.host, port=config.server.port, log_config=None,
                          access_log=False, lifespan="on", timeout_graceful_shutdown=10,
                          timeout_keep_alive=config.server.keep_alive_timeout)


def _graceful_server_class() -> type:
    import contextlib
    import signal
    from collections.abc import Iterator

    import uvicorn

    class GracefulServer(uvicorn.Server):
        """Shuts down gracefully on SIGINT/SIGTERM and then exits 0.

        uvicorn re-raises the caught signal after its shutdown, which makes a clean stop look
        like a kill to supervisors and tests; a completed graceful stop is a success.
        """

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            # An API worker (onestack/workers.py) starts with them blocked until these handlers exist.
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return GracefulServer


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    """The cloud running on the data dir (its run record says where), or at --host/--port."""
    base_url, pid = config.base_url, None
    if args.host is None and args.port is None:
        record, why = live_record(config.data_dir)
        if record is not None:
            base_url, pid = record.url, record.pid
        elif (config.data_dir / RUN_FILE).exists():
            print(why)  # a stale record: the port may be another program's now
            return 1
    url = f"{base_url}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            doc = json.loads(resp.read())
    except OSError as exc:
        print(f"onestack is not answering at {url}: {exc}")
        return 1
    running = f" (pid {pid})" if pid else ""
    print(f"onestack at {base_url}{running}: {doc.get('status')}; services: {', '.join(doc.get('services', []))}")
    print(f"data dir: {config.data_dir}; clouds.yaml: {config.data_dir / 'clouds.yaml'}")
    return 0


def cmd_env(args: argparse.Namespace, config: Config) -> int:
    """``eval "$(onestack env)"``: OS_CLIENT_CONFIG_FILE and OS_CLOUD for the cloud on the data dir."""
    import yaml

    record, why = live_record(config.data_dir)
    if record is None:
        print(f"{why}; start it with: onestack up --data-dir {shlex.quote(str(config.data_dir))}", file=sys.stderr)
        return 1
    try:
        names = list(yaml.safe_load(Path(record.clouds_yaml).read_text(encoding="utf-8"))["clouds"])
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        print(f"onestack: cannot read {record.clouds_yaml}: {exc}", file=sys.stderr)
        return 1
    if args.cloud not in names:
        print(f"onestack: no cloud {args.cloud!r} in {record.clouds_yaml}; known: {', '.join(names)}",
              file=sys.stderr)
        return 2
    print(f"# onestack at {record.url} (pid {record.pid}); for the OS_AUTH_URL/OS_USERNAME style: "
          f". {shlex.quote(record.openrc)} [admin]")
    print(f"export OS_CLIENT_CONFIG_FILE={shlex.quote(record.clouds_yaml)}")
    print(f"export OS_CLOUD={shlex.quote(args.cloud)}")
    return 0


def cmd_admin(args: argparse.Namespace, config: Config) -> int:
    if args.admin_command == "rotate-keys":
        from onestack.identity.keys import KeyRepository

        for name in ("fernet-keys", "credential-keys"):
            repo = KeyRepository(config.data_dir / name, config.identity.max_active_keys)
            print(f"{name}: primary key is now {repo.rotate()}")
        return 0
    from onestack import server  # migrations and bootstrap are every service's
    from onestack.core.db import open_database

    db = open_database(config)
    server.upgrade_schema(db)
    if args.admin_command == "db-upgrade":
        print(f"database at {config.database_url.split('@')[-1]} is up to date")
        return 0
    passwords = server.bootstrap(config, db)
    server.write_client_config(config)
    if passwords:
        print(f"admin password: {passwords['admin']}\ndemo password: {passwords['demo']}")
    else:
        print("already bootstrapped; nothing changed")
    return 0


def cmd_ring(args: argparse.Namespace, config: Config) -> int:
    from onestack.object_store.ring import command

    return command.run(args, config)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = _config(args)
    except ConfigError as exc:
        print(f"onestack: configuration error: {exc}", file=sys.stderr)
        return 2
    handler = {"up": cmd_up, "serve": cmd_serve, "agent": cmd_agent, "status": cmd_status, "env": cmd_env,
               "admin": cmd_admin, "ring": cmd_ring}[args.command]
    if args.command not in ("status", "env"):
        # Explicit modes cover the files onestack writes itself; the umask covers what libraries
        # create in the data dir beside them (SQLite's journal, a temporary file).
        private_umask()
    try:
        return handler(args, config)
    except (DataDirError, Refused) as exc:
        print(f"onestack: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
