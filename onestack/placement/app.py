"""Assemble the placement service: routes, error shape, state."""

from __future__ import annotations

from onestack.core.api.app import Service
from onestack.core.api.faults import placement_error
from onestack.core.api.request import ApiService
from onestack.core.auth import TokenValidator
from onestack.core.config import Config
from onestack.core.db import Database
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
from onestack.placement.state import PlacementState

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
