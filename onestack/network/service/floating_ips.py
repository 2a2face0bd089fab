"""Floating IPs: an address on an external network (held by a ``network:floatingip`` port owned by
no project), associated with a fixed IP of a port that a router with a gateway on that external
network reaches; and the floating IP pools (the IPv4 subnets of external networks).

Status: DOWN when free; ACTIVE once associated (no L3 agent wires NAT yet, so association is
where it becomes usable, as the agent would report it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Select, Table, and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session, aliased

from onestack.core.config import NetworkConfig
from onestack.network import models
from onestack.network.errors import (
    BadRequest,
    ExternalIpAddressExhausted,
    FipInUseByPortForwarding,
    FloatingIPNotFound,
    FloatingIPPortAlreadyAssociated,
    external_gateway_not_found,
)
from onestack.network.service import networks, nova_notifier, ports, quotas
from onestack.network.service.common import (
    Caller,
    Listing,
    ListQuery,
    check_revision,
    delete_tags,
    new_id,
    paged,
    stamp_new,
    standard_view,
    tags_of,
    touch,
)
from onestack.network.service.routers import GATEWAY, INTERFACE, INTERNAL

F = models.FloatingIP
TAG_TYPE = "floatingips"
OWNER = "network:floatingip"


def _visible_stmt(caller: Caller) -> Select[Any]:
    stmt = select(F)
    return stmt if caller.is_admin else stmt.where(F.project_id == caller.project_id)


def listing(caller: Caller) -> Listing:
    return Listing(
        tag_type=TAG_TYPE, id_column=F.id,
        columns={"id": F.id, "project_id": F.project_id, "tenant_id": F.project_id,
                 "floating_ip_address": F.floating_ip_address, "floating_network_id": F.floating_network_id,
                 "router_id": F.router_id, "port_id": F.fixed_port_id, "fixed_ip_address": F.fixed_ip_address,
                 "status": F.status, "description": F.description, "revision_number": F.revision_number,
                 "created_at": F.created_at, "updated_at": F.updated_at, "dns_name": F.dns_name,
                 "dns_domain": F.dns_domain},
    )


def get_row(s: Session, caller: Caller, fip_id: str) -> models.FloatingIP:
    row: models.FloatingIP | None = s.scalar(_visible_stmt(caller).where(F.id == fip_id))
    if row is None:
        raise FloatingIPNotFound(fip_id)
    return row


def _port_forwardings_of(s: Session, fip_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {i: [] for i in fip_ids}
    pf = models.PortForwarding
    for row in s.scalars(select(pf).where(pf.floatingip_id.in_(list(fip_ids))).order_by(pf.id)):
        item: dict[str, Any] = {"id": row.id, "internal_ip_address": row.internal_ip_address,
                                "protocol": row.protocol, "internal_port_id": row.internal_port_id}
        if row.internal_port_start == row.internal_port_end:
            item["internal_port"] = row.internal_port_start
        if row.external_port_start == row.external_port_end:
            item["external_port"] = row.external_port_start
        found[row.floatingip_id].append(item)
    return found


def views(s: Session, caller: Caller, rows: Sequence[models.FloatingIP]) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    if not ids:
        return []
    fixed = [r.fixed_port_id for r in rows if r.fixed_port_id]
    details: dict[str, dict[str, Any]] = {}
    if fixed:
        for p in s.scalars(select(models.Port).where(models.Port.id.in_(fixed))):
            details[p.id] = {"name": p.name, "network_id": p.network_id, "mac_address": p.mac_address,
                             "admin_state_up": p.admin_state_up, "status": p.status, "device_id": p.device_id,
                             "device_owner": p.device_owner}
    tags = tags_of(s, TAG_TYPE, ids)
    pfs = _port_forwardings_of(s, ids)
    return [{
        "id": r.id, "project_id": r.project_id, "tenant_id": r.project_id,
        "floating_ip_address": r.floating_ip_address, "floating_network_id": r.floating_network_id,
        "router_id": r.router_id, "port_id": r.fixed_port_id, "fixed_ip_address": r.fixed_ip_address,
        "status": r.status, "port_details": details.get(r.fixed_port_id) if r.fixed_port_id else None,
        "dns_name": r.dns_name, "dns_domain": r.dns_domain, "qos_policy_id": None,
        "port_forwardings": pfs[r.id], "tags": tags[r.id], **standard_view(r),
    } for r in rows]


def list_floating_ips(s: Session, caller: Caller, q: ListQuery) -> list[dict[str, Any]]:
    return views(s, caller, paged(s, _visible_stmt(caller), listing(caller), q, F))


def show(s: Session, caller: Caller, fip_id: str) -> dict[str, Any]:
    return views(s, caller, [get_row(s, caller, fip_id)])[0]


# --- association ------------------------------------------------------------------------------------


def router_for(s: Session, port: models.Port, subnet: models.Subnet, external_network_id: str) -> str:
    """The router joining ``subnet`` to the external network (the one whose interface holds the
    subnet's gateway IP first); 404 ``ExternalGatewayForFloatingIPNotFound`` if none does."""
    rp, a, p = models.RouterPort, models.IPAllocation, models.Port
    gw = aliased(models.Port)
    found = s.execute(
        select(rp.router_id, a.ip_address).join(p, p.id == rp.port_id).join(a, a.port_id == p.id)
        .join(gw, and_(gw.device_id == rp.router_id, gw.network_id == external_network_id,
                       gw.device_owner == GATEWAY))
        .where(p.network_id == port.network_id, rp.port_type == INTERFACE, a.subnet_id == subnet.id)
        .order_by(rp.router_id)).all()
    for router_id, ip in found:
        if ip == subnet.gateway_ip:
            return str(router_id)
    if found:
        return str(found[0][0])
    raise external_gateway_not_found(external_network_id, subnet.id, port.id)


def _fip_serviced(device_owner: str) -> bool:
    # Neutron's is_fip_serviced: ports of network services (DHCP, routers, …) take no floating IP.
    return not device_owner.startswith("network:")


def _association(s: Session, caller: Caller, fip: models.FloatingIP, port_id: str,
                 fixed_ip: str | None) -> tuple[str, str, str]:
    """(port id, fixed IP, router id) for associating ``fip`` with ``port_id``, all checks done."""
    port = ports.get_row(s, caller, port_id)
    if port.project_id != fip.project_id and not caller.is_admin:
        raise BadRequest("floatingip", f"Cannot process floating IP association with Port {port.id}, since that "
                                       "port is owned by a different project")
    if not _fip_serviced(port.device_owner):
        raise BadRequest("floatingip", f"Port {port.id} is unable to be assigned a floating IP")
    a = models.IPAllocation
    ips = [(sub, ip) for sub, ip in s.execute(select(a.subnet_id, a.ip_address).where(a.port_id == port.id)
                                              .order_by(a.ip_address, a.subnet_id))]
    if fixed_ip:
        if ipaddress.ip_address(fixed_ip).version != 4:
            raise BadRequest("floatingip", f"Cannot process floating IP association with {fixed_ip}, since that "
                                           "is not an IPv4 address")
        subnet_id = next((sub for sub, ip in ips if ip == fixed_ip), None)
        if subnet_id is None:
            raise BadRequest("floatingip", f"Port {port.id} does not have fixed ip {fixed_ip}")
    else:
        v4 = [(sub, ip) for sub, ip in ips if ipaddress.ip_address(ip).version == 4]
        if not v4:
            raise BadRequest("floatingip", f"Cannot add floating IP to port {port.id} that has no fixed IPv4 "
                                           "addresses")
        if len(v4) > 1:
            raise BadRequest("floatingip", f"Port {port.id} has multiple fixed IPv4 addresses.  Must provide a "
                                           "specific IPv4 address when assigning a floating IP")
        subnet_id, fixed_ip = v4[0]
    subnet = s.get(models.Subnet, subnet_id)
    assert subnet is not None
    router_id = router_for(s, port, subnet, fip.floating_network_id)
    if port.id != fip.fixed_port_id:
        taken = s.scalar(select(F.id).where(F.fixed_port_id == port.id, F.floating_network_id == fip.floating_network_id,
                                            F.fixed_ip_address == fixed_ip, F.id != fip.id).limit(1))
        if taken is not None:
            raise FloatingIPPortAlreadyAssociated(fip.floating_ip_address, fip.id, port.id, fixed_ip,
                                                  fip.floating_network_id)
    return port.id, fixed_ip, router_id


def _has_port_forwardings(s: Session, fip_id: str) -> bool:
    pf = models.PortForwarding
    return s.scalar(select(pf.id).where(pf.floatingip_id == fip_id).limit(1)) is not None


def _apply(s: Session, caller: Caller, row: models.FloatingIP, attrs: Mapping[str, Any]) -> None:
    """Associate, keep or clear the association as ``attrs`` say (Neutron's ``_update_fip_assoc``)."""
    if attrs.get("fixed_ip_address") and not attrs.get("port_id"):
        raise BadRequest("floatingip", "fixed_ip_address cannot be specified without a port_id")
    before = row.fixed_port_id
    if attrs.get("port_id"):
        if _has_port_forwardings(s, row.id):
            raise FipInUseByPortForwarding(row.id)
        port_id, fixed_ip, router_id = _association(s, caller, row, attrs["port_id"], attrs.get("fixed_ip_address"))
        row.fixed_port_id, row.fixed_ip_address, row.router_id = port_id, fixed_ip, router_id
    elif "port_id" in attrs:
        row.fixed_port_id = row.fixed_ip_address = None
        if not _has_port_forwardings(s, row.id):
            row.router_id = None
    row.status = "ACTIVE" if row.fixed_port_id else "DOWN"
    if "port_id" in attrs:
        # The servers of the port it leaves and of the port it goes to show their addresses anew.
        nova_notifier.port_id_changed(s, before)
        nova_notifier.port_id_changed(s, row.fixed_port_id)


def create(s: Session, caller: Caller, project_id: str, attrs: Mapping[str, Any],
           config: NetworkConfig) -> dict[str, Any]:
    network = networks.get_row(s, caller, attrs["floating_network_id"])
    if not network.router_external:
        raise BadRequest("floatingip", f"Network {network.id} is not a valid external network")
    sub = models.Subnet
    if s.scalar(select(sub.id).where(sub.network_id == network.id, sub.ip_version == 4).limit(1)) is None:
        raise BadRequest("floatingip", f"Network {network.id} does not contain any IPv4 subnet")
    quotas.check(s, project_id, "floatingip")
    fip_id = new_id()
    fixed: dict[str, Any] = {}
    if attrs.get("subnet_id"):
        fixed["subnet_id"] = attrs["subnet_id"]
    if attrs.get("floating_ip_address"):
        fixed["ip_address"] = attrs["floating_ip_address"]
    port_attrs: dict[str, Any] = {"network_id": network.id, "admin_state_up": True, "device_id": fip_id,
                                  "device_owner": OWNER, "name": ""}
    if fixed:
        port_attrs["fixed_ips"] = [fixed]
    port = ports.create(s, INTERNAL, "", port_attrs, config)
    v4 = [i["ip_address"] for i in port["fixed_ips"] if ipaddress.ip_address(i["ip_address"]).version == 4]
    if not v4:
        raise ExternalIpAddressExhausted(network.id)
    row = F(id=fip_id, project_id=project_id, floating_ip_address=v4[0], floating_network_id=network.id,
            floating_port_id=port["id"], status="DOWN", description=attrs.get("description", ""),
            dns_name=attrs.get("dns_name") or "", dns_domain=attrs.get("dns_domain") or "")
    stamp_new(row)
    _apply(s, caller, row, attrs)
    s.add(row)
    s.flush()
    return views(s, caller, [row])[0]


def update(s: Session, caller: Caller, fip_id: str, attrs: Mapping[str, Any],
           revision: int | None = None) -> dict[str, Any]:
    row = get_row(s, caller, fip_id)
    check_revision(row, revision)
    if "description" in attrs:
        row.description = attrs["description"]
    _apply(s, caller, row, attrs)
    touch(row)
    s.flush()
    return views(s, caller, [row])[0]


def delete_floating_ip(s: Session, caller: Caller, fip_id: str, revision: int | None = None) -> None:
    row = get_row(s, caller, fip_id)
    check_revision(row, revision)
    if _has_port_forwardings(s, row.id):
        raise FipInUseByPortForwarding(row.id)
    port_id = row.floating_port_id
    nova_notifier.port_id_changed(s, row.fixed_port_id)
    delete_tags(s, TAG_TYPE, row.id)
    s.delete(row)
    s.flush()
    ports.delete(s, INTERNAL, port_id, internal=True)


def delete_free_on_network(s: Session, network_id: str) -> None:
    """The external network is being deleted: its floating IPs not associated with a port nor
    bound to a router (by a port forwarding) go with it, with their ports (Neutron's
    ``delete_disassociated_floatingips``); any other keeps the network in use."""
    for row in list(s.scalars(select(F).where(F.floating_network_id == network_id, F.fixed_port_id.is_(None),
                                              F.router_id.is_(None)).order_by(F.id))):
        port_id = row.floating_port_id
        delete_tags(s, TAG_TYPE, row.id)
        s.delete(row)
        s.flush()
        ports.delete(s, INTERNAL, port_id, internal=True)


# Whether any port forwarding or floating IP points at a port: built once, Core, as every port delete
# asks it (ports.delete's ORM read of the port just flushed the session).
_POINTED_AT = select(or_(
    exists().where(cast(Table, models.PortForwarding.__table__).c.internal_port_id == bindparam("port")),
    exists().where(cast(Table, F.__table__).c.fixed_port_id == bindparam("port"))))


def disassociate_port(s: Session, port_id: str) -> None:
    """A port is going: the floating IPs on it become free and its port forwardings go (Neutron's
    ``disassociate_floatingips`` and its port forwarding plugin)."""
    # Most ports have neither: one round trip to ask about both before looking at either.
    if not s.scalar(_POINTED_AT, {"port": port_id}):
        return
    _drop_port_forwardings(s, port_id, keep=set())
    for row in s.scalars(select(F).where(F.fixed_port_id == port_id)):
        row.fixed_port_id = row.fixed_ip_address = None
        if not _has_port_forwardings(s, row.id):
            row.router_id = None
        row.status = "DOWN"
        touch(row)
    s.flush()


def fixed_ips_changed(s: Session, port_id: str) -> None:
    """A port's fixed IPs changed: the addresses its floating IPs point at must remain (Neutron's
    ``prevent_internal_ip_change_for_fip``: 400, the change rolled back); port forwardings to an
    address the port no longer has go."""
    a = models.IPAllocation
    held = set(s.scalars(select(a.ip_address).where(a.port_id == port_id)))
    for fixed_ip in s.scalars(select(F.fixed_ip_address).where(F.fixed_port_id == port_id)):
        if fixed_ip and fixed_ip not in held:
            raise BadRequest("port", f"Cannot update the fixed_ips of the port {port_id}, because its original "
                                     "fixed_ip has been associated to a floating ip")
    _drop_port_forwardings(s, port_id, keep=held)


def _drop_port_forwardings(s: Session, port_id: str, keep: set[str]) -> None:
    """Delete the port's forwardings to addresses not in ``keep``; a floating IP left with none is
    no longer bound to a router."""
    pf = models.PortForwarding
    stale = [r for r in s.scalars(select(pf).where(pf.internal_port_id == port_id))
             if r.internal_ip_address not in keep]
    fips = {r.floatingip_id for r in stale}
    for row in stale:
        s.delete(row)
    s.flush()
    for fip in s.scalars(select(F).where(F.id.in_(fips))) if fips else []:
        if not fip.fixed_port_id and not _has_port_forwardings(s, fip.id):
            fip.router_id = None
        touch(fip)
    s.flush()


# --- floating IP pools ------------------------------------------------------------------------------


def pools(s: Session, caller: Caller, q: ListQuery) -> list[dict[str, Any]]:
    """``/v2.0/floatingip_pools``: each IPv4 subnet of an external network the caller may use."""
    sub, n = models.Subnet, models.Network
    stmt = select(sub).join(n, n.id == sub.network_id).where(n.router_external.is_(True), sub.ip_version == 4)
    cond = networks.visible(caller)
    if cond is not None:
        stmt = stmt.where(cond)
    rows = paged(s, stmt, pool_listing(), q, sub)
    return [{"subnet_id": r.id, "subnet_name": r.name, "network_id": r.network_id, "cidr": r.cidr,
             "project_id": caller.project_id, "tenant_id": caller.project_id} for r in rows]


def pool_listing() -> Listing:
    sub = models.Subnet
    return Listing(tag_type=None, id_column=sub.id,
                   columns={"subnet_id": sub.id, "subnet_name": sub.name, "network_id": sub.network_id,
                            "cidr": sub.cidr})
