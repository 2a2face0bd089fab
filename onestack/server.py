"""Assembling a running cloud: database, migrations, bootstrap, services, client config, uvicorn."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text
from starlette.applications import Starlette

from onestack.compute import app as compute_app
from onestack.core.api.app import Service, build_root_app
from onestack.core.bus import Bus, transport_from_url
from onestack.core.config import Config
from onestack.core.db import Database, create_db_engine, migrate
from onestack.core.files import write_private
from onestack.core.service import Lifecycle, ServiceDefinition, select_services
from onestack.identity import app as identity_app
from onestack.identity import models as identity_models
from onestack.identity.app import PREFIX as IDENTITY_PREFIX
from onestack.identity.service import bootstrap as identity_bootstrap
from onestack.image import app as image_app
from onestack.network import app as network_app
from onestack.network.agent import worker as network_agents
from onestack.object_store import app as object_store_app
from onestack.placement import app as placement_app
from onestack.process import Process
from onestack.runfile import LOCK_FILE
from onestack.volume import app as volume_app
from onestack.volume.agent import worker as volume_agents

log = logging.getLogger("onestack")

# Every service a process can run, in build order (a service may use those before it in-process).
# Adding a service is one line here, a ServiceDefinition in its app.py and its name in cli.SERVICE_NAMES.
SERVICES: list[ServiceDefinition[Process]] = [
    identity_app.SERVICE, image_app.SERVICE, placement_app.SERVICE, network_app.SERVICE,
    compute_app.API, compute_app.CONDUCTOR, compute_app.SCHEDULER, compute_app.HOSTS, network_agents.AGENTS,
    volume_app.API, volume_app.SCHEDULER, volume_agents.AGENTS, object_store_app.PROXY, object_store_app.AGENTS,
]
VOLUME = {volume_app.API.name, volume_app.SCHEDULER.name, volume_agents.AGENTS.name}
OBJECT_STORE = {object_store_app.PROXY.name, object_store_app.AGENTS.name}
COMPUTE = {d.name for d in (compute_app.API, compute_app.CONDUCTOR, compute_app.SCHEDULER, compute_app.HOSTS)}


def enabled_services(config: Config, names: list[str] | None = None) -> list[ServiceDefinition[Process]]:
    """The named services (all of them when None), minus those the configuration turns off."""
    chosen = select_services(SERVICES, names if names is not None else [d.name for d in SERVICES])
    return [d for d in chosen if (d.name not in COMPUTE or config.compute.enabled)
            and (d.name not in ("network", "network-agents") or config.network.enabled)
            and (d.name not in VOLUME or config.volume.enabled)
            and (d.name not in OBJECT_STORE or config.object_store.enabled)]


def catalog_for(config: Config, definitions: list[ServiceDefinition[Process]] | None = None) -> list[tuple[str, str, str]]:
    """The (type, name, path) of every API the given services (all enabled ones by default) serve."""
    chosen = definitions if definitions is not None else enabled_services(config)
    return [(e.type, e.name, e.path) for d in chosen for e in d.catalog]


SECRETS_FILE = "secrets.json"


@dataclass
class Cloud:
    config: Config
    db: Database | None
    services: list[Service]
    app: Any
    process: Process
    lifecycle: Lifecycle

    @property
    def compute_hosts(self) -> Any:
        """The simulated hosts (``compute/agent/worker.py: ComputeHosts``): tests reach their drivers."""
        return self.process.state_of("compute-hosts")


def reset_data_dir(config: Config) -> None:
    """``up --reset``: wipe the data dir, and onestack's tables in a database that lives elsewhere.

    The data dir's keys and secrets belong with the rows they seal and authenticate: wiping one
    without the other would leave a bootstrapped database whose passwords nobody has.
    """
    path = config.data_dir
    default_db = path / "onestack.db"
    if config.database_url != f"sqlite:///{default_db}":
        drop_tables(config.database_url)
    if path.exists():
        for entry in path.iterdir():
            if entry.name == LOCK_FILE:
                continue  # ``up`` holds its flock on this file: a new one would let a second ``up`` in
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def drop_tables(url: str) -> None:
    """Drop every service's tables and Alembic version table from the database at ``url``."""
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            owned = {m.name: m for d in SERVICES for m in d.migrations}  # compute's are shared by four
            for m in reversed(list(owned.values())):
                m.metadata.drop_all(conn)
                conn.execute(text(f"DROP TABLE IF EXISTS alembic_version_{m.name}"))
    finally:
        engine.dispose()


def upgrade_schema(db: Database, definitions: list[ServiceDefinition[Process]] | None = None) -> None:
    """Apply the migrations of the given services (every service's by default)."""
    for definition in definitions if definitions is not None else SERVICES:
        for m in definition.migrations:
            migrate(db.engine, m.location, f"alembic_version_{m.name}", m.metadata)


def load_secrets(config: Config) -> dict[str, str]:
    path = config.data_dir / SECRETS_FILE
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text())
        return data
    return {}


def bootstrap(config: Config, db: Database,
              definitions: list[ServiceDefinition[Process]] | None = None) -> dict[str, str] | None:
    """Keys, DevStack-like initial data and the catalog entries of the given services (all enabled
    ones by default); returns new passwords the first time only. Identity's tables must exist:
    a process that does not run identity registers its endpoints in an identity that already does."""
    chosen = definitions if definitions is not None else enabled_services(config)
    names = {d.name for d in chosen}
    passwords = _bootstrap_identity(config, db) if "identity" in names else None
    db.run_sync(lambda s: identity_bootstrap.register_endpoints(
        s, config.base_url, config.bootstrap.region, catalog_for(config, chosen)))
    if "image" in names and config.image.builtin_images:
        register_builtin_images(config, db)
    if "compute-api" in names:
        from onestack.compute import bootstrap as compute_bootstrap

        db.run_sync(compute_bootstrap.create_default_flavors)
    if "network" in names and config.network.bootstrap_networks:
        bootstrap_networks(config, db)
    if volume_app.API.name in names:
        from onestack.volume import bootstrap as volume_bootstrap

        # __DEFAULT__ and one type per backend; existing ones are left as they are.
        db.run_sync(lambda s: volume_bootstrap.make_default_types(s, config))
    return passwords


def bootstrap_networks(config: Config, db: Database) -> None:
    """DevStack's public/private/shared networks and router1, once (onestack/network/bootstrap.py)."""
    from onestack.network import bootstrap as network_bootstrap

    done = network_bootstrap.marker(config)
    if done.exists():
        return
    admin = db.run_sync(_admin_project_id, write=False)
    demo = db.run_sync(lambda s: _project_id(s, "demo"), write=False)
    if not admin or not demo:
        return  # identity not bootstrapped yet (another process runs it): the next start makes them
    db.run_sync(lambda s: network_bootstrap.make_devstack_networks(s, config, admin, demo))
    done.parent.mkdir(parents=True, exist_ok=True)
    done.write_text("DevStack's networks were made; delete this file to have them made again.\n")


def _bootstrap_identity(config: Config, db: Database) -> dict[str, str] | None:
    from onestack.identity.keys import KeyRepository

    KeyRepository(config.data_dir / "fernet-keys", config.identity.max_active_keys).ensure()
    KeyRepository(config.data_dir / "credential-keys", config.identity.max_active_keys).ensure()
    secrets_ = load_secrets(config)
    admin_pw = config.bootstrap.admin_password or secrets_.get("admin") or identity_bootstrap.generate_password()
    # As DevStack does, one given admin password serves the demo users too.
    demo_pw = (config.bootstrap.demo_password or secrets_.get("demo") or config.bootstrap.admin_password
               or identity_bootstrap.generate_password())
    service_pw = config.auth.service_password or secrets_.get("onestack") or identity_bootstrap.generate_password()
    hashes: dict[str, str] = {}
    if not db.run_sync(identity_bootstrap.is_bootstrapped, write=False):
        hashes = identity_bootstrap.hash_all(
            {"admin": admin_pw, "demo": demo_pw, "onestack": service_pw}, config.identity.password_hash_rounds
        )
        hashes["alt_demo"] = hashes["demo"]  # same password: one bcrypt run serves both users
    result = db.run_sync(
        lambda s: identity_bootstrap.bootstrap(
            s,
            admin_password=admin_pw,
            demo_password=demo_pw,
            service_password=service_pw,
            rounds=config.identity.password_hash_rounds,
            region=config.bootstrap.region,
            hashes=hashes,
        )
    )
    if result.created:
        write_private(config.data_dir / SECRETS_FILE, json.dumps(result.passwords, indent=2))
        return result.passwords
    return None


def _admin_project_id(s: Any) -> str | None:
    return _project_id(s, "admin")


def _project_id(s: Any, name: str) -> str | None:
    from sqlalchemy import select

    project = identity_models.Project
    found: str | None = s.scalar(select(project.id).where(project.name == name, project.domain_id == "default",
                                              project.is_domain.is_(False)))
    return found


def register_builtin_images(config: Config, db: Database) -> None:
    """The two built-in public images (onestack/image/builtin.py), owned by the admin project."""
    from onestack.image import builtin

    owner = db.run_sync(_admin_project_id, write=False)
    if owner:
        for image_id in builtin.ensure_builtin_images(config, db, owner):
            log.info("registered built-in image %s", image_id)


def clouds_document(config: Config, passwords: dict[str, str]) -> dict[str, Any]:
    auth_url = f"{config.base_url}{IDENTITY_PREFIX}"

    def cloud(user: str, password: str, project: str | None, system: bool = False) -> dict[str, Any]:
        auth: dict[str, Any] = {
            "auth_url": auth_url,
            "username": user,
            "password": password,
            "user_domain_id": "default",
        }
        if system:
            auth["system_scope"] = "all"
        else:
            auth["project_name"] = project
            auth["project_domain_id"] = "default"
        return {"auth": auth, "region_name": config.bootstrap.region, "interface": "public",
                "identity_api_version": 3}

    admin, demo = passwords.get("admin", ""), passwords.get("demo", "")
    clouds = {
        "onestack": cloud("demo", demo, "demo"),
        "onestack-admin": cloud("admin", admin, "admin"),
        "onestack-alt": cloud("alt_demo", demo, "alt_demo"),
        "devstack": cloud("demo", demo, "demo"),
        "devstack-alt": cloud("alt_demo", demo, "alt_demo"),
        "devstack-admin": cloud("admin", admin, "admin"),
        "devstack-system-admin": cloud("admin", admin, None, system=True),
    }
    return {"clouds": clouds}


def write_client_config(config: Config) -> Path:
    """clouds.yaml and openrc (mode 0600), rewritten each start so the URL follows --host/--port."""
    passwords = load_secrets(config)
    path = config.data_dir / "clouds.yaml"
    write_private(path, yaml.safe_dump(clouds_document(config, passwords), sort_keys=False))
    auth_url = f"{config.base_url}{IDENTITY_PREFIX}"
    openrc = "\n".join([
        "# Source me: . openrc [admin]",
        'if [ "$1" = admin ]; then',
        "  export OS_USERNAME=admin OS_PROJECT_NAME=admin",
        f"  export OS_PASSWORD='{passwords.get('admin', '')}'",
        "else",
        "  export OS_USERNAME=demo OS_PROJECT_NAME=demo",
        f"  export OS_PASSWORD='{passwords.get('demo', '')}'",
        "fi",
        f"export OS_AUTH_URL={auth_url}",
        "export OS_USER_DOMAIN_ID=default OS_PROJECT_DOMAIN_ID=default",
        f"export OS_REGION_NAME={config.bootstrap.region} OS_IDENTITY_API_VERSION=3 OS_INTERFACE=public",
        "",
    ])
    write_private(config.data_dir / "openrc", openrc)
    return path


def build_cloud(config: Config, db: Database | None, names: list[str] | None = None,
                bus: Bus | None = None) -> Cloud:
    """The given services (all enabled ones by default) assembled into one process and one ASGI app."""
    messaging = config.messaging
    transport = transport_from_url(messaging.transport_url, messaging.prefetch)
    process = Process(config, db, bus or Bus(transport, default_timeout=config.compute.rpc_timeout))
    for definition in enabled_services(config, names):
        process.running[definition.name] = definition.build(process)
    lifecycle = Lifecycle(list(process.running.values()))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await lifecycle.start()
        try:
            yield
        finally:
            await lifecycle.stop()
            await process.bus.close()
            await process.close()
            if db is not None:
                db.dispose()

    app = build_root_app(
        lifecycle.apis, max_body_size=config.server.max_request_body_size, log_requests=config.log.requests,
        lifespan=lifespan,
    )
    process.app = app
    return Cloud(config=config, db=db, services=lifecycle.apis, app=app, process=process, lifecycle=lifecycle)
