from __future__ import annotations

from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import RequestSpec


class ComputeFilter:
    """Hosts whose nova-compute service is up, enabled and not forced down."""

    run_filter_once_per_request = True

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        return host.service_up and not host.service_disabled and not host.forced_down
