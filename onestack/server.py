"""Assembling a running cloud: database, migrations, bootstrap, services, client config, uvicorn."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text
from starlette.applications import Starlette

from onestack.compute import models as compute_models
from onestack.compute.app import PREFIX as COMPUTE_PREFIX
from onestack.compute.app import build_compute
from onestack.core.api.app import Service, build_root_app
from onestack.core.config import Config
from onestack.core.db import Database, create_db_engine, migrate
from onestack.identity import models as identity_models
from onestack.identity.app import PREFIX as IDENTITY_PREFIX
from onestack.identity.app import build_identity
from onestack.identity.directory import LocalDirectory
from onestack.identity.service import bootstrap as identity_bootstrap
from onestack.image import models as image_models
from onestack.image.app import PREFIX as IMAGE_PREFIX
from onestack.image.app import build_image
from onestack.placement import models as placement_models
from onestack.placement.app import PREFIX as PLACEMENT_PREFIX
from onestack.placement.app import build_placement

log = logging.getLogger("onestack")

MIGRATIONS = [
    ("identity", Path(identity_models.__file__).parent / "migrations", identity_models.Base.metadata),
    ("image", Path(image_models.__file__).parent / "migrations", image_models.Base.metadata),
    ("placement", Path(placement_models.__file__).parent / "migrations", placement_models.Base.metadata),
    ("compute", Path(compute_models.__file__).parent / "migrations", compute_models.Base.metadata),
]
# (catalog type, name, prefix) of every API `onestack up` serves.
CATALOG = [("identity", "keystone", IDENTITY_PREFIX), ("image", "glance", IMAGE_PREFIX),
           ("placement", "placement", PLACEMENT_PREFIX)]


def catalog_for(config: Config) -> list[tuple[str, str, str]]:
    """The (type, name, prefix) of every API this process serves with this configuration."""
    # Nova clients expect the versioned root in the catalog.
    optional = [("compute", "nova", f"{COMPUTE_PREFIX}/v2.1")] if config.compute.enabled else []
    return [*CATALOG, *optional]
SECRETS_FILE = "secrets.json"


@dataclass
class Cloud:
    config: Config
    db: Database
    services: list[Service]
    app: Any
    compute_runtime: Any = None  # set while the app runs (compute/runtime.py ComputeRuntime)


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
        shutil.rmtree(path)


def drop_tables(url: str) -> None:
    """Drop every service's tables and Alembic version table from the database at ``url``."""
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            for name, _location, metadata in reversed(MIGRATIONS):
                metadata.drop_all(conn)
                conn.execute(text(f"DROP TABLE IF EXISTS alembic_version_{name}"))
    finally:
        engine.dispose()


def open_database(config: Config) -> Database:
    config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = create_db_engine(config.database_url, sqlite_busy_timeout=config.database.sqlite_busy_timeout)
    return Database(engine)


def upgrade_schema(db: Database) -> None:
    for name, location, metadata in MIGRATIONS:
        migrate(db.engine, location, f"alembic_version_{name}", metadata)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def load_secrets(config: Config) -> dict[str, str]:
    path = config.data_dir / SECRETS_FILE
    if path.exists():
        data: dict[str, str] = json.loads(path.read_text())
        return data
    return {}


def bootstrap(config: Config, db: Database) -> dict[str, str] | None:
    """Create keys and the DevStack-like initial data; returns new passwords the first time only."""
    from onestack.identity.keys import KeyRepository

    KeyRepository(config.data_dir / "fernet-keys", config.identity.max_active_keys).ensure()
    KeyRepository(config.data_dir / "credential-keys", config.identity.max_active_keys).ensure()
    secrets_ = load_secrets(config)
    admin_pw = config.bootstrap.admin_password or secrets_.get("admin") or identity_bootstrap.generate_password()
    # As DevStack does, one given admin password serves the demo users too.
    demo_pw = (config.bootstrap.demo_password or secrets_.get("demo") or config.bootstrap.admin_password
               or identity_bootstrap.generate_password())
    service_pw = secrets_.get("onestack") or identity_bootstrap.generate_password()
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
    db.run_sync(
        lambda s: identity_bootstrap.register_endpoints(s, config.base_url, config.bootstrap.region, catalog_for(config))
    )
    if config.image.builtin_images:
        register_builtin_images(config, db)
    if config.compute.enabled:
        from onestack.compute import bootstrap as compute_bootstrap

        db.run_sync(compute_bootstrap.create_default_flavors)
    if result.created:
        _write_private(config.data_dir / SECRETS_FILE, json.dumps(result.passwords, indent=2))
        return result.passwords
    return None


def _admin_project_id(s: Any) -> str | None:
    from sqlalchemy import select

    project = identity_models.Project
    found: str | None = s.scalar(select(project.id).where(project.name == "admin", project.domain_id == "default",
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
    _write_private(path, yaml.safe_dump(clouds_document(config, passwords), sort_keys=False))
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
    _write_private(config.data_dir / "openrc", openrc)
    return path


def build_cloud(config: Config, db: Database) -> Cloud:
    identity_service, _ident, validator = build_identity(config, db.sibling())
    image_service, image_state = build_image(config, db.sibling(), validator)
    directory = LocalDirectory(db.sibling())
    image_state.directory = directory
    placement_service, placement_state = build_placement(config, db.sibling(), validator)
    services = [identity_service, image_service, placement_service]
    compute_state = None
    if config.compute.enabled:
        compute_service, compute_state = build_compute(config, db.sibling(), validator)
        compute_state.directory = directory
        services.append(compute_service)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from onestack.image.service import data as image_data
        from onestack.image.service import scrubber

        staging = image_state.staging
        db.run_sync(lambda s: image_data.recover_interrupted(
            s, lambda image_id: staging.path_of(staging.location_for(image_id)).exists()))
        # Delayed delete: removes pending_delete images' data; cancelled below with the other image tasks.
        image_data.tracked(image_state, scrubber.run(image_state))
        runtime = None
        if compute_state is not None:
            from onestack.compute.runtime import ComputeRuntime
            from onestack.image.local import LocalImages
            from onestack.placement.local import LocalPlacement

            password = config.auth.service_password or load_secrets(config).get("onestack", "")
            runtime = ComputeRuntime(
                config, compute_state, app, password,
                placement=lambda session: LocalPlacement(session, placement_state),
                images=lambda session: LocalImages(session, image_state, validator))
            await runtime.start()
            cloud.compute_runtime = runtime  # for in-process tests that reach the fake hosts
        yield
        if runtime is not None:
            await runtime.stop()
        for task in list(image_state.tasks):
            task.cancel()
        await asyncio.sleep(0)
        db.dispose()

    app = build_root_app(
        services, max_body_size=config.server.max_request_body_size, log_requests=config.log.requests,
        lifespan=lifespan,
    )
    cloud = Cloud(config=config, db=db, services=services, app=app)
    return cloud
