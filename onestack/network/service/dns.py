"""DNS integration (Neutron's ``dns-integration``): the names ports, networks and floating IPs
carry, and each port's ``dns_assignment``.

``dns_assignment`` is one entry per fixed IP: ``host-<address with - for . and :>`` under
``network.dns_domain`` (Neutron's ``[DEFAULT] dns_domain``, "openstacklocal."), or the port's
own ``dns_name`` when the cloud has a domain of its own, as Neutron's ML2 DNS extension shows it.
No external DNS service is driven (Neutron's ``external_dns_driver`` is unset on DevStack too).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

DEFAULT_DOMAIN = "openstacklocal."  # neutron_lib's DNS_DOMAIN_DEFAULT
FQDN_MAX = 255  # neutron_lib's FQDN_FIELD_SIZE
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def _format_problem(value: str) -> str | None:
    """neutron_lib's _validate_dns_format: why ``value`` is no PQDN or FQDN, or None."""
    trimmed = value.removesuffix(".")
    if len(trimmed) > FQDN_MAX:
        return f"'{trimmed}' exceeds the {FQDN_MAX} character FQDN limit"
    labels = trimmed.split(".")
    for label in labels:
        if not label:
            return "Encountered an empty component"
        if label.startswith("-") or label.endswith("-"):
            return f"Name '{label}' must not start or end with a hyphen"
        if not _LABEL.match(label):
            return f"Name '{label}' must be 1-63 characters long, each of which can only be alphanumeric or a hyphen"
    if len(labels) > 1 and labels[-1].isdigit():
        return f"TLD '{labels[-1]}' must not be all numeric"
    return None


def dns_name(value: Any) -> str:
    """An API ``dns_name``: "" or a valid PQDN / FQDN (ValueError, a 400, otherwise)."""
    if not isinstance(value, str):
        raise TypeError(f"'{value}' is not a valid string")
    if value and (problem := _format_problem(value)) is not None:
        raise ValueError(f"'{value}' not a valid PQDN or FQDN. Reason: {problem}")
    return value


def dns_domain(value: Any) -> str | None:
    """An API ``dns_domain``: null, "" or a valid FQDN ending with a dot."""
    if value is None:
        return None
    dns_name(value)
    if value and not value.endswith("."):
        raise ValueError(f"'{value}' is not a FQDN")
    return str(value)


def assignment(fixed_ips: Sequence[Mapping[str, str]], name: str, domain: str) -> list[dict[str, str]]:
    """Neutron's _get_dns_names_for_port: the port's name is used only under a domain of the cloud's own."""
    requested = name if domain and domain != DEFAULT_DOMAIN else ""
    out = []
    for ip in fixed_ips:
        address = ip["ip_address"]
        if requested:
            hostname = requested
            fqdn = requested if requested.endswith(".") else f"{requested}.{domain}"
        else:
            hostname = "host-" + address.replace(".", "-").replace(":", "-")
            fqdn = f"{hostname}.{domain}" if domain else hostname
        out.append({"ip_address": address, "hostname": hostname, "fqdn": fqdn})
    return out
