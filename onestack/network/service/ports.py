"""Ports: a MAC and fixed IPs on a network for a device (a server, a router, a floating IP), with
security groups, allowed address pairs, extra DHCP options and where it is bound.

In-process callers (routers, floating IPs, bootstrap, the agents' server side) use ``create``,
``update``, ``delete``, ``get_row`` and ``views`` with ``Caller(project_id=None, is_admin=True)``.
A port is visible to its project, to its network's owner and to admins. Ports the network or
a router owns through the API (``network:router_gateway``, ``network:floatingip``) may carry
project "" and then count against no quota, as in Neutron.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, exists, or_, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from onestack.core.config import NetworkConfig
from onestack.network import models
from onestack.network.errors import (
    AddressPairAndPortSecurityRequired,
    HTTPBadRequest,
    PortBound,
    PortNotFound,
    PortSecurityAndIPRequiredForSecurityGroups,
    PortSecurityPortHasSecurityGroup,
    SecurityGroupNotFound,
    ServicePortInUse,
)
from onestack.network.service import (
    ipam,
    macs,
    networks,
    nova_notifier,
    quotas,
    security_groups,
    subnets,
)
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
    stamp_new,
    standard_view,
    tags_of,
    touch,
)

P = models.Port
TAG_TYPE = "ports"
# Ports the L3 service owns: the port API refuses to delete them while their router / floating IP lives.
L3_OWNERS = (*ipam.ROUTER_INTERFACE_OWNERS, "network:router_gateway", "network:floatingip")
BOUND_DETAILS = {"port_filter": True, "connectivity": "l2", "bridge_name": "br-int", "datapath_type": "system"}


# --- who sees what ------------------------------------------------------------------------------

def visible(caller: Caller) -> Any:
    if caller.is_admin:
        return None
    return _visible_to(caller.project_id)


def _visible_to(project: Any, p: Any = P, n: Any = models.Network) -> Any:
    """``visible`` for a non-admin of ``project`` (a value or a bound parameter), on the mapped
    classes' or (``p``, ``n`` = the tables' ``c``) the tables' columns."""
    owned = select(n.id).where(n.project_id == project)
    return or_(p.project_id == project, p.network_id.in_(owned))


def _visible_stmt(caller: Caller) -> Select[Any]:
    cond = visible(caller)
    return select(P) if cond is None else select(P).where(cond)


def _fixed_ips_filter(values: list[Any]) -> Any:
    """``fixed_ips=ip_address=X``, ``fixed_ips=subnet_id=Y``, ``fixed_ips=ip_address_substr=Z``:
    one allocation of the port must match every kind given (any of its values)."""
    wanted: dict[str, list[str]] = {}
    for value in values:
        key, sep, item = str(value).partition("=")
        if not sep or key not in ("ip_address", "subnet_id", "ip_address_substr"):
            raise HTTPBadRequest(f"Invalid input for fixed_ips. Reason: '{value}' is not of the form "
                                 "<key>=[value].")
        wanted.setdefault(key, []).append(item)
    a = models.IPAllocation
    cond = exists().where(a.port_id == P.id)
    if "ip_address" in wanted:
        cond = cond.where(a.ip_address.in_(wanted["ip_address"]))
    if "subnet_id" in wanted:
        cond = cond.where(a.subnet_id.in_(wanted["subnet_id"]))
    if "ip_address_substr" in wanted:
        cond = cond.where(or_(*[a.ip_address.contains(x, autoescape=True) for x in wanted["ip_address_substr"]]))
    return cond


def _security_groups_filter(values: list[Any]) -> Any:
    g = models.PortSecurityGroup
    return exists().where(g.port_id == P.id, g.security_group_id.in_(values))


def listing(caller: Caller) -> Listing:
    return Listing(
        tag_type=TAG_TYPE, id_column=P.id,
        columns={"id": P.id, "name": P.name, "network_id": P.network_id, "project_id": P.project_id,
                 "tenant_id": P.project_id, "mac_address": P.mac_address, "admin_state_up": P.admin_state_up,
                 "status": P.status, "device_id": P.device_id, "device_owner": P.device_owner,
                 "port_security_enabled": P.port_security_enabled, "dns_name": P.dns_name,
                 "ip_allocation": P.ip_allocation, "propagate_uplink_status": P.propagate_uplink_status,
                 "binding:host_id": P.binding_host_id, "binding:vnic_type": P.binding_vnic_type,
                 "binding:vif_type": P.binding_vif_type, "description": P.description,
                 "revision_number": P.revision_number, "created_at": P.created_at, "updated_at": P.updated_at},
        conditions={"fixed_ips": _fixed_ips_filter, "security_groups": _security_groups_filter},
    )


# A port by id for an admin and for a project's caller (bound ``project``), and what its
# update/delete policy sees: built once, as every port delete and update asks both
# (docs/design.md, statements on the hot paths).
_ROW = select(P).where(P.id == bindparam("id"))
_ROW_VISIBLE = _ROW.where(_visible_to(bindparam("project")))


def _policy_statements() -> tuple[Any, Any]:
    """The port and its network's project in one round trip (the port's own network aliased,
    apart from the networks of the visibility subquery); Core: columns, no ORM."""
    p, networks_table = cast(Table, P.__table__), cast(Table, models.Network.__table__)
    n = networks_table.alias("port_network")
    stmt = (select(p.c.project_id, p.c.device_owner, n.c.project_id).select_from(p)
            .outerjoin(n, n.c.id == p.c.network_id).where(p.c.id == bindparam("id")))
    return stmt, stmt.where(_visible_to(bindparam("project"), p.c, networks_table.c))


_POLICY, _POLICY_VISIBLE = _policy_statements()


def get_row(s: Session, caller: Caller, port_id: str) -> models.Port:
    """The port if ``caller`` may see it, else 404 ``PortNotFound``."""
    row: models.Port | None = by_id_as(s, caller, _ROW, _ROW_VISIBLE, port_id).scalar()
    if row is None:
        raise PortNotFound(port_id)
    return row


def policy_target(s: Session, caller: Caller, port_id: str) -> dict[str, Any]:
    """What update/delete policies see of a port: its project and its network's."""
    found = by_id_as(s, caller, _POLICY, _POLICY_VISIBLE, port_id).first()
    if found is None:
        raise PortNotFound(port_id)
    project, device_owner, owner = found[0], found[1], found[2] or ""
    return {"project_id": project, "tenant_id": project, "network:project_id": owner,
            "network:tenant_id": owner, "device_owner": device_owner}


# --- views --------------------------------------------------------------------------------------

def views(s: Session, caller: Caller, rows: Sequence[models.Port]) -> list[dict[str, Any]]:
    """The API view of each port (all of binding:*; the API hides them from non-admins)."""
    ids = [r.id for r in rows]
    if not ids:
        return []
    fixed: dict[str, list[dict[str, str]]] = {i: [] for i in ids}
    a = models.IPAllocation
    for pid, sid, ip in s.execute(select(a.port_id, a.subnet_id, a.ip_address).where(a.port_id.in_(ids))):
        fixed[pid].append({"subnet_id": sid, "ip_address": ip})
    groups: dict[str, list[str]] = {i: [] for i in ids}
    g = models.PortSecurityGroup
    for pid, gid in s.execute(select(g.port_id, g.security_group_id).where(g.port_id.in_(ids))):
        groups[pid].append(gid)
    pairs: dict[str, list[dict[str, str]]] = {i: [] for i in ids}
    ap = models.AllowedAddressPair
    for pid, ip, mac in s.execute(select(ap.port_id, ap.ip_address, ap.mac_address).where(ap.port_id.in_(ids))):
        pairs[pid].append({"ip_address": ip, "mac_address": mac})
    opts: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    o = models.ExtraDhcpOpt
    for pid, name, version, value in s.execute(select(o.port_id, o.opt_name, o.ip_version, o.opt_value)
                                               .where(o.port_id.in_(ids))):
        opts[pid].append({"opt_name": name, "opt_value": value, "ip_version": version})
    tags = tags_of(s, TAG_TYPE, ids)
    return [_view(r, fixed[r.id], groups[r.id], pairs[r.id], opts[r.id], tags[r.id]) for r in rows]


def _view(r: models.Port, fixed: list[dict[str, str]], groups: list[str], pairs: list[dict[str, str]],
          opts: list[dict[str, Any]], tags: list[str]) -> dict[str, Any]:
    return {
        "id": r.id, "name": r.name, "network_id": r.network_id, "project_id": r.project_id,
        "tenant_id": r.project_id, "mac_address": r.mac_address, "admin_state_up": r.admin_state_up,
        "status": r.status, "device_id": r.device_id, "device_owner": r.device_owner,
        # Neutron's order: by the address as text, then the subnet.
        "fixed_ips": sorted(fixed, key=lambda f: (f["ip_address"], f["subnet_id"])),
        "allowed_address_pairs": sorted(pairs, key=lambda x: (x["ip_address"], x["mac_address"])),
        "extra_dhcp_opts": sorted(opts, key=lambda x: (x["opt_name"], x["ip_version"])),
        "security_groups": sorted(groups), "port_security_enabled": r.port_security_enabled,
        "dns_name": r.dns_name, "ip_allocation": r.ip_allocation,
        "propagate_uplink_status": r.propagate_uplink_status,
        "binding:host_id": r.binding_host_id, "binding:vnic_type": r.binding_vnic_type,
        "binding:profile": loads(r.binding_profile, {}), "binding:vif_type": r.binding_vif_type,
        "binding:vif_details": loads(r.binding_vif_details, {}),
        "tags": tags, **standard_view(r),
    }


def list_ports(s: Session, caller: Caller, q: ListQuery) -> list[dict[str, Any]]:
    return views(s, caller, paged(s, _visible_stmt(caller), listing(caller), q, P))


def show(s: Session, caller: Caller, port_id: str) -> dict[str, Any]:
    return views(s, caller, [get_row(s, caller, port_id)])[0]


# --- pieces of create and update ---------------------------------------------------------------------

def _bind(row: models.Port, host: str) -> None:
    """binding:host_id decides vif_type and vif_details (the agent of that host wires it)."""
    row.binding_host_id = host or ""
    row.binding_vif_type = "ovs" if host else "unbound"
    row.binding_vif_details = dumps(BOUND_DETAILS if host else {})


def _check_groups(s: Session, project_id: str, group_ids: Sequence[str]) -> list[str]:
    """The groups, each the port's project's or shared with it, else 404 ``SecurityGroupNotFound``."""
    ids = list(dict.fromkeys(group_ids))
    if not ids:
        return []
    g = models.SecurityGroup
    found = set(s.scalars(select(g.id).where(g.id.in_(ids), or_(
        g.project_id == project_id,
        rbac_granted("security_group", g.id, "access_as_shared", project_id or None)))))
    missing = [i for i in ids if i not in found]
    if missing:
        raise SecurityGroupNotFound(", ".join(missing))
    return ids


def _store_groups(s: Session, port_id: str, group_ids: Sequence[str], new: bool = False) -> None:
    if not new:  # a new port has none to replace: one round trip saved per create
        s.execute(sql_delete(models.PortSecurityGroup).where(models.PortSecurityGroup.port_id == port_id))
    for gid in group_ids:
        s.add(models.PortSecurityGroup(port_id=port_id, security_group_id=gid))


def _store_pairs(s: Session, row: models.Port, pairs: Sequence[Mapping[str, Any]],
                 new: bool = False) -> list[dict[str, str]]:
    """Replace the port's pairs; what is stored now (for the view)."""
    if not new:
        s.execute(sql_delete(models.AllowedAddressPair).where(models.AllowedAddressPair.port_id == row.id))
    seen: set[tuple[str, str]] = set()
    for pair in pairs:
        key = (str(pair["ip_address"]), str(pair.get("mac_address") or row.mac_address))
        if key not in seen:  # one given without a MAC may equal one given with the port's MAC
            seen.add(key)
            s.add(models.AllowedAddressPair(port_id=row.id, ip_address=key[0], mac_address=key[1]))
    return [{"ip_address": ip, "mac_address": mac} for ip, mac in seen]


def _merge_opts(s: Session, port_id: str, opts: Sequence[Mapping[str, Any]]) -> None:
    """Extra DHCP options: each (name, ip_version) set to its value, or removed when the value is null."""
    o = models.ExtraDhcpOpt
    for opt in opts:
        version = int(opt.get("ip_version") or 4)
        s.execute(sql_delete(o).where(o.port_id == port_id, o.opt_name == opt["opt_name"], o.ip_version == version))
        if opt.get("opt_value") is not None:
            s.add(o(port_id=port_id, opt_name=opt["opt_name"], ip_version=version, opt_value=str(opt["opt_value"])))
    s.flush()


def _has_groups(s: Session, port_id: str) -> bool:
    g = models.PortSecurityGroup
    return s.scalar(select(g.port_id).where(g.port_id == port_id).limit(1)) is not None


def _has_pairs(s: Session, port_id: str) -> bool:
    ap = models.AllowedAddressPair
    return s.scalar(select(ap.port_id).where(ap.port_id == port_id).limit(1)) is not None


# --- create, update, delete ---------------------------------------------------------------------------

def create(s: Session, caller: Caller, project_id: str, attrs: Mapping[str, Any],
           config: NetworkConfig) -> dict[str, Any]:
    """A port for ``project_id`` from checked ``attrs`` (the API applied policy); absent
    attributes take Neutron's defaults."""
    # subnets.network_for_new's checks on two columns of the network, not its ORM row.
    network_id, network_project, network_port_security = networks.for_port(s, caller, attrs["network_id"])
    subnets.may_build_on(s, caller, network_id, network_project, project_id)
    owner = attrs.get("device_owner") or ""
    port_security = attrs.get("port_security_enabled")
    if port_security is None:
        port_security = network_port_security
    pairs = attrs.get("allowed_address_pairs") or []
    if pairs and not port_security:
        raise AddressPairAndPortSecurityRequired()
    groups = attrs.get("security_groups")
    if not port_security:
        if groups:
            raise PortSecurityAndIPRequiredForSecurityGroups()
        groups = []
    elif groups is None:
        # Ports of network devices are trusted: no groups unless asked for. The default group
        # needs no check: it is the project's own.
        groups = [] if owner.startswith("network:") or not project_id else [security_groups.ensure_default(s, project_id)]
    else:
        groups = _check_groups(s, project_id, groups)
    if project_id and owner != "network:dhcp":  # the DHCP agent's port is the network's, past quota (Neutron)
        quotas.check(s, project_id, "port")
    all_subnets = ipam.subnets_of(s, network_id)
    usable = ipam.candidates(all_subnets, owner, network_id)
    fixed = attrs.get("fixed_ips")
    if fixed is None:
        wanted = ipam.implicit(usable)
    else:
        wanted = ipam.requested(s, fixed, usable, network_id, owner, config.max_fixed_ips_per_port,
                                attrs.get("mac_address"))
    row = P(id=new_id(), project_id=project_id, network_id=network_id, name=attrs.get("name") or "",
            description=attrs.get("description") or "", mac_address="",
            admin_state_up=attrs.get("admin_state_up", True), status="DOWN",
            device_id=attrs.get("device_id") or "", device_owner=owner, port_security_enabled=port_security,
            dns_name=attrs.get("dns_name") or "", ip_allocation="immediate",
            # Neutron 29 defaults it to true (its column's server default and the API default).
            propagate_uplink_status=bool(attrs.get("propagate_uplink_status", True)),
            binding_vnic_type=attrs.get("binding:vnic_type") or "normal",
            binding_profile=dumps(attrs.get("binding:profile") or {}))
    _bind(row, attrs.get("binding:host_id") or "")
    stamp_new(row)
    macs.insert_with_mac(s, row, config.base_mac, attrs.get("mac_address"))
    wanted += ipam.auto_addresses(usable, row.mac_address, owner, [w.choices[0].id for w in wanted])
    allocated = ipam.allocate(s, wanted, row.id, network_id)
    _store_groups(s, row.id, groups, new=True)
    stored_pairs = _store_pairs(s, row, pairs, new=True)
    if attrs.get("extra_dhcp_opts"):
        _merge_opts(s, row.id, attrs["extra_dhcp_opts"])
        return views(s, caller, [row])[0]
    s.flush()
    # Everything the view shows is at hand: no queries to read it back (a new port has no tags).
    return _view(row, [{"subnet_id": sid, "ip_address": ip} for sid, ip in allocated], groups, stored_pairs, [], [])


def create_many(s: Session, caller: Caller, items: Sequence[tuple[str, Mapping[str, Any]]],
                config: NetworkConfig) -> list[dict[str, Any]]:
    """Several ports in one transaction (Neutron's bulk create: all or none)."""
    return [create(s, caller, project_id, attrs, config) for project_id, attrs in items]


def update(s: Session, caller: Caller, port_id: str, attrs: Mapping[str, Any], config: NetworkConfig,
           revision: int | None = None) -> dict[str, Any]:
    row = get_row(s, caller, port_id)
    check_revision(row, revision)
    device = (row.device_id, row.device_owner)
    for key, column in (("name", "name"), ("description", "description"), ("device_id", "device_id"),
                        ("device_owner", "device_owner"), ("dns_name", "dns_name")):
        if key in attrs:
            setattr(row, column, attrs[key] or "")
    if attrs.get("admin_state_up") is not None:
        row.admin_state_up = bool(attrs["admin_state_up"])
    new_mac = "mac_address" in attrs and attrs["mac_address"] != row.mac_address
    if new_mac:
        # Only a port not wired anywhere (as it was before this request) may change its MAC.
        if row.binding_vif_type not in ("unbound", "binding_failed"):
            raise PortBound(row.id, row.binding_vif_type, row.mac_address, str(attrs["mac_address"]))
        # null: a fresh one (port-mac-address-regenerate)
        macs.change_mac(s, row, config.base_mac, attrs["mac_address"])
    if "binding:vnic_type" in attrs:
        row.binding_vnic_type = attrs["binding:vnic_type"] or "normal"
    if "binding:profile" in attrs:
        row.binding_profile = dumps(attrs["binding:profile"] or {})
    if "binding:host_id" in attrs:
        _bind(row, attrs["binding:host_id"] or "")
    _update_security(s, row, attrs)
    if "extra_dhcp_opts" in attrs:
        _merge_opts(s, row.id, attrs["extra_dhcp_opts"] or [])
    if "fixed_ips" in attrs or new_mac:
        held = sorted(ipam.held(s, row.id))
        _update_addresses(s, row, attrs.get("fixed_ips"), config, new_mac)
        if sorted(ipam.held(s, row.id)) != held:
            nova_notifier.port_changed(s, row)
        if "fixed_ips" in attrs:
            # A floating IP's fixed address must stay, stale port forwardings go (h/l3; imported
            # here because floating_ips imports ports).
            from onestack.network.service import floating_ips

            floating_ips.fixed_ips_changed(s, row.id)
    if (row.device_id, row.device_owner) != device:
        nova_notifier.port_changed(s, row, *device)  # the server it left, if any, drops it
        nova_notifier.port_changed(s, row)
    touch(row)
    s.flush()
    return views(s, caller, [row])[0]


def _update_security(s: Session, row: models.Port, attrs: Mapping[str, Any]) -> None:
    port_security = attrs.get("port_security_enabled")
    if port_security is None:
        port_security = row.port_security_enabled
    groups = attrs.get("security_groups")
    if "security_groups" in attrs and groups is None:
        groups = []
    if not port_security:
        if groups:
            raise PortSecurityAndIPRequiredForSecurityGroups()
        if row.port_security_enabled and groups is None and _has_groups(s, row.id):
            raise PortSecurityPortHasSecurityGroup()
        pairs_after = attrs["allowed_address_pairs"] if "allowed_address_pairs" in attrs else _has_pairs(s, row.id)
        if pairs_after:
            raise AddressPairAndPortSecurityRequired()
    row.port_security_enabled = bool(port_security)
    if groups is not None:
        _store_groups(s, row.id, _check_groups(s, row.project_id, groups))
    if "allowed_address_pairs" in attrs:
        _store_pairs(s, row, attrs["allowed_address_pairs"] or [])


def _update_addresses(s: Session, row: models.Port, fixed: Sequence[Mapping[str, Any]] | None,
                      config: NetworkConfig, new_mac: bool) -> None:
    """New fixed_ips: keep what is still asked for, release the rest, allocate what is new; a
    new MAC moves the port's EUI-64 addresses."""
    all_subnets = ipam.subnets_of(s, row.network_id)
    usable = ipam.candidates(all_subnets, row.device_owner, row.network_id)
    original = ipam.held(s, row.id)
    auto = {i.id for i in all_subnets if i.auto_address}
    if new_mac:
        moved = [pair for pair in original
                 if pair[0] in auto and row.device_owner not in ipam.ROUTER_INTERFACE_OWNERS]
        ipam.release(s, row.id, moved)
        original = [pair for pair in original if pair not in moved]
        s.flush()
        ipam.allocate(s, ipam.auto_addresses(usable, row.mac_address, row.device_owner,
                                             [p[0] for p in original]), row.id, row.network_id)
        original = ipam.held(s, row.id)
    if fixed is None:
        return
    wanted = ipam.requested(s, fixed, usable, row.network_id, row.device_owner, config.max_fixed_ips_per_port,
                            row.mac_address)
    add, remove = ipam.changes(original, wanted, all_subnets, row.device_owner)
    ipam.release(s, row.id, remove)
    s.flush()
    # SLAAC subnets the port has no address on (any more) give it its EUI-64 one, as in Neutron.
    handled = [w.choices[0].id for w in add] + [sid for sid, _ in original]
    add += ipam.auto_addresses(usable, row.mac_address, row.device_owner, handled)
    ipam.allocate(s, add, row.id, row.network_id)


def delete(s: Session, caller: Caller, port_id: str, revision: int | None = None, *, internal: bool = False) -> None:
    """Delete the port and give back its addresses. The API (``internal`` False) refuses router
    interfaces, gateways and floating IP ports whose router / floating IP still exists."""
    row = get_row(s, caller, port_id)
    check_revision(row, revision)
    if not internal and row.device_owner in L3_OWNERS and _l3_owner_exists(s, row):
        raise ServicePortInUse(row.id, f"has device owner {row.device_owner}")
    # The port's floating IPs become free, as in Neutron (imported here: floating_ips imports ports).
    from onestack.network.service import floating_ips

    floating_ips.disassociate_port(s, row.id)
    ipam.release(s, row.id)
    # Its groups, address pairs and DHCP options go with it (ON DELETE CASCADE).
    delete_tags(s, TAG_TYPE, row.id)
    nova_notifier.port_deleted(s, row)
    s.delete(row)
    s.flush()


def _l3_owner_exists(s: Session, row: models.Port) -> bool:
    if row.device_owner == "network:floatingip":
        return s.get(models.FloatingIP, row.device_id) is not None
    return s.get(models.Router, row.device_id) is not None
