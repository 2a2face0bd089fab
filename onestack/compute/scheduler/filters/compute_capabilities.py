from __future__ import annotations

from onestack.compute.scheduler import extra_specs_ops
from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import RequestSpec

SCOPE = "capabilities"


class ComputeCapabilitiesFilter:
    """Flavor extra specs matched against host attributes.

    ``capabilities:cpu_info:arch = x86_64`` walks host.cpu_info["arch"]; keys in other scopes
    (``hw:``, ``trait:``, ``resources:``...) are not this filter's business and are skipped. As in
    Nova, an unscoped key (no colon) is also looked up on the host; a host lacking it fails.
    """

    run_filter_once_per_request = True

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        for key, requirement in spec.flavor.extra_specs.items():
            path = key.split(":")
            if len(path) > 1:
                if path[0] != SCOPE:
                    continue
                path = path[1:]
            if not extra_specs_ops.match(host.capability(path), requirement):
                return False
        return True
