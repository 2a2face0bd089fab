"""A server's network info cache (Nova's instance_info_caches), kept in its system_metadata.

The agent writes it (agent/network.py) whenever it reads the server's ports; the API shows
``addresses`` (server views, ``/ips``) and ``interfaceAttachments`` from it without asking the
network service per server. Each entry is one port as the driver got it (Nova's VIF).
"""

from __future__ import annotations

from typing import Any

CACHE_KEY = "network_info"
# Kept apart from the cache, which any refresh rewrites from what it read (perhaps a row read
# before an attach): written only where they change (boot, attach, detach).
TAGS_KEY = "port_tags"  # port id -> the device tag the user gave it (2.32 / 2.49)
PRESERVED_KEY = "preserved_ports"  # ports the user attached (os-interface with port_id)


def requested(instance: dict[str, Any]) -> list[dict[str, Any]]:
    """The networks the API resolved for the server ("none" and unresolved values: nothing)."""
    value = (instance.get("system_metadata") or {}).get("networks")
    return [dict(n) for n in value if isinstance(n, dict)] if isinstance(value, list) else []


def cached(instance: dict[str, Any]) -> list[dict[str, Any]]:
    value = (instance.get("system_metadata") or {}).get(CACHE_KEY)
    return list(value) if isinstance(value, list) else []


def preserved_ports(instance: dict[str, Any]) -> set[str]:
    """Ports the user brought (at boot or attach): unbound, never deleted, when the server goes."""
    ports = {str(n["port"]) for n in requested(instance) if n.get("port")}
    ports |= {str(v["id"]) for v in cached(instance) if v.get("preserve_on_delete")}
    ports |= {str(p) for p in (instance.get("system_metadata") or {}).get(PRESERVED_KEY) or []}
    return ports


def tags_of(instance: dict[str, Any]) -> dict[str, Any]:
    """Port id -> device tag (None when the port has none)."""
    tags: dict[str, Any] = {str(n["port"]): n.get("tag") for n in requested(instance) if n.get("port")}
    tags.update({str(k): v for k, v in ((instance.get("system_metadata") or {}).get(TAGS_KEY) or {}).items()})
    return tags


def vif_of(port: dict[str, Any], network: dict[str, Any] | None, floating: list[dict[str, Any]],
           preserve: bool, tag: str | None = None) -> dict[str, Any]:
    """One entry of the NetworkInfo the driver gets and the info cache keeps (Nova's VIF)."""
    fixed = [{"ip_address": ip.get("ip_address"), "subnet_id": ip.get("subnet_id"),
              "version": 6 if ":" in str(ip.get("ip_address")) else 4} for ip in port.get("fixed_ips") or []]
    return {
        "id": port["id"], "mac_address": port.get("mac_address"), "network_id": port.get("network_id"),
        "network_name": (network or {}).get("name") or port.get("network_id"),
        "fixed_ips": fixed,
        "floating_ips": sorted((f["floating_ip_address"], f.get("fixed_ip_address")) for f in floating
                               if f.get("port_id") == port["id"] and f.get("floating_ip_address")),
        "vif_type": port.get("binding:vif_type"), "vif_details": port.get("binding:vif_details") or {},
        "host": port.get("binding:host_id") or None, "active": port.get("status") == "ACTIVE",
        "preserve_on_delete": preserve, "tag": tag,
    }


def addresses(network_info: list[dict[str, Any]], extended: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Nova's ``addresses`` view of an info cache: per network name, fixed then floating IPs.

    ``extended`` adds each address's type and MAC (``OS-EXT-IPS``); Nova leaves them out of the
    PUT and rebuild answers before 2.75 (its view's ``extend_address``).
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for vif in network_info:
        entries = out.setdefault(str(vif.get("network_name") or vif.get("network_id")), [])
        mac = vif.get("mac_address")
        for ip in vif.get("fixed_ips") or []:
            entries.append(_address(ip.get("version", 4), ip["ip_address"], "fixed", mac, extended))
        for floating, _fixed in vif.get("floating_ips") or []:
            entries.append(_address(6 if ":" in floating else 4, floating, "floating", mac, extended))
    return out


def _address(version: int, addr: str, kind: str, mac: Any, extended: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"version": version, "addr": addr}
    if extended:
        entry.update({"OS-EXT-IPS:type": kind, "OS-EXT-IPS-MAC:mac_addr": mac})
    return entry


def fixed_addresses(network_info: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(version, address) of every fixed IP in an info cache (the ip / ip6 list filters)."""
    return [(int(ip.get("version", 4)), str(ip["ip_address"])) for vif in network_info
            for ip in vif.get("fixed_ips") or [] if ip.get("ip_address")]
