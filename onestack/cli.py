"""The ``onestack`` command: ``up``, ``status``, ``admin bootstrap | rotate-keys | db-upgrade``."""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from typing import Any

from onestack.core.config import Config, ConfigError, load_config

_SERVER_FLAGS = {"host": "server.host", "port": "server.port", "data_dir": "server.data_dir",
                 "db_url": "database.url", "admin_password": "bootstrap.admin_password",
                 "public_url": "server.public_url", "compute_hosts": "compute.hosts"}


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


def _config(args: argparse.Namespace) -> Config:
    overrides: dict[str, Any] = {}
    for attr, dotted in _SERVER_FLAGS.items():
        if getattr(args, attr, None) is not None:
            overrides[dotted] = getattr(args, attr)
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
    handler = {"up": cmd_up, "status": cmd_status, "admin": cmd_admin}[args.command]
    return handler(args, config)


if __name__ == "__main__":
    sys.exit(main())
