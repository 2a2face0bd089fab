"""Routers: create, show, list, update, delete; the external gateway (a ``network:router_gateway``
port on an external network, owned by no project) and extra routes.

Interfaces (``add_router_interface`` / ``remove_router_interface``) are in
``router_interfaces.py``; both work on the ``network_router_ports`` table, which records every
port a router owns with its type. The gateway port is also the router's ``gw_port_id``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from onestack.core.config import NetworkConfig
from onestack.network import models
from onestack.network.errors import (
    BadRequest,
    InvalidRoutes,
    RouterExternalGatewayInUseByFloatingIp,
    RouterInUse,
    RouterNotFound,
    RoutesExhausted,
)
from onestack.network.service import agent_scheduler, availability_zones, networks, ports, quotas
from onestack.network.service.common import (
    Caller,
    Listing,
    ListQuery,
    check_revision,
    delete_tags,
    dumps,
    loads,
    new_id,
    paged,
    stamp_new,
    standard_view,
    tags_of,
    touch,
)

R = models.Router
TAG_TYPE = "routers"
GATEWAY = "network:router_gateway"
INTERFACE = "network:router_interface"
# Neutron's max_routes: most extra routes one router may hold.
MAX_ROUTES = 30
# Routers and floating IPs create and delete ports the API would refuse to a user.
INTERNAL = Caller(project_id=None, is_admin=True)


def _visible_stmt(caller: Caller) -> Select[Any]:
    stmt = select(R)
    return stmt if caller.is_admin else stmt.where(R.project_id == caller.project_id)


def listing(caller: Caller) -> Listing:
    return Listing(
        tag_type=TAG_TYPE, id_column=R.id,
        columns={"id": R.id, "name": R.name, "project_id": R.project_id, "tenant_id": R.project_id,
                 "admin_state_up": R.admin_state_up, "status": R.status, "description": R.description,
                 "revision_number": R.revision_number, "created_at": R.created_at, "updated_at": R.updated_at},
        conditions={"enable_snat": lambda values: R.enable_snat.in_(values)},
    )


def get_row(s: Session, caller: Caller, router_id: str) -> models.Router:
    """The router if ``caller`` may see it, else 404 ``RouterNotFound``."""
    row: models.Router | None = s.scalar(_visible_stmt(caller).where(R.id == router_id))
    if row is None:
        raise RouterNotFound(router_id)
    return row


def fixed_ips_of(s: Session, port_ids: Sequence[str]) -> dict[str, list[dict[str, str]]]:
    """Each port's fixed IPs as the API shows them, one query for all."""
    found: dict[str, list[dict[str, str]]] = {p: [] for p in port_ids}
    if not port_ids:
        return found
    a = models.IPAllocation
    for port_id, subnet_id, ip in s.execute(select(a.port_id, a.subnet_id, a.ip_address)
                                            .where(a.port_id.in_(list(port_ids)))
                                            .order_by(a.ip_address, a.subnet_id)):
        found[port_id].append({"subnet_id": subnet_id, "ip_address": ip})
    return found


def routes_of(s: Session, router_ids: Sequence[str]) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {r: [] for r in router_ids}
    if not router_ids:
        return found
    rr = models.RouterRoute
    for router_id, dest, hop in s.execute(select(rr.router_id, rr.destination, rr.nexthop)
                                          .where(rr.router_id.in_(list(router_ids)))
                                          .order_by(rr.destination, rr.nexthop)):
        found[router_id].append({"destination": dest, "nexthop": hop})
    return found


def views(s: Session, caller: Caller, rows: Sequence[models.Router]) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    if not ids:
        return []
    gw_ids = [r.gw_port_id for r in rows if r.gw_port_id]
    gw_nets: dict[str, str] = {}
    if gw_ids:
        p = models.Port
        gw_nets = {pid: net for pid, net in s.execute(select(p.id, p.network_id).where(p.id.in_(gw_ids)))}
    ips = fixed_ips_of(s, gw_ids)
    routes = routes_of(s, ids)
    tags = tags_of(s, TAG_TYPE, ids)
    zones = availability_zones.of_routers(s, ids)
    out = []
    for row in rows:
        gw = None
        if row.gw_port_id and row.gw_port_id in gw_nets:
            gw = {"network_id": gw_nets[row.gw_port_id], "enable_snat": row.enable_snat,
                  "external_fixed_ips": ips[row.gw_port_id]}
        out.append({
            "id": row.id, "name": row.name, "project_id": row.project_id, "tenant_id": row.project_id,
            "admin_state_up": row.admin_state_up, "status": row.status, "external_gateway_info": gw,
            "routes": routes[row.id], "availability_zone_hints": loads(row.availability_zone_hints, []),
            "availability_zones": zones[row.id], "distributed": False, "ha": False, "flavor_id": None,
            "tags": tags[row.id], **standard_view(row),
        })
    return out


def list_routers(s: Session, caller: Caller, q: ListQuery) -> list[dict[str, Any]]:
    return views(s, caller, paged(s, _visible_stmt(caller), listing(caller), q, R))


def show(s: Session, caller: Caller, router_id: str) -> dict[str, Any]:
    return views(s, caller, [get_row(s, caller, router_id)])[0]


def create(s: Session, caller: Caller, project_id: str, attrs: Mapping[str, Any],
           config: NetworkConfig) -> dict[str, Any]:
    """A router for ``project_id``, with its gateway when ``external_gateway_info`` names one."""
    quotas.check(s, project_id, "router")
    availability_zones.validate(s, "router", attrs.get("availability_zone_hints") or [])
    gw = attrs.get("external_gateway_info") or None
    row = R(id=new_id(), project_id=project_id, name=attrs.get("name", ""), description=attrs.get("description", ""),
            admin_state_up=attrs.get("admin_state_up", True), status="ACTIVE",
            enable_snat=True if gw is None else gw.get("enable_snat", True),
            availability_zone_hints=dumps(attrs.get("availability_zone_hints") or []))
    stamp_new(row)
    s.add(row)
    s.flush()
    agent_scheduler.schedule_router(s, row.id, config)  # in its zones, the L3 agent with the fewest routers
    if gw:
        _set_gateway(s, caller, row, gw, config)
    s.flush()
    return views(s, caller, [row])[0]


def update(s: Session, caller: Caller, router_id: str, attrs: Mapping[str, Any], config: NetworkConfig,
           revision: int | None = None) -> dict[str, Any]:
    row = get_row(s, caller, router_id)
    check_revision(row, revision)
    hold(s, row)
    for key in ("name", "description", "admin_state_up"):
        if key in attrs:
            setattr(row, key, attrs[key])
    if "external_gateway_info" in attrs:
        gw = attrs["external_gateway_info"] or None
        if gw is None:
            _clear_gateway(s, row)
        else:
            _set_gateway(s, caller, row, gw, config)
    if "routes" in attrs:
        set_routes(s, row, attrs["routes"])
    s.flush()
    return views(s, caller, [row])[0]


def hold(s: Session, row: Any) -> None:
    """A new revision of ``row``, written first: on a database with row locks, concurrent changes
    to the same router (or floating IP) wait for this one and then see what it did, so checks
    such as overlapping interfaces or colliding forwardings cannot both pass."""
    touch(row)
    s.flush()


def delete_router(s: Session, caller: Caller, router_id: str, revision: int | None = None) -> None:
    """Delete the router and its gateway port; 409 ``RouterInUse`` while interfaces remain."""
    row = get_row(s, caller, router_id)
    check_revision(row, revision)
    rp = models.RouterPort
    attached = list(s.scalars(select(rp.port_id).where(rp.router_id == row.id, rp.port_type == INTERFACE)
                              .order_by(rp.port_id)))
    if attached:
        raise RouterInUse(row.id, "has ports still attached: " + ", ".join(attached))
    _clear_gateway(s, row)
    for port_id in list(s.scalars(select(rp.port_id).where(rp.router_id == row.id))):
        ports.delete(s, INTERNAL, port_id, internal=True)
    s.query(models.RouterRoute).filter(models.RouterRoute.router_id == row.id).delete()
    delete_tags(s, TAG_TYPE, row.id)
    s.delete(row)
    s.flush()


# --- the external gateway ---------------------------------------------------------------------------


def _subnets_of_network(s: Session, network_id: str) -> list[models.Subnet]:
    sub = models.Subnet
    return list(s.scalars(select(sub).where(sub.network_id == network_id).order_by(sub.id)))


def _set_gateway(s: Session, caller: Caller, row: models.Router, gw: Mapping[str, Any], config: NetworkConfig) -> None:
    network = networks.get_row(s, caller, gw["network_id"])
    if not network.router_external:
        raise BadRequest("router", f"Network {network.id} is not an external network")
    ext_ips = list(gw.get("external_fixed_ips") or [])
    gateways = {sub.gateway_ip for sub in _subnets_of_network(s, network.id) if sub.gateway_ip}
    for ip in ext_ips:
        if ip.get("ip_address") and ip["ip_address"] in gateways:
            raise BadRequest("router", f"External IP {ip['ip_address']} is the same as the gateway IP")
    if "enable_snat" in gw:
        row.enable_snat = bool(gw["enable_snat"])
    current = s.get(models.Port, row.gw_port_id) if row.gw_port_id else None
    if current is not None and current.network_id == network.id:
        if ext_ips and _ips_changed(s, current.id, ext_ips):
            ports.update(s, INTERNAL, current.id, {"fixed_ips": ext_ips}, config)
        return
    if current is not None:
        _clear_gateway(s, row)
    check_dup_subnets(s, row, _subnets_of_network(s, network.id))
    port_attrs: dict[str, Any] = {"network_id": network.id, "device_id": row.id, "device_owner": GATEWAY,
                                  "admin_state_up": True, "name": ""}
    if ext_ips:
        port_attrs["fixed_ips"] = ext_ips
    port = ports.create(s, INTERNAL, "", port_attrs, config)
    s.add(models.RouterPort(router_id=row.id, port_id=port["id"], port_type=GATEWAY))
    row.gw_port_id = port["id"]
    s.flush()
    if loads_routes(s, row.id):
        validate_routes(s, row, loads_routes(s, row.id))


def _ips_changed(s: Session, port_id: str, ext_ips: Sequence[Mapping[str, Any]]) -> bool:
    current = fixed_ips_of(s, [port_id])[port_id]
    if {i["subnet_id"] for i in current} != {i["subnet_id"] for i in ext_ips if i.get("subnet_id")}:
        return True
    return {i["ip_address"] for i in current} != {i["ip_address"] for i in ext_ips if i.get("ip_address")}


def _clear_gateway(s: Session, row: models.Router) -> None:
    """Remove the gateway port; 409 while floating IPs go through this router."""
    if not row.gw_port_id:
        return
    f = models.FloatingIP
    if s.scalar(select(f.id).where(f.router_id == row.id).limit(1)) is not None:
        net_id = s.scalar(select(models.Port.network_id).where(models.Port.id == row.gw_port_id))
        raise RouterExternalGatewayInUseByFloatingIp(row.id, str(net_id))
    port_id = row.gw_port_id
    row.gw_port_id = None
    s.query(models.RouterPort).filter(models.RouterPort.port_id == port_id).delete()
    s.flush()
    ports.delete(s, INTERNAL, port_id, internal=True)


# --- subnets the router is on -----------------------------------------------------------------------


def router_subnet_ids(s: Session, router_id: str) -> tuple[set[str], set[str]]:
    """(subnets the router has an address on, every subnet it reaches incl. its gateway network's)."""
    rp, a, p = models.RouterPort, models.IPAllocation, models.Port
    on: set[str] = set()
    reach: set[str] = set()
    for port_id, port_type, network_id in s.execute(
            select(rp.port_id, rp.port_type, p.network_id).join(p, p.id == rp.port_id)
            .where(rp.router_id == router_id)):
        ids = set(s.scalars(select(a.subnet_id).where(a.port_id == port_id)))
        on |= ids
        if port_type == GATEWAY:
            reach |= {sub.id for sub in _subnets_of_network(s, network_id)}
        else:
            reach |= ids
    return on, reach


def check_dup_subnets(s: Session, row: models.Router, new: Sequence[models.Subnet]) -> None:
    """Neutron's ``_check_for_dup_router_subnets``: one port per subnet, no overlapping CIDRs."""
    on, reach = router_subnet_ids(s, row.id)
    for sub in new:
        if sub.id in on:
            raise BadRequest("router", f"Router already has a port on subnet {sub.id}")
    if not reach:
        return
    existing = list(s.scalars(select(models.Subnet).where(models.Subnet.id.in_(reach)).order_by(models.Subnet.id)))
    for old in existing:
        for sub in new:
            a_net, b_net = ipaddress.ip_network(old.cidr), ipaddress.ip_network(sub.cidr)
            if a_net.version == b_net.version and a_net.overlaps(b_net):
                raise BadRequest("router", f"Cidr {sub.cidr} of subnet {sub.id} overlaps with cidr {old.cidr} "
                                           f"of subnet {old.id}")


# --- extra routes -----------------------------------------------------------------------------------


def loads_routes(s: Session, router_id: str) -> list[dict[str, str]]:
    return routes_of(s, [router_id])[router_id]


def validate_routes(s: Session, row: models.Router, routes: Sequence[Mapping[str, str]]) -> None:
    """Each nexthop on a subnet the router is connected to, and not one of the router's own addresses."""
    rp, a = models.RouterPort, models.IPAllocation
    cidrs: list[Any] = []
    own: set[str] = set()
    for subnet_id, ip in s.execute(select(a.subnet_id, a.ip_address).join(rp, rp.port_id == a.port_id)
                                   .where(rp.router_id == row.id)):
        cidr = s.scalar(select(models.Subnet.cidr).where(models.Subnet.id == subnet_id))
        if cidr:
            cidrs.append(ipaddress.ip_network(cidr))
        own.add(ip)
    shown = [dict(r) for r in routes]
    for route in routes:
        hop = ipaddress.ip_address(route["nexthop"])
        if not any(hop.version == c.version and hop in c for c in cidrs):
            raise InvalidRoutes(shown, "the nexthop is not connected with router")
        if route["nexthop"] in own:
            raise InvalidRoutes(shown, "the nexthop is used by router")


def set_routes(s: Session, row: models.Router, routes: Sequence[Mapping[str, str]]) -> None:
    """Replace the router's extra routes with ``routes`` (validated; at most ``MAX_ROUTES``)."""
    validate_routes(s, row, routes)
    if len(routes) > MAX_ROUTES:
        raise RoutesExhausted(row.id, MAX_ROUTES)
    rr = models.RouterRoute
    s.query(rr).filter(rr.router_id == row.id).delete()
    for dest, hop in sorted({(r["destination"], r["nexthop"]) for r in routes}):
        s.add(rr(router_id=row.id, destination=dest, nexthop=hop))
    s.flush()


def change_routes(s: Session, caller: Caller, router_id: str, routes: Sequence[Mapping[str, str]],
                  adding: bool) -> dict[str, Any]:
    """``add_extraroutes`` / ``remove_extraroutes``: the union or difference, then set as a whole."""
    row = get_row(s, caller, router_id)
    hold(s, row)
    old = {(r["destination"], r["nexthop"]) for r in loads_routes(s, row.id)}
    given = {(r["destination"], r["nexthop"]) for r in routes}
    wanted = old | given if adding else old - given
    set_routes(s, row, [{"destination": d, "nexthop": n} for d, n in sorted(wanted)])
    s.flush()
    return views(s, caller, [row])[0]
