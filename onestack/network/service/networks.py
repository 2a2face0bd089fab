"""Networks: who sees them (own, shared by RBAC, external), create with RBAC entries for
``shared`` and ``router:external``, update, delete (refused while ports other than the
network's own DHCP ports remain)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, delete, func, or_, select
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.errors import (
    ExternalNetworkInUse,
    InvalidSharedSetting,
    NetworkInUse,
    NetworkMTUSubnetConflict,
    NetworkNotFound,
)
from onestack.network.service import availability_zones, next_free, quotas, subnetpools
from onestack.network.service.common import (
    Caller,
    Listing,
    ListQuery,
    by_id_as,
    check_revision,
    delete_tags,
    dumps,
    loads,
    new_id,
    paged,
    rbac_granted,
    shared_with_all,
    stamp_new,
    standard_view,
    tags_of,
    touch,
)

N = models.Network
TAG_TYPE = "networks"
# Ports the network itself owns: they go with it, they do not keep it in use.
OWN_PORTS = ("network:dhcp",)
# The least MTU a subnet of each IP version needs (RFC 791, RFC 8200).
IPV4_MIN_MTU, IPV6_MIN_MTU = 68, 1280


def visible(caller: Caller) -> Any:
    """Networks ``caller`` may see: their own, those shared with them or everyone, external ones."""
    if caller.is_admin:
        return None
    return _visible_to(caller.project_id)


def _visible_to(project: Any, n: Any = N) -> Any:
    """``visible`` for a non-admin of ``project`` (a value or a bound parameter), on the mapped
    class's or (``n`` = the table's ``c``) the table's columns."""
    return or_(n.project_id == project,
               rbac_granted("network", n.id, "access_as_shared", project),
               rbac_granted("network", n.id, "access_as_external", project))


# One network by id, for an admin and for a project's caller (bound ``project``): built once, as a
# port or subnet create and every port/subnet policy read ask them (docs/design.md, statements on
# the hot paths); those that need columns only are Core. A project of None matches no network's
# project and only the '*' RBAC grants, as ``visible`` does for it.
_T = cast(Table, N.__table__).c
_ROW = select(N).where(N.id == bindparam("id"))
_ROW_VISIBLE = _ROW.where(_visible_to(bindparam("project")))
_PROJECT_OF = select(_T.project_id).where(_T.id == bindparam("id"))
_FOR_PORT = select(_T.id, _T.project_id, _T.port_security_enabled).where(_T.id == bindparam("id"))
_VISIBLE_TO = _visible_to(bindparam("project"), _T)
_PROJECT_OF_VISIBLE, _FOR_PORT_VISIBLE = _PROJECT_OF.where(_VISIBLE_TO), _FOR_PORT.where(_VISIBLE_TO)


def _visible_stmt(caller: Caller) -> Select[Any]:
    cond = visible(caller)
    stmt = select(N)
    return stmt if cond is None else stmt.where(cond)


def _shared(caller: Caller) -> Any:
    return rbac_granted("network", N.id, "access_as_shared", caller.project_id)


def listing(caller: Caller) -> Listing:
    return Listing(
        tag_type=TAG_TYPE, id_column=N.id,
        columns={"id": N.id, "name": N.name, "project_id": N.project_id, "tenant_id": N.project_id,
                 "admin_state_up": N.admin_state_up, "status": N.status, "mtu": N.mtu,
                 "port_security_enabled": N.port_security_enabled, "router:external": N.router_external,
                 "is_default": N.is_default, "provider:network_type": N.provider_network_type,
                 "provider:physical_network": N.provider_physical_network,
                 "provider:segmentation_id": N.provider_segmentation_id, "description": N.description,
                 "revision_number": N.revision_number, "created_at": N.created_at,
                 "updated_at": N.updated_at, "dns_domain": N.dns_domain},
        conditions={"shared": lambda values: _shared(caller) if all(values) else
                    (~_shared(caller) if not any(values) else N.id.is_not(None))},
    )


def get_row(s: Session, caller: Caller, network_id: str) -> models.Network:
    """The network if ``caller`` may see it, else 404 ``NetworkNotFound``."""
    row: models.Network | None = by_id_as(s, caller, _ROW, _ROW_VISIBLE, network_id).scalar()
    if row is None:
        raise NetworkNotFound(network_id)
    return row


def for_port(s: Session, caller: Caller, network_id: str) -> tuple[str, str, bool]:
    """The network's id (as stored), project and ``port_security_enabled`` if ``caller`` may see
    it, else 404 ``NetworkNotFound``: what a port create needs of it, without an ORM row."""
    found = by_id_as(s, caller, _FOR_PORT, _FOR_PORT_VISIBLE, network_id).first()
    if found is None:
        raise NetworkNotFound(network_id)
    return str(found[0]), str(found[1]), bool(found[2])


def project_of(s: Session, caller: Caller, network_id: str) -> str:
    """The network's project if ``caller`` may see it, else 404 ``NetworkNotFound``: one column, no
    ORM row (every port and subnet create/update/delete reads it for its policy)."""
    project: str | None = by_id_as(s, caller, _PROJECT_OF, _PROJECT_OF_VISIBLE, network_id).scalar()
    if project is None:
        raise NetworkNotFound(network_id)
    return str(project)


def views(s: Session, caller: Caller, rows: Sequence[models.Network]) -> list[dict[str, Any]]:
    """The API view of each network; one query per related table for the whole page."""
    ids = [r.id for r in rows]
    if not ids:
        return []
    subnets: dict[str, list[str]] = {i: [] for i in ids}
    for net_id, sub_id in s.execute(select(models.Subnet.network_id, models.Subnet.id)
                                    .where(models.Subnet.network_id.in_(ids)).order_by(models.Subnet.id)):
        subnets[net_id].append(sub_id)
    r = models.RbacPolicy
    targets = ["*"] if caller.project_id is None else ["*", caller.project_id]
    shared = set(s.scalars(select(r.object_id).where(r.object_type == "network", r.object_id.in_(ids),
                                                     r.action == "access_as_shared",
                                                     r.target_project.in_(targets))))
    tags = tags_of(s, TAG_TYPE, ids)
    scopes = subnetpools.network_scopes(s, ids)
    zones = availability_zones.of_networks(s, ids)
    return [_view(row, subnets[row.id], row.id in shared, tags[row.id], scopes[row.id], zones[row.id])
            for row in rows]


def _view(row: models.Network, subnets: list[str], shared: bool, tags: list[str],
          scopes: Mapping[int, str], zones: list[str]) -> dict[str, Any]:
    return {
        "id": row.id, "name": row.name, "project_id": row.project_id, "tenant_id": row.project_id,
        "admin_state_up": row.admin_state_up, "status": row.status, "subnets": subnets, "shared": shared,
        "mtu": row.mtu, "port_security_enabled": row.port_security_enabled,
        "router:external": row.router_external, "is_default": row.is_default,
        "availability_zone_hints": loads(row.availability_zone_hints, []),
        "availability_zones": zones, "ipv4_address_scope": scopes.get(4), "ipv6_address_scope": scopes.get(6),
        "l2_adjacency": True, "dns_domain": row.dns_domain, "qos_policy_id": None,
        "provider:network_type": row.provider_network_type,
        "provider:physical_network": row.provider_physical_network,
        "provider:segmentation_id": row.provider_segmentation_id,
        "tags": tags, **standard_view(row),
    }


def list_networks(s: Session, caller: Caller, q: ListQuery) -> list[dict[str, Any]]:
    rows = paged(s, _visible_stmt(caller), listing(caller), q, N)
    return views(s, caller, rows)


def show(s: Session, caller: Caller, network_id: str) -> dict[str, Any]:
    return views(s, caller, [get_row(s, caller, network_id)])[0]


def _next_segmentation_id(s: Session, network_type: str) -> int | None:
    if network_type not in ("vxlan", "geneve", "gre"):
        return None
    top = s.scalar(select(func.max(N.provider_segmentation_id)).where(N.provider_network_type == network_type))
    return (top or 0) + 1


def _grant(s: Session, project_id: str, network_id: str, action: str) -> None:
    s.add(models.RbacPolicy(id=new_id(), project_id=project_id, object_type="network", object_id=network_id,
                            action=action, target_project="*"))


def _revoke(s: Session, network_id: str, action: str) -> None:
    r = models.RbacPolicy
    s.execute(delete(r).where(r.object_type == "network", r.object_id == network_id, r.action == action,
                              r.target_project == "*"))


def create(s: Session, caller: Caller, project_id: str, attrs: Mapping[str, Any], default_mtu: int) -> dict[str, Any]:
    """A network for ``project_id`` from checked ``attrs`` (the API applied policy and defaults)."""
    quotas.check(s, project_id, "network")
    availability_zones.validate(s, "network", attrs.get("availability_zone_hints") or [])
    network_type = attrs.get("provider:network_type") or ("flat" if attrs.get("provider:physical_network")
                                                          else "geneve")
    seg = attrs.get("provider:segmentation_id")
    row = N(id=new_id(), project_id=project_id, name=attrs.get("name", ""),
            description=attrs.get("description", ""), admin_state_up=attrs.get("admin_state_up", True),
            status="ACTIVE", mtu=attrs.get("mtu") or default_mtu,
            port_security_enabled=attrs.get("port_security_enabled", True),
            router_external=bool(attrs.get("router:external", False)), is_default=bool(attrs.get("is_default", False)),
            provider_network_type=network_type,
            provider_physical_network=attrs.get("provider:physical_network"),
            provider_segmentation_id=seg if seg is not None else _next_segmentation_id(s, network_type),
            availability_zone_hints=dumps(attrs.get("availability_zone_hints") or []),
            dns_domain=attrs.get("dns_domain") or "")
    stamp_new(row)
    s.add(row)
    s.flush()
    if attrs.get("shared"):
        _grant(s, project_id, row.id, "access_as_shared")
    if row.router_external:
        _grant(s, project_id, row.id, "access_as_external")
    s.flush()
    return views(s, caller, [row])[0]


def create_many(s: Session, caller: Caller, prepared: Sequence[tuple[str, Mapping[str, Any]]],
                default_mtu: int) -> list[dict[str, Any]]:
    """Neutron's bulk create: every network of the request in one transaction, or none."""
    return [create(s, caller, project_id, attrs, default_mtu) for project_id, attrs in prepared]


def _ports_of_others(s: Session, network_id: str) -> Any:
    p = models.Port
    return s.scalar(select(p.id).where(p.network_id == network_id, p.device_owner.not_in(OWN_PORTS)).limit(1))


def update(s: Session, caller: Caller, network_id: str, attrs: Mapping[str, Any],
           revision: int | None = None) -> dict[str, Any]:
    row = get_row(s, caller, network_id)
    check_revision(row, revision)
    if "mtu" in attrs:
        _check_mtu(s, row.id, attrs["mtu"])
    for key, column in (("name", "name"), ("description", "description"), ("admin_state_up", "admin_state_up"),
                        ("mtu", "mtu"), ("port_security_enabled", "port_security_enabled"),
                        ("dns_domain", "dns_domain"), ("is_default", "is_default")):
        if key in attrs:
            setattr(row, column, attrs[key] if attrs[key] is not None else "")
    if "shared" in attrs:
        currently = shared_with_all(s, "network", row.id)
        if attrs["shared"] and not currently:
            _grant(s, row.project_id, row.id, "access_as_shared")
        elif not attrs["shared"] and currently:
            _unshare_check(s, row)
            _revoke(s, row.id, "access_as_shared")
    if "router:external" in attrs and attrs["router:external"] != row.router_external:
        row.router_external = bool(attrs["router:external"])
        if row.router_external:
            _grant(s, row.project_id, row.id, "access_as_external")
        else:
            _no_gateways(s, row.id)
            _revoke(s, row.id, "access_as_external")
    touch(row)
    s.flush()
    return views(s, caller, [row])[0]


def _check_mtu(s: Session, network_id: str, mtu: int) -> None:
    """The network's subnets must fit in the new MTU: 68 for IPv4, 1280 for IPv6 (Neutron's
    ``_validate_change_network_mtu``: NetworkMTUSubnetConflict, 409)."""
    if mtu >= IPV6_MIN_MTU:
        return
    # The network's row lock, taken as a new subnet takes it: no IPv6 subnet slips in meanwhile.
    s.execute(select(N.id).where(N.id == network_id).with_for_update())
    versions = set(s.scalars(select(models.Subnet.ip_version).distinct().where(models.Subnet.network_id == network_id)))
    if versions and mtu < IPV4_MIN_MTU:
        raise NetworkMTUSubnetConflict(network_id, IPV4_MIN_MTU)
    if 6 in versions:
        raise NetworkMTUSubnetConflict(network_id, IPV6_MIN_MTU)


def _no_gateways(s: Session, network_id: str) -> None:
    """An external network stays external while routers have their gateway on it (Neutron's
    ExternalNetworkInUse)."""
    p = models.Port
    if s.scalar(select(p.id).where(p.network_id == network_id, p.device_owner == "network:router_gateway")
                .limit(1)) is not None:
        raise ExternalNetworkInUse(network_id)


def _unshare_check(s: Session, row: models.Network) -> None:
    """A network stays shared while another project has ports on it (Neutron's InvalidSharedSetting)."""
    p = models.Port
    other = s.scalar(select(p.id).where(p.network_id == row.id, p.project_id != row.project_id,
                                        p.device_owner.not_in(OWN_PORTS)).limit(1))
    if other is not None:
        raise InvalidSharedSetting(f"Unable to reconfigure sharing settings for network {row.id}. "
                                   "Multiple tenants are using it.")


def delete_network(s: Session, caller: Caller, network_id: str, revision: int | None = None) -> models.Network:
    """Delete the network with its subnets, DHCP ports, free floating IPs, RBAC entries and tags;
    409 while in use (a port of a server or router, an associated floating IP)."""
    from onestack.network.service import floating_ips  # it imports this module
    # The network's row lock first, as the DHCP agent's sync takes it: a DHCP port it makes meanwhile is
    # either in before this looks (and deleted below) or waits and finds the network gone. First of
    # all: at MySQL/MariaDB's REPEATABLE READ a read before it would fix this transaction's snapshot
    # then, and the reads below would miss the port the sync committed while this waited (its
    # addresses then fail the subnets' delete, a 500).
    s.execute(select(N.id).where(N.id == network_id).with_for_update())
    row = get_row(s, caller, network_id)
    check_revision(row, revision)
    floating_ips.delete_free_on_network(s, network_id)  # rolled back with the rest on a 409
    if _ports_of_others(s, network_id) is not None:
        raise NetworkInUse(network_id)
    p, sub = models.Port, models.Subnet
    own = list(s.scalars(select(p.id).where(p.network_id == network_id)))
    if own:
        s.execute(delete(models.IPAllocation).where(models.IPAllocation.port_id.in_(own)))
        s.execute(delete(p).where(p.id.in_(own)))
    for subnet_id in list(s.scalars(select(sub.id).where(sub.network_id == network_id))):
        delete_tags(s, "subnets", subnet_id)
        next_free.forget(subnet_id)  # a hint only: dropped even if this rolls back
    s.execute(delete(sub).where(sub.network_id == network_id))
    r = models.RbacPolicy
    s.execute(delete(r).where(r.object_type == "network", r.object_id == network_id))
    s.execute(delete(models.AutoAllocatedTopology).where(models.AutoAllocatedTopology.network_id == network_id))
    delete_tags(s, TAG_TYPE, network_id)
    s.delete(row)
    s.flush()
    return row
