"""Assemble the block-storage service (Cinder v3 at /volume): its API, scheduler and agents."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starlette.types import ASGIApp

from onestack.core.api.app import Service
from onestack.core.api.faults import nova_error
from onestack.core.api.project_url import ProjectInUrl
from onestack.core.api.request import ApiService
from onestack.core.service import CatalogEntry, Migrations, Running, ServiceDefinition
from onestack.volume import models
from onestack.volume.api import (
    attachments,
    availability_zones,
    backups,
    capabilities,
    default_types,
    extensions,
    group_snapshots,
    group_types,
    groups,
    hosts,
    limits,
    manageable,
    messages,
    qos_specs,
    quotas,
    resource_filters,
    scheduler_stats,
    services,
    snapshots,
    transfers,
    types,
    versions,
    volume_actions,
    volume_metadata,
    volumes,
)
from onestack.volume.api.common import COLLECTIONS, CONVENTIONS, POLICY
from onestack.volume.policies import DEFAULT_RULES
from onestack.volume.rpcapi import VolumeAgentAPI, VolumeSchedulerAPI
from onestack.volume.state import VolumeState

if TYPE_CHECKING:
    from onestack.process import Process

# Static paths before parameterised ones that could shadow them (each module orders its own).
API_MODULES = (
    versions, extensions, limits, availability_zones, services, scheduler_stats, capabilities, hosts,
    resource_filters, quotas, types, default_types, qos_specs, messages, manageable,
    volumes, volume_actions, volume_metadata, snapshots, backups, attachments, transfers,
    group_types, groups, group_snapshots,
)
PREFIX = "/volume"


def _project_in_url(app: ASGIApp) -> ASGIApp:
    return ProjectInUrl(app, "/v3", COLLECTIONS)


def build_api(process: Process) -> Running:
    config = process.config
    db = process.database()
    state = VolumeState(config, db)
    state.scheduler = VolumeSchedulerAPI(process.bus, timeout=config.volume.rpc_timeout)
    state.agents = VolumeAgentAPI(process.bus, timeout=config.volume.rpc_timeout)
    state.images = process.images
    state.session = process.session
    routes = [route for module in API_MODULES for route in module.routes.routes]
    service = Service(
        name="volume", prefix=PREFIX, routes=routes, render_error=nova_error,
        state={"volume": state, "token_validator": process.validator,
               "api": ApiService(state, db, state.enforcer, CONVENTIONS)},
        microversion=POLICY, versioned_prefix="/v3/", middleware=(_project_in_url,),
    )
    # The agents' side of the bus (server_rpc.py): their reports, desired state, finished work.
    from onestack.volume.server_rpc import VolumeServer

    endpoint = VolumeServer(db, process.bus, (lambda: process.session) if config.compute.enabled else None,
                            lambda: process.images)
    return Running("volume-api", api=service, workers=[endpoint], state=state)


def build_scheduler(process: Process) -> Running:
    from onestack.volume.scheduler.worker import VolumeSchedulerWorker

    worker = VolumeSchedulerWorker(process.config, process.database(), process.bus)
    return Running("volume-scheduler", workers=[worker], state=worker)


MIGRATIONS = (Migrations("volume", Path(models.__file__).parent / "migrations", models.Base.metadata),)
# DevStack registers both: ``block-storage`` (what openstacksdk looks for first) and ``volumev3``
# (Tempest's and older clients' catalog type), with the project in the URL.
API = ServiceDefinition(
    name="volume-api", summary="Cinder v3 at /volume", build=build_api, migrations=MIGRATIONS,
    catalog=(CatalogEntry("block-storage", "cinder", f"{PREFIX}/v3/$(project_id)s"),
             CatalogEntry("volumev3", "cinderv3", f"{PREFIX}/v3/$(project_id)s")),
    policies=DEFAULT_RULES)
SCHEDULER = ServiceDefinition(
    name="volume-scheduler", summary="places new volumes on the pools the volume agents report",
    build=build_scheduler)
