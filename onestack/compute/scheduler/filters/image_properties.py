from __future__ import annotations

from functools import lru_cache
from typing import Any

from onestack.compute.scheduler import extra_specs_ops
from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import RequestSpec

# Old spellings some images still carry, mapped to what the hypervisors report.
_HV_ALIASES = {"xapi": "xen"}
_VM_MODE_ALIASES = {"hv": "hvm", "pv": "xen", "baremetal": "hvm", "uml": "uml"}
_ARCH_ALIASES = {"amd64": "x86_64", "x86-64": "x86_64", "x64": "x86_64", "i386": "i686",
                 "i486": "i686", "i586": "i686", "arm64": "aarch64", "armv7": "armv7l"}


def _norm(value: Any, aliases: dict[str, str]) -> str | None:
    if value in (None, ""):
        return None
    text = str(value).lower()
    return aliases.get(text, text)


@lru_cache(maxsize=256)
def _canonical(triple: tuple[str, str, str]) -> tuple[str | None, str | None, str | None]:
    # Hosts report a handful of distinct triples; caching spares re-normalising per request.
    return (_norm(triple[0], _ARCH_ALIASES), _norm(triple[1], _HV_ALIASES),
            _norm(triple[2], _VM_MODE_ALIASES))


def version_to_int(version: str) -> int:
    """'6.2.1' -> 6002001, Nova's integer form of a hypervisor version."""
    parts = [int(p) for p in version.strip().split(".")[:3]]
    parts += [0] * (3 - len(parts))
    return parts[0] * 1_000_000 + parts[1] * 1000 + parts[2]


def _version_ok(host_version: int, requirement: str) -> bool:
    """``img_hv_requested_version`` is an operator and a dotted version (">= 6.0").

    A host that reports no version is not held to it, as in Nova.
    """
    if not host_version:
        return True
    words = requirement.split()
    try:
        if len(words) == 2:
            return extra_specs_ops.match(host_version, f"{words[0]} {version_to_int(words[1])}")
        return extra_specs_ops.match(host_version, f"== {version_to_int(requirement)}")
    except ValueError:
        return False


class ImagePropertiesFilter:
    """Hosts that can run the image: architecture, hypervisor type, vm mode and version.

    Reads ``hw_architecture`` (or ``architecture``), ``img_hv_type`` (or ``hypervisor_type``),
    ``hw_vm_mode`` (or ``vm_mode``) and ``img_hv_requested_version``; an image naming none
    of arch/hypervisor/mode passes every host. One of the host's supported (arch, hv, mode)
    triples must match every one the image names, and the host's hypervisor version must
    satisfy the requested version (e.g. ">= 6.0", "<= 7.1") if there is one.
    """

    run_filter_once_per_request = True

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        props = spec.image_properties
        arch = _norm(props.get("hw_architecture") or props.get("architecture"), _ARCH_ALIASES)
        hv = _norm(props.get("img_hv_type") or props.get("hypervisor_type"), _HV_ALIASES)
        mode = _norm(props.get("hw_vm_mode") or props.get("vm_mode"), _VM_MODE_ALIASES)
        version = props.get("img_hv_requested_version")
        if not (arch or hv or mode):
            return True
        if version and not _version_ok(host.hypervisor_version, str(version)):
            return False
        for triple in host.supported_instances:
            h_arch, h_hv, h_mode = _canonical(tuple(triple))
            if (arch in (None, h_arch)) and (hv in (None, h_hv)) and (mode in (None, h_mode)):
                return True
        return False
