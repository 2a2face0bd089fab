"""Assemble the compute API service (Nova v2.1) mounted at /compute."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from onestack.compute import models
from onestack.compute.api import (
    actions_images,
    actions_migrate,
    actions_state,
    aggregates,
    assisted_volume_snapshots,
    availability_zones,
    extensions,
    external_events,
    flavor_extras,
    flavors,
    hosts,
    hypervisors,
    images_proxy,
    instance_actions,
    interfaces,
    keypairs,
    limits,
    migrations,
    os_floating_ips,
    os_networks,
    os_security_groups,
    quotas,
    removed,
    server_actions,
    server_diagnostics,
    server_groups,
    server_ips,
    server_metadata,
    server_migrations,
    server_password,
    server_security_groups,
    server_shares,
    server_tags,
    server_topology,
    servers,
    services,
    tenant_usage,
    usage_audit_log,
    versions,
    volume_attachments,
    volumes_proxy,
)
from onestack.compute.api.common import CONVENTIONS
from onestack.compute.novncproxy import novnc_routes
from onestack.compute.policies import DEFAULT_RULES
from onestack.compute.rpcapi import AgentAPI, ConductorAPI
from onestack.compute.state import ComputeService
from onestack.core.api.app import Service
from onestack.core.api.faults import nova_error
from onestack.core.api.request import ApiService
from onestack.core.auth import TokenValidator
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.service import CatalogEntry, Migrations, Running, ServiceDefinition

if TYPE_CHECKING:
    from onestack.process import Process

# Static paths before parameterised ones that could shadow them.
API_MODULES = (
    versions, flavors, flavor_extras, keypairs, quotas, limits, server_groups, availability_zones,
    hosts, services, hypervisors, aggregates, tenant_usage, usage_audit_log, migrations,
    extensions, external_events, images_proxy,  # /images/detail before /images/{image_id}
    os_networks, os_security_groups, os_floating_ips,  # Nova's network proxies
    volumes_proxy,  # Nova's volume proxies (/os-volumes/detail before /os-volumes/{id})
    assisted_volume_snapshots,
    # /servers/detail before /servers/{server_id}; sub-resources after.
    servers, server_actions, actions_state, actions_images, actions_migrate, server_migrations, server_metadata,
    server_tags, instance_actions, server_diagnostics, server_password, server_ips, interfaces,
    server_topology, server_security_groups, server_shares, volume_attachments, removed,
)
PREFIX = "/compute"


def build_compute(config: Config, db: Database, validator: TokenValidator) -> tuple[Service, ComputeService]:
    compute = ComputeService(config, db)
    routes = [route for module in API_MODULES for route in module.routes.routes]
    service = Service(
        name="compute",
        prefix=PREFIX,
        routes=routes,
        render_error=nova_error,
        state={"token_validator": validator, "api": ApiService(compute, db, compute.enforcer, CONVENTIONS)},
        microversion=versions.POLICY,
        versioned_prefix="/v2.1/",
        root_routes=novnc_routes(db),
        request_id_headers=("x-compute-request-id",),
    )
    return service, compute


# --- the service's declaration (server.py runs it) ---------------------------------------------


def build_api(process: Process) -> Running:
    """The API: writes rows and casts to the conductor and agents; asks placement and images."""
    config = process.config
    service, compute = build_compute(config, process.database(), process.validator)
    compute.directory = process.directory
    compute.conductor = ConductorAPI(process.bus, timeout=config.compute.rpc_timeout)
    compute.agents = AgentAPI(process.bus, timeout=config.compute.rpc_timeout)
    compute.placement, compute.images = process.placement, process.images
    compute.network = process.network if config.network.enabled else None
    compute.volume = process.volume if config.volume.enabled else None
    return Running("compute-api", api=service, state=compute)


def build_conductor(process: Process) -> Running:
    from onestack.compute.conductor.worker import ConductorWorker

    worker = ConductorWorker(process.config, process.database(), process.bus, process.placement,
                             process.volume if process.config.volume.enabled else None)
    return Running("conductor", workers=[worker], state=worker)


def build_scheduler(process: Process) -> Running:
    from onestack.compute.scheduler.worker import SchedulerWorker

    worker = SchedulerWorker(process.config, process.database(), process.bus, process.placement)
    return Running("scheduler", workers=[worker], state=worker)


def build_hosts(process: Process) -> Running:
    """``onestack up``'s simulated hosts, one agent each, in this process (no database)."""
    from onestack.compute.agent.worker import ComputeHosts, simulated_hosts

    hosts = ComputeHosts(process.config, simulated_hosts(process.config), process.bus, process.placement,
                         process.images, process.network,
                         process.volume if process.config.volume.enabled else None)
    return Running("compute-hosts", workers=[hosts], state=hosts)


MIGRATIONS = (Migrations("compute", Path(models.__file__).parent / "migrations", models.Base.metadata),)
API = ServiceDefinition(
    name="compute-api", summary="Nova v2.1 at /compute", build=build_api, migrations=MIGRATIONS,
    catalog=(CatalogEntry("compute", "nova", f"{PREFIX}/v2.1"),), policies=DEFAULT_RULES)
CONDUCTOR = ServiceDefinition(
    name="conductor", summary="compute's conductor: builds, moves, the row writes agents ask for",
    build=build_conductor, migrations=MIGRATIONS)
SCHEDULER = ServiceDefinition(
    name="scheduler", summary="compute's scheduler: filters and weighers over placement's candidates",
    build=build_scheduler, migrations=MIGRATIONS)
HOSTS = ServiceDefinition(
    name="compute-hosts", summary="simulated compute hosts (compute.hosts of them), an agent each",
    build=build_hosts, needs_database=False)
