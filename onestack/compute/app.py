"""Assemble the compute API service (Nova v2.1) mounted at /compute."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from onestack.compute import models
from onestack.compute.api import (
    actions_images,
    actions_migrate,
    actions_state,
    aggregates,
    availability_zones,
    extensions,
    external_events,
    flavor_extras,
    flavors,
    hosts,
    hypervisors,
    images_proxy,
    instance_actions,
    keypairs,
    limits,
    migrations,
    quotas,
    server_actions,
    server_diagnostics,
    server_groups,
    server_ips,
    server_metadata,
    server_migrations,
    server_password,
    server_tags,
    servers,
    services,
    tenant_usage,
    usage_audit_log,
    versions,
)
from onestack.compute.api.common import CONVENTIONS
from onestack.compute.policies import DEFAULT_RULES
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
    # /servers/detail before /servers/{server_id}; sub-resources after.
    servers, server_actions, actions_state, actions_images, actions_migrate, server_migrations, server_metadata,
    server_tags, instance_actions, server_diagnostics, server_password, server_ips,
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
    )
    return service, compute


# --- the service's declaration (server.py runs it) ---------------------------------------------


class ControlPlane:
    """Transitional: conductor, scheduler and the simulated hosts' agents of ``onestack up``, in-process."""

    def __init__(self, process: Process, compute: ComputeService) -> None:
        self.process = process
        self.compute = compute
        self.runtime: Any = None

    async def start(self) -> None:
        from onestack.compute.runtime import ComputeRuntime
        from onestack.process import service_password

        process = self.process
        self.runtime = ComputeRuntime(process.config, self.compute, process.app, service_password(process.config),
                                      placement=lambda _session: process.placement,
                                      images=lambda _session: process.images)
        await self.runtime.start()

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.stop()


def build(process: Process) -> Running:
    service, compute = build_compute(process.config, process.database(), process.validator)
    compute.directory = process.directory
    return Running("compute", api=service, workers=[ControlPlane(process, compute)], state=compute)


SERVICE = ServiceDefinition(
    name="compute", summary="Nova v2.1 at /compute, its conductor, scheduler and simulated hosts", build=build,
    migrations=(Migrations("compute", Path(models.__file__).parent / "migrations", models.Base.metadata),),
    catalog=(CatalogEntry("compute", "nova", f"{PREFIX}/v2.1"),), policies=DEFAULT_RULES)
