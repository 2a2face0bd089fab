"""Assemble the placement service: routes, error shape, state."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from onestack.core.api.app import Service
from onestack.core.api.faults import placement_error
from onestack.core.api.request import ApiService
from onestack.core.auth import TokenValidator
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.service import CatalogEntry, Migrations, Running, ServiceDefinition
from onestack.placement import models
from onestack.placement.api import (
    aggregates,
    allocations,
    candidates,
    classes,
    inventories,
    providers,
    reshaper,
    root,
    traits,
    usages,
)
from onestack.placement.api.common import CONVENTIONS
from onestack.placement.policies import DEFAULT_RULES
from onestack.placement.state import PlacementState

if TYPE_CHECKING:
    from onestack.process import Process

API_MODULES = (root, candidates, reshaper, classes, traits, usages, allocations, aggregates, inventories,
               providers)
PREFIX = "/placement"


def build_placement(config: Config, db: Database, validator: TokenValidator) -> tuple[Service, PlacementState]:
    state = PlacementState(config, db)
    routes = [route for module in API_MODULES for route in module.routes.routes]
    service = Service(
        name="placement",
        prefix=PREFIX,
        routes=routes,
        render_error=placement_error,
        state={"placement": state, "token_validator": validator,
               "api": ApiService(state, db, state.enforcer, CONVENTIONS)},
    )
    return service, state


# --- the service's declaration (server.py runs it) ---------------------------------------------


def build(process: Process) -> Running:
    service, state = build_placement(process.config, process.database(), process.validator)
    return Running("placement", api=service, state=state)


SERVICE = ServiceDefinition(
    name="placement", summary="Placement at /placement", build=build,
    migrations=(Migrations("placement", Path(models.__file__).parent / "migrations", models.Base.metadata),),
    catalog=(CatalogEntry("placement", "placement", PREFIX),), policies=DEFAULT_RULES)
