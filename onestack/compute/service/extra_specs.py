"""Validation of flavor extra specs (microversion 2.86+).

Keys in a namespace we know (``hw``, ``hw_rng``, ``quota``, ``trait``, ``resources`` ...) must be
a key we know with a value of the right shape; keys in other namespaces or without one are
stored as given, as Nova allows custom namespaces. The list is deliberately modest.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from onestack.core.api.faults import BadRequest

Check = Callable[[str], bool]

_BOOLS = {"true", "false", "1", "0", "yes", "no", "on", "off", "t", "f", "y", "n"}


def _int(minimum: int = 0) -> Check:
    return lambda v: re.fullmatch(r"-?[0-9]+", v) is not None and int(v) >= minimum


def _enum(*choices: str) -> Check:
    return lambda v: v in choices


def _bool(v: str) -> bool:
    return v.strip().lower() in _BOOLS


def _any(v: str) -> bool:
    return True


def _page_size(v: str) -> bool:
    return v in ("small", "large", "any") or re.fullmatch(r"[0-9]+\s*([KMGT]i?B?)?", v, re.IGNORECASE) is not None


# Exact keys of known namespaces and the values they take.
KNOWN: dict[str, Check] = {
    "hw:cpu_policy": _enum("shared", "dedicated", "mixed"),
    "hw:cpu_thread_policy": _enum("prefer", "isolate", "require"),
    "hw:emulator_threads_policy": _enum("share", "isolate"),
    "hw:cpu_sockets": _int(1), "hw:cpu_cores": _int(1), "hw:cpu_threads": _int(1),
    "hw:cpu_max_sockets": _int(1), "hw:cpu_max_cores": _int(1), "hw:cpu_max_threads": _int(1),
    "hw:cpu_realtime": _bool, "hw:cpu_realtime_mask": _any, "hw:cpu_dedicated_mask": _any,
    "hw:numa_nodes": _int(1), "hw:mem_page_size": _page_size,
    "hw:pci_numa_affinity_policy": _enum("required", "preferred", "legacy", "socket"),
    "hw:watchdog_action": _enum("disabled", "reset", "poweroff", "pause", "none"),
    "hw:boot_menu": _bool, "hw:vif_multiqueue_enabled": _bool, "hw:pmu": _bool,
    "hw:mem_encryption": _bool, "hw:serial_port_count": _int(0), "hw:vpmem": _any,
    "hw:tpm_version": _enum("1.2", "2.0"), "hw:tpm_model": _enum("tpm-tis", "tpm-crb"),
    "hw:hide_hypervisor_id": _bool, "hw:locked_memory": _bool, "hw:virtio_packed_ring": _bool,
    "hw_rng:allowed": _bool, "hw_rng:rate_bytes": _int(0), "hw_rng:rate_period": _int(0),
    "hw_video:ram_max_mb": _int(0),
    "os:secure_boot": _enum("required", "disabled", "optional"), "os:monitors": _int(1),
    "accel:device_profile": _any, "pci_passthrough:alias": _any,
}
# Keys matched by pattern: (namespace regex, value check).
PATTERNS: list[tuple[re.Pattern[str], Check]] = [
    (re.compile(r"hw:numa_(cpus|mem)\.[0-9]+"), _any),
    (re.compile(r"quota:(cpu_(shares|period|quota|limit|reservation)|"
                r"disk_(read|write|total)_(bytes|iops)_sec|"
                r"vif_(inbound|outbound)_(average|peak|burst))"), _int(0)),
    (re.compile(r"trait[0-9]*:[A-Z0-9_]+"), _enum("required", "forbidden")),
    (re.compile(r"resources[0-9]*:[A-Z0-9_]+"), _int(0)),
    (re.compile(r"aggregate_instance_extra_specs:.+"), _any),
    (re.compile(r"capabilities:.+"), _any),
]
NAMESPACES = {"hw", "hw_rng", "hw_video", "os", "accel", "pci_passthrough", "quota", "aggregate_instance_extra_specs",
              "capabilities"}


def _namespace(key: str) -> str | None:
    if ":" not in key:
        return None
    space = key.split(":", 1)[0]
    return re.sub(r"[0-9]+$", "", space) if space.startswith(("trait", "resources")) else space


def check_value(key: str, check: Check, value: str) -> None:
    if not check(value):
        raise BadRequest(f"Validation failed; {value} is not a valid value for extra spec '{key}'.")


def validate(specs: dict[str, str]) -> None:
    """400 for an unknown key of a known namespace, or a value of the wrong shape."""
    for key, value in specs.items():
        if key in KNOWN:
            check_value(key, KNOWN[key], value)
            continue
        matched = next((check for pattern, check in PATTERNS if pattern.fullmatch(key)), None)
        if matched is not None:
            check_value(key, matched, value)
            continue
        space = _namespace(key)
        if space in NAMESPACES or space in ("trait", "resources"):
            raise BadRequest(f"Validation failed; extra spec '{key}' does not appear to be a valid extra spec.")
