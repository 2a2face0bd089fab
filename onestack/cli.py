"""The ``onestack`` command: ``up``, ``serve``, ``agent``, ``status``, ``admin bootstrap | rotate-keys | db-upgrade``."""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from typing import Any

from onestack.core.config import Config, ConfigError, load_config
from onestack.core.files import DataDirError, private_umask, secure_data_dir

_SERVER_FLAGS = {"host": "server.host", "port": "server.port", "data_dir": "server.data_dir",
                 "db_url": "database.url", "admin_password": "bootstrap.admin_password",
                 "public_url": "server.public_url", "compute_hosts": "compute.hosts",
                 "transport_url": "messaging.transport_url", "host_name": "server.host_name"}


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
    up.add_argument("--compute-hosts", type=int, help="simulated compute hosts to run (default 1)")
    up.add_argument("--transport-url", help="the bus: memory:// (default) or rabbit://user:pass@host:port/vhost")
    serve = sub.add_parser("serve", help="run the named services in this process (APIs and central workers)")
    _common(serve)
    serve.add_argument("services", nargs="+", metavar="SERVICE",
                       help="services to run here: " + ", ".join(_service_names()))
    serve.add_argument("--host", help="address to bind the APIs to (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default 5000; without APIs, no port unless given)")
    serve.add_argument("--public-url", help="base URL to advertise in the catalog")
    serve.add_argument("--admin-password", help="admin password on first start (with identity)")
    serve.add_argument("--transport-url", help="the bus shared by every process of the cloud")
    serve.add_argument("--host-name", help="the name this process's services report in os-services")
    agent = sub.add_parser("agent", help="run one host's agent (no database: the bus and the APIs only)")
    agent.add_argument("kind", choices=["compute"], help="which agent")
    agent.add_argument("--host", required=True, dest="agent_host", help="this host's name in the cloud")
    agent.add_argument("--transport-url", help="the bus shared by every process of the cloud")
    agent.add_argument("--api-url", help="the cloud's base URL (identity at <URL>/identity)")
    agent.add_argument("--config", help="TOML configuration file")
    agent.add_argument("--data-dir", help="where this host keeps its guests and image cache")
    agent.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    status = sub.add_parser("status", help="is the cloud up, and where")
    _common(status)
    status.add_argument("--host")
    status.add_argument("--port", type=int)
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


def _service_names() -> list[str]:
    from onestack.server import SERVICES

    return [d.name for d in SERVICES]


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
    from onestack.core.log import setup_logging

    setup_logging(config.log.level, json_lines=config.log.json, verbose=args.verbose)
    if args.reset:
        server.reset_data_dir(config)
    db = server.open_database(config)
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

    import uvicorn

    uv_config = uvicorn.Config(
        cloud.app, host=config.server.host, port=config.server.port, log_config=None,
        access_log=False, lifespan="on", timeout_graceful_shutdown=10,
    )
    uv_server = _graceful_server_class()(uv_config)
    print(f"onestack: ready in {time.monotonic() - started:.2f}s of set-up", flush=True)
    uv_server.run()
    return 0


def cmd_serve(args: argparse.Namespace, config: Config) -> int:
    """Some services of a cloud whose other services run in other processes (same database and bus)."""
    started = time.monotonic()
    from onestack import server
    from onestack.core.log import setup_logging

    setup_logging(config.log.level, json_lines=config.log.json, verbose=args.verbose)
    definitions = server.enabled_services(config, args.services)
    db = server.open_database(config)
    server.upgrade_schema(db, definitions)
    passwords = server.bootstrap(config, db, definitions)
    names = [d.name for d in definitions]
    if "identity" in names:
        print(f"onestack: export OS_CLIENT_CONFIG_FILE={server.write_client_config(config)}", flush=True)
    if passwords:
        print(f"onestack: admin password: {passwords['admin']}", flush=True)
    cloud = server.build_cloud(config, db, names)
    print(f"onestack: serving {', '.join(names)} (bus {_redacted(config.messaging.transport_url)})", flush=True)
    if not cloud.services and args.port is None:
        print(f"onestack: ready in {time.monotonic() - started:.2f}s of set-up (no HTTP: no API here)", flush=True)
        return _run_headless(cloud)
    import uvicorn

    uv_config = uvicorn.Config(cloud.app, host=config.server.host, port=config.server.port, log_config=None,
                               access_log=False, lifespan="on", timeout_graceful_shutdown=10)
    print(f"onestack: APIs at {config.base_url}; ready in {time.monotonic() - started:.2f}s of set-up", flush=True)
    _graceful_server_class()(uv_config).run()
    return 0


def cmd_agent(args: argparse.Namespace, config: Config) -> int:
    """One compute host: its driver and agent, talking to the conductor over the bus and to the
    other services over HTTP (found through identity's catalog). It holds no database credentials."""
    import asyncio
    import signal

    from onestack.compute.agent.worker import ComputeHosts
    from onestack.core.bus import Bus, transport_from_url
    from onestack.core.log import setup_logging
    from onestack.process import Process

    setup_logging(config.log.level, json_lines=config.log.json, verbose=args.verbose)
    secure_data_dir(config.data_dir)  # this host's guests and image cache
    messaging = config.messaging
    if messaging.transport_url.startswith("memory"):
        print("onestack: an agent needs the cloud's bus: give --transport-url rabbit://…", file=sys.stderr)
        return 2

    async def main() -> None:
        bus = Bus(transport_from_url(messaging.transport_url, messaging.prefetch),
                  default_timeout=config.compute.rpc_timeout)
        process = Process(config, None, bus)
        hosts = ComputeHosts(config, [args.agent_host], bus, process.placement, process.images)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await hosts.start()
        print(f"onestack: compute agent {args.agent_host} ready (identity at {process.identity_url}, "
              f"bus {_redacted(messaging.transport_url)})", flush=True)
        try:
            await stop.wait()
        finally:
            await hosts.stop()
            await bus.close()
            await process.close()

    asyncio.run(main())
    return 0


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
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return GracefulServer


def cmd_status(args: argparse.Namespace, config: Config) -> int:
    url = f"{config.base_url}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            doc = json.loads(resp.read())
    except OSError as exc:
        print(f"onestack is not answering at {url}: {exc}")
        return 1
    print(f"onestack at {config.base_url}: {doc.get('status')}; services: {', '.join(doc.get('services', []))}")
    print(f"data dir: {config.data_dir}; clouds.yaml: {config.data_dir / 'clouds.yaml'}")
    return 0


def cmd_admin(args: argparse.Namespace, config: Config) -> int:
    from onestack import server
    from onestack.identity.keys import KeyRepository

    if args.admin_command == "rotate-keys":
        for name in ("fernet-keys", "credential-keys"):
            repo = KeyRepository(config.data_dir / name, config.identity.max_active_keys)
            print(f"{name}: primary key is now {repo.rotate()}")
        return 0
    db = server.open_database(config)
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = _config(args)
    except ConfigError as exc:
        print(f"onestack: configuration error: {exc}", file=sys.stderr)
        return 2
    handler = {"up": cmd_up, "serve": cmd_serve, "agent": cmd_agent, "status": cmd_status,
               "admin": cmd_admin}[args.command]
    if args.command != "status":
        # Explicit modes cover the files onestack writes itself; the umask covers what libraries
        # create in the data dir beside them (SQLite's journal, a temporary file).
        private_umask()
    try:
        return handler(args, config)
    except DataDirError as exc:
        print(f"onestack: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
