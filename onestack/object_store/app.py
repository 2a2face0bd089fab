"""Assemble the object-storage service (Swift v1 at /object-store, ``/info`` at the root): the
proxy with its middleware pipeline, the ring in the database, and the object agents that serve
the devices of this process's host."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session
from starlette.responses import Response
from starlette.routing import Mount, Route

from onestack.core.api.app import Service
from onestack.core.api.faults import ApiError
from onestack.core.config import Config
from onestack.core.hostname import recorded_host_name
from onestack.core.service import CatalogEntry, Migrations, Running, ServiceDefinition, Worker
from onestack.object_store import models
from onestack.object_store.errors import html_body
from onestack.object_store.middleware import FACTORIES
from onestack.object_store.obj.clients import make_client
from onestack.object_store.proxy import routes as route_table
from onestack.object_store.proxy.asgi import SwiftASGI
from onestack.object_store.proxy.error_limit import ErrorLimiter
from onestack.object_store.proxy.info import register_core
from onestack.object_store.proxy.pipeline import build_pipeline
from onestack.object_store.proxy.router import make_app
from onestack.object_store.ring import store
from onestack.object_store.ring.ring import Ring
from onestack.object_store.s3.keystone import S3TokenChecker
from onestack.object_store.service.containers import ContainerService
from onestack.object_store.state import ObjectStoreState, RingHolder

if TYPE_CHECKING:
    from onestack.process import Process

PREFIX = "/object-store"
# The routes' table (Swift's proxy routes by the path's shape, not by these): what tests that
# walk every service's routes read.
API_MODULES = (route_table,)


def agent_host(config: Config) -> str:
    return config.object_store.host or recorded_host_name(config.data_dir)


def devices_root(config: Config, host: str) -> Path:
    """Where a host's devices live: ``<data dir>/objects/<host>/<device>``."""
    return config.data_dir / "objects" / host


def local_device_names(config: Config) -> list[str]:
    oc = config.object_store
    names = [n.strip() for n in oc.devices.split(",") if n.strip()]
    return names or [f"d{i}" for i in range(1, max(1, oc.replicas) + 1)]


def ensure_ring(session: Session, config: Config) -> Ring:
    """The local host's devices (one zone each) recorded, and a ring that has them."""
    oc = config.object_store
    host = agent_host(config)
    names = local_device_names(config)
    if oc.replicas > len(names):
        raise ValueError(f"object_store.replicas = {oc.replicas} needs as many devices; {len(names)} configured")
    changed = False
    for zone, name in enumerate(names, start=1):
        changed = store.add_device(session, host, name, zone=zone) or changed
    ring = store.load_ring(session)
    if ring is None or changed or ring.replicas != oc.replicas or ring.part_power != oc.part_power:
        ring = store.rebuild(session, oc.replicas, oc.part_power, oc.hash_path_suffix)
    return ring


def render_error(err: ApiError) -> Response:
    status = getattr(err, "status", 500)
    return Response(html_body(status), status_code=status, media_type="text/html")


def build_proxy(process: Process) -> Running:
    config = process.config
    db = process.database()
    ring = db.run_sync(ensure_ring, config)
    holder = RingHolder(ring)
    containers = ContainerService(db, config.object_store.info_cache_ttl)
    host = agent_host(config)
    objects = make_client(devices_root(config, host), host, config.object_store.node_timeout, containers,
                          hash_path_suffix=ring.hash_path_suffix)
    state = ObjectStoreState(config=config.object_store, db=db, rings=holder, objects=objects,
                             containers=containers, validator=process.validator,
                             limiter=ErrorLimiter(config.object_store.error_suppression_interval,
                                                  config.object_store.error_suppression_limit))
    # S3's signatures are checked by identity: a direct call when it runs here, else its s3tokens.
    state.ec2_lookup = S3TokenChecker(lambda: process.session, lambda: process.state_of("identity"))
    state.region = config.bootstrap.region
    register_core(state)
    handler = build_pipeline(state, make_app(state), FACTORIES)
    state.pipeline = handler
    asgi = SwiftASGI(handler)
    service = Service(
        name="object-store", prefix=PREFIX, routes=[Mount("", app=asgi)], render_error=render_error,
        state={"object_store": state}, root_routes=[Route("/info", asgi, methods=["GET", "HEAD", "OPTIONS"])],
        guard_urls=False)
    from onestack.object_store.ring.refresh import from_database
    from onestack.object_store.server_rpc import ObjectServerEndpoint
    from onestack.object_store.service.expirer import ObjectExpirer

    workers: list[Worker] = [ObjectServerEndpoint(db, process.bus, state), ObjectExpirer(state),
                             from_database(db, holder, config.object_store.ring_check_interval)]
    return Running("object-store", api=service, workers=workers, state=state)


def build_agents(process: Process) -> Running:
    from onestack.object_store.obj.agent import make_agent

    host = agent_host(process.config)
    agent = make_agent(process.config, host, devices_root(process.config, host), process.bus,
                       local=process.state_of("object-store"))
    return Running("object-agents", workers=[agent], state=agent)


MIGRATIONS = (Migrations("object_store", Path(models.__file__).parent / "migrations", models.Base.metadata),)
# DevStack's: type object-store, name swift, the account URL with the project in it.
PROXY = ServiceDefinition(
    name="object-store", summary="Swift v1 at /object-store (and S3 at /object-store/s3)", build=build_proxy,
    migrations=MIGRATIONS, catalog=(CatalogEntry("object-store", "swift", f"{PREFIX}/v1/AUTH_$(project_id)s"),))
AGENTS = ServiceDefinition(
    name="object-agents", summary="the object servers, replicator, auditor and updater of this host's devices",
    build=build_agents, needs_database=False)
