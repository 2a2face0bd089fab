"""Assemble the network service (Neutron v2.0 at /networking): routes, error shape, state."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from onestack.core.api.app import Service
from onestack.core.api.faults import neutron_error
from onestack.core.api.request import ApiService
from onestack.core.service import CatalogEntry, Migrations, Running, ServiceDefinition
from onestack.network import models
from onestack.network.api import (
    address_scopes,
    agent_scheduler,
    agents,
    auto_topology,
    availability_zones,
    default_security_group_rules,
    floating_ips,
    ip_availability,
    networks,
    port_forwardings,
    ports,
    quotas,
    rbac,
    root,
    routers,
    security_group_rules,
    security_groups,
    service_providers,
    subnetpools,
    subnets,
    tags,
)
from onestack.network.api.common import CONVENTIONS
from onestack.network.policies import DEFAULT_RULES
from onestack.network.state import NetworkState

if TYPE_CHECKING:
    from onestack.process import Process

# Every mounted API module; each declares its routes and the extensions it implements.
API_MODULES = (root, networks, subnets, ports, subnetpools, address_scopes, ip_availability, routers, floating_ips,
               port_forwardings, auto_topology, security_groups, security_group_rules,
               default_security_group_rules, quotas, rbac, tags, availability_zones, agents,
               agent_scheduler, service_providers)
PREFIX = "/networking"
_COLLECTION = re.compile(r"^/v2\.0/([a-z_-]+)$")


def build(process: Process) -> Running:
    config = process.config
    db = process.database()
    routes = [route for module in API_MODULES for route in module.routes.routes]
    collections = sorted({m.group(1) for r in routes if (m := _COLLECTION.match(getattr(r, "path", "")))}
                         - {"extensions"})
    extensions = [e for module in API_MODULES for e in module.EXTENSIONS]
    state = NetworkState(config, db, process.bus, extensions, collections)
    service = Service(name="network", prefix=PREFIX, routes=routes, render_error=neutron_error,
                      state={"network": state, "token_validator": process.validator,
                             "api": ApiService(state, db, state.enforcer, CONVENTIONS)})
    # The agents' side of the bus (network/server_rpc.py): their desired state, heartbeats, port status.
    from onestack.network.server_rpc import AgentsEndpoint

    endpoint = AgentsEndpoint(config, db, process.bus, (lambda: process.session) if config.compute.enabled else None)
    return Running("network", api=service, workers=[endpoint], state=state)


SERVICE = ServiceDefinition(
    name="network", summary="Networking (Neutron v2.0) at /networking", build=build,
    migrations=(Migrations("network", Path(models.__file__).parent / "migrations", models.Base.metadata),),
    catalog=(CatalogEntry("network", "neutron", PREFIX),), policies=DEFAULT_RULES)
