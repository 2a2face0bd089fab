"""Port forwardings of a floating IP (``/v2.0/floatingips/{id}/port_forwardings``): DNAT of one
external port or port range of a free floating IP to a fixed IPv4 address of an internal port.

Only a floating IP with no port association takes port forwardings; the first one binds it to
the router that reaches the internal port, the last one deleted unbinds it (as Neutron does).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.network import models
from onestack.network.errors import (
    BadRequest,
    FloatingIPPortAlreadyAssociated,
    PortForwardingNotFound,
    PortHasBindingFloatingIP,
)
from onestack.network.errors import (
    ExternalGatewayForFloatingIPNotFound as _NoGateway,
)
from onestack.network.service import floating_ips, ports
from onestack.network.service.common import Caller, Listing, ListQuery, new_id, paged, touch
from onestack.network.service.routers import hold

PF = models.PortForwarding
RESOURCE = "port_forwarding"


def listing() -> Listing:
    return Listing(tag_type=None, id_column=PF.id,
                   columns={"id": PF.id, "protocol": PF.protocol, "internal_port_id": PF.internal_port_id,
                            "external_port": PF.external_port_start, "description": PF.description})


def view(row: models.PortForwarding) -> dict[str, Any]:
    single_in = row.internal_port_start == row.internal_port_end
    single_ex = row.external_port_start == row.external_port_end
    return {"id": row.id, "protocol": row.protocol, "internal_ip_address": row.internal_ip_address,
            "internal_port_id": row.internal_port_id, "description": row.description,
            "internal_port": row.internal_port_start if single_in else None,
            "external_port": row.external_port_start if single_ex else None,
            "internal_port_range": f"{row.internal_port_start}:{row.internal_port_end}",
            "external_port_range": f"{row.external_port_start}:{row.external_port_end}"}


def _get(s: Session, caller: Caller, fip_id: str, pf_id: str) -> tuple[models.FloatingIP, models.PortForwarding]:
    fip = floating_ips.get_row(s, caller, fip_id)
    row = s.get(PF, pf_id)
    if row is None or row.floatingip_id != fip.id:
        raise PortForwardingNotFound(pf_id)
    return fip, row


def list_port_forwardings(s: Session, caller: Caller, fip_id: str, q: ListQuery) -> list[dict[str, Any]]:
    fip = floating_ips.get_row(s, caller, fip_id)
    return [view(r) for r in paged(s, select(PF).where(PF.floatingip_id == fip.id), listing(), q, PF)]


def show(s: Session, caller: Caller, fip_id: str, pf_id: str) -> dict[str, Any]:
    return view(_get(s, caller, fip_id, pf_id)[1])


def _span(single: int | None, ranged: str | None) -> tuple[int, int] | None:
    if single is not None:
        return single, single
    if ranged is None:
        return None
    first, _, last = ranged.partition(":")
    return int(first), int(last or first)


def _internal(s: Session, caller: Caller, fip: models.FloatingIP, port_id: str,
              wanted_ip: str | None) -> tuple[str, str]:
    """(internal IP, router id): the port's IPv4 address (the one asked for, else its first) and
    the router that joins its subnet to the floating IP's network."""
    port = ports.get_row(s, caller, port_id)
    a = models.IPAllocation
    v4 = [(sub, ip) for sub, ip in s.execute(select(a.subnet_id, a.ip_address).where(a.port_id == port.id)
                                             .order_by(a.ip_address, a.subnet_id))
          if ipaddress.ip_address(ip).version == 4]
    if not v4:
        raise BadRequest(RESOURCE, f"Requested internal port {port.id} must allocate an IPv4 address at least.")
    if wanted_ip is None:
        subnet_id, ip = v4[0]
    else:
        match = [(sub, x) for sub, x in v4 if x == wanted_ip]
        if not match:
            shown = [{"subnet_id": sub, "ip_address": x} for sub, x in v4]
            raise BadRequest(RESOURCE, f"Requested internal IP address {wanted_ip} is not suitable for internal "
                                       f"neutron port {port.id}, as its fixed_ips are {shown}")
        subnet_id, ip = match[0]
    subnet = s.get(models.Subnet, subnet_id)
    assert subnet is not None
    try:
        router_id = floating_ips.router_for(s, port, subnet, fip.floating_network_id)
    except _NoGateway:
        raise BadRequest(RESOURCE, f"External network {fip.floating_network_id} is not reachable from subnet "
                                   f"{subnet.id}. Cannot set Port forwarding for port {port.id} with Floating IP "
                                   f"{fip.id}") from None
    return ip, router_id


def _check_ranges(internal: tuple[int, int], external: tuple[int, int]) -> None:
    for port in (*internal, *external):
        if port < 1 or port > 65535:
            raise BadRequest(RESOURCE, "Invalid port value, the port value must be a value between 1 and 65535.")
    in_width, ex_width = internal[1] - internal[0], external[1] - external[0]
    if in_width < 0 or ex_width < 0 or (in_width > 0 and in_width != ex_width):
        raise BadRequest(RESOURCE, "Invalid ranges of internal and/or external ports. The relation between "
                                   "internal and external ports must be N-N or 1-N")


def _collides(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return max(a[0], b[0]) <= min(a[1], b[1])


def _check_collisions(s: Session, row: models.PortForwarding, others: Sequence[models.PortForwarding]) -> None:
    for other in others:
        if other.id == row.id or other.protocol != row.protocol:
            continue
        if other.floatingip_id == row.floatingip_id and _collides(
                (other.external_port_start, other.external_port_end),
                (row.external_port_start, row.external_port_end)):
            raise BadRequest(RESOURCE, "There is a port collision with the external_port_range. The following "
                                       f"ranges collide: {other.external_port_start}:{other.external_port_end} and "
                                       f"{row.external_port_start}:{row.external_port_end}")
        if (other.internal_port_id == row.internal_port_id and other.internal_ip_address == row.internal_ip_address
                and _collides((other.internal_port_start, other.internal_port_end),
                              (row.internal_port_start, row.internal_port_end))):
            raise BadRequest(RESOURCE, "There is a port collision with the internal_port_range. The following "
                                       f"ranges collide: {other.internal_port_start}:{other.internal_port_end} and "
                                       f"{row.internal_port_start}:{row.internal_port_end}")


def _related(s: Session, row: models.PortForwarding) -> list[models.PortForwarding]:
    return list(s.scalars(select(PF).where((PF.floatingip_id == row.floatingip_id)
                                           | (PF.internal_port_id == row.internal_port_id))))


def _check_no_binding_fip(s: Session, fip: models.FloatingIP, port_id: str, ip: str) -> None:
    f = models.FloatingIP
    bound = s.scalar(select(f).where(f.fixed_port_id == port_id).order_by(f.id).limit(1))
    if bound is not None:
        raise PortHasBindingFloatingIP(bound.floating_ip_address, bound.id, port_id, ip)


def create(s: Session, caller: Caller, fip_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
    fip = floating_ips.get_row(s, caller, fip_id)
    hold(s, fip)
    internal = _span(attrs.get("internal_port"), attrs.get("internal_port_range"))
    external = _span(attrs.get("external_port"), attrs.get("external_port_range"))
    if internal is None or external is None:
        raise BadRequest(RESOURCE, "The internal and external ports (or port ranges) must be specified")
    _check_ranges(internal, external)
    ip, router_id = _internal(s, caller, fip, attrs["internal_port_id"], attrs.get("internal_ip_address"))
    _check_no_binding_fip(s, fip, attrs["internal_port_id"], ip)
    if fip.fixed_port_id:
        raise FloatingIPPortAlreadyAssociated(fip.floating_ip_address, fip.id, attrs["internal_port_id"], ip,
                                              fip.floating_network_id)
    if fip.router_id and fip.router_id != router_id:
        raise BadRequest(RESOURCE, f"The Floating IP {fip.id} had been set on router {fip.router_id}, the internal "
                                   f"Neutron port {attrs['internal_port_id']} can not reach it")
    row = PF(id=new_id(), floatingip_id=fip.id, internal_port_id=attrs["internal_port_id"], internal_ip_address=ip,
             internal_port_start=internal[0], internal_port_end=internal[1], external_port_start=external[0],
             external_port_end=external[1], protocol=attrs["protocol"], description=attrs.get("description", ""))
    _check_collisions(s, row, _related(s, row))
    fip.router_id = router_id
    s.add(row)
    s.flush()
    return view(row)


def update(s: Session, caller: Caller, fip_id: str, pf_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
    fip, row = _get(s, caller, fip_id, pf_id)
    hold(s, fip)
    port_id = attrs.get("internal_port_id") or row.internal_port_id
    changed_port = port_id != row.internal_port_id
    wanted_ip = attrs.get("internal_ip_address") or (None if changed_port else row.internal_ip_address)
    ip, router_id = _internal(s, caller, fip, port_id, wanted_ip)
    if changed_port:
        _check_no_binding_fip(s, fip, port_id, ip)
        if fip.router_id and fip.router_id != router_id:
            raise BadRequest(RESOURCE, f"The Floating IP {fip.id} had been set on router {fip.router_id}, the "
                                       f"internal Neutron port {port_id} can not reach it")
    internal = _span(attrs.get("internal_port"), attrs.get("internal_port_range")) or \
        (row.internal_port_start, row.internal_port_end)
    external = _span(attrs.get("external_port"), attrs.get("external_port_range")) or \
        (row.external_port_start, row.external_port_end)
    _check_ranges(internal, external)
    candidate = PF(id=row.id, floatingip_id=fip.id, internal_port_id=port_id, internal_ip_address=ip,
                   internal_port_start=internal[0], internal_port_end=internal[1], external_port_start=external[0],
                   external_port_end=external[1], protocol=attrs.get("protocol") or row.protocol,
                   description=attrs.get("description", row.description))
    _check_collisions(s, candidate, _related(s, candidate))
    for key in ("internal_port_id", "internal_ip_address", "internal_port_start", "internal_port_end",
                "external_port_start", "external_port_end", "protocol", "description"):
        setattr(row, key, getattr(candidate, key))
    if changed_port:
        fip.router_id = router_id
    s.flush()
    return view(row)


def delete(s: Session, caller: Caller, fip_id: str, pf_id: str) -> None:
    fip, row = _get(s, caller, fip_id, pf_id)
    s.delete(row)
    s.flush()
    if s.scalar(select(PF.id).where(PF.floatingip_id == fip.id).limit(1)) is None and not fip.fixed_port_id:
        fip.router_id = None
    touch(fip)
    s.flush()
